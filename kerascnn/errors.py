"""The errors a user can cause and fix, in one hierarchy: `UserError` at the root, `DataError` for the data.

The library speaks of config fields, never of command-line flags: an error carries the field it is about
(`UserError("batch_size must be at least 1, got 0.", field="batch_size")`) and names it in its message; only the
command line (`pipelines.flags`) turns a field into the flag the user typed. The pipelines print the message as
one line and exit 2.
"""


class UserError(Exception):
    """A mistake in what the user asked for (a field, a path, a dataset, a config), with how to fix it.

    `field`: the dotted config field the error is about (e.g. "data.on_bad_image"), or None. The message is one
    line; the command-line entry points print it without a traceback."""

    def __init__(self, message, *, field=None):
        super().__init__(message)
        self.field = field

    def __reduce__(self):  # keeps `field` across pickling (keras-tuner's workers, multiprocessing)
        return _rebuild, (type(self), str(self), self.field)


def _rebuild(cls, message, field):
    return cls(message, field=field)


class DataError(UserError, ValueError):
    """A problem with the data (a dataset, a folder, a file, a data.* field) that a user can fix.

    Also a ValueError, as it was before this hierarchy existed: `DataConfig(val_split=2)` is a bad value."""


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
