"""Keyword matching: one Aho-Corasick automaton over the normalised text, one over the text without
separators for terms that allow a ``gap``, allow contexts resolved per hit.

The automaton is ``ahocorasick_rs`` (Rust, Apache-2.0): with 10,000 terms it scanned the benchmark
corpus at ~120 MB/s where pyahocorasick managed ~1.4 MB/s (its root node, with thousands of
first characters, is searched linearly). Overlapping matches are asked for, so a term inside an
allow context and the context itself are both seen.

A term made of letters of a spaced script (English...) matches whole words only: ``ass`` is not a
hit inside ``class``. Chinese, Japanese, Korean and Thai terms match anywhere.

Time and memory are bounded per record, however many matches a hostile text holds (``a`` * 10**6
against the terms ``a``, ``aa``, ... ``a`` * 256 has 256 million overlapping matches):

* the automaton is called on windows of at most :data:`WINDOW` characters, fewer when the patterns
  have many different lengths: at most one pattern of each length can end at a given character, so
  a window of ``MAX_MATCHES_PER_CALL // lengths`` characters returns at most about
  :data:`MAX_MATCHES_PER_CALL` matches;
* a record stops being scanned after :data:`MAX_MATCHES` matches (terms and allow contexts, before
  the word-boundary and context checks). Such a record is *saturated*: its counts are lower bounds,
  it counts as ``blocked`` whatever the severities (a term with ``block`` could be beyond the
  point where scanning stopped), and it is flagged under the codes of the terms it matched;
* a hit is looked up among its term's allow contexts by bisection, not against each of them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from corpus_kit.stages.safety.lexicon import Term
from corpus_kit.stages.safety.normalise import as_text, normalised_codes, squeeze, tables

WINDOW = 1 << 18  # most characters per automaton call
MAX_MATCHES_PER_CALL = 1 << 18  # about the most matches one automaton call returns
MAX_MATCHES = 100_000  # matches examined per record before it is saturated


@dataclass
class ScanResult:
    hits: dict[str, int] = field(default_factory=dict)  # risk code -> hits
    blocked: bool = False  # a hit of a term with severity block
    allowed: int = 0  # hits suppressed by an allow context
    saturated: bool = False  # more than MAX_MATCHES matches: counts are lower bounds, blocked

    @property
    def flagged(self) -> bool:
        return bool(self.hits)


@dataclass(frozen=True)
class _Role:
    term: int  # index into Matcher.terms
    context: bool  # an allow context of that term (else the term itself)


class Matcher:
    """Scans texts for the terms of one or more lexicons (already normalised by :mod:`.lexicon`)."""

    def __init__(self, terms: list[Term]):
        import ahocorasick_rs

        self.terms = terms
        word = tables().word
        self._word_start = [bool(word[ord(term.text[0])]) for term in terms]
        self._word_end = [bool(word[ord(term.text[-1])]) for term in terms]
        plain: dict[str, list[_Role]] = {}
        squeezed: dict[str, list[_Role]] = {}
        for index, term in enumerate(terms):
            if term.gap:
                key, _ = squeeze(np.frombuffer(term.text.encode("utf-32-le"), dtype=np.uint32))
                if key:
                    squeezed.setdefault(key, []).append(_Role(index, False))
            else:
                plain.setdefault(term.text, []).append(_Role(index, False))
            for context in term.allow:
                plain.setdefault(context, []).append(_Role(index, True))
        kind = ahocorasick_rs.MATCHKIND_STANDARD
        self._plain_patterns = list(plain)
        self._plain_roles = [plain[pattern] for pattern in self._plain_patterns]
        self._plain = ahocorasick_rs.AhoCorasick(self._plain_patterns, matchkind=kind) if plain else None
        self._plain_window = _window(self._plain_patterns)  # (characters per call, longest pattern)
        self._squeezed_patterns = list(squeezed)
        self._squeezed_roles = [squeezed[pattern] for pattern in self._squeezed_patterns]
        self._squeezed = (
            ahocorasick_rs.AhoCorasick(self._squeezed_patterns, matchkind=kind) if squeezed else None
        )
        self._squeezed_window = _window(self._squeezed_patterns)

    def scan(self, text: str) -> ScanResult:
        """The hits per risk code in ``text`` (terms and contexts are compared in normal form)."""
        result = ScanResult()
        if not text or not self.terms:
            return result
        codes = normalised_codes(text)
        normal = as_text(codes)
        term_hits: list[tuple[int, int, int]] = []
        contexts: dict[int, list[tuple[int, int]]] = {}
        budget = MAX_MATCHES
        saturated = False
        saturating: list[list[_Role]] = []  # the roles of the last batch when the budget ran out
        if self._plain is not None:
            for batch in _find(self._plain, normal, *self._plain_window):
                if len(batch) > budget:
                    saturated = True
                    saturating = [self._plain_roles[pattern] for pattern, _, _ in batch[: max(budget, 1)]]
                    batch = batch[:budget]
                budget -= len(batch)
                for pattern, start, end in batch:
                    for role in self._plain_roles[pattern]:
                        if role.context:
                            contexts.setdefault(role.term, []).append((start, end))
                        elif self._whole_word(role.term, codes, start, end):
                            term_hits.append((role.term, start, end))
                if saturated:
                    break
        if self._squeezed is not None and not saturated:
            dense, positions = squeeze(codes)
            for batch in _find(self._squeezed, dense, *self._squeezed_window):
                if len(batch) > budget:
                    saturated = True
                    saturating = [self._squeezed_roles[pattern] for pattern, _, _ in batch[: max(budget, 1)]]
                    batch = batch[:budget]
                budget -= len(batch)
                for pattern, start, end in batch:
                    span = positions[start:end]
                    widest = int((np.diff(span) - 1).max()) if span.size > 1 else 0
                    first, last = int(span[0]), int(span[-1]) + 1
                    for role in self._squeezed_roles[pattern]:
                        if widest <= self.terms[role.term].gap and self._whole_word(
                            role.term, codes, first, last
                        ):
                            term_hits.append((role.term, first, last))
                if saturated:
                    break
        covers = {term: _Covers(spans) for term, spans in contexts.items()}
        for term_index, start, end in term_hits:
            cover = covers.get(term_index)
            if cover is not None and cover.covers(start, end):
                result.allowed += 1
                continue
            term = self.terms[term_index]
            result.hits[term.risk] = result.hits.get(term.risk, 0) + 1
            if term.severity == "block":
                result.blocked = True
        if saturated:
            result.saturated = result.blocked = True
            for roles in saturating:
                for role in roles:
                    risk = self.terms[role.term].risk
                    result.hits.setdefault(risk, 1)
        return result

    def _whole_word(self, term: int, codes: np.ndarray, start: int, end: int) -> bool:
        word = tables().word
        if self._word_start[term] and start > 0 and word[codes[start - 1]]:
            return False
        return not (self._word_end[term] and end < codes.size and word[codes[end]])


class _Covers:
    """The allow contexts of one term in a text: does one of them hold the span ``[start, end)``?"""

    def __init__(self, spans: list[tuple[int, int]]):
        spans.sort()
        self.starts = [low for low, _ in spans]
        self.reach: list[int] = []  # the furthest end of the contexts starting at or before each one
        furthest = -1
        for _, high in spans:
            furthest = max(furthest, high)
            self.reach.append(furthest)

    def covers(self, start: int, end: int) -> bool:
        index = bisect_right(self.starts, start) - 1
        return index >= 0 and self.reach[index] >= end


def _window(patterns: list[str]) -> tuple[int, int]:
    """Characters per automaton call, so that one call returns about MAX_MATCHES_PER_CALL matches
    at most (no more than one pattern of each length ends at any character), and the longest
    pattern's length."""
    lengths = {len(pattern) for pattern in patterns}
    window = max(1, min(WINDOW, MAX_MATCHES_PER_CALL // max(1, len(lengths))))
    return window, max(lengths, default=1)


def _find(automaton: object, text: str, window: int, longest: int) -> Iterator[list[tuple[int, int, int]]]:
    """Overlapping matches ``(pattern, start, end)`` in ``text``, one list per window of ``window``
    characters (each window is read on by ``longest - 1`` characters, for the matches that start
    in it and end after it)."""
    find = automaton.find_matches_as_indexes  # type: ignore[attr-defined]
    if len(text) <= window:
        yield find(text, overlapping=True)
        return
    for offset in range(0, len(text), window):
        matches = find(text[offset : offset + window + longest - 1], overlapping=True)
        # a match starting in the overlap belongs to the next window
        yield [(pattern, offset + start, offset + end) for pattern, start, end in matches if start < window]
