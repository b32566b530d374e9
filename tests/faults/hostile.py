"""Hostile requests for a served model, built byte by byte: decompression bombs (a small file declaring a huge
image), animated GIFs of many frames, truncated and corrupt files of each format, zero-sized images. Each builder
writes the format's structures itself (PNG spec 11.2, GIF89a 18-22, BMP BITMAPINFOHEADER, WebP container), so a
test knows exactly what is declared."""

import io
import struct
import zlib

import numpy as np
from PIL import Image


def encode(image, fmt, **options):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def small(fmt, side=16):
    """A real small image of `fmt` (gray gradient, RGB for the formats that have no gray)."""
    gray = np.tile(np.arange(side, dtype=np.uint8) * 8, (side, 1))
    image = gray if fmt in ("PNG", "JPEG", "GIF") else np.stack([gray] * 3, -1)
    return encode(image, fmt, **({"lossless": True} if fmt == "WEBP" else {}))


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width, height, bit_depth=8, rows=None):
    """A gray PNG of `width` x `height`. Its rows are all zero and deflate to almost nothing: at 1 bit a pixel, a
    20000 x 20000 image (400 MB decoded) is ~60 KB. `rows` limits how many rows the data holds (truncation)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    row = b"\x00" * (1 + (width * bit_depth + 7) // 8)
    deflate = zlib.compressobj(9)
    data = b"".join(deflate.compress(row) for _ in range(height if rows is None else rows)) + deflate.flush()
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def png_text_bomb(megabytes):
    """A 16 x 16 PNG carrying a zTXt chunk that inflates to `megabytes` MB of zeros (libpng caps what it inflates).
    The zlib stream is one compressed MB repeated: after a full flush deflate starts afresh, so each MB compresses
    to the same bytes (RFC 1951), and the Adler-32 of the whole (RFC 1950) closes it."""
    block = bytes(2**20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate: header and checksum written here
    one = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    adler = 1
    for _ in range(megabytes):
        adler = zlib.adler32(block, adler)
    text = b"\x78\xda" + one * megabytes + deflate.flush() + struct.pack(">I", adler)
    data = png(16, 16)
    ihdr_end = 8 + 12 + 13
    return data[:ihdr_end] + _chunk(b"zTXt", b"Comment\0\0" + text) + data[ihdr_end:]


def jpeg(width, height):
    """A real 16 x 16 JPEG whose frame header (SOF0) is rewritten to declare `width` x `height`."""
    data = bytearray(small("JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _gif_frame_data(side):
    """The LZW image data (code size byte and sub-blocks) of one all-zero `side` x `side` GIF frame."""
    data = encode(np.zeros((side, side), np.uint8), "GIF")
    start = data.index(b"\x2c")  # Pillow writes no extension before a single frame's descriptor
    flags = data[start + 9]
    start += 10 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    return data[start:-1]  # up to the trailer


def gif(screen, frames=1, frame=None, side=None):
    """A GIF with a logical screen of `screen` (w, h) and `frames` images of `frame` (w, h) each; the image data is
    that of a real all-zero `side` x `side` frame (so a frame larger than `side` is one a decoder fills in)."""
    frame = frame or screen
    body = _gif_frame_data(side or min(frame))
    header = b"GIF89a" + struct.pack("<HHBBB", *screen, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    one = b"\x21\xf9\x04\x00\x01\x00\x00\x00" + b"\x2c" + struct.pack("<HHHHB", 0, 0, *frame, 0) + body
    return header + loop + one * frames + b"\x3b"


def bmp(width, height, bits=24):
    """A BMP header (BITMAPFILEHEADER + BITMAPINFOHEADER) declaring `width` x `height` (negative: top-down), with
    one row of pixel data."""
    row = b"\x00" * ((width * bits // 8 + 3) // 4 * 4) if 0 < width < 100_000 else b""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, bits, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + len(row), 0, 0, 14 + len(info)) + info + row


def webp_lossless(width, height):
    """A RIFF/WEBP file whose VP8L chunk declares `width` x `height` (14 bits each) and holds a few bytes of data."""
    bits = (width - 1) | ((height - 1) << 14)
    chunk = b"\x2f" + struct.pack("<I", bits) + b"\x00" * 16
    return _riff(b"VP8L", chunk)


def webp_extended(width, height, animated=False):
    """A RIFF/WEBP file whose VP8X chunk declares a canvas of `width` x `height` (24 bits each)."""
    flags = 0x02 if animated else 0
    chunk = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return _riff(b"VP8X", chunk)


def _riff(kind, chunk):
    body = b"WEBP" + kind + struct.pack("<I", len(chunk)) + chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body


def png_rgba(width, height, bit_depth=8):
    """A valid RGBA PNG of `width` x `height`, all zero (it deflates to almost nothing, decodes to every byte)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 6, 0, 0, 0)
    row = b"\x00" * (1 + width * 4 * bit_depth // 8)
    deflate = zlib.compressobj(1)
    data = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def at_limit(fmt, pixels):
    """A valid image of `fmt` with the most pixels a request may have (a square of at most `pixels`), in the mode
    that decodes to the most bytes: RGBA for PNG (16 bits a sample) and WebP, 32-bit BGRA for BMP, GIF's one."""
    side = int(pixels**0.5)
    if fmt == "PNG":
        return png_rgba(side, side, bit_depth=16)
    if fmt == "GIF":
        return encode(np.zeros((side, side), np.uint8), "GIF")
    if fmt == "BMP":
        return encode(np.zeros((side, side, 4), np.uint8), "BMP")
    return encode(np.zeros((side, side, 4), np.uint8), "WEBP", lossless=True, method=0, quality=0)
