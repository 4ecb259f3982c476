"""Screens of the browser: each built with a ScreenContext (see tui/context.py)."""
