"""The Textual browser: app, screens, widgets, and the UI-free pieces they share."""
