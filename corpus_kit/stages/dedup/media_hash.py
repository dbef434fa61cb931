"""Media fingerprints for the dedup stage: image pHash, fast near-pair search, exact audio keys.

Crawled image corpora are full of near-copies of one picture: thumbnails, re-encodes at another
JPEG quality, PNG/JPEG/WebP conversions, small exposure edits. A byte hash misses all of them, so
images are keyed by a 64-bit perceptual hash (``imagehash.phash``: the signs of the low-frequency
DCT coefficients of a 32x32 greyscale thumbnail, relative to their median) and two images are
duplicates when their hashes differ in at most ``DEFAULT_IMAGE_HAMMING`` bits.

Decoding is the dangerous part of the stage: the bytes come from the crawl, so :func:`image_phash`
restricts Pillow to raster formats that decode in-process (no EPS/Ghostscript), refuses images
that *declare* more than ``max_pixels`` pixels before any pixel is decoded (a 100 kB PNG can claim
to be 10^10 pixels), and turns every decoder failure into ``None``. A record whose image yields
``None`` simply takes no part in near-dedup; it is never dropped for that reason here.

:func:`hamming_pairs` finds every pair of hashes within a Hamming distance without comparing all
N^2 pairs (pigeonhole banding, see its docstring). Audio is deduplicated exactly only
(:func:`audio_fingerprint` is a SHA-256 of the bytes): a perceptual audio fingerprint needs a
native decoder (ffmpeg/chromaprint) this package does not depend on.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image, ImageOps

from corpus_kit.stages.dedup.config import DEFAULT_IMAGE_HAMMING

__all__ = [
    "DEFAULT_IMAGE_HAMMING",
    "FLAT_STD",
    "IDENTICAL_GROUP_CAP",
    "IMAGE_MAX_PIXELS",
    "ImageHashes",
    "audio_fingerprint",
    "hamming_pairs",
    "image_hashes",
    "image_phash",
    "popcount",
]

# Largest image (declared width x height) that is decoded at all. 64 Mpx covers every camera and
# scanner image in practice (a 9000x7000 scan is 63 Mpx) while keeping the worst-case decode of
# one record to a few hundred MB. It is also below Pillow's own bomb limit (``MAX_IMAGE_PIXELS``,
# 89 Mpx by default), so Pillow's DecompressionBombWarning never fires for an image we accept.
IMAGE_MAX_PIXELS: int = 64_000_000

# A picture whose 32x32 greyscale thumbnail varies by less than this standard deviation (grey
# levels of 255) is flat: blank, near-uniform, or (over one background) a white-on-transparent
# overlay. Measured: a blank frame with pixel noise of std 3 saved as a q75 JPEG shows 0.5 (the
# thumbnail averages the noise away); a gradient over 15 grey levels 4.3; the test pictures and
# all their copies (200 seeds) 22 or more.
FLAT_STD: float = 3.0


# A hash value shared by more identical copies than this is not expanded into all of its
# k*(k-1)/2 pairs (2000 identical copies would already be 2 million edges): its members are
# joined to the group's lowest index instead, which keeps the duplicate clusters identical.
IDENTICAL_GROUP_CAP: int = 2000

# Formats Pillow may try. All decode in-process with no external programs; EPS (Ghostscript),
# and headerless formats that random bytes can be mistaken for (TGA), are left out.
_IMAGE_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "AVIF", "JPEG2000", "ICO")

# JPEGs are decoded with DCT scaling (1/2, 1/4 or 1/8) to at least this many pixels a side, in
# greyscale: pHash only looks at a 32x32 thumbnail, so decoding a 24 Mpx photo at full size would
# be wasted work (a 6 Mpx JPEG hashes in ~20 ms instead of ~60 ms). 128 keeps at least 4x
# oversampling of that thumbnail: on the test set the hashes move by 0.4 bits on average against
# a full decode (max 4), against 1.0 (max 4) with 64; every photo of 1024 px or more still
# decodes at 1/8.
_JPEG_DRAFT_SIDE = 128

_BITS = 64
# Most candidate pairs materialised at once in hamming_pairs (two int64 index arrays + the XOR).
_CANDIDATE_BUDGET = 1 << 22


def _formats() -> tuple[str, ...]:
    """The allowed formats this Pillow build has (Image.open raises KeyError on unknown names)."""
    Image.init()
    return tuple(name for name in _IMAGE_FORMATS if name in Image.OPEN)


@dataclass(frozen=True)
class ImageHashes:
    """What near-dedup knows of one picture.

    ``phash``: the 64-bit pHash of the picture as seen over white, or over black when it is blank
    over white (white shapes on transparency); ``None`` when the picture is flat over both (blank,
    near-uniform or fully transparent): it then matches byte-identical copies only, because the
    pHash of a flat picture is the sign of noise. ``alpha``: the pHash of the alpha channel when
    the picture has a non-uniform one; two pictures that both have one must match on it too.
    """

    phash: int | None
    alpha: int | None = None

    @property
    def flat(self) -> bool:
        return self.phash is None


def image_hashes(data: bytes, max_pixels: int = IMAGE_MAX_PIXELS) -> ImageHashes | None:
    """The hashes of encoded image bytes, or ``None`` if the bytes are not a picture we decode.

    ``None`` means the bytes are not an image Pillow can decode (corrupt, truncated, unknown or
    disallowed format) or the image declares more than ``max_pixels`` pixels; the size is read
    from the header by ``Image.open`` and checked before anything is decoded. Never raises.

    Bit order matches ``int(str(imagehash.phash(img)), 16)``: the first DCT coefficient (row-major)
    is the most significant bit.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) == 0:
        return None
    try:
        with warnings.catch_warnings():
            # Crawled bytes make Pillow warn a lot (DecompressionBombWarning, corrupt EXIF,
            # palette transparency...): none of it may reach the console, the result says it all.
            # Bombs are refused by the size check below; DecompressionBombError (> 2x Pillow's
            # limit) is an Exception and is caught below. (catch_warnings is per process state:
            # fine for datatrove's process-based workers.)
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data), formats=_formats()) as image:
                width, height = image.size
                if width <= 0 or height <= 0 or width * height > max_pixels:
                    return None
                if image.format in ("JPEG", "MPO"):
                    image.draft("L", (_JPEG_DRAFT_SIDE, _JPEG_DRAFT_SIDE))
                image.load()
                upright = _upright(image)
                alpha = _alpha(upright)
                if alpha is None:
                    grey = _to_grey(upright)
                    return ImageHashes(None if _is_flat(grey) else _phash(grey))
                over_white = _to_grey(upright)
                alpha_hash = None if _is_flat(alpha) else _phash(alpha)
                if not _is_flat(over_white):
                    return ImageHashes(_phash(over_white), alpha_hash)
                over_black = _composite(upright, (0, 0, 0, 255))
                if not _is_flat(over_black):
                    return ImageHashes(_phash(over_black), alpha_hash)
                return ImageHashes(None)
    except Exception:
        # Pillow reports bad input through many types (OSError, SyntaxError, ValueError,
        # struct.error, EOFError, DecompressionBombError, MemoryError...); all mean "no hash".
        return None


def image_pixels(data: bytes) -> int:
    """Width x height as the image header declares it (nothing is decoded); 0 if it is not a picture
    we read. What ``keep: best_media`` ranks copies by. Never raises."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) == 0:
        return 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data), formats=_formats()) as image:
                width, height = image.size
                return max(int(width), 0) * max(int(height), 0)
    except Exception:  # any failure to read the header: not a picture (see image_hashes)
        return 0


def image_phash(data: bytes, max_pixels: int = IMAGE_MAX_PIXELS) -> int | None:
    """The 64-bit pHash of encoded image bytes (:func:`image_hashes`), ``None`` for bytes that do not
    decode and for flat pictures. Never raises."""
    hashes = image_hashes(data, max_pixels)
    return hashes.phash if hashes is not None else None


def _phash(grey: Image.Image) -> int:
    bits = imagehash.phash(grey, hash_size=8).hash
    return int.from_bytes(np.packbits(bits.ravel()).tobytes(), "big")


def _is_flat(grey: Image.Image) -> bool:
    """Near-uniform: the standard deviation of the 32x32 thumbnail pHash looks at is below
    ``FLAT_STD`` grey levels, so its DCT signs would be noise."""
    thumbnail = np.asarray(grey.resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    return float(thumbnail.std()) < FLAT_STD


def _alpha(image: Image.Image) -> Image.Image | None:
    """The alpha channel as a greyscale picture, or ``None`` for an image without one."""
    mode = image.mode
    if mode in ("RGBA", "RGBa", "LA", "La", "PA") or (mode == "P" and "transparency" in image.info):
        return image.convert("RGBA").getchannel("A")
    return None


def _composite(image: Image.Image, background: tuple[int, int, int, int]) -> Image.Image:
    rgba = image.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, background), rgba).convert("L")


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation, so a camera JPEG and its rotated re-save hash alike."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:
        # A broken EXIF block is common in crawled JPEGs; the pixels are still usable.
        return image


def _to_grey(image: Image.Image) -> Image.Image:
    """Convert any decoded mode to 8-bit greyscale the way a viewer would show it.

    Transparent images are composited over white (what a browser or thumbnailer shows, and what
    a PNG-to-JPEG conversion usually produces), not stripped of alpha, whose hidden colour values
    are arbitrary. 16-bit and float images are stretched to 0-255, which pHash is insensitive to
    (a gain and offset change only the DC term).
    """
    mode = image.mode
    if mode == "L":
        return image
    if mode.startswith("I") or mode == "F":
        pixels = np.asarray(image, dtype=np.float64)
        low, high = float(pixels.min()), float(pixels.max())
        scale = 255.0 / (high - low) if high > low else 0.0
        return Image.fromarray(((pixels - low) * scale).round().astype(np.uint8), "L")
    has_alpha = mode in ("RGBA", "RGBa", "LA", "La", "PA") or (mode == "P" and "transparency" in image.info)
    if has_alpha:
        return _composite(image, (255, 255, 255, 255))
    if mode in ("1", "P", "RGB"):
        return image.convert("L")
    # CMYK, YCbCr, LAB, HSV...: through RGB, which every mode converts to.
    return image.convert("RGB").convert("L")


def audio_fingerprint(data: bytes) -> bytes:
    """SHA-256 digest (32 bytes) of the audio bytes: audio dedup is exact only.

    Two files match only when byte-identical, so re-encodes, trims or different containers of
    the same recording are not caught; doing that needs a decoder and an acoustic fingerprint
    (chromaprint), native dependencies that corpus-kit deliberately does not take.
    """
    return hashlib.sha256(data).digest()


def hamming_pairs(
    hashes: np.ndarray, max_distance: int, *, identical_cap: int = IDENTICAL_GROUP_CAP
) -> np.ndarray:
    """Index pairs ``(i, j)``, ``i < j``, of 64-bit hashes at most ``max_distance`` bits apart.

    Returns an ``(E, 2)`` int64 array sorted by ``i`` then ``j``. The result is exactly what an
    all-pairs comparison gives, as long as no hash value occurs more than ``identical_cap`` times.
    A value shared by more indices is treated as one node: each of its indices is paired with the
    group's lowest index (a star, not all k*(k-1)/2 pairs), and only that lowest index is paired
    with the group's near neighbours. The connected components, which are what dedup clusters
    on, are the same as with all pairs.

    How it avoids N^2 work (pigeonhole): the 64 bits are split into ``max_distance + 1`` disjoint
    bands; two hashes that differ in at most ``max_distance`` bits cannot differ in every band,
    so they agree exactly on at least one. For each band the distinct hash values are sorted by
    that band's value, every pair inside a run of equal band values becomes a candidate, and the
    candidates' true distance is checked with a vectorised popcount. Identical hashes are
    collapsed first (``np.unique``), so duplicates never inflate the runs.

    The cost is about ``U^2 / 2 * sum(2^-width)`` candidate checks over the bands, for ``U``
    distinct random-looking hashes: quadratic with a constant that grows fast with ``d`` as the
    bands get narrow (d=4: 13-bit bands, 2e-4 U^2; d=8: 7-bit bands, 3e-2 U^2; d=10: 5-6-bit
    bands, 0.1 U^2 at ~13 ns per check). Measured on 2 busy cores: 100 000 hashes take 0.1 s
    at d=4, 3 s at d=8, 13 s at d=10; 300 000 take 0.4 s, 40 s and 190 s. Sets much larger than
    that at d=10 should be split (by shard, or by an exact key) before calling this.
    Memory stays bounded: candidates are generated and checked in chunks.
    """
    if max_distance < 0:
        raise ValueError(f"max_distance must be >= 0, got {max_distance}")
    if identical_cap < 1:
        raise ValueError(f"identical_cap must be >= 1, got {identical_cap}")
    values = _as_uint64(hashes)
    n = values.shape[0]
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)

    uniq, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    # ``members`` lists the original indices grouped by hash value, ascending within a group, so
    # members[group_start[g]] is the lowest index holding uniq[g].
    members = np.argsort(inverse, kind="stable").astype(np.int64)
    group_start = np.zeros(len(uniq), dtype=np.int64)
    np.cumsum(counts[:-1], out=group_start[1:])

    parts = [_identical_pairs(members, group_start, counts, identical_cap)]
    if max_distance > 0 and len(uniq) > 1:
        near = _near_distinct_pairs(uniq, min(max_distance, _BITS))
        parts.append(_expand_pairs(near, members, group_start, counts, identical_cap))
    pairs = np.concatenate(parts)
    if len(pairs) == 0:
        return np.empty((0, 2), dtype=np.int64)
    low = np.minimum(pairs[:, 0], pairs[:, 1])
    high = np.maximum(pairs[:, 0], pairs[:, 1])
    packed = np.unique(low * n + high)
    return np.stack([packed // n, packed % n], axis=1)


def _as_uint64(hashes: np.ndarray) -> np.ndarray:
    """Hashes as a 1-D uint64 array; int64 is reinterpreted (Parquet has no unsigned 64-bit)."""
    if not isinstance(hashes, np.ndarray):
        # A list of Python ints (image_phash output) above 2**63 becomes float64, losing bits,
        # through plain np.asarray; asking for uint64 converts each int exactly.
        hashes = np.array(hashes, dtype=np.uint64)
    array = hashes
    if array.ndim != 1:
        raise ValueError(f"hashes must be one-dimensional, got shape {array.shape}")
    if array.dtype == np.uint64:
        return np.ascontiguousarray(array)
    if array.dtype == np.int64:
        return np.ascontiguousarray(array).view(np.uint64)
    if array.dtype == object:
        return np.fromiter(array.tolist(), dtype=np.uint64, count=len(array))
    if np.issubdtype(array.dtype, np.integer):
        return array.astype(np.uint64)
    raise TypeError(f"hashes must be integers, got dtype {array.dtype}")


def _popcount_table(values: np.ndarray) -> np.ndarray:
    """Set bits per uint64 through a byte lookup table (NumPy < 2.0 has no bitwise_count)."""
    as_bytes = np.ascontiguousarray(values, dtype=np.uint64).view(np.uint8)
    return _POPCOUNT_8[as_bytes].reshape(-1, 8).sum(axis=1, dtype=np.uint8)


_POPCOUNT_8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
_popcount = np.bitwise_count if hasattr(np, "bitwise_count") else _popcount_table


def popcount(values: np.ndarray) -> np.ndarray:
    """Set bits of each uint64 value."""
    return _popcount(np.asarray(values, dtype=np.uint64))


def _pairs_of_runs(
    order: np.ndarray, starts: np.ndarray, size: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """All pairs inside runs ``order[s:s + size]`` for each ``s`` in ``starts``, in bounded chunks."""
    per_run = size * (size - 1) // 2
    if per_run <= _CANDIDATE_BUDGET:
        first, second = np.triu_indices(size, 1)
        runs_per_chunk = max(1, _CANDIDATE_BUDGET // per_run)
        for begin in range(0, len(starts), runs_per_chunk):
            base = starts[begin : begin + runs_per_chunk, None]
            yield order[base + first].ravel(), order[base + second].ravel()
        return
    # A single run too large to expand at once: walk it in row blocks of the upper triangle.
    rows_per_block = max(1, _CANDIDATE_BUDGET // size)
    for start in starts.tolist():
        run = order[start : start + size]
        for row0 in range(0, size - 1, rows_per_block):
            row1 = min(size - 1, row0 + rows_per_block)
            rows, cols = np.nonzero(np.arange(row0, row1)[:, None] < np.arange(row0 + 1, size)[None, :])
            yield run[row0 + rows], run[row0 + 1 + cols]


def _near_distinct_pairs(uniq: np.ndarray, max_distance: int) -> np.ndarray:
    """Pairs of positions in ``uniq`` (distinct, sorted values) within ``max_distance`` bits."""
    size = len(uniq)
    if max_distance >= _BITS:
        # Every pair qualifies; the output itself is quadratic, so this is all-pairs by definition.
        positions = np.arange(size, dtype=np.int64)
        chunks = list(_pairs_of_runs(positions, np.zeros(1, dtype=np.int64), size))
        return np.stack([np.concatenate([a for a, _ in chunks]), np.concatenate([b for _, b in chunks])], 1)

    bands = max_distance + 1
    base, extra = divmod(_BITS, bands)
    widths = [base + 1] * extra + [base] * (bands - extra)
    found: list[np.ndarray] = []
    shift = 0
    for width in widths:
        keys = (uniq >> np.uint64(shift)) & np.uint64((1 << width) - 1)
        shift += width
        order = np.argsort(keys, kind="stable").astype(np.int64)
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
        lengths = np.diff(np.append(starts, size))
        for run_size in np.unique(lengths[lengths > 1]).tolist():
            for first, second in _pairs_of_runs(order, starts[lengths == run_size], run_size):
                close = _popcount(uniq[first] ^ uniq[second]) <= max_distance
                if close.any():
                    a, b = first[close], second[close]
                    found.append(np.minimum(a, b) * size + np.maximum(a, b))
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    # A pair that agrees on several bands was found once per band.
    packed = np.unique(np.concatenate(found))
    return np.stack([packed // size, packed % size], axis=1)


def _identical_pairs(
    members: np.ndarray, group_start: np.ndarray, counts: np.ndarray, cap: int
) -> np.ndarray:
    """Pairs of indices that share a hash value: all pairs up to ``cap`` copies, else a star."""
    parts = [np.empty((0, 2), dtype=np.int64)]
    small = (counts > 1) & (counts <= cap)
    for count in np.unique(counts[small]).tolist():
        for first, second in _pairs_of_runs(members, group_start[small & (counts == count)], count):
            parts.append(np.stack([first, second], axis=1))
    big = np.flatnonzero(counts > cap)
    if len(big):
        group_of = np.repeat(np.arange(len(counts)), counts)
        position = np.arange(len(members))
        spoke = (counts[group_of] > cap) & (position != group_start[group_of])
        hub = members[group_start[group_of[spoke]]]
        parts.append(np.stack([hub, members[spoke]], axis=1))
    return np.concatenate(parts)


def _expand_pairs(
    near: np.ndarray, members: np.ndarray, group_start: np.ndarray, counts: np.ndarray, cap: int
) -> np.ndarray:
    """Turn pairs of distinct hash values into pairs of indices (a capped group is its lowest index)."""
    if len(near) == 0:
        return np.empty((0, 2), dtype=np.int64)
    effective = np.where(counts > cap, 1, counts).astype(np.int64)
    left, right = near[:, 0], near[:, 1]
    per_pair = effective[left] * effective[right]
    pair_of = np.repeat(np.arange(len(near)), per_pair)
    offset = np.arange(len(pair_of), dtype=np.int64) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
    width = effective[right][pair_of]
    first = members[group_start[left[pair_of]] + offset // width]
    second = members[group_start[right[pair_of]] + offset % width]
    return np.stack([first, second], axis=1)
