"""The safety stage's three steps, with their state in files under ``WORK/safety``.

1. :class:`SafetyScan` (preparation, after the input, one task per input task): matches every
   record once and writes, per task, the flagged records (position, codes, hit counts), the records
   screened and flagged per source, and a check value per record;
2. :class:`SafetySources` (preparation, one task): adds the sources up over all tasks, decides the
   blacklist (flagged share over the threshold, or named in the ``--blacklist`` file) and updates
   that file;
3. :class:`SafetyFilter` (main pipeline): reads both, sets the ``safety`` column, and drops records
   of blacklisted sources (``safety.source``) and, with ``action: drop``, records with a
   ``block`` hit (``safety.<code>``). Nothing is matched twice.

Why a preparation phase: the clause 5.1 rule needs every record of a source seen before any of
them is passed on. The filter sees the same records in the same order as the scan did (the
runner replays the input through the same earlier stages); a different record stops the run.
"""

from __future__ import annotations

import zlib
from array import array
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import orjson
import regex
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter

from corpus_kit.errors import CorpusKitError, UsageError
from corpus_kit.utils import atomic_write_bytes, load_yaml_file

if TYPE_CHECKING:
    from corpus_kit.io.parquet_writer import ParquetShardWriter
    from corpus_kit.stages.safety.lexicon import Lexicon
    from corpus_kit.stages.safety.matcher import Matcher

SOURCE_REASON = "safety.source"
# a saturated record is flagged under the codes it matched (matcher.py); this names the drop only if
# a matcher saturated on nothing
SATURATED_REASON = "safety.saturated"
_CLEAN: tuple[None, bool, bool] = (None, False, False)
_CLEAN_COLUMN = orjson.dumps({"risks": {}, "flagged": False}).decode()
MAX_SOURCE_NAME = 512  # characters of a source name kept in state, manifest and blacklist
MAX_BLACKLIST_SOURCES = 100_000


def source_key(document: Document) -> str:
    """The record's source for clause 5.1: ``metadata.source``, else the input file it came from,
    as the manifest, the report and the blacklist file show it (:func:`shown_source`)."""
    metadata = document.metadata
    source = metadata.get("source")
    if not isinstance(source, str) or not source.strip():
        source = metadata.get("source_file")
    if not isinstance(source, str) or not source:
        return "(unknown)"
    return shown_source(source)


# control, format (bidi overrides, zero-width) and line/paragraph separator characters
_HIDDEN = regex.compile(r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]")
_SHOWN: dict[str, str] = {}


def shown_source(name: str) -> str:
    """A source name cut to :data:`MAX_SOURCE_NAME` characters, control and format characters (line
    breaks, bidi overrides that reorder how the report shows it) replaced with U+FFFD."""
    shown = _SHOWN.get(name)
    if shown is None:
        shown = _HIDDEN.sub("\ufffd", name[:MAX_SOURCE_NAME])
        if len(_SHOWN) < 65_536:  # a few distinct sources cover most records
            _SHOWN[name] = shown
    return shown


def record_check(document: Document) -> int:
    """A 32-bit check of the record's id (the filter makes sure it sees the records the scan saw)."""
    return zlib.crc32(document.id.encode("utf-8", "surrogatepass"))


class SafetyState:
    """File names under the state folder."""

    def __init__(self, folder: str):
        self.folder = Path(folder)

    def scan(self, rank: int) -> Path:
        return self.folder / f"scan-{rank:05d}.json"

    def checks(self, rank: int) -> Path:
        return self.folder / f"checks-{rank:05d}.npy"

    @property
    def sources(self) -> Path:
        return self.folder / "sources.json"

    def scans(self) -> list[Path]:
        return sorted(self.folder.glob("scan-*.json"))


class _Lexicons:
    """The lexicons of a step, cheap to ship to every task; the matcher is compiled once per process
    (in the parent before the workers fork, see ``warm_up``).

    The executor pickles the pipeline for every task and each worker deep-copies it: a list of
    10,880 ``Term`` objects took ~0.46 s to pickle and ~0.19 s to copy per task and phase, which
    made a 5 MB run of 20 tasks take 21 s instead of ~3 s. The terms therefore travel as one
    ``orjson`` blob, decoded only where a process has no matcher for them yet, and a deep copy is
    the object itself (nothing in it changes after ``build``).
    """

    _matchers: ClassVar[dict[tuple[str, ...], Matcher]] = {}

    def __init__(self, lexicons: list[Lexicon]):
        self._lexicons: list[Lexicon] | None = lexicons
        self.key = tuple(lexicon.sha256 for lexicon in lexicons)
        self._blob = orjson.dumps([_lexicon_row(lexicon) for lexicon in lexicons])

    @property
    def lexicons(self) -> list[Lexicon]:
        if self._lexicons is None:
            self._lexicons = [_lexicon_from_row(row) for row in orjson.loads(self._blob)]
        return self._lexicons

    def matcher(self) -> Matcher:
        matcher = self._matchers.get(self.key)
        if matcher is None:
            from corpus_kit.stages.safety.matcher import Matcher

            terms = [term for lexicon in self.lexicons for term in lexicon.terms]
            matcher = self._matchers[self.key] = Matcher(terms)
        return matcher

    def __getstate__(self) -> dict[str, Any]:
        return {"key": self.key, "_blob": self._blob, "_lexicons": None}

    def __deepcopy__(self, memo: dict[int, Any]) -> _Lexicons:
        return self


def _lexicon_row(lexicon: Lexicon) -> list[Any]:
    terms = [
        [term.text, term.risk, term.severity, list(term.allow), term.gap, term.line] for term in lexicon.terms
    ]
    updated = lexicon.updated.isoformat()
    return [
        str(lexicon.path),
        lexicon.name,
        lexicon.version,
        updated,
        lexicon.sha256,
        lexicon.duplicates,
        terms,
    ]


def _lexicon_from_row(row: list[Any]) -> Lexicon:
    from corpus_kit.stages.safety.lexicon import Lexicon, Term

    path, name, version, updated, sha256, duplicates, terms = row
    lexicon = Lexicon(Path(path), name, version, date.fromisoformat(updated), sha256, duplicates=duplicates)
    lexicon.terms = [
        Term(text, risk, severity, tuple(allow), gap, line)
        for text, risk, severity, allow, gap, line in terms
    ]
    return lexicon


class SafetyScan(PipelineStep):
    """Phase 1: match every record once; write the flagged ones and the per-source counts."""

    name = "🛡 safety scan"
    type = "🛡 - SAFETY"

    def __init__(self, state_dir: str, lexicons: _Lexicons):
        super().__init__()
        self.state_dir = state_dir
        self.lexicons = lexicons

    def warm_up(self) -> None:
        """Build the normalisation tables and the automaton in the parent, before the workers fork."""
        self.lexicons.matcher()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        state = SafetyState(self.state_dir)
        matcher = self.lexicons.matcher()
        checks = array("I")  # 4 bytes a record, not a Python int each (a task may see millions)
        flagged: list[list[Any]] = []
        sources: dict[str, list[int]] = {}
        allowed = 0
        for position, document in enumerate(data):
            with self.track_time():
                checks.append(record_check(document))
                text = document.text
                if not text or text.isspace():
                    continue
                result = matcher.scan(text)
                allowed += result.allowed
                counts = sources.get(source := source_key(document))
                if counts is None:
                    counts = sources[source] = [0, 0]
                counts[0] += 1
                if result.hits or result.saturated:
                    counts[1] += 1
                    flagged.append([position, result.hits, result.blocked, result.saturated])
                self.stat_update("screened")
        state.folder.mkdir(parents=True, exist_ok=True)
        with self.track_time():
            buffer = _npy_bytes(np.frombuffer(checks, dtype=np.uint32))
            atomic_write_bytes(state.checks(rank), buffer)
            payload = {"records": len(checks), "flagged": flagged, "sources": sources, "allowed": allowed}
            atomic_write_bytes(state.scan(rank), orjson.dumps(payload))
        return
        yield  # a generator that passes nothing on


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


class SafetySources(PipelineStep):
    """Phase 2 (one task): flagged share per source, the blacklist, and the ``--blacklist`` file."""

    name = "🛡 safety sources"
    type = "🛡 - SAFETY"

    def __init__(self, state_dir: str, threshold: float, blacklist: str | None, dataset: str):
        super().__init__()
        self.state_dir = state_dir
        self.threshold = threshold
        self.blacklist = blacklist
        self.dataset = dataset

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with self.track_time():
            state = SafetyState(self.state_dir)
            totals: dict[str, list[int]] = {}
            allowed = 0
            for path in state.scans():
                payload = orjson.loads(path.read_bytes())
                allowed += payload["allowed"]
                for source, (screened, flagged) in payload["sources"].items():
                    counts = totals.setdefault(source, [0, 0])
                    counts[0] += screened
                    counts[1] += flagged
            listed = set(load_blacklist(self.blacklist)) if self.blacklist else set()
            rows: list[dict[str, Any]] = []
            for source in sorted(totals):
                screened, flagged = totals[source]
                share = flagged / screened if screened else 0.0
                reason = "share" if share > self.threshold else "list" if source in listed else None
                rows.append(
                    {
                        "source": source,
                        "documents": screened,
                        "flagged": flagged,
                        "share": round(share, 6),
                        "blacklisted": reason is not None,
                        "reason": reason,
                    }
                )
            blacklisted = sorted({row["source"] for row in rows if row["blacklisted"]} | listed)
            atomic_write_bytes(
                state.sources, orjson.dumps({"sources": rows, "blacklisted": blacklisted, "allowed": allowed})
            )
            if self.blacklist:
                update_blacklist(
                    self.blacklist, [row for row in rows if row["reason"] == "share"], self.dataset
                )
        return
        yield


class SafetyFilter(BaseFilter):
    """Phase 3: the ``safety`` column; drops ``safety.source`` and (``action: drop``) ``safety.<code>``.

    Stats: ``screened``, ``not_screened``, ``flagged``, ``flagged/<code>``, ``hits/<code>``,
    ``drop/<reason>``, ``kept_checked``, ``kept_flagged``, ``blacklisted_present``.
    """

    name = "🛡 safety"

    def __init__(
        self,
        state_dir: str,
        lexicons: _Lexicons,
        action: Literal["drop", "flag"],
        threshold: float,
        blacklist: str | None,
        dataset: str,
        exclusion_writer: ParquetShardWriter | None = None,
    ):
        super().__init__(exclusion_writer=exclusion_writer)
        self.state_dir = state_dir
        self.lexicons = lexicons
        self.action = action
        self.threshold = threshold
        self.blacklist = blacklist
        self.dataset = dataset

    def warm_up(self) -> None:
        """Build the normalisation tables and the automaton now (in the parent, before workers fork)."""
        self.lexicons.matcher()

    def preparation(self) -> list[Any]:
        from corpus_kit.stages.base import Preparation

        return [
            Preparation("safety-scan", [SafetyScan(self.state_dir, self.lexicons)], after_input=True),
            Preparation(
                "safety-sources",
                [SafetySources(self.state_dir, self.threshold, self.blacklist, self.dataset)],
                tasks=1,
            ),
        ]

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        state = SafetyState(self.state_dir)
        try:
            checks = np.load(state.checks(rank), allow_pickle=False)
            scan = orjson.loads(state.scan(rank).read_bytes())
            blacklisted = set(orjson.loads(state.sources.read_bytes())["blacklisted"])
        except (OSError, ValueError, KeyError) as error:
            raise CorpusKitError(
                f"safety state for task {rank} is missing ({error}); run the command again"
            ) from None
        flagged = {
            position: (hits, blocked, saturated) for position, hits, blocked, saturated in scan["flagged"]
        }
        position = 0

        def annotated() -> DocumentsPipeline:
            nonlocal position
            for document in data:
                if position >= checks.size or int(checks[position]) != record_check(document):
                    raise CorpusKitError(
                        f"safety: task {rank} sees different records than when it screened them "
                        f"(record #{position}); the input changed during the run, or a step before safety "
                        "is not deterministic"
                    )
                metadata = document.metadata
                text = document.text
                if not text or text.isspace():
                    metadata.pop("safety", None)  # not screened: the column stays null
                    metadata["_safety"] = None
                else:
                    hits, blocked, saturated = flagged.get(position, _CLEAN)
                    source_listed = source_key(document) in blacklisted
                    if hits is None and not source_listed:
                        metadata["safety"] = _CLEAN_COLUMN
                    else:
                        column: dict[str, Any] = {"risks": hits or {}, "flagged": bool(hits or saturated)}
                        if saturated:
                            column["saturated"] = (
                                True  # more hits than the per-record cap: counts are lower bounds
                            )
                        if source_listed:
                            column["source_blacklisted"] = True
                        metadata["safety"] = orjson.dumps(column).decode()
                    metadata["_safety"] = (hits, blocked, saturated, source_listed)
                position += 1
                yield document
            if position != checks.size:
                raise CorpusKitError(
                    f"safety: task {rank} screened {checks.size} records but now read {position}; "
                    "the input changed during the run"
                )

        yield from super().run(annotated(), rank, world_size)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        decision = doc.metadata.pop("_safety")
        if decision is None:
            self.stat_update("not_screened")
            return True
        hits, blocked, saturated, source_listed = decision
        self.stat_update("screened")
        if hits or saturated:
            self.stat_update("flagged")
            for code, count in (hits or {}).items():
                self.stat_update(f"flagged/{code}")
                self.stat_update(f"hits/{code}", value=count)
            if saturated:
                self.stat_update("saturated")
        reason = None
        if source_listed:
            if self.action == "drop":
                reason = SOURCE_REASON
            else:
                self.stat_update("blacklisted_present")
        if reason is None and (hits or saturated) and blocked and self.action == "drop":
            reason = "safety." + max(sorted(hits), key=lambda code: hits[code]) if hits else SATURATED_REASON
        if reason is not None:
            self.stat_update(f"drop/{reason}")
            return False, reason
        self.stat_update("kept_checked")
        if hits or saturated:
            self.stat_update("kept_flagged")
        return True


def load_blacklist(path: str | Path) -> list[str]:
    """The sources named in a blacklist file (YAML ``sources: [{source: NAME, ...}]``); none if absent."""
    path = Path(path)
    if not path.exists():
        return []
    data = load_yaml_file(path, "safety blacklist") or {}
    entries = data.get("sources") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise UsageError(f"{path}: expected 'sources:' with a list of {{source: NAME}} entries")
    if len(entries) > MAX_BLACKLIST_SOURCES:
        raise UsageError(f"{path}: more than {MAX_BLACKLIST_SOURCES:,} sources")
    names = []
    for index, entry in enumerate(entries):
        name = entry.get("source") if isinstance(entry, dict) else entry
        if not isinstance(name, str) or not name.strip():
            raise UsageError(f"{path}: sources.{index}: expected {{source: NAME}}")
        names.append(shown_source(name))
    return names


_BLACKLIST_HEADER = (
    "# corpus-kit safety blacklist (TC260-003 clause 5.1): sources whose share of flagged records\n"
    "# exceeded the threshold. Every run with --blacklist reads it (its records are dropped as\n"
    "# safety.source) and adds the sources it blacklists. Add or remove entries by hand as needed.\n"
)


def update_blacklist(path: str | Path, new: list[dict[str, Any]], dataset: str) -> None:
    """Add the newly blacklisted sources to the file (atomically); entries already there are kept."""
    import yaml

    path = Path(path)
    existing: list[Any] = []
    if path.exists():
        data = load_yaml_file(path, "safety blacklist") or {}
        existing = list(data.get("sources") or []) if isinstance(data, dict) else []
    known = {entry.get("source") if isinstance(entry, dict) else entry for entry in existing}
    added = [
        {
            "source": row["source"],
            "share": row["share"],
            "documents": row["documents"],
            "flagged": row["flagged"],
            "added": date.today().isoformat(),
            "dataset": dataset,
        }
        for row in new
        if row["source"] not in known
    ]
    if not added and path.exists():
        return
    body = yaml.safe_dump({"sources": existing + added}, allow_unicode=True, sort_keys=False, width=120)
    atomic_write_bytes(path, (_BLACKLIST_HEADER + body).encode())
