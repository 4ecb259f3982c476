"""Errors a user sees as one clear line (never a traceback)."""


class KhronoscopeError(Exception):
    """A problem the user can act on; `str()` is the whole message, `exit_code` the status."""

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(KhronoscopeError):
    """Bad arguments or input on the command line."""

    exit_code = 2


class NotBuiltYet(KhronoscopeError):
    """A command whose issue has not landed yet."""

    exit_code = 3
