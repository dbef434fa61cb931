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
_MASK = (1 << 64) - 1
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_S30, _S27, _S31 = _U64(30), _U64(27), _U64(31)
_GOLDEN = 0x9E3779B97F4A7C15
#: Odd multipliers (invertible modulo 2**64) of the word hashes and of the gram hashes.
_WORD_BASE = 0xC2B2AE3D27D4EB4F
_GRAM_BASE = 0xD6E8FEB86659FD93
#: Power tables kept for good up to this size (2 x 8 MiB each); longer ones are made per call.
_POWERS_KEPT = 1 << 20


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


@lru_cache(maxsize=1)
def code_values() -> np.ndarray:
    """A fixed pseudo-random uint64 per code point (SplitMix64 of the code point), 0 for separators."""
    values = np.arange(0x110000, dtype=_U64) * _U64(_GOLDEN)
    values = _mix(values)
    values[unit_classes() == _SEPARATOR] = 0
    values.setflags(write=False)
    return values


class _Powers:
    """``B**k`` and ``B**-k`` modulo 2**64 for k < size, grown on demand."""

    def __init__(self, base: int):
        self.base = base
        self.inverse = pow(base, -1, 1 << 64)
        self.up, self.down = self._make(1 << 12)

    def _make(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        up = np.ones(size, dtype=_U64)
        down = np.ones(size, dtype=_U64)
        # integer arrays wrap silently: the arithmetic modulo 2**64 wanted here
        np.cumprod(np.full(size - 1, self.base, dtype=_U64), out=up[1:])
        np.cumprod(np.full(size - 1, self.inverse, dtype=_U64), out=down[1:])
        return up, down

    def get(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        if size <= self.up.size:
            return self.up, self.down
        if size > _POWERS_KEPT:
            return self._make(size)
        self.up, self.down = self._make(min(max(size, 2 * self.up.size), _POWERS_KEPT))
        return self.up, self.down


_WORD_POWERS = _Powers(_WORD_BASE)
_GRAM_POWERS = _Powers(_GRAM_BASE)


def warm_up() -> None:
    """Build the normalisation, class and value tables (~1 s; once per process, before workers fork)."""
    unit_classes()
    code_values()
    _WORD_POWERS.get(SLICE_CHARS + 1)
    _GRAM_POWERS.get(SLICE_CHARS + 1)


def normalised_codes(text: str) -> np.ndarray:
    """``normalise.normalised_codes(text)``, with the exact library path (NFKC, case fold) taken by
    the lines that need it only, not by the whole text: normalisation never joins a line feed to
    a neighbour (see ``normalise_many``), so the result is the same (a test checks it)."""
    from corpus_kit.stages.safety.normalise import tables

    table = tables()
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    exact = table.exact_path[codes]
    if codes.size and exact.any():
        breaks = np.flatnonzero(codes == 10)
        starts = np.concatenate(([0], breaks + 1))
        ends = np.append(breaks, codes.size)
        counts = np.concatenate(([0], np.cumsum(exact)))
        pieces: list[np.ndarray] = []
        done = 0
        for line in np.flatnonzero(counts[ends] != counts[starts]).tolist():  # a loop over lines
            first, last = int(starts[line]), int(ends[line])
            pieces.append(codes[done:first])
            folded = unicodedata.normalize("NFKC", text[first:last]).casefold()
            pieces.append(np.frombuffer(folded.encode("utf-32-le", "surrogatepass"), dtype=np.uint32))
            done = last
        pieces.append(codes[done:])
        codes = np.concatenate(pieces)
    mapped = table.mapping[codes]
    if not mapped.all():
        mapped = mapped[mapped != 0]
    return mapped


def unit_ids(codes: np.ndarray) -> np.ndarray:
    """One uint64 per unit of the normalised code points ``codes``: a character's value, or for a
    word ``sum(value[c_j] * B**j)`` over its characters (all words at once: each character's value
    times ``B**place``, added up per word, times ``B**-place`` of the word's first character)."""
    values = code_values()[codes]  # 0 for separators
    word = unit_classes()[codes] == _WORD
    if not word.any():  # one character per unit (Chinese, Japanese): nothing to add up
        return values[values != 0]
    kept = values != 0
    start = kept.copy()
    start[1:] &= ~(word[1:] & word[:-1])  # a word character continues the word before it
    starts = np.flatnonzero(start)
    if not starts.size:
        return np.empty(0, dtype=_U64)
    up, down = _WORD_POWERS.get(codes.size)
    values *= up[: codes.size]
    ids = np.add.reduceat(values, starts)  # separators after a unit add 0
    ids *= down[starts]
    return ids


def grams(ids: np.ndarray, length: int) -> np.ndarray:
    """Hash of every run of ``length`` consecutive unit ids (empty when there are fewer):
    ``sum(ids[i+t] * B**(length-1-t))`` salted with the length, from one prefix sum."""
    count = ids.size - length + 1
    if count <= 0:
        return np.empty(0, dtype=_U64)
    up, down = _GRAM_POWERS.get(ids.size + 1)
    prefix = np.empty(ids.size + 1, dtype=_U64)
    prefix[0] = 0
    np.multiply(ids, down[: ids.size], out=prefix[1:])
    np.cumsum(prefix[1:], out=prefix[1:])
    result = prefix[length:] - prefix[:count]
    result *= up[length - 1 : length - 1 + count]
    result ^= _U64(length * _GOLDEN & _MASK)
    return result


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
