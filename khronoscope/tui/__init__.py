"""The Textual browser: app, screens, widgets, and the UI-free pieces they share.

Where things are: a `:` command is a `CommandSpec` in `commands.COMMANDS` (its grammar is
there too; the app's `command_handlers` only act); a key is an `Action` in `keymap.ACTIONS`
(defaults in keybindings.toml); a time command (go to, step, play, bookmarks, history, diff)
is a method of `timecontrol.TimeControl`, which the app owns. A screen is built with a
`context.ScreenContext` (source, time control, settings, navigator) and declares its keymap
context (`screenkind.py`); it never imports the app.
"""
