"""Keys typed after the Enter that closes a prompt wait until it has closed (the input handles
its Enter only after the keys behind it have arrived); a prompt that handled its Enter and
stays open (a rejected value, an export started) says so, and the keys are its after all."""

from __future__ import annotations

from textual.message import Message


class PromptStaysOpen(Message):
    """Posted by a screen whose input handled Enter and keeps the focus."""
