"""Widgets of the browser: the virtual resource table, the header, the command line."""
