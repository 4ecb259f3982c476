"""Screens of the browser: the table, one object, the help."""
