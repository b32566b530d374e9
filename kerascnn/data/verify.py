"""Checks every file of an image folder once with Pillow, before training, and remembers the verdicts.

TensorFlow's decoders are what the input pipeline uses, but they find a bad file only in the middle of an epoch,
without its path, and some damaged files still decode (a progressive JPEG cut short comes out grey). So each
file is opened and fully decoded here first: a truncated, empty or non-image file, or one whose declared size
makes it an image bomb, is reported by path before a step runs. Files in formats TensorFlow cannot decode
(TIFF, PPM, ICO, ...) are converted to PNG in the cache directory. Verdicts are cached per file (keyed by size
and modification time), so a rerun checks only what changed.
"""

import hashlib
import json
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from kerascnn.io import write_atomic

TF_FORMATS = {"JPEG", "MPO", "PNG", "GIF", "BMP", "WEBP"}  # what tf.io.decode_image reads
_CACHE_VERSION = 1


@dataclass(frozen=True)
class FileCheck:
    width: int = 0
    height: int = 0
    error: str | None = None  # why the file cannot be used; None when it can
    converted: str | None = None  # a PNG copy for TensorFlow, when the file's own format is not one it reads


def default_cache_dir():
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kerascnn"


def check_files(paths, *, root, max_pixels, cache_dir=None, desc="Checking images"):
    """{path: FileCheck} for `paths` (Path objects under the folder `root`), decoding only those not checked
    before (with the same max_pixels)."""
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    store = cache_dir / "folder-checks" / f"{_digest(Path(root).resolve(), max_pixels)}.json"
    cached = _load(store)
    results, todo = {}, []
    for path in paths:
        try:
            stat = path.stat()
        except OSError as error:  # broken link, symlink loop, no permission
            results[path] = FileCheck(error=f"cannot be read ({error.strerror or error})")
            continue
        key = [stat.st_size, stat.st_mtime_ns]
        entry = cached.get(str(path))
        if entry and entry[:2] == key and (not entry[5] or Path(entry[5]).exists()):
            results[path] = FileCheck(*entry[2:])
        else:
            todo.append((path, key))
    if todo:
        convert_dir = cache_dir / "converted"
        with warnings.catch_warnings(), ThreadPoolExecutor(max(2, os.cpu_count() or 1)) as pool:
            # Our own max_pixels decides what is a bomb; Pillow still refuses anything over twice its limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            checks = pool.map(lambda item: check_image(item[0], max_pixels, convert_dir), todo)
            for (path, key), check in zip(todo, tqdm(checks, total=len(todo), desc=desc, unit="img", disable=None)):
                results[path] = check
                cached[str(path)] = key + [check.width, check.height, check.error, check.converted]
        _save(store, cached)
    return results


def check_image(path, max_pixels, convert_dir):
    """Opens and decodes one file with Pillow; a FileCheck with the reason when it cannot be used."""
    try:
        if path.stat().st_size == 0:
            return FileCheck(error="empty file (0 bytes)")
        with Image.open(path) as image:  # reads the header only
            width, height = image.size
            if width * height > max_pixels:
                return FileCheck(
                    width,
                    height,
                    f"declares {width}x{height} pixels, over data.max_image_pixels ({max_pixels:,}): "
                    "an image bomb, or raise the limit",
                )
            if image.format == "JPEG":  # decode at 1/8 scale: every byte is still read, for an eighth of the work
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            image.load()
            if image.format in TF_FORMATS:
                return FileCheck(width, height)
            try:
                return FileCheck(width, height, None, _convert_to_png(image, path, convert_dir))
            except OSError as error:
                return FileCheck(
                    error=f"is {image.format}, which TensorFlow cannot decode, and converting it to PNG "
                    f"in {convert_dir} failed ({error})"
                )
    except Image.DecompressionBombError as error:
        return FileCheck(error=f"an image bomb: {error}")  # over twice Pillow's limit, refused before ours
    except UnidentifiedImageError:
        return FileCheck(error="not an image Pillow can read")
    except (OSError, ValueError, SyntaxError, EOFError) as error:  # what Pillow's decoders raise on damaged data
        return FileCheck(error=f"cannot be decoded ({error})")


def _convert_to_png(image, path, convert_dir):
    if image.mode.startswith("I"):  # 16- or 32-bit integer samples: keep the top 8 bits of 16-bit data
        array = np.asarray(image, np.float64) / 257.0
        image = Image.fromarray(np.clip(np.round(array), 0, 255).astype(np.uint8))
    elif image.mode == "F":
        image = Image.fromarray(np.clip(np.asarray(image), 0, 255).astype(np.uint8))
    elif image.mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.mode or "transparency" in image.info else "RGB")
    convert_dir.mkdir(parents=True, exist_ok=True)
    target = convert_dir / f"{_digest(path.resolve(), path.stat().st_mtime_ns)}.png"
    write_atomic(target, lambda f: image.save(f, "PNG"))
    return str(target)


def _digest(*parts):
    return hashlib.sha1("\0".join(map(str, parts)).encode()).hexdigest()[:20]


def _load(store):
    try:
        data = json.loads(store.read_text())
        return data["files"] if data.get("version") == _CACHE_VERSION else {}
    except (OSError, ValueError, KeyError, TypeError):  # none yet, or unreadable: check everything again
        return {}


def _save(store, files):
    """Writes the verdicts whole or not at all; a read-only cache directory only costs a recheck next time."""
    try:
        write_atomic(store, json.dumps({"version": _CACHE_VERSION, "files": files}))
    except OSError:
        pass
