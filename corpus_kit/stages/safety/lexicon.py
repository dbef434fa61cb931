"""Keyword lexicons: the file formats, their checks and their coverage against clause 8.1.

YAML::

    name: my-lexicon
    version: "2026.49"
    updated: 2026-12-01
    terms:
      - {term: 某词, risk: A1f}                       # severity: block (default) or flag
      - {term: 某短语, risk: A2e, severity: flag, allow: [某短语研究]}   # harmless contexts
      - {term: 某词, risk: A1d, gap: 2}               # up to 2 spaces/punctuation between characters

CSV or TSV (``.csv`` / ``.tsv``), header ``term,risk,severity,allow,gap`` (``term`` and ``risk``
required; ``allow`` contexts separated by ``|``), with ``# name:``, ``# version:`` and
``# updated:`` comment lines before the header.

Every problem is reported with ``file:line``. Terms and contexts are normalised (see
:mod:`.normalise`) before they are counted or matched; an allow context must contain its term.
A lexicon is hostile input like any other: sizes are bounded (:data:`LIMITS`) and its terms are
never printed by corpus-kit (messages give line numbers).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml

from corpus_kit.governance.safety import LexiconCoverage, LexiconRecord, risk_catalogue, safety_policy
from corpus_kit.utils import MAX_YAML_BYTES, load_yaml_document, yaml_error_line

Severity = Literal["block", "flag"]

LIMITS = {
    "bytes": MAX_YAML_BYTES,  # per file
    "terms": 2_000_000,  # per file
    "term_chars": 256,
    "allow_per_term": 64,
    "gap": 8,
}
MAX_REPORTED_PROBLEMS = 50
_COLUMNS = ("term", "risk", "severity", "allow", "gap")


@dataclass(frozen=True)
class Term:
    text: str  # normalised
    risk: str
    severity: Severity
    allow: tuple[str, ...]  # normalised contexts, each containing text
    gap: int
    line: int


@dataclass
class Lexicon:
    path: Path
    name: str
    version: str
    updated: date
    sha256: str
    terms: list[Term] = field(default_factory=list)
    duplicates: int = 0

    def record(self) -> LexiconRecord:
        per_code = Counter(term.risk for term in self.terms)
        return LexiconRecord(
            file=self.path.name,
            name=self.name,
            version=self.version,
            updated=self.updated,
            sha256=self.sha256,
            terms=len(self.terms),
            terms_per_code=dict(sorted(per_code.items())),
        )


class LexiconError(ValueError):
    """A lexicon that cannot be used; ``problems`` are ``file:line: message`` lines."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)


class _Collector:
    def __init__(self, path: Path):
        self.path = path
        self.problems: list[str] = []

    def add(self, line: int | None, message: str) -> None:
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            where = f"{self.path}:{line}" if line else str(self.path)
            self.problems.append(f"{where}: {message}")


def load_lexicon(path: str | Path) -> Lexicon:
    """Read and check one lexicon file; raises :class:`LexiconError` listing its problems."""
    path = Path(path)
    problems = _Collector(path)
    try:
        size = path.stat().st_size
    except OSError:
        raise LexiconError([f"{path}: lexicon not found"]) from None
    if not path.is_file():
        raise LexiconError([f"{path}: not a regular file"])
    if size > LIMITS["bytes"]:
        raise LexiconError([f"{path}: larger than {LIMITS['bytes'] // 2**20} MiB; split the lexicon"])
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise LexiconError([f"{path}:{line}: not valid UTF-8; save the lexicon as UTF-8"]) from None
    if path.suffix.lower() in (".csv", ".tsv"):
        header, rows = _read_table(content, "\t" if path.suffix.lower() == ".tsv" else ",", problems)
    else:
        header, rows = _read_yaml(content, problems)
    lexicon = Lexicon(path, "", "", date.min, digest)
    _header(header, lexicon, problems)
    _terms(rows, lexicon, problems)
    if problems.problems:
        raise LexiconError(problems.problems)
    return lexicon


def _read_yaml(
    content: str, problems: _Collector
) -> tuple[dict[str, tuple[Any, int]], list[tuple[Any, int]]]:
    try:
        data, node = load_yaml_document(content)
    except yaml.YAMLError as error:
        problems.add(yaml_error_line(error), f"not valid YAML ({str(error).splitlines()[0]})")
        return {}, []
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        problems.add(1, "expected a mapping with name, version, updated and terms")
        return {}, []
    lines = {key.value: value.start_mark.line + 1 for key, value in node.value}
    header = {key: (value, lines.get(key, 1)) for key, value in data.items() if key != "terms"}
    terms = data.get("terms")
    if not isinstance(terms, list):
        problems.add(lines.get("terms", 1), "terms: expected a list of {term, risk, ...} entries")
        return header, []
    term_nodes = next(value for key, value in node.value if key.value == "terms")
    rows = [
        (item, item_node.start_mark.line + 1) for item, item_node in zip(terms, term_nodes.value, strict=True)
    ]
    return header, rows


def _read_table(
    content: str, delimiter: str, problems: _Collector
) -> tuple[dict[str, tuple[Any, int]], list[tuple[Any, int]]]:
    header: dict[str, tuple[Any, int]] = {}
    lines = content.splitlines()
    start = 0
    for start, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("#"):
            key, _, value = stripped.lstrip("#").partition(":")
            if key.strip() in ("name", "version", "updated") and value.strip():
                header[key.strip()] = (value.strip(), start + 1)
        elif stripped:
            break
    else:
        problems.add(1, f"no header line; the first line after the comments must be {','.join(_COLUMNS)}")
        return header, []
    reader = csv.reader(io.StringIO("\n".join(lines[start:])), delimiter=delimiter)
    try:
        columns = [name.strip().lower() for name in next(reader)]
    except (StopIteration, csv.Error):
        problems.add(start + 1, "no header line")
        return header, []
    unknown = [name for name in columns if name not in _COLUMNS]
    if unknown or "term" not in columns or "risk" not in columns:
        problems.add(
            start + 1,
            f"header must name term and risk (and optionally severity, allow, gap); found {columns[:8]}",
        )
        return header, []
    rows: list[tuple[Any, int]] = []
    try:
        for offset, values in enumerate(reader, start=1):
            line = start + 1 + offset
            if not values or all(not value.strip() for value in values):
                continue
            if values[0].lstrip().startswith("#"):
                continue
            if len(values) > len(columns):
                problems.add(line, f"{len(values)} fields for {len(columns)} columns")
                continue
            row: dict[str, Any] = dict(zip(columns, values, strict=False))
            if "allow" in row:
                row["allow"] = [context for context in row["allow"].split("|") if context.strip()]
            if "gap" in row and row["gap"].strip() == "":
                del row["gap"]
            if "severity" in row and row["severity"].strip() == "":
                del row["severity"]
            rows.append((row, line))
    except csv.Error as error:
        problems.add(start + 1 + reader.line_num, f"not valid CSV ({error})")
    return header, rows


def _header(header: dict[str, tuple[Any, int]], lexicon: Lexicon, problems: _Collector) -> None:
    for key in header:
        if key not in ("name", "version", "updated"):
            problems.add(header[key][1], f"unknown field {key!r} (expected name, version, updated, terms)")
    for key in ("name", "version"):
        value = header.get(key, (None, 1))[0]
        if value is None or str(value).strip() == "":
            problems.add(1, f"missing {key}: give the lexicon a {key} (recorded in the manifest)")
        else:
            setattr(lexicon, key, str(value).strip()[:200])
    updated, line = header.get("updated", (None, 1))
    if isinstance(updated, date):
        lexicon.updated = updated
    elif isinstance(updated, str):
        try:
            lexicon.updated = date.fromisoformat(updated.strip())
        except ValueError:
            problems.add(line, "updated: expected a date like 2026-12-01")
    else:
        problems.add(line, "missing updated: the date the lexicon was last revised (YYYY-MM-DD)")


def _terms(rows: list[tuple[Any, int]], lexicon: Lexicon, problems: _Collector) -> None:
    from corpus_kit.stages.safety.normalise import normalise

    risks = risk_catalogue().risks
    if len(rows) > LIMITS["terms"]:
        problems.add(rows[LIMITS["terms"]][1], f"more than {LIMITS['terms']:,} terms in one file; split it")
        return
    seen: set[tuple[str, str]] = set()
    for row, line in rows:
        if not isinstance(row, dict):
            problems.add(line, "expected a mapping {term, risk, severity?, allow?, gap?}")
            continue
        unknown = sorted(str(key) for key in row if key not in _COLUMNS)
        if unknown:
            problems.add(line, f"unknown field(s) {unknown}; expected term, risk, severity, allow, gap")
            continue
        raw_term, risk = row.get("term"), row.get("risk")
        if not isinstance(raw_term, str) or not raw_term.strip():
            problems.add(line, "term: missing or not text")
            continue
        if len(raw_term) > LIMITS["term_chars"]:
            problems.add(line, f"term longer than {LIMITS['term_chars']} characters")
            continue
        risk = str(risk).strip() if risk is not None else ""
        if risk not in risks:
            problems.add(
                line, f"risk: {risk[:20]!r} is not an Annex A code (A1a..A5b, rules/safety/risks.yaml)"
            )
            continue
        severity = str(row.get("severity", "block")).strip().lower()
        if severity not in ("block", "flag"):
            problems.add(line, "severity: expected block or flag")
            continue
        gap = _gap(row.get("gap", 0))
        if gap is None:
            problems.add(line, f"gap: expected a whole number from 0 to {LIMITS['gap']}")
            continue
        text = normalise(raw_term).strip()
        if not text:
            problems.add(line, "term: empty once normalised (only format characters)")
            continue
        allow_raw = row.get("allow") or []
        if isinstance(allow_raw, str):
            allow_raw = [allow_raw]
        if not isinstance(allow_raw, list) or not all(isinstance(item, str) for item in allow_raw):
            problems.add(line, "allow: expected a list of contexts")
            continue
        if len(allow_raw) > LIMITS["allow_per_term"]:
            problems.add(line, f"allow: more than {LIMITS['allow_per_term']} contexts")
            continue
        contexts = []
        for context in allow_raw:
            normal = normalise(context).strip()
            if len(context) > LIMITS["term_chars"]:
                problems.add(line, f"allow: a context longer than {LIMITS['term_chars']} characters")
            elif text not in normal:
                problems.add(
                    line, "allow: every context must contain the term (it says where the term is harmless)"
                )
            else:
                contexts.append(normal)
        key = (text, risk)
        if key in seen:
            lexicon.duplicates += 1
            continue
        seen.add(key)
        lexicon.terms.append(Term(text, risk, severity, tuple(contexts), gap, line))  # type: ignore[arg-type]


def _gap(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        gap = int(str(value).strip())
    except ValueError:
        return None
    return gap if 0 <= gap <= LIMITS["gap"] else None


def coverage(lexicons: list[Lexicon]) -> LexiconCoverage:
    """The lexicons together against clause 8.1: distinct (term, risk) entries, per code."""
    catalogue, policy = risk_catalogue(), safety_policy()
    distinct = {(term.text, term.risk) for lexicon in lexicons for term in lexicon.terms}
    per_code = Counter(risk for _, risk in distinct)
    minima = {code: catalogue.minimum_for(code) for code in catalogue.risks if catalogue.minimum_for(code)}
    shortfall = {
        code: need - per_code.get(code, 0) for code, need in minima.items() if per_code.get(code, 0) < need
    }
    if len(distinct) < policy.minimum_terms:
        shortfall["total"] = policy.minimum_terms - len(distinct)
    return LexiconCoverage(
        terms=len(distinct),
        terms_per_code=dict(sorted(per_code.items())),
        minimum_terms=policy.minimum_terms,
        minimum_per_code=minima,
        shortfall=shortfall,
        meets_minima=not shortfall,
    )
