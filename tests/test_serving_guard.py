"""kerascnn.serving.guard: the sizes read from headers agree with Pillow's, limits hold at their exact boundary, and an
animated GIF is cut to its first frame (compared with Pillow's first frame). The hostile requests themselves, sent
to an exported model under a memory cap, are in tests/faults/test_hostile_requests.py."""

import io
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerascnn.data import DataConfig
from kerascnn.data.transforms import decode_any
from kerascnn.serving import guard as serving_guard
from kerascnn.serving import serving_transform, serving_transform_bytes

sys.path.insert(0, str(Path(__file__).parent / "faults"))
from hostile import bmp, encode, gif  # noqa: E402

# Traced once for every test here: run eagerly, each call would build the format branches again.
_declared_size = tf.function(serving_guard.declared_size, input_signature=[tf.TensorSpec([], tf.string)])


def _served_decode(data, max_pixels):
    """One encoded image through the serving graph's guard (serving_transform_bytes' first steps), decoded."""
    return decode_any(serving_guard.checked_batch(tf.constant([data]), max_pixels, max_pixels)[0])


def _declared(data):
    kind, _, height, width, problem = _declared_size(tf.constant(data))
    return int(kind), int(height), int(width), problem.numpy().decode()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP", "WEBP"])
@pytest.mark.parametrize("mode, size", [("L", (37, 21)), ("RGB", (5, 64)), ("RGBA", (13, 13))])
def test_declared_size_is_pillows(fmt, mode, size):
    if (fmt, mode) == ("JPEG", "RGBA"):
        pytest.skip("JPEG has no alpha: Pillow refuses to write RGBA as JPEG")
    image = Image.new(mode, size, "white" if mode != "L" else 200)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    kind, height, width, problem = _declared(buffer.getvalue())
    assert (serving_guard.FORMATS[kind].upper(), width, height, problem) == (fmt, *Image.open(buffer).size, "")


def test_bmp_negative_height_is_a_top_down_bitmap():
    assert _declared(bmp(7, -5))[1:] == (5, 7, "")
    assert _declared(bmp(7, 5))[1:] == (5, 7, "")


@pytest.mark.parametrize("pixels, refused", [(12 * 10, False), (12 * 10 - 1, True)])
def test_the_image_limit_is_inclusive(pixels, refused):
    data = encode(np.zeros((10, 12), np.uint8), "PNG")
    run = lambda: _served_decode(data, pixels)
    if refused:
        with pytest.raises(tf.errors.InvalidArgumentError, match=f"12x10 = 120 pixels, over .* of {pixels} pixels"):
            run()
    else:
        assert run().shape == (10, 12, 1)


def test_the_batch_limit_counts_every_image():
    data = tf.constant([encode(np.zeros((10, 12), np.uint8), "PNG")] * 3)
    config = DataConfig()
    assert serving_transform_bytes(data, 8, 1, config, max_batch_pixels=360).shape == (3, 8, 8, 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="batch of 3 images declares 360 pixels.* of 359"):
        serving_transform_bytes(data, 8, 1, config, max_batch_pixels=359)
    images = np.zeros((3, 10, 12, 3), np.uint8)
    assert serving_transform(images, 8, 1, config, max_batch_pixels=360).shape == (3, 8, 8, 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="batch of 3 images declares 360 pixels"):
        serving_transform(images, 8, 1, config, max_batch_pixels=359)
    with pytest.raises(tf.errors.InvalidArgumentError, match="12x10 = 120 pixels, over the serving limit of 119"):
        serving_transform(images, 8, 1, config, max_pixels=119)


def test_an_animated_gif_is_cut_to_its_first_frame():
    rng = np.random.default_rng(0)
    frames = [Image.fromarray(rng.integers(0, 256, (9, 11), dtype=np.uint8)) for _ in range(4)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], comment=b"x" * 600)
    data = buffer.getvalue()
    _, prepared, height, width, _ = _declared_size(tf.constant(data))
    assert (int(height), int(width)) == (9, 11) and len(prepared.numpy()) < len(data) // 2
    assert tf.io.decode_gif(prepared).shape[0] == 1  # one frame left in the file
    first = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    np.testing.assert_array_equal(decode_any(prepared).numpy(), first)


def test_a_gif_of_200000_one_byte_sub_blocks_is_walked_to_its_image():
    # A comment of 200,000 one-byte sub-blocks before the image: the pointer doubling must still find the image.
    data = gif((4, 4), side=4)
    screen_end = 13 + 6
    comment = b"\x21\xfe" + b"\x01x" * 200_000 + b"\x00"
    data = data[:screen_end] + comment + data[screen_end:]
    assert _served_decode(data, 100).shape == (4, 4, 3)
