"""``quality`` stage: Gopher / C4 / FineWeb / ChineseWebText rules from ``rules/quality/*.yaml``.

Rules are data: each has an id, a signal ``kind`` computed here, and ``min``/``max`` bounds in the
YAML. The rule sets applied depend on the record's language (``metadata.language`` from the langid
stage, or identified on the fly), passed explicitly: Chinese is measured in characters, spaced
scripts in words. Duplicate lines/paragraphs use datatrove's Gopher helper. Words are the matches
of ``_WORD`` (not datatrove's spaCy tokenizers, which load a model per language and ran at ~1 MB/s
here), found with NumPy over the text's code points rather than as one string each; the word,
character and n-gram signals are vectorised the same way, and each is computed once per record,
only when a rule of the record's language asks for it. A record fails at its first failing rule
(reason ``quality.<rule id>``); every signal computed up to then is kept in ``quality_signals``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates
from datatrove.utils.stats import Stats
from pydantic import BaseModel, ConfigDict, Field, model_validator

from corpus_kit.errors import UsageError
from corpus_kit.governance.accounting import metric_total
from corpus_kit.governance.manifest import QualitySummary
from corpus_kit.resources import resource_path
from corpus_kit.stages.base import Stage, StageContext, StageParams
from corpus_kit.stages.text import HAN_RANGES, code_points
from corpus_kit.utils import load_yaml_file

if TYPE_CHECKING:
    from datatrove.pipeline.base import PipelineStep

    from corpus_kit.catalog.report import ReportSection
    from corpus_kit.governance.manifest import Manifest
    from corpus_kit.io.parquet_writer import ParquetShardWriter

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# a BCP 47 tag's shape (subtags of at most 8 letters or digits): a language value taken from the
# input becomes a stats label and a manifest key, so anything else (a phone number in it) is not
# trusted and the language is identified instead
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")
_BULLET = ("•", "●", "○", "▪", "◦", "■", "□", "-", "*", "·", "‣", "➢", "►")
_ELLIPSIS = ("...", "…", "。。。")
_TERMINAL = (".", "!", "?", '"', "'", "。", "！", "？", "”", "」", "』", "；", "…", ":", "：", ")", "）")


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    kind: str
    min: float | None = None
    max: float | None = None
    n: int = Field(1, ge=1, le=50)
    unit: str = "word"
    phrases: list[str] = Field(default_factory=list)
    words: frozenset[str] = Field(default_factory=frozenset)  # hashable: stop-word hashes are cached by it
    short_chars: int = 30

    @model_validator(mode="after")
    def _known(self) -> Rule:
        if signal_function(self.kind) is None:
            known = ", ".join(sorted({*SIGNALS, *_signal_entry_points()}))
            raise ValueError(f"rule {self.id}: unknown kind {self.kind!r}; known: {known}")
        if self.min is None and self.max is None:
            raise ValueError(f"rule {self.id}: give min and/or max")
        if self.unit not in ("word", "char"):
            raise ValueError(f"rule {self.id}: unit is word or char")
        return self


class QualityRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    languages: dict[str, list[str]]
    rule_sets: dict[str, list[Rule]]

    @model_validator(mode="after")
    def _sets_exist(self) -> QualityRules:
        if "default" not in self.languages:
            raise ValueError("languages needs a 'default' entry")
        for language, names in self.languages.items():
            missing = [name for name in names if name not in self.rule_sets]
            if missing:
                raise ValueError(f"languages.{language}: unknown rule set(s) {missing}")
        return self

    def for_language(self, language: str) -> list[Rule]:
        names = self.languages.get(language, self.languages["default"])
        return [rule for name in names for rule in self.rule_sets[name]]


def load_quality_rules(path: str | Path | None = None) -> QualityRules:
    path = Path(path) if path else resource_path("rules", "quality", "default.yaml")
    return QualityRules.model_validate(load_yaml_file(path, "quality rules"))


_MASK64 = (1 << 64) - 1


class _Powers:
    """``B**k`` and ``B**-k`` modulo 2**64 for k < size (B odd, so invertible), grown on demand.

    With them the polynomial hash of any window is two NumPy operations on one prefix sum, whatever
    the window length, instead of one multiply-add pass over the text per unit of the window.
    """

    _CACHE_LIMIT = 1 << 18  # tables kept for good: 2 MiB each

    def __init__(self, base: int):
        self.base = base
        self.inverse = pow(base, -1, 1 << 64)
        self._up, self._down = self._make(4096)
        # tables for one longer text, dropped as soon as a shorter one asks (the next record)
        self._large: tuple[np.ndarray, np.ndarray] | None = None

    def _make(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        up = np.ones(size, dtype=np.uint64)
        down = np.ones(size, dtype=np.uint64)
        # integer arrays wrap silently, which is the arithmetic modulo 2**64 wanted here
        np.cumprod(np.full(size - 1, self.base, dtype=np.uint64), out=up[1:])
        np.cumprod(np.full(size - 1, self.inverse, dtype=np.uint64), out=down[1:])
        return up, down

    def get(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """(B**k, B**-k) for k < at least ``size``."""
        if size > self._CACHE_LIMIT:
            if self._large is None or len(self._large[0]) < size:
                self._large = self._make(size)
            return self._large
        self._large = None
        if size > len(self._up):
            self._up, self._down = self._make(min(max(size, 2 * len(self._up)), self._CACHE_LIMIT))
        return self._up, self._down

    def prefix(self, values: np.ndarray) -> np.ndarray:
        """``S[i] = sum(values[k] * B**-k for k < i)`` mod 2**64, ``S[0] = 0``."""
        if values.dtype != np.uint64:
            # non-negative ints; int64 * uint64 would promote to float64
            values = values.view(np.uint64) if values.dtype == np.int64 else values.astype(np.uint64)
        prefix = np.empty(len(values) + 1, dtype=np.uint64)
        prefix[0] = 0
        np.multiply(values, self.get(len(values))[1][: len(values)], out=prefix[1:])
        np.cumsum(prefix[1:], out=prefix[1:])
        return prefix

    def windows(self, prefix: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Hash of each window ``[start, end)`` of the values behind ``prefix``:
        ``(S[end] - S[start]) * B**(end-1) = sum(values[start+i] * B**(end-start-1-i))``, the same
        wherever the window lies."""
        return (prefix[ends] - prefix[starts]) * self.get(len(prefix))[0][ends - 1]

    def sliding(self, prefix: np.ndarray, n: int) -> np.ndarray:
        """Hash of every window of ``n`` consecutive values (slices: no gathers)."""
        size = len(prefix) - 1
        return (prefix[n:] - prefix[: size - n + 1]) * self.get(size)[0][n - 1 : size]

    def hash(self, text: str) -> int:
        """The hash :meth:`windows` gives a window holding these characters (Horner's rule)."""
        value = 0
        for char in text:
            value = (value * self.base + ord(char)) & _MASK64
        return value


# n-grams: sum(unit[i] * P**(n-1-i)) mod 2**64 (the hash used before, less a constant per n)
_NGRAM_HASH = _Powers(0x9E3779B97F4A7C15)
# words, over code points: another multiplier, so that word and n-gram hashes share no structure
_WORD_HASH = _Powers(0xC2B2AE3D27D4EB4F)
_MIX = np.uint64(0xBF58476D1CE4E5B9)  # odd: multiplying by it permutes 64-bit values

# Character classes, one bit each, taken per code point from Python's own str methods so that they
# agree exactly with ``re`` (``[^\W_]`` is str.isalnum, ``\s`` is str.isspace) and with str.isalpha.
_ALNUM, _JOINER, _ALPHA, _WHITESPACE, _HAN_CHAR = 1, 2, 4, 8, 16
_JOINERS = "'’-"  # as _WORD: joins two alphanumeric runs into one word
# the only character that str.lower maps by context (final sigma): lowering a whole text can give
# it another form than lowering the word alone
_CONTEXT_LOWER = "Σ"


class _CharTables:
    """Class bits of every code point, filled one Unicode plane at a time on first use (the BMP takes
    ~15 ms per process; another plane only when a text has characters from it)."""

    def __init__(self) -> None:
        self.classes = np.zeros(0x110000, dtype=np.uint8)
        self._filled = [False] * 17
        self._fill(0)

    def _fill(self, plane: int) -> None:
        first = plane << 16
        block = "".join(map(chr, range(first, first + 0x10000)))
        classes = np.zeros(0x10000, dtype=np.uint8)
        for bit, test in ((_ALNUM, str.isalnum), (_ALPHA, str.isalpha), (_WHITESPACE, str.isspace)):
            classes[np.frombuffer(bytes(map(test, block)), dtype=np.bool_)] |= bit
        if plane == 0:
            for low, high in HAN_RANGES:
                classes[low : high + 1] |= _HAN_CHAR
            for char in _JOINERS:
                classes[ord(char)] |= _JOINER
        self.classes[first : first + 0x10000] = classes
        self._filled[plane] = True

    def classify(self, codepoints: np.ndarray) -> np.ndarray:
        if len(codepoints) and codepoints.max() >= 0x10000:
            for plane in np.unique(codepoints >> 16).tolist():
                if not self._filled[plane]:
                    self._fill(plane)
        return self.classes.take(codepoints)


_TABLES: _CharTables | None = None


def _char_tables() -> _CharTables:
    global _TABLES
    if _TABLES is None:
        _TABLES = _CharTables()
    return _TABLES


class _Units:
    """A text as a sequence of units (words, or non-space characters) for the n-gram signals."""

    def __init__(self, ids: np.ndarray, offsets: np.ndarray | None):
        self.ids = ids  # one integer per unit (code point, or word hash): equal units, equal ids
        self.offsets = offsets  # character offset of each unit, then the total (None: 1 char each)
        self.total_chars = int(offsets[-1]) if offsets is not None else len(ids)
        self._prefix: np.ndarray | None = None

    @property
    def prefix(self) -> np.ndarray:
        """Prefix sums for the n-gram hashes, shared by every n."""
        if self._prefix is None:
            self._prefix = _NGRAM_HASH.prefix(self.ids)
        return self._prefix

    def chars(self, starts: Any, ends: Any) -> int:
        """Characters in the units of the disjoint spans ``[start, end)`` (arrays or one int each)."""
        if self.offsets is None:
            return int((ends - starts).sum()) if isinstance(starts, np.ndarray) else ends - starts
        return int((self.offsets[ends] - self.offsets[starts]).sum())


class _NGrams:
    """Gopher repetition signals over the n-grams of some units, vectorised with NumPy.

    top: characters of the most frequent n-gram times its count, over all characters (as datatrove's
    ``find_top_duplicate``; among equally frequent n-grams, the one seen first); duplicate: characters
    covered by any n-gram occurrence that appeared before, counted once (the Gopher paper's
    definition; datatrove's helper skips ahead greedily). n-grams are compared by a hash of at least
    48 bits (64 above 65,536 n-grams).
    Each is computed only when a rule asks for it (rules use one or the other per n).
    """

    # positions are packed into the low bits of the sort keys up to this many n-grams (48 bits of
    # hash left); longer texts use argsort
    _PACK_LIMIT = 1 << 16

    def __init__(self, units: _Units, n: int):
        self.units = units
        self.n = n
        self.count = len(units.ids) - n + 1
        self._top: float | None = None
        self._duplicate: float | None = None
        self.repeated = False
        if self.count <= 1 or not units.total_chars:
            return
        # positions sorted by n-gram, and in text order within each run of equal n-grams
        self.positions, self.run_start = self._group(_NGRAM_HASH.sliding(units.prefix, n))
        self.starts = self.run_start.nonzero()[0]
        self.repeated = len(self.starts) < self.count

    def _group(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        count = self.count
        run_start = np.empty(count, dtype=bool)
        run_start[0] = True
        if count <= self._PACK_LIMIT:
            # A plain sort of 64-bit keys is ~3x faster than argsort: keys are the hash with its low
            # bits replaced by the position, so that a sort orders by (hash, position). The
            # polynomial hash of two n-grams that differ in their last unit differs only in its low
            # bits, so the keys take the hash times an odd constant (a bijection that carries low
            # bits up) and n-grams are compared by its 64 - bits high bits: at least 48, so two
            # different n-grams of a text compare equal with odds about count**2 / 2**(65 - bits),
            # ~2e-9 for a text of 1,000 words. (Checking the full 64-bit hashes within each run
            # cost a quarter of this function's time.)
            bits = max(1, (count - 1).bit_length())
            low = np.uint64((1 << bits) - 1)
            keys = hashes * _MIX
            keys &= ~low
            keys |= np.arange(count, dtype=np.uint64)
            keys.sort()
            positions = (keys & low).astype(np.intp)
            keys >>= np.uint64(bits)
            np.not_equal(keys[1:], keys[:-1], out=run_start[1:])
            return positions, run_start
        positions = hashes.argsort(kind="stable")  # stable: text order within runs
        ordered = hashes[positions]
        np.not_equal(ordered[1:], ordered[:-1], out=run_start[1:])
        return positions, run_start

    @property
    def top(self) -> float:
        if self._top is None:
            self._top = 0.0
            if self.repeated:
                occurrences = np.empty(len(self.starts), dtype=np.int64)
                occurrences[:-1] = self.starts[1:] - self.starts[:-1]
                occurrences[-1] = self.count - self.starts[-1]
                top_count = int(occurrences.max())
                # the first position whose n-gram is among the most frequent, as an argmax would give
                position = int(self.positions[self.starts[occurrences == top_count]].min())
                window = self.units.chars(position, position + self.n)
                self._top = window * top_count / self.units.total_chars
        return self._top

    @property
    def duplicate(self) -> float:
        if self._duplicate is None:
            self._duplicate = 0.0
            if self.repeated:
                later = np.sort(self.positions[~self.run_start])
                # union of the windows [p, p + n) of the later occurrences: each window is cut at the
                # start of the next one, which leaves disjoint spans
                ends = later + self.n
                np.minimum(ends[:-1], later[1:], out=ends[:-1])
                self._duplicate = self.units.chars(later, ends) / self.units.total_chars
        return self._duplicate


class TextView:
    """Lines, paragraphs, words and characters of a text, each computed once, on demand.

    Words and characters are NumPy arrays over the text's code points (one ``utf-32`` encode and a
    table lookup): a word is a maximal run of alphanumeric characters, where ``'``, ``’`` or ``-``
    between two of them joins the runs, which is exactly what ``_WORD.findall`` returns, without a
    string per word. Words are told apart by a 64-bit hash of their characters.
    """

    def __init__(self, text: str):
        self.text = text
        self._lines: list[str] | None = None
        self._paragraphs: list[str] | None = None
        self._line_duplicates: tuple[int, int] | None = None
        self._lower: str | None = None
        self._codepoints: np.ndarray | None = None
        self._classes: np.ndarray | None = None
        self._word_spans: tuple[np.ndarray, np.ndarray] | None = None
        self._units: dict[str, _Units] = {}
        self._ngrams: dict[tuple[str, int], _NGrams] = {}
        self._stop_words: dict[frozenset[str], int] = {}

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = [line for line in map(str.strip, self.text.split("\n")) if line]
        return self._lines

    @property
    def paragraphs(self) -> list[str]:
        if self._paragraphs is None:
            self._paragraphs = [p for p in map(str.strip, _PARAGRAPH_BREAK.split(self.text)) if p]
        return self._paragraphs

    @property
    def line_duplicates(self) -> tuple[int, int]:
        """(duplicate lines, their characters): two rules read it."""
        if self._line_duplicates is None:
            self._line_duplicates = find_duplicates(self.lines)
        return self._line_duplicates

    @property
    def lower(self) -> str:
        if self._lower is None:
            self._lower = self.text.lower()
        return self._lower

    @property
    def codepoints(self) -> np.ndarray:
        if self._codepoints is None:
            self._codepoints = _indices(self.text)
        return self._codepoints

    @property
    def classes(self) -> np.ndarray:
        """Class bits of each character."""
        if self._classes is None:
            self._classes = _char_tables().classify(self.codepoints)
        return self._classes

    @property
    def word_spans(self) -> tuple[np.ndarray, np.ndarray]:
        """Start and end (exclusive) character index of each word."""
        if self._word_spans is None:
            classes = self.classes
            alnum = (classes & _ALNUM).view(np.bool_)  # _ALNUM is bit 0: bytes are 0 or 1
            in_word = np.zeros(len(classes) + 2, dtype=np.bool_)  # False at both ends
            in_word[1:-1] = alnum
            if len(classes) > 2:
                joiner = (classes[1:-1] & _JOINER) != 0
                in_word[2:-2] |= joiner & alnum[:-2] & alnum[2:]
            edges = (in_word[1:] != in_word[:-1]).nonzero()[0]
            self._word_spans = edges[0::2], edges[1::2]
        return self._word_spans

    @property
    def word_count(self) -> int:
        return len(self.word_spans[0])

    def unit_arrays(self, unit: str) -> _Units:
        """Words (ids: a hash of their characters) or non-space characters (ids: code points)."""
        units = self._units.get(unit)
        if units is None:
            if unit == "char":
                units = _Units(self.codepoints[(self.classes & _WHITESPACE) == 0], None)
            else:
                starts, ends = self.word_spans
                ids = _WORD_HASH.windows(_WORD_HASH.prefix(self.codepoints), starts, ends)
                offsets = np.zeros(len(starts) + 1, dtype=np.int64)
                np.cumsum(ends - starts, out=offsets[1:])
                units = _Units(ids, offsets)
            self._units[unit] = units
        return units

    def _ngram(self, unit: str, n: int) -> _NGrams:
        ngrams = self._ngrams.get((unit, n))
        if ngrams is None:
            ngrams = self._ngrams[(unit, n)] = _NGrams(self.unit_arrays(unit), n)
        return ngrams

    def ngram_stats(self, unit: str, n: int) -> tuple[float, float]:
        """(top n-gram char share, duplicate n-gram char share) for words or characters."""
        ngrams = self._ngram(unit, n)
        return ngrams.top, ngrams.duplicate

    def top_ngram(self, unit: str, n: int) -> float:
        return self._ngram(unit, n).top

    def duplicate_ngram(self, unit: str, n: int) -> float:
        return self._ngram(unit, n).duplicate

    def word_chars(self) -> int:
        starts, ends = self.word_spans
        return int((ends - starts).sum())

    def alphabetic_words(self) -> int:
        """Words with at least one alphabetic character (str.isalpha)."""
        starts, ends = self.word_spans
        classes = self.classes
        # a word without letters starts with a non-letter (digits, mostly): only those are looked into
        suspects = (classes[starts] & _ALPHA) == 0
        if not suspects.any():
            return len(starts)
        # OR of the class bits over [start, end) of each suspect (the odd segments, between words,
        # are not read); the padding keeps every index in range for reduceat
        bounds = np.stack((starts[suspects], ends[suspects]), axis=1).ravel()
        padded = np.append(classes, np.uint8(0))
        letters = np.bitwise_or.reduceat(padded, bounds)[0::2] & _ALPHA
        return len(starts) - int(np.count_nonzero(letters == 0))

    def stop_words(self, words: frozenset[str]) -> int:
        """Words whose ``str.lower()`` is in ``words``."""
        count = self._stop_words.get(words)
        if count is None:
            count = self._stop_words[words] = self._count_stop_words(words)
        return count

    def _count_stop_words(self, words: frozenset[str]) -> int:
        text, lower = self.text, self.lower
        if len(lower) != len(text) or _CONTEXT_LOWER in text:
            # U+0130 lowers to two characters (spans no longer line up) and U+03A3 to a form that
            # depends on what follows it in the text: lower each word on its own
            return sum(1 for word in _WORD.findall(text) if word.lower() in words)
        starts, ends = self.word_spans
        if not len(starts):
            return 0
        # the lowered text lowers each character as the word would: compare the hashes of its
        # words with those of the stop words (as words are compared everywhere here)
        hashes = _WORD_HASH.windows(_WORD_HASH.prefix(_indices(lower)), starts, ends)
        targets = _stop_word_hashes(words)
        if not len(targets):
            return 0
        slots = targets.searchsorted(hashes)
        np.minimum(slots, len(targets) - 1, out=slots)
        return int(np.count_nonzero(targets[slots] == hashes))


@functools.lru_cache(maxsize=64)
def _stop_word_hashes(words: frozenset[str]) -> np.ndarray:
    """Sorted, distinct hashes of the stop words."""
    return np.array(sorted({_WORD_HASH.hash(word) for word in words}), dtype=np.uint64)


def _indices(text: str) -> np.ndarray:
    """The code points as indices (``take`` is fastest with intp)."""
    return code_points(text).astype(np.intp)


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _line_share(view: TextView, counted: Callable[[list[str]], int]) -> float:
    lines = view.lines
    return _ratio(counted(lines), len(lines))


# per-line tests as map() over str methods: no Python frame per line
def _starting(prefixes: tuple[str, ...]) -> Callable[[list[str]], int]:
    return lambda lines: sum(map(str.startswith, lines, repeat(prefixes)))


def _ending(suffixes: tuple[str, ...]) -> Callable[[list[str]], int]:
    return lambda lines: sum(map(str.endswith, lines, repeat(suffixes)))


def _shorter(chars: int) -> Callable[[list[str]], int]:
    return lambda lines: sum(map(chars.__gt__, map(len, lines)))


def _cjk_char_fraction(view: TextView) -> float:
    classes = view.classes
    non_space = len(classes) - int(np.count_nonzero(classes & _WHITESPACE))
    return _ratio(int(np.count_nonzero(classes & _HAN_CHAR)), non_space)


SIGNALS: dict[str, Callable[[TextView, Rule], float]] = {
    "length_chars": lambda v, r: float(len(v.text.strip())),
    "word_count": lambda v, r: float(v.word_count),
    "mean_word_length": lambda v, r: _ratio(v.word_chars(), v.word_count),
    "symbol_word_ratio": lambda v, r: _ratio(
        v.text.count("#") + sum(v.text.count(e) for e in _ELLIPSIS), v.word_count
    ),
    "alphabetic_word_fraction": lambda v, r: _ratio(v.alphabetic_words(), v.word_count),
    "stop_word_count": lambda v, r: float(v.stop_words(r.words)),
    "duplicate_line_fraction": lambda v, r: _ratio(v.line_duplicates[0], len(v.lines)),
    "duplicate_line_char_fraction": lambda v, r: _ratio(v.line_duplicates[1], sum(map(len, v.lines))),
    "duplicate_paragraph_fraction": lambda v, r: _ratio(find_duplicates(v.paragraphs)[0], len(v.paragraphs)),
    "bullet_line_fraction": lambda v, r: _line_share(v, _starting(_BULLET)),
    "ellipsis_line_fraction": lambda v, r: _line_share(v, _ending(_ELLIPSIS)),
    "terminal_punctuation_line_fraction": lambda v, r: _line_share(v, _ending(_TERMINAL)),
    "short_line_fraction": lambda v, r: _line_share(v, _shorter(r.short_chars)),
    "phrase_count": lambda v, r: float(sum(v.lower.count(p.lower()) for p in r.phrases)),
    "cjk_char_fraction": lambda v, r: _cjk_char_fraction(v),
    "mean_line_length": lambda v, r: _ratio(sum(map(len, v.lines)), len(v.lines)),
    "top_ngram_char_fraction": lambda v, r: v.top_ngram(r.unit, r.n),
    "duplicate_ngram_char_fraction": lambda v, r: v.duplicate_ngram(r.unit, r.n),
}


SIGNAL_ENTRY_POINT_GROUP = "corpus_kit.quality_signals"
SignalFunction = Callable[[TextView, Rule], float]


def _signal_entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {entry.name: entry for entry in entry_points(group=SIGNAL_ENTRY_POINT_GROUP)}


def register_quality_signal(kind: str, function: SignalFunction, *, replace: bool = False) -> None:
    """Make ``kind`` usable in quality rule files: ``function(view, rule) -> float``.

    ``view`` is a :class:`TextView` (``text``, ``lines``, ``paragraphs``, ``word_count``...), ``rule``
    the rule being evaluated (its ``min``/``max`` are applied to the value by the stage). Installed
    packages can offer kinds through the ``corpus_kit.quality_signals`` entry-point group instead.
    """
    if kind in SIGNALS and not replace:
        raise ValueError(f"quality signal kind {kind!r} exists; pass replace=True to override it")
    SIGNALS[kind] = function


def signal_function(kind: str) -> SignalFunction | None:
    """The function computing ``kind``: built-in, registered, or from an installed entry point."""
    function = SIGNALS.get(kind)
    if function is None:
        entry = _signal_entry_points().get(kind)
        if entry is None:
            return None
        function = SIGNALS[kind] = entry.load()
    return function


def evaluate(rule: Rule, view: TextView) -> tuple[bool, float]:
    """``(passes, signal)`` for one rule."""
    value = (SIGNALS.get(rule.kind) or signal_function(rule.kind))(view, rule)  # type: ignore[misc]
    passes = (rule.min is None or value >= rule.min) and (rule.max is None or value <= rule.max)
    return passes, round(value, 4)


class QualityFilter(BaseFilter):
    """Applies the rule sets of each record's language; drops with reason ``quality.<rule id>``.

    Records that carry media are passed unchecked (``skipped_media``): text rules would judge a caption.

    Stats: ``checked/<language>`` and ``rule_drops/<language>/<rule id>`` for the manifest.
    """

    name = "✅ quality"

    def __init__(self, rules: str | None = None, exclusion_writer: ParquetShardWriter | None = None):
        super().__init__(exclusion_writer=exclusion_writer)
        try:
            self.rules = load_quality_rules(rules)
        except (OSError, ValueError) as error:
            raise UsageError(f"quality rules: {error}") from None
        self._identifier: Any = None
        self._rule_lists: dict[str, list[Rule]] = {}

    def warm_up(self) -> None:
        """Build the character tables now (in a parent, before workers are forked)."""
        _char_tables()

    def _rules_for(self, language: str) -> list[Rule]:
        rules = self._rule_lists.get(language)
        if rules is None:
            rules = self._rule_lists[language] = self.rules.for_language(language)
        return rules

    def _language(self, doc: Document) -> str:
        language = doc.metadata.get("language")
        if isinstance(language, str) and _LANGUAGE_TAG.fullmatch(language):
            return language
        if self._identifier is None:
            from corpus_kit.stages.langid import LanguageIdentifier

            self._identifier = LanguageIdentifier()
        return self._identifier.identify(doc.text)[0]

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if doc.media:
            # image, audio and captioned samples: text rules would judge a caption, not the sample
            self.stat_update("skipped_media")
            return True
        language = self._language(doc)
        self.stat_update(f"checked/{language}")
        view = TextView(doc.text)
        signals: dict[str, float] = {}
        existing = doc.metadata.get("quality_signals")
        if isinstance(existing, dict):
            signals.update(existing)
        try:
            for rule in self._rules_for(language):
                passes, value = evaluate(rule, view)
                signals[rule.id] = value
                if not passes:
                    self.stat_update(f"rule_drops/{language}/{rule.id}")
                    return False, f"quality.{rule.id}"
        finally:
            doc.metadata["quality_signals"] = signals
        return True

    def manifest_summary(self, stats: Stats) -> QualitySummary:
        checked: dict[str, int] = {}
        dropped: dict[str, dict[str, int]] = {}
        for label, metric in sorted(stats.stats.items()):
            count = metric_total(metric)
            if label.startswith("checked/") and count:
                checked[label.removeprefix("checked/")] = count
            elif label.startswith("rule_drops/") and count:
                language, _, rule = label.removeprefix("rule_drops/").partition("/")
                dropped.setdefault(language, {})[rule] = count
        return QualitySummary(rules_version=self.rules.version, checked=checked, dropped=dropped)


class QualityParams(StageParams):
    rules: str | None = Field(
        None,
        description="Quality rule file (default rules/quality/default.yaml).",
        json_schema_extra={"path": True},
    )


class QualityStage(Stage[QualityParams]):
    """Drop low-quality records by rules chosen per language (Gopher, C4, FineWeb, ChineseWebText)."""

    name = "quality"
    summary = "Drop low-quality records by rules chosen per language (Gopher, C4, FineWeb, ChineseWebText)."
    params_model = QualityParams
    reasons = ("quality.*",)
    columns = ("quality_signals",)
    section_model = QualitySummary
    extra = "langid"  # records without a language are identified on the fly
    example = "- quality: {rules: rules/quality/default.yaml}"

    def build(self, params: QualityParams, context: StageContext) -> QualityFilter:
        return QualityFilter(
            rules=context.resolve_path(params.rules), exclusion_writer=context.exclusion_writer()
        )

    def manifest_section(self, step: PipelineStep, stats: Stats) -> QualitySummary:
        assert isinstance(step, QualityFilter)
        return step.manifest_summary(stats)

    def report_section(self, section: QualitySummary, manifest: Manifest) -> ReportSection:
        from corpus_kit.catalog.report import quality_report_section

        return quality_report_section(section, manifest)
