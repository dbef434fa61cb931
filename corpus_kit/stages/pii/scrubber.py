"""``pii`` stage: find personal data with presidio recognizers and scrub it.

Speed without skipping anything: a cheap pre-scan (:func:`prescan_hits`: runs of digits,
``@``, dotted quads, IPv6 colons, ``+`` and a digit, plate prefixes) finds the places that can hold
a match; presidio analyses only windows around them (context words included), joined into one short
text per document, and documents with no such place are not analysed at all. Every bundled pattern
needs a pre-scan hit to match, and a test checks that windowed and full-text analysis agree; a rule
file with patterns of its own is analysed on whole texts (slower, nothing missed).

Work is linear in the text and capped (issue 21): overlapping matches are resolved and values
replaced in one pass each (:func:`anonymize` makes what presidio's anonymizer made, which copied
the whole text once per value), windows are widened once each, and a text whose windows add up to
more than ``max_scan_chars`` or which holds more than ``max_matches`` candidate matches raises
:class:`ScanBudgetExceeded`: :meth:`PiiScrubber.run` drops it (``pii.too_dense``, or
``pii.timeout`` for a rule pattern out of time), never passes it on unscanned.

Operators: ``replace`` (``<CN_ID_CARD>``), ``mask`` (all but the last 4 characters, all of them
for values of 8 characters or fewer), ``hash`` (``<PHONE_NUMBER:…>``, keyed HMAC-SHA256; the key
comes from ``CORPUS_KIT_PII_KEY`` or ``--hash-key-file`` and is read in each worker, never stored
in the step, logs or manifest), ``redact`` (removed).

Pictures (:mod:`~corpus_kit.stages.pii.pictures`, the ``ocr`` extra): their text is read with OCR
and goes through the same finder; a picture holding personal data drops its record (``pii.image``)
or, with ``images: blur``, has the text boxes blurred (checked by reading it again) and the record
counts as scrubbed; faces are counted (``faces: drop`` or ``blur`` too). Without the extra, or with
``images: off``, pictures are counted as not screened: never reported as scrubbed. Audio and video
are not screened (counted as such).

Every string of a record that leaves the run is scanned, not only the text (issue 22, item 9):
``id``; metadata keys (JSON field names, Parquet column names) and string values at any depth,
provenance included (``source``, ``source_file``: a file name can hold a phone number),
``license`` and ``language``; media URIs. An id that holds personal data becomes the scrubbed id
plus ``~`` and a keyed digest of the original (:meth:`PiiScrubber.scrub_id`), so that ids stay
unique and ``dup_cluster`` / ``dup_of`` (which name a record by id) still point at the same
record whichever of dedup and pii runs first. The digest's key is the ``hash`` operator's key, or
else a random key kept in the run's work folder (stable across a resume, never published): a
plain hash of a phone or ID number could be reversed by trying every number.
Stats: ``pii_documents``, ``pii/<ENTITY>`` and ``pii_in/<place>`` (values scrubbed per place:
``text``, ``ids``, ``keys``, ``metadata``, ``file_names``, ``media``); the manifest's ``pii``
block is built from them.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import hashlib
import hmac
import logging
import os
import re
import string
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from datatrove.data import Document, DocumentsPipeline, MediaType
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.stats import Stats
from datatrove.utils.typeshelper import StatHints

from corpus_kit.errors import UsageError
from corpus_kit.stages.pii.pictures import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_OCR_SIDE,
    FacesMode,
    ImagesMode,
    PictureScreener,
    Unreadable,
)
from corpus_kit.stages.pii.recognizers import TOO_DENSE, ScanBudgetExceeded
from corpus_kit.stages.text import code_points

if TYPE_CHECKING:
    from corpus_kit.governance.manifest import PiiImagesSummary, PiiSummary
    from corpus_kit.io.parquet_writer import ParquetShardWriter

Operator = Literal["replace", "mask", "hash", "redact"]
OPERATORS = ("replace", "mask", "hash", "redact")
HASH_KEY_ENV = "CORPUS_KIT_PII_KEY"
_LANGUAGE = "xx"  # recognizers are script-agnostic; one analysis language for mixed zh/en text
_MIN_KEY_BYTES = 16
_MASK_KEEP = 4
# metadata values that name a record by its id: scrubbed as ids are, so that they keep pointing at it
_ID_VALUED_KEYS = frozenset({"dup_cluster", "dup_of"})
# the input file's name (the reader's provenance), counted apart from other metadata
_FILE_NAME_KEYS = frozenset({"source_file"})
# the pipeline's own numbers and signals: never personal data, not worth a scan
_METADATA_SKIPPED = frozenset({"pii_spans", "language_score", "dup_count", "quality_signals", "tokens"})


# metadata the pipeline writes as sha256 hex digests (a list of them, one per media item)
_DIGEST_KEYS = frozenset({"media_original_sha256"})
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _is_digests(value: Any) -> bool:
    """A sha256 hex digest, or a list of them (None for an item without one): nothing else passes."""
    values = value if isinstance(value, list) else [value]
    return all(item is None or (isinstance(item, str) and _SHA256_HEX.fullmatch(item)) for item in values)


def _is_numbers(value: Any) -> bool:
    """A number, or a mapping or list of numbers (what stages write under the skipped keys)."""
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, dict):
        return all(_is_numbers(item) for item in value.values())
    if isinstance(value, list):
        return all(_is_numbers(item) for item in value)
    return False


_ID_KEY_FILE = "pii-id.key"
_ID_KEY_BYTES = 32
_ID_DIGEST_CHARS = 16
# short strings (keys, file names, licences, languages) repeat from record to record: scanned once
_CACHED_CHARS = 256
_CACHE_ENTRIES = 65536
# a window is widened to the whole ASCII token (e-mail, IPv6, code) its edge falls into, up to this
_TOKEN_REACH = 128
_TOKEN_CHARS = string.ascii_letters + string.digits + "@._%+-"
_TOKEN_AFTER_CHARS = _TOKEN_CHARS + "()（）"
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
# candidate matches (found by a pattern, valid or not) one text may hold before it is dropped as
# ``pii.too_dense``: each costs a few microseconds, so a document stops in about a second; a
# normal 10 MB document holds about a thousand
DEFAULT_MAX_MATCHES = 100_000
# characters of windows (the text around pre-scan hits) one text may have analysed: a normal
# 10 MB document has about 100,000; text that is candidates from end to end has them all
DEFAULT_MAX_SCAN_CHARS = 4_000_000


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
    """Merged windows around pre-scan hits (sorted by start), widened to whole ASCII tokens.

    Linear in the hits: a window's edges are widened once, where it ends, not once per hit (text
    dense in hits makes one long window), and the token before a start is measured with
    ``str.rstrip`` rather than a regex tried at each of the 128 positions before it.
    """
    windows: list[tuple[int, int]] = []
    length = len(text)
    reach = context_window + 8
    # the open window: its widened start and the furthest raw end of its hits; widening is
    # monotonic, so the widened end of the furthest raw end is the furthest widened end
    window_start = raw_end = -1
    for hit_start, hit_end in hits:
        start, end = max(0, hit_start - reach), min(length, hit_end + reach)
        if raw_end < 0:
            window_start, raw_end = _widen_start(text, start), end
        elif start <= raw_end or _widen_start(text, start) <= _widen_end(text, raw_end):
            raw_end = max(raw_end, end)
        else:
            windows.append((window_start, _widen_end(text, raw_end)))
            window_start, raw_end = _widen_start(text, start), end
    if raw_end >= 0:
        windows.append((window_start, _widen_end(text, raw_end)))
    return windows


def _widen_start(text: str, start: int) -> int:
    before = text[max(0, start - _TOKEN_REACH) : start]
    return start - (len(before) - len(before.rstrip(_TOKEN_CHARS)))


def _widen_end(text: str, end: int) -> int:
    after = text[end : end + _TOKEN_REACH]
    return end + len(after) - len(after.lstrip(_TOKEN_AFTER_CHARS))


def run_id_key(work_dir: str | None) -> bytes:
    """The key of the digests in scrubbed ids: random, made once per run in its work folder.

    Tasks of every phase and a resumed run read the same file; the first task to need it creates it
    (hard link of a complete temporary file: two tasks racing both end up reading the winner's).
    Without a work folder (the step used on its own) the key lasts as long as the process.
    """
    if work_dir is None:
        return _PROCESS_ID_KEY
    path = Path(work_dir) / _ID_KEY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{_ID_KEY_FILE}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(descriptor, os.urandom(_ID_KEY_BYTES))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_bytes()


_PROCESS_ID_KEY = os.urandom(_ID_KEY_BYTES)


IMAGE = "pii.image"  # a picture holds personal data (images: drop, or a blur that did not take)
IMAGE_UNREADABLE = "pii.image_unreadable"  # a picture that cannot be screened within the bounds
FACE = "pii.face"  # a picture shows a face (faces: drop)


class PictureDropped(Exception):
    """A record dropped because of one of its pictures (``reason``: one of the reasons above)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


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
        work_dir: str | None = None,
        max_matches: int = DEFAULT_MAX_MATCHES,
        max_scan_chars: int = DEFAULT_MAX_SCAN_CHARS,
        exclusion_writer: ParquetShardWriter | None = None,
        images: ImagesMode | None = None,
        faces: FacesMode = "count",
        max_pixels: int = DEFAULT_MAX_PIXELS,
        ocr_side: int = DEFAULT_OCR_SIDE,
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
        self.work_dir = work_dir
        if max_matches < 1 or max_scan_chars < 1:
            raise UsageError("--max-matches and --max-scan-chars must be at least 1")
        self.max_matches = max_matches
        self.max_scan_chars = max_scan_chars
        self.exclusion_writer = exclusion_writer
        self._init_pictures(images, faces, max_pixels, ocr_side)
        # the pre-scan finds the places where the bundled patterns can match; other patterns (or
        # recognizers of a plugin) could match elsewhere, so those are analysed on whole texts
        self.prescan = prescan and prescan_covers(loaded) and not self.recognizers
        self._state: dict[str, Any] | None = None
        self._id_key: bytes | None = None
        self._short: dict[str, tuple[str, list[str]]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        # engines and keys are never pickled: see _engines and _digest_key
        state["_state"] = state["_id_key"] = None
        state["_short"] = {}
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
        from presidio_analyzer import RecognizerRegistry
        from presidio_analyzer.nlp_engine import NoOpNlpEngine

        from corpus_kit.stages.pii.presidio import (
            ContextScoredByRecognizers,
            CorpusKitAnalyzer,
            build_recognizers,
        )
        from corpus_kit.stages.pii.recognizers import ScanBudget, cached_pii_rules

        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        rules = cached_pii_rules(self.rules)
        nlp = NoOpNlpEngine(models=[{"lang_code": _LANGUAGE, "model_name": "none"}])
        nlp.load()
        registry = RecognizerRegistry(supported_languages=[_LANGUAGE])
        configured = [entity for entity in self.entities if entity in rules.entities]
        budget = ScanBudget()
        for recognizer in build_recognizers(rules, configured, _LANGUAGE, budget) if configured else []:
            registry.add_recognizer(recognizer)
        if self.recognizers:
            from corpus_kit.stages.pii.presidio import extra_recognizers

            for extra in extra_recognizers(self.recognizers, _LANGUAGE):
                registry.add_recognizer(extra)
        analyzer = CorpusKitAnalyzer(
            nlp_engine=nlp,
            registry=registry,
            supported_languages=[_LANGUAGE],
            context_aware_enhancer=ContextScoredByRecognizers(),
        )
        operators: dict[str, Callable[[str], str]] = {}
        for entity in self.entities:
            if self.operator == "replace":
                operators[entity] = _replacer(f"<{entity}>")
            elif self.operator == "mask":
                operators[entity] = mask_value
            elif self.operator == "hash":
                operators[entity] = _hasher(entity, key)
            else:
                operators[entity] = _replacer("")
        return {
            "analyzer": analyzer,
            "budget": budget,
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
        places = {
            label.removeprefix("pii_in/"): metric_total(metric)
            for label, metric in sorted(stats.stats.items())
            if label.startswith("pii_in/") and metric_total(metric)
        }
        summary = PiiSummary(
            images=self.pictures_summary(stats),
            operator=self.operator,
            entities=entities,
            documents=metric_total(stats.stats.get("pii_documents")),
            places=places,
            checked=sorted(self.entities),
            rules_version=self.rules_version,
        )
        return summary

    def pictures_summary(self, stats: Stats) -> PiiImagesSummary:
        """The ``pii.images`` block: pictures screened or not, dropped, blurred, entity types and
        faces found in them (counts only)."""
        from corpus_kit.governance.accounting import metric_total
        from corpus_kit.governance.manifest import PiiImagesSummary
        from corpus_kit.stages.pii.pictures import engine_versions

        def total(name: str) -> int:
            return metric_total(stats.stats.get(f"pictures/{name}"))

        prefix = "pictures/entity/"
        return PiiImagesSummary(
            mode=self.images,
            faces_mode=self.faces,
            engine=engine_versions() if self.images != "off" else None,
            not_screened_reason=self.images_reason,
            max_pixels=self.screener.max_pixels,
            ocr_side=self.screener.ocr_side,
            pictures=total("total"),
            screened=total("screened"),
            not_screened=total("not_screened"),
            unreadable=total("unreadable"),
            with_pii=total("with_pii"),
            dropped=total("dropped"),
            blurred=total("blurred"),
            entities={
                label.removeprefix(prefix): metric_total(metric)
                for label, metric in sorted(stats.stats.items())
                if label.startswith(prefix) and metric_total(metric)
            },
            faces=total("faces"),
            pictures_with_faces=total("with_faces"),
            faces_kept=total("faces_kept"),
            faces_blurred=total("faces_blurred"),
            dropped_for_faces=total("dropped_faces"),
            other_media_not_screened=total("other_media"),
        )

    # -- detection -------------------------------------------------------------------------------
    def find(self, text: str) -> list[Any]:
        """Non-overlapping presidio results for ``text`` (offsets in ``text``).

        Raises :class:`ScanBudgetExceeded` when the windows around the pre-scan's hits add up to more
        than ``max_scan_chars``, when ``text`` holds more candidate matches than ``max_matches``, or
        when a rule pattern on the backtracking engine runs out of time. A text analysed whole (rule
        files with patterns of their own, plugin recognizers) has no ``max_scan_chars``: it is
        scanned whole by definition, and the matches stay capped.
        """
        engines = self._engines()
        engines["budget"].reset(self.max_matches)
        if not self.prescan:
            return self._resolve(self._analyze(text), engines["priority"])
        windows = self._windows(text, engines["window"])
        if not windows:
            return []
        # every recognizer scans every window: text that is candidates from end to end costs a full
        # scan per pattern, so its extent is capped before any is run
        if sum(end - start for start, end in windows) > self.max_scan_chars:
            raise ScanBudgetExceeded(TOO_DENSE)
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
        """Keep the best of overlapping matches: higher priority, then score, then longer.

        The characters already kept are marked in a bytearray, so each match costs its own length
        (a match is tested against every kept one otherwise: quadratic in a text dense in values).
        """
        results = [result for result in results if result.end > result.start]
        if len(results) < 2:
            return results
        ordered = sorted(
            results, key=lambda r: (-priority.get(r.entity_type, 0), -r.score, -(r.end - r.start), r.start)
        )
        base = min(result.start for result in results)
        taken = bytearray(max(result.end for result in results) - base)
        kept: list[Any] = []
        for result in ordered:
            start, end = result.start - base, result.end - base
            if taken.find(1, start, end) < 0:
                taken[start:end] = b"\x01" * (end - start)
                kept.append(result)
        return sorted(kept, key=lambda r: r.start)

    # -- scrubbing -------------------------------------------------------------------------------
    def scrub(self, text: str) -> tuple[str, list[str]]:
        """``(scrubbed text, entity types found)``."""
        results = self.find(text)
        if not results:
            return text, []
        return anonymize(text, results, self._engines()["operators"]), [
            result.entity_type for result in results
        ]

    def scrub_value(self, value: str) -> tuple[str, list[str]]:
        """:meth:`scrub` for a value outside the text (key, file name, licence...): short ones cached."""
        if len(value) > _CACHED_CHARS:
            return self.scrub(value)
        cached = self._short.get(value)
        if cached is None:
            if len(self._short) >= _CACHE_ENTRIES:
                self._short.clear()
            cached = self._short[value] = self.scrub(value)
        return cached

    def _digest_key(self) -> bytes:
        if self._id_key is None:
            if self.operator == "hash":
                # the user's key: scrubbed ids are then the same run after run
                self._id_key = read_hash_key(self.hash_key_file)
            else:
                self._id_key = run_id_key(self.work_dir)
        return self._id_key

    def scrub_id(self, record_id: str, source_file: str | None = None) -> tuple[str, list[str]]:
        """``(id, entity types found)``: an id holding personal data becomes the scrubbed id, ``~``
        and a keyed digest of the original (unique as the original was, and not reversible by trying
        every phone number as a plain hash would be).

        ``source_file``: the record's file; an id the reader made from it (``FILE:LINE``, the line
        its own count) is scanned as the file name, once per file rather than once per record.
        """
        line = record_id[len(source_file) + 1 :] if source_file else ""
        if (
            source_file
            and line.isdigit()
            and record_id[len(source_file)] == ":"
            and record_id.startswith(source_file)
        ):
            name, found = self.scrub_value(source_file)
            scrubbed = f"{name}:{line}"
        else:
            scrubbed, found = self.scrub(record_id)
        if not found:
            return record_id, found
        digest = hmac.new(self._digest_key(), record_id.encode(), hashlib.sha256).hexdigest()
        return f"{scrubbed}~{digest[:_ID_DIGEST_CHARS]}", found

    # -- pictures -------------------------------------------------------------------------------
    def _init_pictures(
        self, images: ImagesMode | None, faces: FacesMode, max_pixels: int, ocr_side: int
    ) -> None:
        """Resolve the picture settings: ``images`` ``None`` screens pictures when the ``ocr`` extra
        is installed and says they were not screened otherwise; ``drop`` or ``blur`` without the
        extra is a usage error."""
        from corpus_kit.stages.pii.pictures import missing_module

        if max_pixels < 1 or ocr_side < 32:
            raise UsageError("--max-pixels must be at least 1 and --ocr-side at least 32")
        self.images_reason: str | None = None
        missing = None if images == "off" else missing_module()
        if images is None:
            images = "off" if missing else "drop"
            if missing:
                self.images_reason = 'the ocr extra is not installed (pip install "corpus-kit[ocr]")'
        elif images == "off":
            self.images_reason = "images: off"
        elif missing:
            raise UsageError(f'images: {images} needs {missing!r}: pip install "corpus-kit[ocr]"')
        self.images: ImagesMode = images
        self.faces: FacesMode = faces if images != "off" else "off"
        self.screener = PictureScreener(faces=self.faces, max_pixels=max_pixels, ocr_side=ocr_side)

    def _screen_pictures(self, document: Document) -> list[str]:
        """Screen the document's pictures (each counted); entity types blurred away are returned.

        Raises :class:`PictureDropped` for a picture holding personal data (``images: drop``, or a
        blur that did not take), faces (``faces: drop``) or one that cannot be screened."""
        scrubbed: list[str] = []
        for media in document.media or ():
            mime = str((media.metadata or {}).get("mime") or "")
            if media.type != MediaType.IMAGE and not mime.startswith("image/"):
                self.stat_update("pictures/other_media")
                continue
            self.stat_update("pictures/total")
            data = media.media_bytes
            if self.images == "off" or not data:
                self.stat_update("pictures/not_screened")
                continue
            try:
                verdict = self.screener.screen(data, self.find)
            except Unreadable:
                self.stat_update("pictures/unreadable")
                raise PictureDropped(IMAGE_UNREADABLE) from None
            self.stat_update("pictures/screened")
            for entity in verdict.entities:
                self.stat_update(f"pictures/entity/{entity}")
            if verdict.entities:
                self.stat_update("pictures/with_pii")
            if verdict.faces:
                self.stat_update("pictures/with_faces")
                self.stat_update("pictures/faces", value=len(verdict.faces))
            if verdict.entities and self.images == "drop":
                self.stat_update("pictures/dropped")
                raise PictureDropped(IMAGE)
            if verdict.faces and self.faces == "drop":
                self.stat_update("pictures/dropped_faces")
                raise PictureDropped(FACE)
            regions = list(verdict.regions)
            if self.faces == "blur":
                regions.extend(verdict.faces)
            if regions:
                self._blur(media, data, regions, verdict)
                scrubbed.extend(verdict.entities)
            elif verdict.faces:
                self.stat_update("pictures/faces_kept", value=len(verdict.faces))
        return scrubbed

    def _blur(self, media: Any, data: bytes, regions: list[Any], verdict: Any) -> None:
        """Blur ``regions`` in place of the media's bytes, after checking that a second reading
        finds nothing left; a blur that cannot be made or did not take drops the record."""
        reason = IMAGE if verdict.entities else FACE
        try:
            blurred, mime = self.screener.blur(data, regions, verdict.size)
            check = self.screener.screen(blurred, self.find)
        except Unreadable:
            self.stat_update("pictures/dropped" if verdict.entities else "pictures/dropped_faces")
            raise PictureDropped(reason) from None
        if check.entities or (self.faces == "blur" and check.faces):
            self.stat_update("pictures/dropped" if verdict.entities else "pictures/dropped_faces")
            raise PictureDropped(reason)
        media.media_bytes = blurred
        media.length = len(blurred)
        media.metadata = {**(media.metadata or {}), "mime": mime}
        self.stat_update("pictures/blurred")
        if self.faces == "blur" and verdict.faces:
            self.stat_update("pictures/faces_blurred", value=len(verdict.faces))
        elif verdict.faces:
            self.stat_update("pictures/faces_kept", value=len(verdict.faces))

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        writer_context = self.exclusion_writer if self.exclusion_writer else contextlib.nullcontext()
        with writer_context as writer:
            for document in data:
                self.stat_update(StatHints.total)
                places: dict[str, int] = {}
                with self.track_time():
                    try:
                        # pictures first: a record dropped for a picture is not scrubbed for nothing
                        in_pictures = self._screen_pictures(document)
                        found = self._scrub_document(document, places)
                        if in_pictures:
                            found.extend(in_pictures)
                            places["pictures"] = len(in_pictures)
                            document.metadata["pii_spans"] = len(found)
                    except (ScanBudgetExceeded, PictureDropped) as exceeded:
                        # never passed on unscanned: dropped, counted, and kept (with --keep-removed)
                        # without its text, which was not scrubbed
                        self.stat_update(StatHints.dropped)
                        self.stat_update(f"dropped_{exceeded.reason}")
                        if writer is not None:
                            writer.write(self._removed_record(document, exceeded.reason), rank)
                        continue
                if found:
                    self.stat_update("pii_documents")
                    for entity in found:
                        self.stat_update(f"pii/{entity}")
                    for place, count in places.items():
                        self.stat_update(f"pii_in/{place}", value=count)
                self.stat_update(StatHints.forwarded)
                yield document

    def _removed_record(self, document: Document, reason: str) -> Document:
        """What ``removed/`` keeps of a document dropped unscanned: its id (scrubbed, or only a keyed
        digest when even the id is over budget) and the reason; no text, no metadata."""
        record_id = document.id if isinstance(document.id, str) else str(document.id)
        try:
            record_id = self.scrub_id(record_id)[0]
        except ScanBudgetExceeded:
            digest = hmac.new(self._digest_key(), record_id.encode(), hashlib.sha256).hexdigest()
            record_id = f"~{digest[:_ID_DIGEST_CHARS]}"
        return Document(text="", id=record_id, metadata={"filter_reason": reason})

    def _scrub_document(self, document: Document, places: dict[str, int] | None = None) -> list[str]:
        """Scrub every string of ``document`` that leaves the run; ``places`` counts scrubbed values."""
        if places is None:
            places = {}
        found: list[str] = []

        def note(place: str, entities: list[str]) -> None:
            found.extend(entities)
            places[place] = places.get(place, 0) + 1

        if document.text:
            document.text, entities = self.scrub(document.text)
            if entities:
                note("text", entities)
                # a count read back from an earlier run no longer describes the text
                document.metadata.pop("tokens", None)
        if isinstance(document.id, str) and document.id:
            source_file = document.metadata.get("source_file")
            document.id, entities = self.scrub_id(
                document.id, source_file if isinstance(source_file, str) else None
            )
            if entities:
                note("ids", entities)
        document.metadata = self._scrub_mapping(document.metadata, note, top=True)
        for media in document.media or ():
            for attribute in ("url", "path"):
                value = getattr(media, attribute, None)
                if isinstance(value, str) and value:
                    scrubbed, entities = self.scrub_value(value)
                    if entities:
                        setattr(media, attribute, scrubbed)
                        note("media", entities)
        document.metadata["pii_spans"] = len(found)
        return found

    def _scrub_mapping(self, mapping: dict[Any, Any], note: Any, top: bool = False) -> dict[Any, Any]:
        scrubbed_mapping: dict[Any, Any] = {}
        for key, value in mapping.items():
            if top and key in _METADATA_SKIPPED and _is_numbers(value):
                scrubbed_mapping[key] = value  # the pipeline's own numbers; a string there came in
                continue
            if top and key in _DIGEST_KEYS and _is_digests(value):
                # the media step's provenance: sha256 digests, whose digit runs are not phone numbers
                scrubbed_mapping[key] = value
                continue
            new_key = key
            if isinstance(key, str) and key:
                new_key, entities = self.scrub_value(key)
                if entities:
                    note("keys", entities)
                    # two keys that differ only in personal data would otherwise overwrite each other
                    base, copy = new_key, 1
                    while new_key in mapping or new_key in scrubbed_mapping:
                        copy += 1
                        new_key = f"{base}~{copy}"
            if top and key in _ID_VALUED_KEYS and isinstance(value, str):
                value, entities = self.scrub_id(value)
                if entities:
                    note("ids", entities)
            else:
                value = self._scrub_any(
                    value, note, "file_names" if top and key in _FILE_NAME_KEYS else "metadata"
                )
            scrubbed_mapping[new_key] = value
        return scrubbed_mapping

    def _scrub_any(self, value: Any, note: Any, place: str) -> Any:
        if isinstance(value, str):
            if not value:
                return value
            scrubbed, entities = self.scrub_value(value)
            if entities:
                note(place, entities)
                return scrubbed
            return value
        if isinstance(value, dict):
            return self._scrub_mapping(value, note)
        if isinstance(value, (list, tuple)):
            return [self._scrub_any(item, note, place) for item in value]
        return value


def _hasher(entity: str, key: bytes) -> Callable[[str], str]:
    def digest(value: str) -> str:
        return f"<{entity}:{hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:16]}>"

    return digest


def _replacer(new_value: str) -> Callable[[str], str]:
    def replace(value: str) -> str:
        return new_value

    return replace


# presidio's anonymizer joins two values of one type that only spaces separate; the same test
_SPACES_ONLY = re.compile(r"^( )+$")


def anonymize(text: str, results: list[Any], operators: dict[str, Callable[[str], str]]) -> str:
    """What presidio's ``AnonymizerEngine.anonymize`` makes of non-overlapping ``results`` sorted by
    start, in one pass: presidio copies the whole text once per value it replaces (and searches its
    list once per merge), which is quadratic in a text dense in values."""
    spans: list[tuple[int, int, str]] = []
    for result in results:
        if (
            spans
            and spans[-1][2] == result.entity_type
            and _SPACES_ONLY.search(text[spans[-1][1] : result.start])
        ):
            spans[-1] = (spans[-1][0], result.end, result.entity_type)
        else:
            spans.append((result.start, result.end, result.entity_type))
    pieces: list[str] = []
    position = 0
    for start, end, entity in spans:
        pieces.append(text[position:start])
        operator = operators.get(entity)
        pieces.append(operator(text[start:end]) if operator is not None else f"<{entity}>")
        position = end
    pieces.append(text[position:])
    return "".join(pieces)
