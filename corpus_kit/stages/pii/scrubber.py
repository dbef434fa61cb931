"""``pii`` stage: find personal data with presidio recognizers and scrub it with presidio's anonymizer.

Speed without skipping anything: a cheap pre-scan (:func:`prescan_hits`: runs of digits,
``@``, dotted quads, IPv6 colons, ``+`` and a digit, plate prefixes) finds the places that can hold
a match; presidio analyses only windows around them (context words included), joined into one short
text per document, and documents with no such place are not analysed at all. Every bundled pattern
needs a pre-scan hit to match, and a test checks that windowed and full-text analysis agree; a rule
file with patterns of its own is analysed on whole texts (slower, nothing missed).

Operators: ``replace`` (``<CN_ID_CARD>``), ``mask`` (all but the last 4 characters, all of them
for values of 8 characters or fewer), ``hash`` (``<PHONE_NUMBER:…>``, keyed HMAC-SHA256; the key
comes from ``CORPUS_KIT_PII_KEY`` or ``--hash-key-file`` and is read in each worker, never stored
in the step, logs or manifest), ``redact`` (removed). Text and the string values of metadata are
scrubbed, except provenance (``_METADATA_KEPT``); media bytes are not (no OCR or speech model ships
offline).
Stats: ``pii_documents`` and ``pii/<ENTITY>``; the manifest's ``pii`` block is built from them.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import hmac
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.stats import Stats

from corpus_kit.errors import UsageError
from corpus_kit.stages.text import code_points

if TYPE_CHECKING:
    from corpus_kit.governance.manifest import PiiSummary

Operator = Literal["replace", "mask", "hash", "redact"]
OPERATORS = ("replace", "mask", "hash", "redact")
HASH_KEY_ENV = "CORPUS_KIT_PII_KEY"
_LANGUAGE = "xx"  # recognizers are script-agnostic; one analysis language for mixed zh/en text
_MIN_KEY_BYTES = 16
_MASK_KEEP = 4
# metadata that is provenance or governance, not content: never rewritten. ``dup_cluster`` and
# ``dup_of`` hold a record id, which is never rewritten in the ``id`` column either (rewriting
# them would break the link to the survivor); ``language`` is a language code.
_METADATA_KEPT = frozenset(
    {
        "source",
        "source_file",
        "source_line",
        "source_row",
        "source_member",
        "source_split",
        "source_type",
        "license",
        "dup_cluster",
        "dup_of",
        "language",
    }
)
_TOKEN_BEFORE = re.compile(r"[0-9A-Za-z@._%+\-]{1,128}$")
_TOKEN_AFTER = re.compile(r"[0-9A-Za-z@._%+\-()（）]{1,128}")
_PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# Pre-scan anchors. Every branch begins with one fixed character, so that ``re`` jumps from candidate
# to candidate in C (a branch starting with a class or an optional part is tried at every
# position: ~5x slower). A hit may begin a few characters after the value it stands for (IPv4 at
# its first dot, IPv6 at its first colon): windows reach context_window + 8 characters further.
_PRESCAN_ANCHORS = re.compile(
    r"\.\d{1,3}\.\d{1,3}\.\d{1,3}"  # IPv4
    r"|@"  # e-mail
    r"|:[0-9A-Fa-f]{0,4}:"  # IPv6
    r"|\+\d"  # international phone numbers, whose digit groups may be too short for a digit run
    + "".join(f"|{province}[A-HJ-NP-Z]" for province in _PLATE_PROVINCES)  # plates
)
# Runs of digits (IDs, phones, cards, credit codes, passports, HK/TW IDs, IBANs): at least this many
# decimal digits, one of these separators allowed between two of them. Found with NumPy: as a regex
# (``(?:\d[ \-()（）]?){6,}``) it is tried at every digit, and numbers are everywhere.
_PRESCAN_MIN_DIGITS = 6
_PRESCAN_SEPARATORS = " -()（）"
_DIGIT_RUN = re.compile(r"(?:\d[ \-()（）]?){6,}")  # the definition; used as such on short texts
_DIGIT_RUN_NUMPY_FROM = 512  # characters: below, NumPy's per-call overhead costs more than the regex
_DIGIT, _SEPARATOR = 1, 2
# presidio engines per configuration, built once per process: a scrubber unpickled for each task
# finds them here, and workers forked after warm_up() inherit them
_ENGINES: dict[tuple[Any, ...], dict[str, Any]] = {}


@functools.lru_cache(maxsize=1)
def _digit_classes() -> np.ndarray:
    """``_DIGIT`` for every BMP decimal digit (``\\d``, i.e. str.isdecimal), ``_SEPARATOR``, or 0."""
    table = np.frombuffer(bytes(map(str.isdecimal, map(chr, range(0x10000)))), dtype=np.uint8).copy()
    for char in _PRESCAN_SEPARATORS:
        table[ord(char)] = _SEPARATOR
    return table


def digit_runs(text: str) -> list[tuple[int, int]]:
    """Spans of the matches of ``(?:\\d[ \\-()（）]?){6,}`` in ``text``: the regex on short texts,
    :func:`digit_runs_vectorised` on longer ones."""
    if len(text) < _DIGIT_RUN_NUMPY_FROM:
        return [match.span() for match in _DIGIT_RUN.finditer(text)]
    return digit_runs_vectorised(text)


def digit_runs_vectorised(text: str) -> list[tuple[int, int]]:
    """:func:`digit_runs` with NumPy: the regex is tried at every digit, and numbers are everywhere."""
    codes = code_points(text)
    classes = _digit_classes()[np.minimum(codes, 0xFFFF)]
    if codes.size and codes.max() > 0xFFFF:  # digits beyond the BMP (mathematical, rare)
        astral = np.flatnonzero(codes > 0xFFFF)
        classes[astral] = [_DIGIT if chr(code).isdecimal() else 0 for code in codes[astral].tolist()]
    digits = np.flatnonzero(classes == _DIGIT)
    if digits.size < _PRESCAN_MIN_DIGITS:
        return []
    gaps = digits[1:] - digits[:-1]
    linked = (gaps == 1) | ((gaps == 2) & (classes[digits[:-1] + 1] == _SEPARATOR))
    breaks = np.flatnonzero(~linked)
    first = np.concatenate(([0], breaks + 1))
    last = np.concatenate((breaks, [digits.size - 1]))
    long_enough = last - first >= _PRESCAN_MIN_DIGITS - 1
    if not long_enough.any():
        return []
    starts = digits[first[long_enough]]
    ends = digits[last[long_enough]] + 1
    # the regex's optional separator after the last digit
    ends += (ends < codes.size) & (classes[np.minimum(ends, codes.size - 1)] == _SEPARATOR)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def prescan_hits(text: str) -> list[tuple[int, int]]:
    """Spans, by start, of the places in ``text`` where a configured pattern can match."""
    hits = digit_runs(text)
    anchors = [match.span() for match in _PRESCAN_ANCHORS.finditer(text)]
    if anchors:
        hits.extend(anchors)
        hits.sort()
    return hits


def read_hash_key(key_file: str | None) -> bytes:
    """The HMAC key, from a file or the environment; errors never show it."""
    if key_file:
        path = Path(key_file)
        if not path.is_file():
            raise UsageError(f"{key_file}: hash key file not found")
        key = path.read_bytes().strip()
    else:
        key = os.environ.get(HASH_KEY_ENV, "").encode()
    if len(key) < _MIN_KEY_BYTES:
        source = key_file or f"${HASH_KEY_ENV}"
        raise UsageError(f"--operator hash needs a key of at least {_MIN_KEY_BYTES} bytes in {source}")
    return key


def mask_value(value: str) -> str:
    if len(value) <= 2 * _MASK_KEEP:
        return "*" * len(value)
    return "*" * (len(value) - _MASK_KEEP) + value[-_MASK_KEEP:]


def windows_around(text: str, hits: list[tuple[int, int]], context_window: int) -> list[tuple[int, int]]:
    """Merged windows around pre-scan hits (sorted by start), widened to whole ASCII tokens."""
    windows: list[tuple[int, int]] = []
    length = len(text)
    reach = context_window + 8
    for hit_start, hit_end in hits:
        start, end = max(0, hit_start - reach), min(length, hit_end + reach)
        before = _TOKEN_BEFORE.search(text, max(0, start - 128), start)
        if before is not None:
            start = before.start()
        after = _TOKEN_AFTER.match(text, end)
        if after is not None:
            end = after.end()
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], end))
        else:
            windows.append((start, end))
    return windows


class PiiScrubber(PipelineStep):
    """Finds and scrubs PII in text (and metadata strings); sets ``metadata.pii_spans``."""

    type = "✂️ - FORMAT"
    name = "🔒 PII"

    def __init__(
        self,
        operator: Operator = "replace",
        entities: list[str] | None = None,
        rules: str | None = None,
        hash_key_file: str | None = None,
        prescan: bool = True,
        recognizers: list[str] | None = None,
    ):
        super().__init__()
        from corpus_kit.stages.pii.recognizers import cached_pii_rules, prescan_covers

        if operator not in OPERATORS:
            raise UsageError(f"--operator {operator!r}: choose one of {', '.join(OPERATORS)}")
        try:
            loaded = cached_pii_rules(rules)
        except (OSError, ValueError) as error:
            raise UsageError(f"PII rules: {error}") from None
        self.recognizers = list(recognizers or [])
        available = list(loaded.entities)
        if self.recognizers:
            from corpus_kit.stages.pii.presidio import extra_recognizers

            for recognizer in extra_recognizers(self.recognizers, _LANGUAGE):
                available.extend(e for e in recognizer.supported_entities if e not in available)
        unknown = sorted(set(entities or []) - set(available))
        if unknown:
            raise UsageError(f"unknown PII entities {unknown}; available: {', '.join(sorted(available))}")
        if operator == "hash":
            read_hash_key(hash_key_file)  # fail before the run starts; the key itself is not kept
        self.operator = operator
        self.rules_version = loaded.version
        self.entities = list(entities) if entities else available
        self.rules = rules
        self.hash_key_file = hash_key_file
        # the pre-scan finds the places where the bundled patterns can match; other patterns (or
        # recognizers of a plugin) could match elsewhere, so those are analysed on whole texts
        self.prescan = prescan and prescan_covers(loaded) and not self.recognizers
        self._state: dict[str, Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_state"] = None  # engines (and the hash key) are never pickled: see _engines
        return state

    # -- lazily built, once per process ---------------------------------------------------------
    def warm_up(self) -> None:
        """Import presidio and build the engines now (in a parent, before workers are forked)."""
        self._engines()
        _digit_classes()

    def _engines(self) -> dict[str, Any]:
        if self._state is None:
            key = read_hash_key(self.hash_key_file) if self.operator == "hash" else b""
            # the cache is keyed by a digest of the key, never the key itself
            cache_key = (
                self.rules,
                tuple(self.entities),
                tuple(self.recognizers),
                self.operator,
                hashlib.sha256(key).digest(),
            )
            state = _ENGINES.get(cache_key)
            if state is None:
                state = _ENGINES[cache_key] = self._build_engines(key)
            self._state = state
        return self._state

    def _build_engines(self, key: bytes) -> dict[str, Any]:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NoOpNlpEngine
        from presidio_anonymizer import AnonymizerEngine
        from presidio_anonymizer.entities import OperatorConfig

        from corpus_kit.stages.pii.presidio import ContextScoredByRecognizers, build_recognizers
        from corpus_kit.stages.pii.recognizers import cached_pii_rules

        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        logging.getLogger("presidio-anonymizer").setLevel(logging.ERROR)
        rules = cached_pii_rules(self.rules)
        nlp = NoOpNlpEngine(models=[{"lang_code": _LANGUAGE, "model_name": "none"}])
        nlp.load()
        registry = RecognizerRegistry(supported_languages=[_LANGUAGE])
        configured = [entity for entity in self.entities if entity in rules.entities]
        for recognizer in build_recognizers(rules, configured, _LANGUAGE) if configured else []:
            registry.add_recognizer(recognizer)
        if self.recognizers:
            from corpus_kit.stages.pii.presidio import extra_recognizers

            for extra in extra_recognizers(self.recognizers, _LANGUAGE):
                registry.add_recognizer(extra)
        analyzer = AnalyzerEngine(
            nlp_engine=nlp,
            registry=registry,
            supported_languages=[_LANGUAGE],
            context_aware_enhancer=ContextScoredByRecognizers(),
        )
        operators = {}
        for entity in self.entities:
            if self.operator == "replace":
                operators[entity] = OperatorConfig("replace", {"new_value": f"<{entity}>"})
            elif self.operator == "mask":
                operators[entity] = OperatorConfig("custom", {"lambda": mask_value})
            elif self.operator == "hash":
                operators[entity] = OperatorConfig("custom", {"lambda": _hasher(entity, key)})
            else:
                operators[entity] = OperatorConfig("redact", {})
        return {
            "analyzer": analyzer,
            "anonymizer": AnonymizerEngine(),
            "operators": operators,
            # the NoOp engine's artifacts are empty whatever the text: made once, not per call
            "nlp_artifacts": nlp.process_text("", _LANGUAGE),
            "threshold": rules.score_threshold,
            "window": rules.context_window,
            "priority": {name: config.priority for name, config in rules.entities.items()},
        }

    def manifest_summary(self, stats: Stats) -> PiiSummary:
        """The manifest's ``pii`` block: counts per entity and documents touched, never values."""
        from corpus_kit.governance.accounting import metric_total
        from corpus_kit.governance.manifest import PiiSummary

        entities = {
            label.removeprefix("pii/"): metric_total(metric)
            for label, metric in sorted(stats.stats.items())
            if label.startswith("pii/") and metric_total(metric)
        }
        summary = PiiSummary(
            operator=self.operator,
            entities=entities,
            documents=metric_total(stats.stats.get("pii_documents")),
            checked=sorted(self.entities),
            rules_version=self.rules_version,
        )
        return summary

    # -- detection -------------------------------------------------------------------------------
    def find(self, text: str) -> list[Any]:
        """Non-overlapping presidio results for ``text`` (offsets in ``text``)."""
        engines = self._engines()
        if not self.prescan:
            return self._resolve(self._analyze(text), engines["priority"])
        windows = self._windows(text, engines["window"])
        if not windows:
            return []
        pieces, reduced_starts, original_starts = [], [], []
        position = 0
        for start, end in windows:
            reduced_starts.append(position)
            original_starts.append(start)
            pieces.append(text[start:end])
            position += end - start + 1
        reduced = "\n".join(pieces)
        found = []
        for result in self._analyze(reduced):
            index = bisect.bisect_right(reduced_starts, result.start) - 1
            offset = original_starts[index] - reduced_starts[index]
            if result.end - reduced_starts[index] > len(pieces[index]):
                continue  # spans two windows: not a real match of the text
            result.start += offset
            result.end += offset
            found.append(result)
        return self._resolve(found, engines["priority"])

    def _analyze(self, text: str) -> list[Any]:
        engines = self._engines()
        return engines["analyzer"].analyze(
            text,
            language=_LANGUAGE,
            entities=self.entities,
            score_threshold=engines["threshold"],
            nlp_artifacts=engines["nlp_artifacts"],
        )

    @staticmethod
    def _windows(text: str, context_window: int) -> list[tuple[int, int]]:
        return windows_around(text, prescan_hits(text), context_window)

    @staticmethod
    def _resolve(results: list[Any], priority: dict[str, int]) -> list[Any]:
        """Keep the best of overlapping matches: higher priority, then score, then longer."""
        ordered = sorted(
            results, key=lambda r: (-priority.get(r.entity_type, 0), -r.score, -(r.end - r.start), r.start)
        )
        kept: list[Any] = []
        for result in ordered:
            if all(result.end <= other.start or result.start >= other.end for other in kept):
                kept.append(result)
        return sorted(kept, key=lambda r: r.start)

    # -- scrubbing -------------------------------------------------------------------------------
    def scrub(self, text: str) -> tuple[str, list[str]]:
        """``(scrubbed text, entity types found)``."""
        results = self.find(text)
        if not results:
            return text, []
        engines = self._engines()
        anonymized = engines["anonymizer"].anonymize(text, results, engines["operators"])
        return anonymized.text, [result.entity_type for result in results]

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for document in data:
            with self.track_time():
                found = self._scrub_document(document)
            if found:
                self.stat_update("pii_documents")
                for entity in found:
                    self.stat_update(f"pii/{entity}")
            yield document

    def _scrub_document(self, document: Document) -> list[str]:
        found: list[str] = []
        if document.text:
            document.text, found = self.scrub(document.text)
        metadata = document.metadata
        for key, value in metadata.items():
            if isinstance(value, str) and key not in _METADATA_KEPT and value:
                scrubbed, entities = self.scrub(value)
                if entities:
                    metadata[key] = scrubbed
                    found.extend(entities)
        metadata["pii_spans"] = len(found)
        return found


def _hasher(entity: str, key: bytes):
    def digest(value: str) -> str:
        return f"<{entity}:{hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:16]}>"

    return digest
