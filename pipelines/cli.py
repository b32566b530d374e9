"""What every pipeline's command line shares: one-line errors, and exit codes a shell can act on."""

import argparse
import errno
import os
import sys

from pipelines import flags

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter, before it is imported

EXIT_USAGE = 2  # a flag, a path, a dataset or a config the user can fix
EXIT_INTERRUPTED = 130


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show (None, a switch's False): their help
    says where the value comes from instead (the model's recipe, the paper)."""

    def _get_help_string(self, action):
        if action.default in (None, False) or action.default == []:
            return action.help
        return super()._get_help_string(action)


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with a mistake reported as one line (not the usage block) and defaults shown in --help."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _DefaultsFormatter)
        kwargs.setdefault("allow_abbrev", False)  # a mistyped flag is an error, not silently another flag
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def fail(message, code=EXIT_USAGE):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def run(main, argv=None, *, pipeline=None):
    """Runs `main(argv)`, turning the errors a user can cause into one line on stderr and exit 2. The message
    names config fields; `pipeline` ("train", "tune"; default: the name of `main`'s module) says in whose
    command line's flags."""
    module = main.__module__
    if module == "__main__":  # python -m pipelines.train: the module's own name is in its spec
        module = getattr(sys.modules["__main__"].__spec__, "name", module)
    pipeline = pipeline or module.rpartition(".")[2]
    try:
        code = main(argv)
    except Exception as error:
        # Imported when an error arrives, not before: `--help` should not wait for TensorFlow to load.
        from kerascnn.errors import UserError

        if isinstance(error, UserError):
            fail(flags.speak(str(error), pipeline, error.field))
        if isinstance(error, OSError):
            _os_error(error)
        raise
    except KeyboardInterrupt:
        fail("interrupted.", EXIT_INTERRUPTED)
    sys.exit(code or 0)


def _os_error(error):
    """One line for the file-system errors a user can fix; anything else stays a traceback (a bug to report)."""
    if error.errno == errno.ENOSPC:
        fail(
            f"no space left on the device while writing {error.filename or 'a file'}; everything written "
            "before is intact: free some space and run the same command again."
        )
    if error.errno in (errno.EACCES, errno.EROFS, errno.ENOENT, errno.ENOTDIR) and error.filename:
        fail(f"{error.strerror}: {error.filename}")
