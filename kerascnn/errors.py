"""Errors a user can cause and fix: the pipelines print their one-line message and exit non-zero."""


class UserError(Exception):
    """A mistake in what the user asked for (a flag, a path, a dataset, a config), with how to fix it.

    The message is one line; the command-line entry points print it without a traceback."""


def checked_model(name, image_sizes=()):
    """The registry's ModelSpec of `name`, for a command line: UserError for an unknown name (naming the closest
    ones) or an --image-size below the model's minimum (None in `image_sizes` stands for the paper's size)."""
    import kerascnn

    try:
        spec = kerascnn.model_spec(name)
    except ValueError as error:
        raise UserError(str(error)) from None
    for size in image_sizes:
        if size is not None and size < spec.min_size:
            raise UserError(
                f"--image-size {size} is below {spec.name}'s minimum of {spec.min_size} pixels; use "
                f"{spec.min_size} or more."
            )
    return spec


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
