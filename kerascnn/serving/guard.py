"""The serving graph's guard against hostile requests: the size an encoded image declares is read from its header,
in TensorFlow ops, and checked before anything is decoded, so that TF Serving enforces the limits with no code of
ours and a request over them costs no more memory than its own bytes.

What is read, by format (the format is told by its signature, as TensorFlow's own decoders tell it; anything else
is refused before a decoder sees it):
- JPEG (ITU-T T.81, the SOFn frame header): `tf.image.extract_jpeg_shape`, which reads the markers up to the frame
  header and decodes no scan.
- PNG (PNG spec, 3rd ed., 11.2.2): the IHDR chunk, which must come first: width and height, 4-byte big-endian, at
  bytes 16 and 20 of the file.
- GIF (GIF89a spec, 18 and 20): the logical screen descriptor (width and height, 2-byte little-endian, at bytes 6
  and 8) and the image descriptor of the first image. TensorFlow's decoder (giflib's DGifSlurp) decompresses every
  frame even when only the first is kept, so the bytes are cut after the first image's data and a trailer (0x3B)
  appended: only that frame is ever decompressed. Finding its end means walking the chain of data sub-blocks (a
  length byte, then that many bytes, until a 0); it is walked for every byte position at once by pointer doubling
  (log2(n) gathers), not byte by byte, so a file of a million 1-byte sub-blocks costs milliseconds, not minutes.
- BMP (BITMAPFILEHEADER, 14 bytes, then BITMAPINFOHEADER or a later version, >= 40 bytes): width and height,
  4-byte little-endian signed, at bytes 18 and 22; a negative height is a top-down bitmap of |height| rows, as
  TensorFlow's decoder reads it. The 12-byte BITMAPCOREHEADER (OS/2) is refused: TensorFlow reads 4-byte fields.
- WebP (RIFF container, Google's "WebP Container Specification" and RFC 6386 / the lossless bitstream spec): the
  first chunk after "WEBP": "VP8 " (the key frame's 14-bit width and height after the start code 9D 01 2A),
  "VP8L" (14-bit width-1 and height-1 after the signature byte 0x2F) or "VP8X" (24-bit canvas width-1 and
  height-1). An animated WebP (VP8X animation flag) is refused: its frames could not be cut to the first here.

`checked_batch(image_bytes, max_pixels, max_batch_pixels)` checks a batch, each image and their total, before any
of it is decoded, and returns what `kerascnn.serving.transforms.serving_transform_bytes` then decodes one by one;
`checked_images` does the same for uint8 image arrays. Every refusal is an InvalidArgument whose message names the
limit and the declared size.
"""

import tensorflow as tf

from kerascnn.data.transforms import SIGNATURES

FORMATS = ("JPEG", "PNG", "GIF", "BMP", "WebP")
# A format's kind is 1 + its index in FORMATS (the order of declared_size's branches); 0 is none of them.
_UNKNOWN, _JPEG = 0, 1 + FORMATS.index("JPEG")
_HEAD = 32  # bytes of header read for every format
MAX_CHANNELS = 4  # gray, gray + alpha, RGB, RGBA: what to_channels converts from
_GIF_BLOCKS_BEFORE_IMAGE = 1024  # extension blocks allowed before the first image (real files have a handful)


def checked_batch(encoded, max_pixels, max_batch_pixels):
    """A batch of encoded images [B] -> the strings to decode [B] (GIFs cut to their first image), once every image
    has passed the checks (its header is one of FORMATS, whole, and declares no zero side and at most `max_pixels`
    pixels) and their declared pixels together are at most `max_batch_pixels`. Nothing is decoded here; an empty
    batch passes."""
    prepared, heights, widths = tf.map_fn(
        lambda e: _checked_image(e, max_pixels),
        encoded,
        fn_output_signature=(tf.string, tf.int64, tf.int64),
    )
    return _with_batch_check(prepared, tf.reduce_sum(heights * widths), tf.size(encoded), max_batch_pixels)


def checked_images(images, max_pixels, max_batch_pixels):
    """uint8 images [B, H, W, C] -> the same, once H and W are positive, C is 1 to 4, H x W is at most
    `max_pixels` and B x H x W at most `max_batch_pixels` (a request's float32 copy would be 4 times its size)."""
    shape = tf.shape(images, out_type=tf.int64)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    checks = [
        _assert(
            (channels >= 1) & (channels <= MAX_CHANNELS),
            "images have {} channels; the model takes 1 to 4 (gray, gray and alpha, RGB, RGBA)",
            [channels],
        ),
        _size_check(height, width, max_pixels),
    ]
    with tf.control_dependencies(checks):
        return _with_batch_check(tf.identity(images), batch * height * width, batch, max_batch_pixels)


def padded_batch_check(shapes, max_batch_pixels):
    """An op refusing a batch whose images' sizes [B, 2] (height, width), each padded to the largest height and
    the largest width (a batched answer at the images' sizes), come to more than `max_batch_pixels` pixels."""
    shapes = tf.cast(shapes, tf.int64)
    largest = tf.reduce_max(tf.concat([shapes, tf.zeros([1, 2], tf.int64)], 0), axis=0)
    pixels = tf.cast(tf.shape(shapes)[0], tf.int64) * largest[0] * largest[1]
    return _assert(
        pixels <= max_batch_pixels,
        "a batch of {} images padded to the largest ({}x{}) is {} pixels, over the serving limit of {} pixels a "
        "batch (max_batch_pixels): send images of different shapes in separate requests",
        [
            tf.cast(tf.shape(shapes)[0], tf.int64),
            largest[1],
            largest[0],
            pixels,
            tf.constant(max_batch_pixels, tf.int64),
        ],
    )


def declared_size(encoded):
    """(format index into FORMATS or -1, prepared bytes, height, width, problem): what the header of one encoded
    image declares, read without decoding; `problem` is an empty string or why the header cannot be used."""
    length = tf.strings.length(encoded, unit="BYTE")
    head = tf.cast(tf.io.decode_raw(tf.strings.substr(encoded, 0, _HEAD), tf.uint8, fixed_length=_HEAD), tf.int64)
    kind = _kind(encoded, head)
    none = lambda problem: lambda: (encoded, tf.constant(0, tf.int64), tf.constant(0, tf.int64), problem)
    branches = [
        none(tf.constant(f"not a {', '.join(FORMATS[:-1])} or {FORMATS[-1]} image (its first bytes are unknown)")),
        lambda: _jpeg(encoded),
        lambda: _png(encoded, head, length),
        lambda: _gif(encoded, head, length),
        lambda: _bmp(encoded, head, length),
        lambda: _webp(encoded, head, length),
    ]
    prepared, height, width, problem = tf.switch_case(kind, branches)
    return kind - 1, prepared, height, width, problem


def _kind(encoded, head):
    # The signatures are read from the header's bytes (zero past a short file's end), not with substr, which fails
    # on a string shorter than its offset: a 3-byte request must be refused, not crash the graph.
    kind = tf.constant(_UNKNOWN)
    for name, signature in SIGNATURES.items():
        parts = [head[at : at + len(part)] == tf.constant(list(part), tf.int64) for at, part in signature]
        kind = tf.where(tf.reduce_all(tf.concat(parts, 0)), 1 + FORMATS.index(name), kind)
    return tf.where(tf.io.is_jpeg(encoded), _JPEG, kind)


def _checked_image(encoded, max_pixels):
    kind, prepared, height, width, problem = declared_size(encoded)
    readable = tf.debugging.Assert(tf.equal(problem, ""), [problem], summarize=1)  # printed as it is, unquoted
    with tf.control_dependencies([readable]):
        size = _size_check(height, width, max_pixels)
    with tf.control_dependencies([size]):
        return tf.identity(prepared), height, width


def _size_check(height, width, max_pixels):
    # Sides clamped to 2**31 so that the product cannot overflow int64; a clamped side is over any limit anyway.
    pixels = tf.minimum(height, 2**31) * tf.minimum(width, 2**31)
    positive = _assert(
        (height > 0) & (width > 0), "image declares {}x{} pixels: a zero width or height", [width, height]
    )
    with tf.control_dependencies([positive]):
        return _assert(
            pixels <= max_pixels,
            "image declares {}x{} = {} pixels, over the serving limit of {} pixels (max_image_pixels)",
            [width, height, pixels, tf.constant(max_pixels, tf.int64)],
        )


def _with_batch_check(tensor, pixels, count, max_batch_pixels):
    check = _assert(
        pixels <= max_batch_pixels,
        "a batch of {} images declares {} pixels in all, over the serving limit of {} pixels a batch "
        "(max_batch_pixels)",
        [tf.cast(count, tf.int64), pixels, tf.constant(max_batch_pixels, tf.int64)],
    )
    with tf.control_dependencies([check]):
        return tf.identity(tensor)


def _assert(condition, template, values):
    """An op that fails with InvalidArgument("assertion failed: [<message>]") when `condition` is false; the message
    is formatted only then."""
    return tf.debugging.Assert(condition, [tf.strings.format(template, values)], summarize=1)


def _problem(ok, message):
    return tf.where(ok, "", message)


def _uint(head, start, count, big_endian):
    positions = range(start, start + count)
    value = tf.constant(0, tf.int64)
    for shift, i in enumerate(reversed(positions) if big_endian else positions):
        value += head[i] * (256**shift)
    return value


def _jpeg(encoded):
    # Decodes no scan data; a header it cannot read is its own InvalidArgument.
    shape = tf.cast(tf.image.extract_jpeg_shape(encoded), tf.int64)
    return encoded, shape[0], shape[1], tf.constant("")


def _png(encoded, head, length):
    ok = (length >= 24) & tf.reduce_all(head[12:16] == tf.constant(list(b"IHDR"), tf.int64))
    problem = _problem(ok, "a PNG whose first chunk is not a whole IHDR (truncated or corrupt)")
    return encoded, _uint(head, 20, 4, True), _uint(head, 16, 4, True), problem


def _bmp(encoded, head, length):
    info = _uint(head, 14, 4, False)
    width, height = _signed32(_uint(head, 18, 4, False)), _signed32(_uint(head, 22, 4, False))
    problem = tf.where(
        length < 26,
        "a BMP whose header is truncated",
        _problem(info >= 40, "a BMP with an OS/2 core header (only BITMAPINFOHEADER and later are read)"),
    )
    # A negative height is a top-down bitmap; a negative width is no bitmap at all (refused as zero-sized).
    return encoded, tf.abs(height), tf.maximum(width, 0), problem


def _signed32(value):
    return tf.where(value >= 2**31, value - 2**32, value)


def _webp(encoded, head, length):
    chunk = head[12:16]
    is_chunk = lambda name: tf.reduce_all(chunk == tf.constant(list(name), tf.int64))
    lossy, lossless, extended = is_chunk(b"VP8 "), is_chunk(b"VP8L"), is_chunk(b"VP8X")
    lossy_ok = tf.reduce_all(head[23:26] == tf.constant([0x9D, 0x01, 0x2A], tf.int64))
    bits = _uint(head, 21, 4, False)
    height = tf.where(
        lossy,
        _uint(head, 28, 2, False) % 2**14,
        tf.where(lossless, (bits // 2**14) % 2**14 + 1, _uint(head, 27, 3, False) + 1),
    )
    width = tf.where(
        lossy, _uint(head, 26, 2, False) % 2**14, tf.where(lossless, bits % 2**14 + 1, _uint(head, 24, 3, False) + 1)
    )
    animated = extended & ((head[20] // 2) % 2 == 1)
    problem = tf.where(
        length < 30,
        "a WebP whose header is truncated",
        tf.where(
            (lossy & lossy_ok) | (lossless & tf.equal(head[20], 0x2F)) | (extended & ~animated),
            "",
            tf.where(animated, "an animated WebP (not served: send one frame)", "a WebP whose first chunk is corrupt"),
        ),
    )
    return encoded, height, width, problem


def _gif(encoded, head, length):
    """The bytes up to the end of the first image plus a trailer, and the larger of the logical screen and the
    first image's sides (giflib allocates the image's, TensorFlow the screen's)."""
    data = tf.cast(tf.io.decode_raw(encoded, tf.uint8), tf.int32)
    n = tf.size(data)
    padded = tf.concat([data, tf.zeros([16], tf.int32)], 0)  # reads past the end see zeros, checked against n
    ends = _sub_block_ends(data)
    flags = padded[10]
    start = 13 + tf.where(flags >= 128, 3 * 2 ** (flags % 8 + 1), 0)  # after the global colour table

    def step(position, found, end):
        introducer = padded[tf.minimum(position, n)]
        is_extension, is_image = tf.equal(introducer, 0x21), tf.equal(introducer, 0x2C)
        after_extension = ends[tf.minimum(position + 2, n)] + 1
        local = padded[tf.minimum(position + 9, n)]
        image_data = position + 11 + tf.where(local >= 128, 3 * 2 ** (local % 8 + 1), 0)  # LZW code size byte first
        image_end = ends[tf.minimum(image_data, n)] + 1
        next_position = tf.where(is_extension, after_extension, tf.where(is_image, position, n + 1))
        return next_position, is_image, tf.where(is_image, image_end, end)

    position, found, end = tf.while_loop(
        lambda position, found, end: ~found & (position < n),
        step,
        (start, tf.constant(False), tf.constant(0)),
        maximum_iterations=_GIF_BLOCKS_BEFORE_IMAGE,
    )
    found &= end <= n
    at = tf.minimum(position, n)
    descriptor = tf.cast(padded[at + 1 : at + 10], tf.int64)  # left, top, width, height (2 bytes each), flags
    screen_width, screen_height = _uint(head, 6, 2, False), _uint(head, 8, 2, False)
    image_width, image_height = _uint(descriptor, 4, 2, False), _uint(descriptor, 6, 2, False)
    height, width = tf.maximum(screen_height, image_height), tf.maximum(screen_width, image_width)
    # A zero side of the screen or of the image is refused, whichever has it.
    zero = tf.equal(screen_width * screen_height * image_width * image_height, 0)
    height = tf.where(zero & found, tf.constant(0, tf.int64), height)
    first = tf.strings.substr(encoded, 0, tf.where(found, end, 0)) + b"\x3b"
    problem = tf.where(
        length < 13,
        "a GIF whose header is truncated",
        _problem(
            found, f"a GIF with no whole first image within {_GIF_BLOCKS_BEFORE_IMAGE} blocks (truncated or corrupt)"
        ),
    )
    return first, height, width, problem


def _sub_block_ends(data):
    """For every position i, where a chain of GIF data sub-blocks starting at i ends (its 0 length byte), or n when
    it runs past the end: each position points to the next length byte, and pointers are doubled until fixed."""
    n = tf.size(data)
    positions = tf.range(n, dtype=tf.int32)
    following = tf.where(tf.equal(data, 0), positions, tf.minimum(positions + data + 1, n))
    ends = tf.concat([following, [n]], 0)
    moving = lambda ends: ~tf.reduce_all(tf.equal(tf.gather(ends, ends), ends))
    return tf.while_loop(moving, lambda ends: [tf.gather(ends, ends)], [ends], maximum_iterations=40)[0]
