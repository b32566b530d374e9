"""`shapes`: an embedded image-classification dataset, drawn offline and deterministically at any resolution,
with masks for segmentation (`generate_shape_masks`).

It lets the pipeline run end to end on a machine with no network and no downloaded data, and it still asks a
network to learn spatial features: the classes differ only in the outline of one shape. Position, size,
rotation, colours, the background's gradient and the pixel noise are drawn independently of the class, and every
shape covers the same area, so neither the colour statistics of an image nor its brightness or contrast tell the
class (tests/test_data_shapes.py checks this).

Each shape is a signed distance function of the pixel centres in the shape's own frame (rotated and scaled);
coverage is `clip(0.5 - distance_in_pixels, 0, 1)`, which antialiases the edges for free. Everything is
vectorised numpy in float32, chunk by chunk (each chunk with its own seeded generator, so the result does not
depend on how many threads drew it): 1,500 images of 227x227x3 take about 1.5 s on 2 cores.
"""

import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np

SHAPE_NAMES = ("circle", "square", "triangle", "star", "cross", "ring", "hexagon", "crescent")

_CHUNK = 32  # images drawn by one generator; fixed so that the bytes do not depend on the thread count


def _polygon(u, v, corners, inner):
    """A regular star polygon with unit outer radius: `corners` tips, inner vertices at radius `inner`.

    The plane is folded into the half-wedge between a tip (angle 0) and the next inner vertex, and the distance
    is taken to the line through the two: exact along the edges, which is all antialiasing needs. With `inner`
    equal to cos(pi / corners) the edge is straight and this is a regular polygon.
    """
    sector = 2 * np.pi / corners
    rho = _radius(u, v)
    phi = np.abs(np.mod(np.arctan2(v, u), sector) - sector / 2)  # 0 at an inner vertex, sector/2 at a tip
    qx, qy = rho * np.cos(phi), rho * np.sin(phi)
    tip = np.array([np.cos(sector / 2), np.sin(sector / 2)])
    valley = np.array([inner, 0.0])
    normal = np.array([tip[1] - valley[1], valley[0] - tip[0]])
    normal /= np.hypot(*normal)
    return ((qx - valley[0]) * normal[0] + (qy - valley[1]) * normal[1]).astype(np.float32)


def _radius(u, v):
    return np.sqrt(u * u + v * v)  # twice as fast as np.hypot, and the values here are far from overflowing


def _box(u, v, half_width, half_height):
    qx, qy = np.abs(u) - half_width, np.abs(v) - half_height
    return _radius(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0)


# Signed distance (negative inside) of each class's shape, in units of its outer radius.
_SDF = {
    "circle": lambda u, v: _radius(u, v) - 1,
    "square": lambda u, v: _polygon(u, v, 4, np.cos(np.pi / 4)),
    "triangle": lambda u, v: _polygon(u, v, 3, np.cos(np.pi / 3)),
    "star": lambda u, v: _polygon(u, v, 5, 0.42),
    "cross": lambda u, v: np.minimum(_box(u, v, 1.0, 0.3), _box(u, v, 0.3, 1.0)),
    "ring": lambda u, v: np.abs(_radius(u, v) - 0.72) - 0.28,
    "hexagon": lambda u, v: _polygon(u, v, 6, np.cos(np.pi / 6)),
    "crescent": lambda u, v: np.maximum(_radius(u, v) - 1, 0.8 - _radius(u - 0.5, v)),
}


@functools.cache
def _scale(name):
    """How much to enlarge a unit shape so that it covers the circle's area (measured on a fine grid)."""
    grid = (np.arange(800) + 0.5) / 400 - 1.0
    area = np.mean(_SDF[name](*np.meshgrid(grid, grid)) < 0)
    return float(np.sqrt(np.mean(_SDF["circle"](*np.meshgrid(grid, grid)) < 0) / area))


def class_names(num_classes=6):
    """The names of the first `num_classes` shapes, in label order."""
    return list(SHAPE_NAMES[:num_classes])


def generate_shapes(num_images, *, image_size, channels=3, num_classes=6, seed=0, split=0, threads=2):
    """Draws `num_images` images and their labels: (uint8 [N, S, S, C], int64 [N]).

    Labels are balanced (they cycle through the classes, then are shuffled). The same arguments always give
    the same bytes; another seed, or another `split` number (0 train, 1 validation), gives other images.
    """
    if not 2 <= num_classes <= len(SHAPE_NAMES):
        raise ValueError(f"num_classes must be from 2 to {len(SHAPE_NAMES)}, got {num_classes}.")
    labels = np.random.default_rng([seed, split, 0]).permutation(np.arange(num_images) % num_classes).astype(np.int64)
    images = np.empty((num_images, image_size, image_size, channels), np.uint8)
    starts = range(0, num_images, _CHUNK)

    def draw(start):
        chunk = labels[start : start + _CHUNK]
        rng = np.random.default_rng([seed, split, 1, start])
        images[start : start + len(chunk)] = _draw(chunk, image_size, channels, rng)

    with ThreadPoolExecutor(max(1, threads)) as pool:  # numpy releases the GIL in its array loops
        list(pool.map(draw, starts))
    return images, labels


def generate_shape_masks(
    num_images, *, image_size, channels=3, num_classes=6, shapes_per_image=1, seed=0, split=0, threads=2
):
    """Draws `num_images` images and their masks for segmentation: (uint8 [N, S, S, C], uint8 [N, S, S]).

    A pixel's class is that of the shape drawn over it (1 to num_classes, in SHAPE_NAMES' order) or 0 for the
    background; a pixel counts as the shape's where the shape covers at least half of it. Each image holds
    `shapes_per_image` shapes of independently drawn classes, each placed, sized, rotated and coloured as in
    `generate_shapes` (the later ones over the earlier ones), on a background lighter or darker than all of them.
    The same arguments always give the same bytes.
    """
    if not 2 <= num_classes <= len(SHAPE_NAMES):
        raise ValueError(f"num_classes must be from 2 to {len(SHAPE_NAMES)}, got {num_classes}.")
    if shapes_per_image < 1:
        raise ValueError(f"shapes_per_image must be at least 1, got {shapes_per_image}.")
    count = num_images * shapes_per_image
    labels = np.random.default_rng([seed, split, 2]).permutation(np.arange(count) % num_classes)
    labels = labels.reshape(num_images, shapes_per_image).astype(np.int64)
    images = np.empty((num_images, image_size, image_size, channels), np.uint8)
    masks = np.empty((num_images, image_size, image_size), np.uint8)

    def draw(start):
        chunk = labels[start : start + _CHUNK]
        rng = np.random.default_rng([seed, split, 3, start])
        end = start + len(chunk)
        images[start:end], masks[start:end] = _draw_masked(chunk, image_size, channels, rng)

    with ThreadPoolExecutor(max(1, threads)) as pool:
        list(pool.map(draw, range(0, num_images, _CHUNK)))
    return images, masks


def _draw_masked(labels, size, channels, rng):
    n, layers = labels.shape
    light_background = rng.random(n) < 0.5
    bg = np.where(
        light_background[:, None], rng.uniform(0.6, 1.0, (n, channels)), rng.uniform(0.0, 0.4, (n, channels))
    ).astype(np.float32)
    coverages, foregrounds = [], []
    mask = np.zeros((n, size, size), np.uint8)
    for j in range(layers):
        centre, extent, angle = sample_layout(labels[:, j], size, rng)
        coverage, dx, dy = _coverage(labels[:, j], size, centre, extent, angle)
        fg = np.where(
            light_background[:, None], rng.uniform(0.0, 0.4, (n, channels)), rng.uniform(0.6, 1.0, (n, channels))
        ).astype(np.float32)
        coverages.append(coverage)
        foregrounds.append(fg)
        mask = np.where(coverage >= 0.5, (labels[:, j] + 1)[:, None, None].astype(np.uint8), mask)
    return _paint(coverages, foregrounds, bg, dx, dy, size, channels, rng), mask


def sample_layout(labels, image_size, rng):
    """Each image's centre (x, y), outer radius and rotation in pixels and radians: drawn independently of the
    class, except that a shape is enlarged to the common area and kept inside the frame."""
    n = len(labels)
    scales = np.array([_scale(SHAPE_NAMES[k]) for k in labels])
    radius = rng.uniform(0.17, 0.25, n) * image_size  # the circle's; ~1/3 to 1/2 of the frame across
    extent = radius * scales  # outer radius of the enlarged shape
    margin = extent + 0.03 * image_size
    centre = margin[:, None] + rng.random((n, 2)) * np.maximum(image_size - 2 * margin, 0)[:, None]
    angle = rng.uniform(0, 2 * np.pi, n)
    return centre, extent, angle


def _draw(labels, size, channels, rng):
    n = len(labels)
    centre, extent, angle = sample_layout(labels, size, rng)
    # Colours: one of foreground and background light, the other dark, at random, so that the mean colour of
    # every class is the same and the shape always stands out by at least 0.2 (of 1) in every channel.
    light, dark = rng.uniform(0.6, 1.0, (n, channels)), rng.uniform(0.0, 0.4, (n, channels))
    light_shape = rng.random(n) < 0.5
    fg = np.where(light_shape[:, None], light, dark).astype(np.float32)
    bg = np.where(light_shape[:, None], dark, light).astype(np.float32)

    coverage, dx, dy = _coverage(labels, size, centre, extent, angle)
    return _paint([coverage], [fg], bg, dx, dy, size, channels, rng)


def _coverage(labels, size, centre, extent, angle):
    """Each shape's antialiased coverage of each pixel [n, S, S] in [0, 1], and the pixels' offsets from the
    centres (dx [n, 1, S], dy [n, S, 1])."""
    n = len(labels)
    pixels = np.arange(size, dtype=np.float32) + 0.5
    dx = pixels[None, None, :] - centre[:, 0, None, None].astype(np.float32)
    dy = pixels[None, :, None] - centre[:, 1, None, None].astype(np.float32)
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    u = ((dx * cos + dy * sin) / extent[:, None, None]).astype(np.float32)
    v = ((dy * cos - dx * sin) / extent[:, None, None]).astype(np.float32)
    distance = np.empty((n, size, size), np.float32)
    for k in np.unique(labels):
        mine = labels == k
        distance[mine] = _SDF[SHAPE_NAMES[k]](u[mine], v[mine])
    return np.clip(0.5 - distance * extent[:, None, None].astype(np.float32), 0, 1), dx, dy


def _paint(coverages, foregrounds, bg, dx, dy, size, channels, rng):
    """The shapes (coverage [n, S, S] and colour [n, C] of each, bottom first) over the background colour bg,
    then a linear illumination gradient across the frame at a random angle and strength, and about 2% of noise
    (small integers: much cheaper than normals), shared by the channels; composed in place, as it is the costly
    part of drawing."""
    n = len(bg)
    tilt = rng.uniform(0, 2 * np.pi, n)
    strength = rng.uniform(0, 0.1 * 255, n).astype(np.float32)[:, None, None] / size
    shade = (dx * np.cos(tilt)[:, None, None] + dy * np.sin(tilt)[:, None, None]).astype(np.float32) * strength
    shade += rng.integers(-5, 6, shade.shape, dtype=np.int8)
    planes = []
    for c in range(channels):  # plane by plane: numpy is slow to broadcast over a last axis of 3
        if len(coverages) == 1:
            plane = coverages[0] * ((foregrounds[0][:, c] - bg[:, c]) * 255)[:, None, None]
            plane += (bg[:, c] * 255)[:, None, None]
        else:  # each shape over what is already painted (a shape may hide part of another)
            plane = np.broadcast_to((bg[:, c] * 255)[:, None, None], (n, size, size)).astype(np.float32)
            for coverage, fg in zip(coverages, foregrounds):
                plane += coverage * ((fg[:, c] * 255)[:, None, None] - plane)
        plane += shade
        planes.append(np.clip(plane, 0, 255, out=plane).astype(np.uint8))
    return np.stack(planes, axis=-1)
