"""Text -> units -> 64-bit n-gram hashes, vectorised with NumPy (no per-character Python loop).

1. The text is normalised as the safety stage normalises it (:mod:`corpus_kit.stages.safety.normalise`:
   NFKC, case fold, Traditional -> Simplified, format characters removed).
2. It is cut into **units**: one unit per character of an unspaced script (Han, kana, Hangul, Thai,
   ...), one unit per word of a spaced script (a run of letters, digits and marks). White space,
   punctuation, symbols and control characters separate units and are dropped, so line breaks count
   for nothing: an item split over short lines gives the same units as the item on one line.
3. Every run of ``n`` consecutive units (13 by default) is one gram, hashed to a uint64. A text of
   ``min_units <= m < n`` units (a short evaluation item) gives one whole-item gram of length ``m``;
   its hash is salted with the length, so it never equals a gram of another length.

A long text is cut into slices of about :data:`SLICE_CHARS` characters at a white space (so that no
word is cut and memory per record stays bounded); the last units of a slice carry over into the next,
so that no gram is lost at a cut.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from functools import lru_cache

import numpy as np

#: Units per gram.
N = 13
#: An evaluation item of at least this many units, but fewer than ``N``, gives one whole-item gram.
MIN_UNITS = 8
#: Version of this module's units and hashes: an index built by another version is refused.
ALGORITHM_VERSION = "1"
#: Characters of a text hashed at a time (bounded memory for records of any size).
SLICE_CHARS = 1 << 18
#: How far back from a slice's end a white space is looked for.
_CUT_SEARCH = 4096

_SEPARATOR, _UNSPACED, _WORD = 0, 1, 2
_U64 = np.uint64
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_POSITION = _U64(0xD6E8FEB86659FD93)
_BASE = _U64(0xC2B2AE3D27D4EB4F)  # odd
_S30, _S27, _S31 = _U64(30), _U64(27), _U64(31)


def normalisation_version() -> str:
    """What the grams depend on: this module's version, the Unicode database and OpenCC's table."""
    from importlib.metadata import PackageNotFoundError, version

    import opencc  # noqa: F401  (the t2s table comes from it)

    try:
        opencc_version = version("opencc")
    except PackageNotFoundError:  # pragma: no cover - installed some other way
        opencc_version = "unknown"
    unicode = unicodedata.unidata_version
    return f"units-{ALGORITHM_VERSION}+nfkc-casefold-t2s;unicode-{unicode};opencc-{opencc_version}"


def _mix(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, in place on a uint64 array (a bijection on 64-bit values)."""
    values ^= values >> _S30
    values *= _M1
    values ^= values >> _S27
    values *= _M2
    values ^= values >> _S31
    return values


@lru_cache(maxsize=1)
def unit_classes() -> np.ndarray:
    """uint8 per code point: 0 separator, 1 character of an unspaced script, 2 word character."""
    from corpus_kit.stages.safety.normalise import _UNSPACED as unspaced_ranges
    from corpus_kit.stages.safety.normalise import tables

    table = tables()
    classes = np.full(0x110000, _WORD, dtype=np.uint8)
    for low, high in unspaced_ranges:
        classes[low : high + 1] = _UNSPACED
    classes[table.separator] = _SEPARATOR
    classes.setflags(write=False)
    return classes


def warm_up() -> None:
    """Build the normalisation and class tables (~1 s; once per process, before workers fork)."""
    unit_classes()


def unit_ids(codes: np.ndarray) -> np.ndarray:
    """One uint64 per unit of the normalised code points ``codes``."""
    classes = unit_classes()[codes]
    positions = np.flatnonzero(classes != _SEPARATOR)
    if not positions.size:
        return np.empty(0, dtype=_U64)
    kinds = classes[positions]
    start = np.ones(positions.size, dtype=bool)
    # a word character continues the unit of the word character right before it
    np.logical_not(
        (kinds[1:] == _WORD) & (kinds[:-1] == _WORD) & (positions[1:] == positions[:-1] + 1),
        out=start[1:],
    )
    starts = np.flatnonzero(start)
    within = np.arange(positions.size, dtype=np.int64) - np.repeat(
        starts, np.diff(starts, append=positions.size)
    )
    values = codes[positions].astype(_U64)
    values += within.astype(_U64) * _POSITION
    values += _GOLDEN
    return np.add.reduceat(_mix(values), starts)


def grams(ids: np.ndarray, length: int) -> np.ndarray:
    """Hash of every run of ``length`` consecutive unit ids (empty when there are fewer)."""
    count = ids.size - length + 1
    if count <= 0:
        return np.empty(0, dtype=_U64)
    result = ids[:count].copy()
    for offset in range(1, length):
        result *= _BASE
        result += ids[offset : offset + count]
    result ^= _U64(length * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF)
    return _mix(result)


def _slices(text: str) -> Iterator[str]:
    """``text`` in pieces of about SLICE_CHARS characters, cut at a white space where there is one."""
    start, size = 0, len(text)
    while size - start > SLICE_CHARS:
        end = start + SLICE_CHARS
        cut = -1
        for space in (" ", "\n", "\u3000", "\t"):
            cut = max(cut, text.rfind(space, max(start, end - _CUT_SEARCH), end))
        end = cut + 1 if cut > start else end
        yield text[start:end]
        start = end
    yield text[start:]


def text_units(text: str) -> Iterator[np.ndarray]:
    """The unit ids of ``text``, a slice at a time (each slice's ids follow the previous slice's)."""
    from corpus_kit.stages.safety.normalise import normalised_codes

    for piece in _slices(text):
        yield unit_ids(normalised_codes(piece))


def text_grams(text: str, lengths: tuple[int, ...] = (N,)) -> Iterator[np.ndarray]:
    """Gram hashes of ``text`` for every length in ``lengths``, in batches (bounded memory)."""
    carry = np.empty(0, dtype=_U64)
    longest = max(lengths)
    for ids in text_units(text):
        if carry.size:
            ids = np.concatenate((carry, ids))
        for length in lengths:
            # grams wholly inside the carried units were given with the previous batch
            fresh = grams(ids[max(0, carry.size - length + 1) :], length)
            if fresh.size:
                yield fresh
        carry = ids[-(longest - 1) :] if longest > 1 else ids[:0]


def item_grams(text: str, n: int = N, min_units: int = MIN_UNITS) -> tuple[np.ndarray, int]:
    """An evaluation item's gram hashes (unique, sorted) and its length in units.

    An item of ``n`` units or more gives all its n-grams; one of ``min_units <= m < n`` units gives
    one whole-item gram of length ``m``; a shorter one gives none (it cannot be matched).
    """
    units = list(text_units(text))
    ids = np.concatenate(units) if len(units) > 1 else units[0]
    size = int(ids.size)
    if size >= n:
        return np.unique(grams(ids, n)), size
    if size >= min_units:
        return grams(ids, size), size
    return np.empty(0, dtype=_U64), size
