"""What every pipeline's command line shares: one-line errors, and exit codes a shell can act on."""

import argparse
import errno
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter, before it is imported

EXIT_USAGE = 2  # a flag, a path, a dataset or a config the user can fix
EXIT_INTERRUPTED = 130


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with a mistake reported as one line (not the usage block) and defaults shown in --help."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        kwargs.setdefault("allow_abbrev", False)  # a mistyped flag is an error, not silently another flag
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def fail(message, code=EXIT_USAGE):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def run(main, argv=None):
    """Runs `main(argv)`, turning the errors a user can cause into one line on stderr and a non-zero exit."""
    from kerascnn.data import DataError
    from kerascnn.errors import UserError

    try:
        code = main(argv)
    except (UserError, DataError) as error:
        fail(str(error))
    except KeyboardInterrupt:
        fail("interrupted.", EXIT_INTERRUPTED)
    except OSError as error:
        if error.errno == errno.ENOSPC:
            fail(f"no space left on the device while writing {error.filename or 'a file'}; everything written "
                 "before is intact: free some space and run the same command again.")  # fmt: skip
        if error.errno in (errno.EACCES, errno.EROFS, errno.ENOENT) and error.filename:
            fail(f"{error.strerror}: {error.filename}")
        raise
    sys.exit(code or 0)
