"""Channel conversion, the evaluation crop, normalisation, the serving transforms and the 10-crop."""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerascnn.data import (
    DataConfig,
    DataError,
    decode_for_serving,
    eval_transform,
    load_splits,
    make_dataset,
    ten_crop,
    to_channels,
)
from kerascnn.data.recipes import eval_resize, paper_pixels
from kerascnn.data.transforms import decode_any
from kerascnn.serving import serving_transform, serving_transform_bytes

RNG = np.random.default_rng(0)


def coordinates(height, width):
    """An image whose pixel (y, x) holds (y, x, 7): where a crop came from can be read off its pixels."""
    ys, xs = np.mgrid[:height, :width]
    return np.stack([ys, xs, np.full_like(ys, 7)], -1).astype(np.uint8)


@pytest.mark.parametrize("have", [1, 2, 3, 4])
@pytest.mark.parametrize("want", [1, 3, 4])
def test_to_channels_matches_pillow(have, want):
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[have]
    pixels = RNG.integers(0, 256, (5, 6, have), dtype=np.uint8)
    expected = np.asarray(
        Image.fromarray(pixels.squeeze(-1) if have == 1 else pixels, mode).convert({1: "L", 3: "RGB", 4: "RGBA"}[want])
    )
    expected = expected.reshape(5, 6, want)
    if have == 2 and want == 4:  # Pillow keeps LA's alpha; we drop alpha and make the result opaque
        expected = np.concatenate([expected[..., :3], np.full((5, 6, 1), 255, np.uint8)], -1)
    for images in (pixels, tf.constant(pixels)):
        got = to_channels(images, want).numpy()
        np.testing.assert_allclose(got, expected, atol=1)  # Pillow's luma rounds with integer arithmetic
    # With the channel count unknown until run time (tf.io.decode_image(channels=0)):
    spec = tf.TensorSpec([None, None, None], tf.uint8)
    dynamic = tf.function(lambda x: to_channels(x, want), input_signature=[spec])
    np.testing.assert_allclose(dynamic(pixels).numpy(), expected, atol=1)


def test_normalization_by_hand():
    config = DataConfig(normalization="imagenet")
    image = np.zeros((4, 4, 3), np.uint8)
    image[..., 0] = 255
    out = eval_transform(image, 4, 3, config).numpy()
    np.testing.assert_allclose(out[0, 0], [(255 - 123.675) / 58.395, -116.28 / 57.12, -103.53 / 57.375], rtol=1e-6)
    gray = eval_transform(image, 4, 1, DataConfig(normalization="unit")).numpy()
    np.testing.assert_allclose(gray[0, 0], [round(0.299 * 255) / 255])  # luma, rounded to uint8
    lenet = eval_transform(np.array([[[0], [255]]], np.uint8).repeat(2, 0), 2, 1, DataConfig(normalization="lenet"))
    np.testing.assert_allclose(sorted(set(lenet.numpy().ravel())), [-0.1, 1.175], rtol=1e-5)  # LeCun et al. 1998
    with pytest.raises(DataError, match="data.mean"):
        DataConfig(mean=(1.0, 2.0)).normalization_stats(3)


def test_eval_sizes_follow_the_recipes():
    assert eval_resize(224, "resnet") == 256 and eval_resize(227, "alexnet") == 256  # 256 -> centre 224 / 227
    assert eval_resize(224, "none", crop_fraction=0.875) == 256  # torchvision's
    assert eval_resize(112, "vgg") == 128 and eval_resize(32, "cifar") == 32
    assert paper_pixels(480, 448) == 960 and paper_pixels(256, 227) == 256


def test_eval_transform_resizes_the_shorter_side_and_crops_the_centre():
    config = DataConfig(augmentation="resnet", normalization="unit")  # 256 -> 224
    image = coordinates(256, 512)  # column values wrap past 255
    out = eval_transform(image, 224, 3, config).numpy() * 255
    # 256 x 512 is already 256 on its short side: only the centre crop, rows 16..239, columns 144..367.
    np.testing.assert_allclose(out[:, 0, 0], np.arange(16, 240), atol=1e-3)
    np.testing.assert_allclose(out[0, :, 1], (np.arange(144, 368)) % 256, atol=1e-3)


def test_serving_transform_equals_the_eval_pipeline():
    config = DataConfig(augmentation="alexnet", normalization="imagenet", shapes_train=8, shapes_val=6)
    splits = load_splits(config, 67, 3)
    raw = np.stack([x for x, _ in splits.val.as_numpy_iterator()])
    batches = make_dataset(splits.val, training=False, image_size=67, channels=3, batch_size=4, config=config)
    pipeline = np.concatenate([x for x, _ in batches.as_numpy_iterator()])
    np.testing.assert_array_equal(serving_transform(raw, 67, 3, config).numpy(), pipeline)
    # Another size and mode of input, converted inside the graph: RGBA 50x90 for a grayscale model.
    rgba = RNG.integers(0, 256, (2, 50, 90, 4), dtype=np.uint8)
    served = serving_transform(rgba, 40, 1, config).numpy()
    one_by_one = np.stack([eval_transform(image, 40, 1, config).numpy() for image in rgba])
    np.testing.assert_array_equal(served, one_by_one)
    assert served.shape == (2, 40, 40, 1)


def test_serving_graph_takes_any_size_and_uses_core_ops_only():
    config = DataConfig(augmentation="resnet", normalization="imagenet")
    fn = tf.function(lambda x: serving_transform(x, 64, 3, config)).get_concrete_function(
        tf.TensorSpec([None, None, None, 3], tf.uint8)
    )
    assert fn.structured_outputs.shape.as_list() == [None, 64, 64, 3]
    ops = {op.type for op in fn.graph.get_operations()}
    assert not ops & {"PyFunc", "EagerPyFunc", "PyFuncStateless"}
    for size in [(1, 70, 70), (3, 100, 65)]:
        assert fn(tf.zeros(size + (3,), tf.uint8)).shape == (size[0], 64, 64, 3)


def test_decode_for_serving_and_bytes_signature_match_eval():
    config = DataConfig(normalization="unit")
    images = [RNG.integers(0, 256, (30, 40, 3), dtype=np.uint8), RNG.integers(0, 256, (50, 20), dtype=np.uint8)]
    encoded = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "PNG")
        encoded.append(buffer.getvalue())
    out = serving_transform_bytes(tf.constant(encoded), 16, 3, config).numpy()
    assert out.shape == (2, 16, 16, 3)
    for got, image in zip(out, images):
        rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, -1)
        np.testing.assert_array_equal(got, eval_transform(rgb, 16, 3, config).numpy())
    np.testing.assert_array_equal(decode_for_serving(encoded[1], 1).numpy()[..., 0], images[1])


def _encoded(mode, fmt):
    pixels = Image.fromarray(RNG.integers(0, 256, (6, 9, 4), dtype=np.uint8), "RGBA").convert(mode)
    buffer = io.BytesIO()
    pixels.save(buffer, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "mode, fmt",
    [(m, "PNG") for m in ("L", "LA", "RGB", "RGBA", "P", "1")]
    + [(m, "JPEG") for m in ("L", "RGB", "CMYK")]
    + [("RGB", "BMP"), ("RGBA", "BMP"), ("P", "BMP"), ("RGBA", "GIF")]
    + [(m, "WEBP") for m in ("RGB", "RGBA")],
)
def test_decoding_straight_to_rgb_is_decoding_then_converting(mode, fmt):
    # decode_image(.., 3) lets TensorFlow's decoder drop alpha and repeat gray, so that an RGBA image is never held
    # twice; it must give what the file's own channels give through to_channels (tested against Pillow above).
    encoded = tf.constant(_encoded(mode, fmt))
    expected = to_channels(decode_any(encoded), 3).numpy()
    got = tf.function(lambda x: decode_for_serving(x, 3))(encoded).numpy()
    assert got.shape == (6, 9, 3)
    np.testing.assert_array_equal(got, expected)


def test_ten_crop_takes_corners_centre_and_their_mirrors():
    config = DataConfig(normalization="unit")
    crops = (ten_crop(coordinates(256, 256), 224, 3, config).numpy() * 255).round().astype(int)
    assert crops.shape == (10, 224, 224, 3)
    for crop, (top, left) in zip(crops[:5], [(0, 0), (0, 32), (32, 0), (32, 32), (16, 16)]):
        assert (crop[0, 0, 0], crop[0, 0, 1]) == (top, left)
        assert (crop[-1, -1, 0], crop[-1, -1, 1]) == (top + 223, left + 223)
    np.testing.assert_array_equal(crops[5:], crops[:5, :, ::-1])


@pytest.mark.parametrize("shape", [(30, 45, 3), (1, 500, 4), (0, 5, 3), (2, 20, 30, 3), (0, 8, 8, 3)])
def test_gray_conversion_in_bands_is_the_whole_images(monkeypatch, shape):
    from kerascnn.data import transforms
    from kerascnn.data.config import LUMA

    monkeypatch.setattr(transforms, "BAND_PIXELS", 100)  # several bands, and a last one shorter
    x = RNG.integers(0, 256, shape, dtype=np.uint8)
    whole = np.round(sum(w * x[..., i : i + 1].astype(np.float32) for i, w in enumerate(LUMA))).astype(np.uint8)
    np.testing.assert_array_equal(to_channels(tf.constant(x), 1).numpy(), whole)


def test_a_uint8_image_is_resized_as_its_float32_copy():
    from kerascnn.data.transforms import resize_shorter

    x = RNG.integers(0, 256, (301, 457, 3), dtype=np.uint8)
    by_copy = tf.image.resize(x.astype(np.float32), [256, 388], method="bilinear", antialias=True).numpy()
    np.testing.assert_array_equal(resize_shorter(tf.constant(x), 256).numpy(), by_copy)
