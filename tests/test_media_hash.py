"""Media fingerprints: pHash of images (robust to copies, safe on hostile bytes), near-pair search."""

from __future__ import annotations

import hashlib
import io
import itertools
import struct
import time
import tracemalloc
import warnings
import zlib

import imagehash
import numpy as np
import pytest
from PIL import Image

from corpus_kit.stages.dedup import media_hash
from corpus_kit.stages.dedup.media_hash import (
    DEFAULT_IMAGE_HAMMING,
    audio_fingerprint,
    hamming_pairs,
    image_phash,
)
from tests.conftest import make_jpeg_like, make_png
from tests.images import COPIES, HARDER_COPIES, encode, make_picture, original_bytes

PICTURES = 40


def distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()


@pytest.fixture(scope="module")
def pictures() -> list[Image.Image]:
    return [make_picture(seed) for seed in range(PICTURES)]


@pytest.fixture(scope="module")
def hashed(pictures: list[Image.Image]) -> dict[str, list[int]]:
    """pHash of every original (as published: a q95 JPEG) and of every derived copy."""
    hashes = {"original": [image_phash(original_bytes(p)) for p in pictures]}
    for name, derive in {**COPIES, **HARDER_COPIES}.items():
        hashes[name] = [image_phash(derive(p)) for p in pictures]
    for name, values in hashes.items():
        assert None not in values, name
    return hashes


# --- pHash robustness -----------------------------------------------------------------------------


def test_copies_stay_within_threshold_and_different_pictures_do_not(hashed: dict[str, list[int]]) -> None:
    """The default threshold separates copies from different pictures, with margin on both sides.

    Measured (Pillow 12, 40 pictures, 9 copy kinds): copies are 0-4 bits from their original
    (mean ~0.4), different pictures 16-46 bits apart (mean ~31). Distances are always even: pHash
    thresholds at the median, so every hash has exactly 32 bits set.
    """
    groups = [[hashed["original"][i]] + [hashed[name][i] for name in COPIES] for i in range(PICTURES)]
    within = [distance(a, b) for group in groups for a, b in itertools.combinations(group, 2)]
    across = [
        distance(a, b) for g1, g2 in itertools.combinations(groups, 2) for a, b in itertools.product(g1, g2)
    ]
    assert max(within) <= DEFAULT_IMAGE_HAMMING
    assert min(across) > DEFAULT_IMAGE_HAMMING
    # Margins, so that a Pillow or ImageHash upgrade that erodes them fails loudly here.
    assert max(within) <= DEFAULT_IMAGE_HAMMING - 4
    assert min(across) >= DEFAULT_IMAGE_HAMMING + 4

    # hamming_pairs at the default threshold recovers exactly the copy groups.
    flat = np.array([h for group in groups for h in group], dtype=np.uint64)
    size = len(COPIES) + 1
    expected = {
        (g * size + a, g * size + b)
        for g in range(PICTURES)
        for a, b in itertools.combinations(range(size), 2)
    }
    assert set(map(tuple, hamming_pairs(flat, DEFAULT_IMAGE_HAMMING).tolist())) == expected


def test_slight_crops_stay_within_threshold(hashed: dict[str, list[int]]) -> None:
    """2-3 % crops move the hash more (measured max 6 bits) but still match the original."""
    for name in HARDER_COPIES:
        gaps = [distance(a, b) for a, b in zip(hashed["original"], hashed[name], strict=True)]
        assert max(gaps) <= DEFAULT_IMAGE_HAMMING, name


def test_bit_order_matches_imagehash() -> None:
    data = encode(make_picture(7), "PNG")
    expected = int(str(imagehash.phash(Image.open(io.BytesIO(data)), hash_size=8)), 16)
    assert image_phash(data) == expected
    assert 0 <= expected < 2**64


def test_jpeg_draft_decoding_barely_moves_the_hash(pictures: list[Image.Image]) -> None:
    """The DCT-scaled greyscale decode of JPEGs (for speed) against a full-size decode."""
    gaps = []
    for picture in pictures:
        for data in (
            original_bytes(picture),
            COPIES["jpeg_q30"](picture),
            COPIES["upscaled_130_jpeg"](picture),
        ):
            with Image.open(io.BytesIO(data)) as image:
                full = int(str(imagehash.phash(image.convert("L"), hash_size=8)), 16)
            gaps.append(distance(image_phash(data), full))
    assert max(gaps) <= 4
    assert np.mean(gaps) < 1.0


def test_big_jpeg_hashes_like_its_thumbnail() -> None:
    picture = make_picture(3, size=(1600, 1200))
    started = time.perf_counter()
    big = image_phash(encode(picture, "JPEG", quality=90))
    elapsed = time.perf_counter() - started
    small = image_phash(encode(picture.resize((200, 150), Image.LANCZOS), "PNG"))
    assert distance(big, small) <= 4
    assert elapsed < 2.0  # decoded at 1/8 scale (200x150): ~10 ms, not the ~60 ms of a full decode


def test_modes_convert_like_a_viewer_shows_them() -> None:
    picture = make_picture(11)
    reference = image_phash(encode(picture, "PNG"))
    grey = picture.convert("L")
    palette = picture.quantize(256)
    sixteen_bit = Image.fromarray(np.asarray(grey, dtype=np.uint16) * 257)
    assert sixteen_bit.mode.startswith("I")
    cmyk = picture.convert("CMYK")
    variants = {
        "grey_png": encode(grey, "PNG"),
        "palette_png": encode(palette, "PNG"),
        "gif": encode(picture, "GIF"),
        "16bit_png": encode(sixteen_bit, "PNG"),
        "cmyk_jpeg": encode(cmyk, "JPEG"),
        "bmp": encode(picture, "BMP"),
        "tiff": encode(picture, "TIFF"),
    }
    for name, data in variants.items():
        assert distance(image_phash(data), reference) <= 4, name


def test_transparency_is_composited_over_white() -> None:
    """An RGBA PNG and its JPEG export (flattened on white) are the same picture."""
    picture = make_picture(12)
    alpha = Image.new("L", picture.size, 255)
    width, height = picture.size
    alpha.paste(0, (0, 0, width // 3, height))  # left third fully transparent
    rgba = picture.copy()
    rgba.putalpha(alpha)
    # Hide garbage behind the transparent part: it must not leak into the hash.
    rgba.paste((0, 0, 0, 0), (0, 0, width // 3, height))
    flattened = Image.alpha_composite(Image.new("RGBA", picture.size, "white"), rgba).convert("RGB")
    assert distance(image_phash(encode(rgba, "PNG")), image_phash(encode(flattened, "JPEG"))) <= 4


def test_exif_orientation_is_applied() -> None:
    picture = make_picture(13)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways, display rotated 90 degrees clockwise
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90, exif=exif)
    upright = picture.transpose(Image.Transpose.ROTATE_270)
    assert distance(image_phash(buffer.getvalue()), image_phash(encode(upright, "JPEG"))) <= 4
    assert distance(image_phash(buffer.getvalue()), image_phash(encode(picture, "JPEG"))) > 10


# --- hostile and broken input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        bytes(range(256)) * 4,
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
        b"\xff\xd8\xff" + b"\x00" * 100,
        b"GIF89a" + b"\xff" * 50,
        make_jpeg_like(),  # the demo's JPEG-looking placeholder bytes
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",  # EPS would run Ghostscript
    ],
)
def test_undecodable_bytes_give_none(data: bytes) -> None:
    assert image_phash(data) is None


def test_non_bytes_give_none() -> None:
    assert image_phash(None) is None  # type: ignore[arg-type]
    assert image_phash("a string") is None  # type: ignore[arg-type]


def test_truncated_images_never_raise(pictures: list[Image.Image]) -> None:
    for data in (original_bytes(pictures[0]), encode(pictures[0], "PNG"), encode(pictures[0], "WEBP")):
        for fraction in (0.1, 0.5, 0.9, 0.99):
            result = image_phash(data[: int(len(data) * fraction)])
            assert result is None or 0 <= result < 2**64


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny valid PNG whose IHDR (and its CRC) is patched to claim ``width`` x ``height``."""
    data = bytearray(make_png(4, 4))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


@pytest.mark.parametrize(
    "size",
    [
        (100_000, 100_000),  # past 2x Pillow's own limit: Image.open raises DecompressionBombError
        (10_000, 10_000),  # 100 Mpx: Pillow would warn; our limit (64 Mpx) rejects it first
        (9_000, 8_000),  # 72 Mpx: below Pillow's limit, only our check stops it
    ],
)
def test_declared_huge_png_is_refused_fast_without_allocating(
    size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _png_claiming(*size)
    with monkeypatch.context() as patch:
        patch.setattr(Image, "MAX_IMAGE_PIXELS", None)
        with Image.open(io.BytesIO(data)) as image:
            assert image.size == size  # the crafted header (and its CRC) is what Pillow reads
    tracemalloc.start()
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = image_phash(data)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result is None
    assert elapsed < 0.5
    assert peak < 5_000_000
    assert not caught  # a bomb never prints a warning


def test_max_pixels_is_the_declared_area() -> None:
    data = make_png(100, 50)
    assert image_phash(data, max_pixels=4_999) is None
    assert image_phash(data, max_pixels=5_000) is not None


# --- audio ----------------------------------------------------------------------------------------


def test_audio_fingerprint_is_an_exact_sha256() -> None:
    assert audio_fingerprint(b"RIFF....WAVE") == hashlib.sha256(b"RIFF....WAVE").digest()
    assert len(audio_fingerprint(b"")) == 32
    assert audio_fingerprint(b"a") != audio_fingerprint(b"b")


# --- near-pair search -----------------------------------------------------------------------------


def brute_force_pairs(hashes: np.ndarray, max_distance: int) -> set[tuple[int, int]]:
    first, second = np.triu_indices(len(hashes), 1)
    close = media_hash._popcount_table(hashes[first] ^ hashes[second]) <= max_distance
    return set(zip(first[close].tolist(), second[close].tolist(), strict=True))


def planted_hashes(seed: int, size: int, max_distance: int) -> np.ndarray:
    """Random 64-bit hashes with near pairs at distances around ``max_distance`` and duplicates."""
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 2**64 - 1, size=size, dtype=np.uint64, endpoint=True)
    for _ in range(size // 10):
        source, target = rng.choice(size, 2, replace=False)
        flips = rng.choice(64, int(rng.integers(0, max_distance + 3)), replace=False)
        mask = np.uint64(sum(1 << int(bit) for bit in flips))
        hashes[target] = hashes[source] ^ mask
    for _ in range(20):  # groups of identical hashes
        members = rng.choice(size, int(rng.integers(2, 6)), replace=False)
        hashes[members] = hashes[members[0]]
    return hashes


@pytest.mark.parametrize("max_distance", [0, 4, 8, 10])
def test_hamming_pairs_equals_brute_force(max_distance: int) -> None:
    hashes = planted_hashes(max_distance, 3000, max_distance)
    pairs = hamming_pairs(hashes, max_distance)
    assert pairs.dtype == np.int64
    assert pairs.shape[1] == 2
    assert (pairs[:, 0] < pairs[:, 1]).all()
    assert len(np.unique(pairs, axis=0)) == len(pairs)
    expected = brute_force_pairs(hashes, max_distance)
    assert len(expected) > 50  # the planted pairs are really there
    assert set(map(tuple, pairs.tolist())) == expected


def test_hamming_pairs_exact_with_tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunking, and the row-block walk of runs too big for one chunk, lose nothing."""
    monkeypatch.setattr(media_hash, "_CANDIDATE_BUDGET", 50)
    hashes = planted_hashes(1, 600, 10)
    assert set(map(tuple, hamming_pairs(hashes, 10).tolist())) == brute_force_pairs(hashes, 10)


def test_hamming_pairs_phash_like_hashes() -> None:
    """Hashes with exactly 32 bits set (as pHash gives) and clustered bands, not uniform ones."""
    rng = np.random.default_rng(5)
    bits = np.zeros((2000, 64), dtype=bool)
    for row in bits:
        row[rng.choice(64, 32, replace=False)] = True
    bits[:, :8] = bits[0, :8]  # a shared band, as natural images share low-frequency structure
    hashes = np.packbits(bits, axis=1).view(">u8").ravel().astype(np.uint64)
    for d in (6, 10, 16):
        assert set(map(tuple, hamming_pairs(hashes, d).tolist())) == brute_force_pairs(hashes, d)


def test_large_identical_groups_become_stars() -> None:
    """Past the cap, identical copies join the group's lowest index: same clusters, fewer edges."""
    far = (1 << 40) | (1 << 41)
    hashes = np.array([7] * 6 + [7 ^ 1, far, far | 3, 12345 << 20], dtype=np.uint64)
    pairs = set(map(tuple, hamming_pairs(hashes, 2, identical_cap=3).tolist()))
    assert pairs == {(0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (0, 6), (7, 8)}
    full = set(map(tuple, hamming_pairs(hashes, 2).tolist()))
    assert full == brute_force_pairs(hashes, 2)
    assert len(full) == 15 + 6 + 1


def test_hamming_pairs_edge_cases() -> None:
    assert hamming_pairs(np.array([], dtype=np.uint64), 4).shape == (0, 2)
    assert hamming_pairs(np.array([5], dtype=np.uint64), 4).shape == (0, 2)
    assert hamming_pairs(np.array([1, 2, 4], dtype=np.uint64), 0).shape == (0, 2)
    everything = hamming_pairs(np.arange(5, dtype=np.uint64) * 0x0101010101010101, 64)
    assert everything.tolist() == [list(p) for p in itertools.combinations(range(5), 2)]
    top = 1 << 63
    # Python ints beyond int64 (image_phash output), and the same bits stored as signed int64.
    as_objects = np.array([top | 1, top | 3, 5], dtype=object)
    as_signed = np.array([top | 1, top | 3, 5], dtype=np.uint64).view(np.int64)
    assert hamming_pairs(as_objects, 1).tolist() == [[0, 1]]
    assert hamming_pairs(as_signed, 1).tolist() == [[0, 1]]
    assert hamming_pairs([top | 1, top | 3, 5], 1).tolist() == [[0, 1]]
    with pytest.raises(ValueError):
        hamming_pairs(np.zeros(3, dtype=np.uint64), -1)
    with pytest.raises(ValueError):
        hamming_pairs(np.zeros((2, 2), dtype=np.uint64), 1)
    with pytest.raises(TypeError):
        hamming_pairs(np.zeros(3, dtype=np.float64), 1)


def test_popcount_fallback_agrees() -> None:
    values = np.random.default_rng(0).integers(0, 2**64 - 1, size=1000, dtype=np.uint64, endpoint=True)
    expected = [bin(int(v)).count("1") for v in values]
    assert media_hash._popcount_table(values).tolist() == expected
    assert np.asarray(media_hash._popcount(values)).tolist() == expected


def test_flat_pictures_have_no_perceptual_hash() -> None:
    """pHash of a near-uniform picture is the sign of noise: such pictures match byte for byte only."""
    rng = np.random.default_rng(3)
    noisy = np.clip(200 + rng.normal(0, 3, (256, 256)), 0, 255).astype(np.uint8)
    flat = {
        "white": encode(Image.new("RGB", (80, 60), "white"), "PNG"),
        "noisy blank": encode(Image.fromarray(noisy), "JPEG", quality=75),
        "transparent": encode(Image.new("RGBA", (64, 64), (10, 200, 30, 0)), "PNG"),
    }
    for name, data in flat.items():
        hashes = media_hash.image_hashes(data)
        assert hashes is not None and hashes.flat and image_phash(data) is None, name
    gradient = np.linspace(120, 135, 256)[None, :].repeat(256, 0).astype(np.uint8)  # faint, not flat
    assert image_phash(encode(Image.fromarray(gradient), "PNG")) is not None


def test_white_on_transparent_is_hashed_over_black_with_its_alpha() -> None:
    picture = Image.new("RGBA", (128, 128), (255, 255, 255, 0))
    picture.paste((255, 255, 255, 255), (16, 40, 112, 88))
    hashes = media_hash.image_hashes(encode(picture, "PNG"))
    assert hashes is not None and hashes.phash is not None and hashes.alpha is not None
    over_black = Image.alpha_composite(Image.new("RGBA", picture.size, "black"), picture).convert("L")
    assert hashes.phash == int(str(imagehash.phash(over_black)), 16)
    # an opaque picture carries no alpha hash, so it can still match its transparent original
    opaque = media_hash.image_hashes(original_bytes(make_picture(3)))
    assert opaque is not None and opaque.alpha is None
