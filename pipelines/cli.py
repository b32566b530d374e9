"""What every pipeline's command line shares: one-line errors, and exit codes a shell can act on."""

import argparse
import errno
import os
import sys
import tempfile

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
        description = kwargs.get("description")
        if description and description.rstrip().endswith(":"):
            # A module docstring's first paragraph leads into its examples; alone in --help it is a sentence.
            kwargs["description"] = description.rstrip()[:-1] + "."
        kwargs.setdefault("formatter_class", _DefaultsFormatter)
        kwargs.setdefault("allow_abbrev", False)  # a mistyped flag is an error, not silently another flag
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        import_tensorflow()  # after --help and the usage errors, which should not wait for it
        return parsed


# TensorFlow's C++ libraries log their start-up (no CUDA driver, the CPU's instructions) before they read
# TF_CPP_MIN_LOG_LEVEL, once for each of the two libraries that load: every pipeline printed these lines twice
# whatever the level. Glog's severities, lowest first, as TF_CPP_MIN_LOG_LEVEL counts them.
_SEVERITIES = "IWEF"
_ABSL_NOTICE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"


def import_tensorflow():
    """Imports TensorFlow, holding back its C++ start-up lines below TF_CPP_MIN_LOG_LEVEL (and absl's notice that
    precedes them); every other line it writes to stderr is passed on, in order."""
    if "tensorflow" in sys.modules:
        return
    level = int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") or 0)
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not _startup_line(line, level)))
            sys.stderr.flush()


def _startup_line(line, level):
    """Whether `line` is glog's (e.g. "I0000 00:00:1796 cudart_stub.cc:31] ...") below `level`, or absl's notice."""
    if line.rstrip("\n") == _ABSL_NOTICE:
        return level > 0
    head, _, rest = line.partition(" ")
    glog = len(head) == 5 and head[0] in _SEVERITIES and head[1:].isdigit() and rest[:6].count(":") == 2
    return glog and "] " in rest and _SEVERITIES.index(head[0]) < level


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
            fail(flags.speak(error, pipeline))
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
