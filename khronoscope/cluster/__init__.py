"""Everything that talks to an API server: kubeconfig, discovery, watchers, the live session."""

import logging

# a library must not print: without this, Python's last-resort handler would write a watcher's
# logged error (with its traceback) over the terminal UI; the session reports it as a status
logging.getLogger(__name__).addHandler(logging.NullHandler())
