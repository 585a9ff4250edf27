"""Errors and exit statuses of the ``skflux`` command (private leaf module: imports nothing)."""

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_REVIEW_PENDING = 3
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """A failure of a command with a message meant for the user (exit status 1)."""


class OptionError(CommandError):
    """An option whose value cannot work, found before any work starts (exit status 2).

    Parameters
    ----------
    option : str
        The option at fault, as typed (e.g. ``"--passes-json"``).
    message : str
        What is wrong with it, and the fix.
    """

    def __init__(self, option, message):
        super().__init__(f"argument {option}: {message}")
        self.option = option
