"""Errors a user can cause and fix: the pipelines print their one-line message and exit non-zero."""


class UserError(Exception):
    """A mistake in what the user asked for (a flag, a path, a dataset, a config), with how to fix it.

    The message is one line; the command-line entry points print it without a traceback."""
