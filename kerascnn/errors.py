"""The errors a user can cause and fix, in one hierarchy: `UserError` at the root, `DataError` for the data.

The library speaks of config fields, never of command-line flags: an error carries the field it is about and
marks each field its message names as a `Mention`, a part of the message, not a word in it
(`UserError(Mention("batch_size"), " must be at least 1, got 0.", field="batch_size")`). `str(error)` names the
fields; only the command line (`pipelines.flags.speak`) renders each mention as the flag the user types, so that
nothing ever reads the message's words back. The pipelines print the message as one line and exit 2.
"""

from typing import NamedTuple


class Mention(NamedTuple):
    """A config field (or a setting of a library function) that a message names, with the value the message
    gives it where it gives one: `Mention("data.on_bad_image", "skip")` reads "data.on_bad_image=skip"."""

    field: str
    value: object = None

    def __str__(self):
        return self.field if self.value is None else f"{self.field}={self.value}"


class Message(str):
    """Text whose mentions of config fields are kept apart: a str (the library's wording, as its callers and tests
    read it) whose `parts` are the plain strings and `Mention`s it was made of. Nothing in it is a template: a
    user's path with braces is text like any other. A Message among the parts is spliced in, mentions and all;
    `+` and f-strings make a plain str, so compose with `Message(...)`."""

    def __new__(cls, *parts):
        flat = []
        for part in parts:
            if isinstance(part, Message):
                flat.extend(part.parts)
            elif isinstance(part, Mention):
                flat.append(part)
            else:
                flat.append(str(part))
        message = super().__new__(cls, "".join(map(str, flat)))
        message.parts = tuple(flat)
        return message

    def __reduce__(self):
        return Message, self.parts

    def render(self, spell):
        """The text with each mention as `spell(mention)` says it (None: as the library does)."""
        return "".join(part if isinstance(part, str) else spell(part) or str(part) for part in self.parts)


class UserError(Exception):
    """A mistake in what the user asked for (a field, a path, a dataset, a config), with how to fix it.

    `parts`: the message's text and `Mention`s (see `Message`), kept as `message`. `field`: the dotted config
    field the error is about (e.g. "data.on_bad_image"), or None. The message is one line; the command-line entry
    points print it without a traceback."""

    def __init__(self, *parts, field=None):
        self.message = Message(*parts)
        super().__init__(str(self.message))
        self.field = field

    def __reduce__(self):  # keeps the mentions and `field` across pickling (keras-tuner's workers, multiprocessing)
        return _rebuild, (type(self), self.message.parts, self.field)


def _rebuild(cls, parts, field):
    return cls(*parts, field=field)


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
