"""Fetching a source's file once into Keras' cache, with its pinned hash checked."""

import hashlib
import os
from pathlib import Path

import keras

from kerascnn.errors import UserError
from kerascnn.weights.sources import CACHE_SUBDIR


def cache_dir():
    """Keras' cache folder for weights (~/.keras/models, or $KERAS_HOME/models), where get_file puts them."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / CACHE_SUBDIR


def file_digest(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(weights_file, model_name):
    """The local path of `weights_file` (a sources.WeightsFile), downloaded once through keras.utils.get_file.

    The hash is checked again here, whatever get_file did: a file that does not match is an error, never loaded.
    Without network access the error says which file to download and where to put it."""
    hint = (
        f"download {weights_file.url} into {cache_dir() / weights_file.file_name}, or pass weights=PATH "
        "with a copy of it"
    )
    if weights_file.file_hash is None:
        local = cache_dir() / weights_file.file_name
        if local.is_file():
            return str(local)
        raise UserError(
            f"The ImageNet weights of {model_name} are not downloaded automatically (no hash is pinned): {hint}."
        )
    try:
        path = keras.utils.get_file(
            weights_file.file_name, weights_file.url, cache_subdir=CACHE_SUBDIR, file_hash=weights_file.file_hash
        )
    except Exception as error:  # get_file raises a bare Exception for network errors, ValueError for a bad hash
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"Could not fetch the ImageNet weights of {model_name} ({reason}): {hint}.") from None
    algorithm = "sha256" if len(weights_file.file_hash) == 64 else "md5"
    if file_digest(path, algorithm) != weights_file.file_hash:
        raise UserError(
            f"{path} does not have the pinned {algorithm} {weights_file.file_hash} of {weights_file.file_name}: "
            f"delete it and {hint}."
        )
    return path
