"""Errors a user can cause and fix: the pipelines print their one-line message and exit non-zero."""


class UserError(Exception):
    """A mistake in what the user asked for (a flag, a path, a dataset, a config), with how to fix it.

    The message is one line; the command-line entry points print it without a traceback."""


def write_error(error, what, where, intact):
    """A UserError for an OSError raised while writing `what` into `where`: a full disk said plainly, and what
    is still intact, and how to go on."""
    text = str(error)
    if getattr(error, "errno", None) == 28 or "No space left" in text or "errno = 28" in text:
        reason = "no space left on the device"
    elif getattr(error, "errno", None) == 27 or "File too large" in text:
        reason = "the file size limit was reached"
    else:
        reason = getattr(error, "strerror", None) or text.splitlines()[0] if text else type(error).__name__
    return UserError(
        f"Could not write {what} in {where}: {reason}. {intact[0].upper()}{intact[1:]} are intact; free space or "
        "fix the folder, then run the same command again."
    )
