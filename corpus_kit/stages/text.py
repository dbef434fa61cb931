"""Character-level helpers the text stages share (langid, quality, PII pre-scan, dedup)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))  # CJK ideographs, ext. A, compat.


@lru_cache(maxsize=4)
def every_character(size: int) -> str:
    """Code points ``0 .. size - 1`` as one string, for building per-code-point tables with regexes and
    str methods in C; surrogates, which cannot be encoded, stand as spaces."""
    codes = np.arange(size, dtype=np.uint32)
    codes[(codes >= 0xD800) & (codes < 0xE000)] = 0x20
    return codes.astype("<u4").tobytes().decode("utf-32-le")


def code_points(text: str) -> np.ndarray:
    """One uint32 per character of ``text`` (a lone surrogate stays one code point, as in Python)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
