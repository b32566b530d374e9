"""Files and folders that appear whole or not at all.

`write_atomic(path, data)` writes one file: a temporary file beside it, flushed to disk, then renamed over it
(`os.replace`), so a reader sees the previous file or the new one, never half of one.

A folder (a checkpoint, an exported version) is written into a hidden temporary folder beside its final place,
flushed to disk, then renamed into place: rename is atomic on POSIX, so a reader (a resumed run, TF Serving polling
its model folder) sees the folder complete or does not see it, whatever kills the writer and whenever.
"""

import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path

TEMP_PREFIX = ".tmp-"


def write_atomic(path, data):
    """Writes `data` to `path` whole or not at all, and returns the path. `data`: text, bytes, or a function that
    writes into the binary file it is given (e.g. `lambda f: image.save(f, "PNG")`). The parent folder is
    created if missing; on any error the temporary file goes and the previous file at `path` stays as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes the file private; these files are not secrets
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return path


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_tree(folder):
    for root, _, files in os.walk(folder):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                os.fsync(f.fileno())
        _fsync_dir(root)


def _fsync_dir(folder):
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_folder(parent):
    """Yields a fresh temporary folder in `parent`; the caller writes into it, then `publish` renames it.

    On an exception the temporary folder is removed and the exception propagates: nothing half-written stays."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    temp = parent / f"{TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temp.mkdir()
    try:
        yield temp
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)


def publish(temp, final):
    """Flushes `temp` and renames it to `final`. Raises FileExistsError if `final` already exists (the rename
    never replaces a folder, so two writers racing for one name cannot clobber each other)."""
    _fsync_tree(temp)
    final = Path(final)
    if final.exists():
        raise FileExistsError(final)
    try:
        os.rename(temp, final)
    except OSError as error:
        if final.exists():  # another writer took the name between the check and the rename
            raise FileExistsError(final) from error
        raise
    _fsync_dir(final.parent)


def remove_stale_temporaries(parent):
    """Removes temporary folders that writers killed mid-write left in `parent`; those of live processes (this one
    included) are writes in progress and stay."""
    parent = Path(parent)
    if not parent.is_dir():
        return []
    removed = []
    for temp in parent.glob(f"{TEMP_PREFIX}*"):
        pid = temp.name[len(TEMP_PREFIX) :].split("-")[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        shutil.rmtree(temp, ignore_errors=True)
        removed.append(temp)
    return removed


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
