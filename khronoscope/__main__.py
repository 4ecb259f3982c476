"""Allow `python -m khronoscope`."""

from khronoscope.cli import main

raise SystemExit(main())
