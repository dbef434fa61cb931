"""Deterministic synthetic "photographs" and the derived copies a corpus really contains.

The media-dedup tests need many pictures that are clearly different from one another, plus the
near-copies that real crawls are full of (thumbnails, re-encodes, format conversions, a brightness
tweak). Nothing is downloaded: every picture is drawn from a seed with Pillow and NumPy, so the
same seed always gives the same bytes on every machine with the same Pillow/NumPy majors.

A picture is a smooth random colour field (a few random low-frequency cosines per channel, so
the pHash sees real large-scale structure, as in photos), random ellipses, polygons and rectangles
on top, blurred a little, plus fine texture noise (which JPEG and resizing partly destroy, as they
do for real photos).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter


def make_picture(seed: int, size: tuple[int, int] | None = None) -> Image.Image:
    """An RGB picture determined by ``seed``; the size varies by seed (280-440 x 260-400 px)."""
    rng = np.random.default_rng(seed)
    if size is None:
        size = (int(rng.integers(280, 440)), int(rng.integers(260, 400)))
    width, height = size
    # cos(a(x) + b(y)) = cos a cos b - sin a sin b: outer products instead of a cos per pixel.
    x = np.arange(width, dtype=np.float32) / width
    y = np.arange(height, dtype=np.float32) / height
    field = np.empty((height, width, 3), dtype=np.float32)
    for channel in range(3):
        field[..., channel] = rng.uniform(60, 190)
        for _ in range(4):
            fx, fy = rng.uniform(0.3, 3.0, size=2)
            a = 2 * np.pi * fx * x + rng.uniform(0, 2 * np.pi)
            b = 2 * np.pi * fy * y
            wave = np.outer(np.cos(b), np.cos(a)) - np.outer(np.sin(b), np.sin(a))
            field[..., channel] += rng.uniform(20, 60) * wave
    image = Image.fromarray(np.clip(field, 0, 255).astype(np.uint8), "RGB")

    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(6, 14))):
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        kind = int(rng.integers(0, 3))
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        rx, ry = rng.uniform(0.05, 0.3) * width, rng.uniform(0.05, 0.3) * height
        if kind == 0:
            draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=colour)
        elif kind == 1:
            n = int(rng.integers(3, 7))
            angles = np.sort(rng.uniform(0, 2 * np.pi, size=n))
            radii = rng.uniform(0.4, 1.0, size=n)
            points = [
                (float(cx + rx * r * np.cos(a)), float(cy + ry * r * np.sin(a)))
                for a, r in zip(angles, radii, strict=True)
            ]
            draw.polygon(points, fill=colour)
        else:
            draw.rectangle((cx - rx, cy - ry / 2, cx + rx / 2, cy + ry), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(radius=1.5))

    pixels = np.asarray(image, dtype=np.float32)
    pixels += rng.standard_normal(pixels.shape, dtype=np.float32) * 8
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def encode(image: Image.Image, fmt: str = "PNG", quality: int = 90) -> bytes:
    """Encode a picture as ``PNG``, ``JPEG``, ``WEBP`` or ``GIF`` bytes."""
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(buffer, "JPEG", quality=quality)
    elif fmt == "WEBP":
        image.save(buffer, "WEBP", quality=quality, method=0)
    elif fmt == "PNG":
        # Level 1: the noisy test pictures barely compress anyway, and level 6 is 10x slower.
        image.save(buffer, "PNG", compress_level=1)
    else:
        image.save(buffer, fmt)
    return buffer.getvalue()


def decode(data: bytes) -> Image.Image:
    """Decode bytes to an RGB picture (to derive a copy from an already encoded file)."""
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def resized(image: Image.Image, factor: float) -> Image.Image:
    """A thumbnail or an upscale: both sides scaled by ``factor``."""
    width, height = image.size
    return image.resize((max(1, round(width * factor)), max(1, round(height * factor))), Image.LANCZOS)


def brightened(image: Image.Image, factor: float) -> Image.Image:
    """A small exposure edit (``factor`` 1.1 is 10 % brighter)."""
    return ImageEnhance.Brightness(image).enhance(factor)


def cropped(image: Image.Image, fraction: float) -> Image.Image:
    """Trim ``fraction`` of the width and of the height, split evenly between the two sides."""
    width, height = image.size
    dx, dy = round(width * fraction / 2), round(height * fraction / 2)
    return image.crop((dx, dy, width - dx, height - dy))


# Each derivation takes the original picture and returns the encoded bytes of a copy. The original
# itself is published as a high-quality JPEG (see ``original_bytes``), as most crawled photos are.
COPIES: dict[str, Callable[[Image.Image], bytes]] = {
    "png": lambda image: encode(image, "PNG"),
    "jpeg_q30": lambda image: encode(image, "JPEG", quality=30),
    "half_size_jpeg": lambda image: encode(resized(image, 0.5), "JPEG", quality=75),
    "three_quarter_png": lambda image: encode(resized(image, 0.75), "PNG"),
    "upscaled_130_jpeg": lambda image: encode(resized(image, 1.3), "JPEG", quality=85),
    "brighter_10pct_jpeg": lambda image: encode(brightened(image, 1.1), "JPEG", quality=85),
    "darker_10pct_jpeg": lambda image: encode(brightened(image, 0.9), "JPEG", quality=90),
    "webp_q60": lambda image: encode(image, "WEBP", quality=60),
    "recompressed_twice": lambda image: encode(decode(encode(image, "JPEG", quality=60)), "JPEG", quality=40),
}

# Edits that move the pHash further; measured and reported by the tests, not claimed as caught.
HARDER_COPIES: dict[str, Callable[[Image.Image], bytes]] = {
    "crop_2pct_jpeg": lambda image: encode(cropped(image, 0.02), "JPEG", quality=85),
    "crop_3pct_jpeg": lambda image: encode(cropped(image, 0.03), "JPEG", quality=85),
}


def original_bytes(image: Image.Image) -> bytes:
    """How the original of a test picture is published: a quality-95 JPEG."""
    return encode(image, "JPEG", quality=95)
