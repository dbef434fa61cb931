"""Text normalisation before keyword matching: one vectorised pass over code points.

Terms and text are both brought to one form, so that a term matches however it was typed:

* NFKC (full-width letters and digits, compatibility forms such as ``①`` or ``ﬁ``), then case folding;
* Traditional -> Simplified Chinese, character by character, with OpenCC's ``t2s`` table (a maintained
  package; phrase-level conversion is not needed because terms go through the same table);
* format characters removed: zero-width spaces and joiners, soft hyphens, bidi marks, BOM,
  variation selectors (``敏\u200b感`` is ``敏感``).

Why by hand: ``unicodedata.normalize`` + ``casefold`` + ``str.translate`` ran at ~25 MB/s on the
benchmark corpus, OpenCC's phrase converter at ~200 MB/s; a lookup table over the text's UTF-32 code
points (NumPy) does all of it at several hundred MB/s. Characters whose normal form is not one
character on its own (combining marks, Hangul jamo, ``ß``, ligatures) send the text through the
exact library path instead, so the result is the same as NFKC + casefold + t2s.

``separators`` marks white space, punctuation, symbols and control characters: a term with ``gap``
is matched on the text with them removed (``敏 感``, ``敏*感``), within the gap it allows.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: The code points the tables are computed for: every other one is unassigned or private use, so
#: NFKC, case folding, t2s and the removal of format characters leave it as it is (a test checks this
#: against the running Python's Unicode database). The planes of CJK extensions B-H and the tag
#: characters of plane 14 (format characters, invisible like a zero-width space) are in.
_TABLE_RANGES = ((0, 0x32400), (0xE0000, 0xE1000))
#: Lone surrogates (a str can hold them, UTF-8 cannot) are matched as U+FFFD.
_SURROGATE_TARGET = 0xFFFD
_DELETED = 0  # table value for a removed character (NUL itself is removed too: harmless)
_UNSPACED = (
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3040, 0x30FF),  # kana
    (0x3100, 0x312F),  # bopomofo
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x20000, 0x3FFFF),  # CJK extensions B-H
)


@dataclass(frozen=True)
class Tables:
    mapping: np.ndarray  # uint32[0x110000]: code point -> normalised code point (0: removed)
    exact_path: np.ndarray  # bool: the text needs the library path (NFKC/casefold not one to one)
    separator: np.ndarray  # bool: white space, punctuation, symbol, control
    word: np.ndarray  # bool: letter or digit of a spaced script (word boundaries apply)


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _t2s() -> dict[str, str]:
    """OpenCC's character-level Traditional -> Simplified mapping, for the ideograph blocks (CJK
    extensions B-H included: ``𡻕`` is ``岁``)."""
    import opencc

    converter = opencc.OpenCC("t2s")
    blocks = [
        *range(0x3400, 0x4DC0),
        *range(0x4E00, 0xA000),
        *range(0xF900, 0xFB00),
        *range(0x20000, 0x32400),
    ]
    characters = [chr(point) for point in blocks]
    converted = converter.convert("\n".join(characters)).split("\n")
    if len(converted) != len(characters):  # never seen; fall back to one call per character
        converted = [converter.convert(character) for character in characters]
    return {
        source: target
        for source, target in zip(characters, converted, strict=True)
        if source != target and len(target) == 1
    }


@lru_cache(maxsize=1)
def tables() -> Tables:
    """The lookup tables (~1 s to build; built once per process, before workers fork)."""
    with _lock:
        mapping = np.arange(0x110000, dtype=np.uint32)
        exact_path = np.zeros(0x110000, dtype=bool)
        separator = np.zeros(0x110000, dtype=bool)
        word = np.zeros(0x110000, dtype=bool)
        t2s = _t2s()
        mapping[0xD800:0xE000] = _SURROGATE_TARGET
        joins_previous = _joins_previous()
        for point in _table_points():
            character = chr(point)
            category = unicodedata.category(character)
            if category == "Cf":
                mapping[point] = _DELETED
                continue
            if category[0] == "M" or 0x1100 <= point < 0x1200:
                exact_path[point] = True  # combines with its neighbours under NFKC
                continue
            composed = unicodedata.normalize("NFKC", character)
            folded = composed.casefold()
            if len(folded) != 1 or ord(composed) in joins_previous:
                exact_path[point] = True  # e.g. half-width ﾞ is U+3099: ｶﾞ is ガ, one character
                continue
            folded = t2s.get(folded, folded)
            target = ord(folded)
            mapping[point] = target
        mapping[0] = _DELETED
        # separators and word characters of the normalised forms
        for point in _table_points():
            category = unicodedata.category(chr(point))
            if category[0] in "ZPS" or category == "Cc":
                separator[point] = True
            elif category[0] in "LN":
                word[point] = True
        for low, high in _UNSPACED:
            word[low : high + 1] = False
        for table in (mapping, exact_path, separator, word):
            table.setflags(write=False)
        return Tables(mapping, exact_path, separator, word)


def _joins_previous() -> set[int]:
    """Characters that NFKC may join to the character before them: non-starters, the second half of
    a canonical composition, Hangul vowel and final jamo. A character whose normal form is one of
    these cannot go through the table alone."""
    joins = {*range(0x1161, 0x1176), *range(0x11A8, 0x11C3)}
    for point in _table_points():
        character = chr(point)
        if unicodedata.combining(character):
            joins.add(point)
        parts = unicodedata.decomposition(character).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            joins.add(int(parts[1], 16))
    return joins


def _table_points() -> Iterator[int]:
    for low, high in _TABLE_RANGES:
        for point in range(low, high):
            if not 0xD800 <= point < 0xE000:
                yield point


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _text(codes: np.ndarray) -> str:
    return codes.tobytes().decode("utf-32-le", "surrogatepass")


def normalised_codes(text: str) -> np.ndarray:
    """The normalised text as code points (uint32)."""
    table = tables()
    codes = _codes(text)
    if codes.size and table.exact_path[codes].any():
        text = unicodedata.normalize("NFKC", text).casefold()
        codes = _codes(text)
    mapped = table.mapping[codes]
    if not mapped.all():
        mapped = mapped[mapped != _DELETED]
    return mapped


def normalise(text: str) -> str:
    """NFKC, case fold, Traditional -> Simplified, format characters removed."""
    return _text(normalised_codes(text))


def normalise_many(texts: list[str], batch: int = 4096) -> list[str]:
    """``[normalise(text) for text in texts]``, a batch at a time (a lexicon's million terms): the
    texts are joined by line feeds, which normalisation leaves alone and never joins to a neighbour."""
    result: list[str] = []
    for first in range(0, len(texts), batch):
        chunk = texts[first : first + batch]
        if any("\n" in text for text in chunk):
            result.extend(normalise(text) for text in chunk)
        else:
            result.extend(normalise("\n".join(chunk)).split("\n"))
    return result


def squeeze(codes: np.ndarray) -> tuple[str, np.ndarray]:
    """The normalised text without separators, and each kept character's position in ``codes``."""
    kept = np.flatnonzero(~tables().separator[codes])
    return _text(codes[kept]), kept


def as_text(codes: np.ndarray) -> str:
    return _text(codes)
