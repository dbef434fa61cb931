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

Every problem is reported with ``file:line`` (lines counted by ``\n``, as an editor does). Terms
and contexts are normalised (see :mod:`.normalise`) before they are counted or matched; an allow
context must contain its term. A lexicon is hostile input like any other: sizes are bounded
(:data:`LIMITS`; a term or context is at most 256 characters both as written and once normalised,
a CSV/TSV line at most 65,536 characters) and its terms are never printed by corpus-kit: messages
give line numbers, and echo a field name or risk code only when it looks like one.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
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
    "line_chars": 65_536,  # per CSV/TSV line (a row holds at most 64 contexts of 256 characters)
}
MAX_REPORTED_PROBLEMS = 50
_COLUMNS = ("term", "risk", "severity", "allow", "gap")
_HEADER_FIELDS = ("name", "version", "updated", "terms")
_CODE_LIKE = re.compile(r"[A-Za-z0-9]{1,8}")
_UTF8_BOM = b"\xef\xbb\xbf"


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
        self._found: list[tuple[int, str]] = []

    def add(self, line: int | None, message: str) -> None:
        if len(self._found) < MAX_REPORTED_PROBLEMS:
            where = f"{self.path}:{line}" if line else str(self.path)
            self._found.append((line or 0, f"{where}: {message}"))

    @property
    def problems(self) -> list[str]:
        """In line order (terms are checked in two passes)."""
        return [problem for _, problem in sorted(self._found, key=lambda found: found[0])]


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
    too_large = LexiconError([f"{path}: larger than {LIMITS['bytes'] // 2**20} MiB; split the lexicon"])
    if size > LIMITS["bytes"]:
        raise too_large
    try:
        with open(path, "rb") as handle:
            raw = handle.read(LIMITS["bytes"] + 1)  # the file may have grown since stat()
    except OSError as error:
        raise LexiconError([f"{path}: cannot read the lexicon ({error.strerror})"]) from None
    if len(raw) > LIMITS["bytes"]:
        raise too_large
    digest = hashlib.sha256(raw).hexdigest()
    bom = len(_UTF8_BOM) if raw.startswith(_UTF8_BOM) else 0
    try:
        content = raw[bom:].decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: bom + error.start].count(b"\n") + 1
        raise LexiconError([f"{path}:{line}: not valid UTF-8; save the lexicon as UTF-8"]) from None
    del raw
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
    except yaml.YAMLError as error:  # nothing else can be said about the file: that is the problem
        problems.add(yaml_error_line(error), f"not valid YAML ({str(error).splitlines()[0]})")
        raise LexiconError(problems.problems) from None
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        problems.add(1, "expected a mapping with name, version, updated and terms")
        raise LexiconError(problems.problems)
    lines: dict[Any, int] = {}
    values: dict[Any, yaml.Node] = {}
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        if key.value in lines and key.value in _HEADER_FIELDS:
            problems.add(
                key.start_mark.line + 1,
                f"{key.value}: given a second time (first on line {lines[key.value]}); keep one",
            )
        lines[key.value] = value.start_mark.line + 1
        values[key.value] = value
    header = {key: (value, lines.get(key, 1)) for key, value in data.items() if key != "terms"}
    terms = data.get("terms")
    if not isinstance(terms, list):
        problems.add(lines.get("terms", 1), "terms: expected a list of {term, risk, ...} entries")
        return header, []
    term_node = values.get("terms")
    item_nodes = term_node.value if isinstance(term_node, yaml.SequenceNode) else []
    if len(item_nodes) == len(terms):
        rows = zip(terms, item_nodes, strict=True)
        return header, [(item, item_node.start_mark.line + 1) for item, item_node in rows]
    return header, [(item, lines.get("terms", 1)) for item in terms]  # merged in from elsewhere


def _read_table(
    content: str, delimiter: str, problems: _Collector
) -> tuple[dict[str, tuple[Any, int]], Iterable[tuple[Any, int]]]:
    header: dict[str, tuple[Any, int]] = {}
    lines = content.split("\n")  # not splitlines(): U+2028, \x0c or \x85 in a term is no line break
    del content
    start = 0
    for start, line in enumerate(lines):
        stripped = line.strip()
        if len(line) > LIMITS["line_chars"]:
            break  # refused below, without parsing it
        if stripped.startswith("#"):
            key, _, value = stripped.lstrip("#").partition(":")
            if key.strip() in ("name", "version", "updated") and value.strip():
                header[key.strip()] = (value.strip(), start + 1)
        elif stripped:
            break
    else:
        problems.add(1, f"no header line; the first line after the comments must be {','.join(_COLUMNS)}")
        return header, []
    long_lines: list[int] = []

    def source() -> Iterator[str]:
        # csv counts the lines it is given: reader.line_num is the file's line number less ``start``
        for number in range(start, len(lines)):
            line = lines[number]
            if len(line) > LIMITS["line_chars"]:
                long_lines.append(number + 1)
                line = ""  # an empty line: csv skips it
            yield line + "\n"

    reader = csv.reader(source(), delimiter=delimiter)
    try:
        with _field_limit():
            columns = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        problems.add(start + 1, "no header line")
        return header, []
    except csv.Error as error:
        problems.add(start + reader.line_num, f"not valid CSV ({_csv_problem(error)})")
        return header, []
    if long_lines:
        problems.add(start + 1, f"header line longer than {LIMITS['line_chars']:,} characters")
        return header, []
    unknown = [name for name in columns if name not in _COLUMNS]
    if unknown or "term" not in columns or "risk" not in columns:
        shown = [_shown(name, _COLUMNS) for name in unknown]
        problems.add(
            start + 1,
            "header must name term and risk (and optionally severity, allow, gap)"
            + (f"; unknown column(s): {', '.join(shown)}" if unknown else ""),
        )
        return header, []
    return header, _table_rows(reader, columns, start, long_lines, problems)


def _table_rows(
    reader: Any, columns: list[str], start: int, long_lines: list[int], problems: _Collector
) -> Iterator[tuple[dict[str, Any], int]]:
    """The rows after the header as ``(row, line)``, read as they are asked for."""
    first = reader.line_num + 1  # the line the next row starts on, counted from ``start``
    with _field_limit():
        try:
            for values in reader:
                line, first = start + first, reader.line_num + 1
                while long_lines:
                    problems.add(long_lines.pop(0), f"line longer than {LIMITS['line_chars']:,} characters")
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
                yield row, line
            for number in long_lines:
                problems.add(number, f"line longer than {LIMITS['line_chars']:,} characters")
        except csv.Error as error:
            problems.add(start + first, f"not valid CSV ({_csv_problem(error)})")


@contextmanager
def _field_limit() -> Iterator[None]:
    """csv's field limit (one per process) at the line limit, so that a quoted field running over
    many lines is refused too; the previous limit is put back."""
    previous = csv.field_size_limit()
    csv.field_size_limit(LIMITS["line_chars"])
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _csv_problem(error: csv.Error) -> str:
    message = str(error)
    if "field larger than field limit" in message:
        return f"a field longer than {LIMITS['line_chars']:,} characters"
    return message.split("(")[0].strip()[:80]


def _shown(name: object, known: tuple[str, ...]) -> str:
    """A field name for a message: the file's own spelling only when it is close to a known name
    (a typo), since an unknown key or column may well be a term."""
    close = difflib.get_close_matches(str(name).lower(), known, n=1, cutoff=0.75)
    return f"{str(name)!r} (did you mean {close[0]}?)" if close else "(a name that is not a field; not shown)"


def _header(header: dict[str, tuple[Any, int]], lexicon: Lexicon, problems: _Collector) -> None:
    for key in header:
        if key not in ("name", "version", "updated"):
            problems.add(
                header[key][1],
                f"unknown field {_shown(key, _HEADER_FIELDS)} (expected name, version, updated, terms)",
            )
    for key in ("name", "version"):
        value = header.get(key, (None, 1))[0]
        if value is None or str(value).strip() == "":
            problems.add(1, f"missing {key}: give the lexicon a {key} (recorded in the manifest)")
        else:
            setattr(lexicon, key, str(value).strip()[:200])
    updated, line = header.get("updated", (None, 1))
    if isinstance(updated, datetime):  # YAML reads 2026-12-01 10:00 as a timestamp
        lexicon.updated = updated.date()
    elif isinstance(updated, date):
        lexicon.updated = updated
    elif isinstance(updated, str):
        try:
            lexicon.updated = date.fromisoformat(updated.strip())
        except ValueError:
            problems.add(line, "updated: expected a date like 2026-12-01")
    else:
        problems.add(line, "missing updated: the date the lexicon was last revised (YYYY-MM-DD)")


def _terms(rows: Iterable[tuple[Any, int]], lexicon: Lexicon, problems: _Collector) -> None:
    """Check the entries; the terms are normalised together at the end (a million one by one took
    ~10 s more)."""
    from corpus_kit.stages.safety.normalise import normalise, normalise_many

    risks = risk_catalogue().risks
    pending: list[tuple[str, str, str, int, Sequence[str], int]] = []
    for count, (row, line) in enumerate(rows, start=1):
        if count > LIMITS["terms"]:
            problems.add(line, f"more than {LIMITS['terms']:,} terms in one file; split it")
            return
        if not isinstance(row, dict):
            problems.add(line, "expected a mapping {term, risk, severity?, allow?, gap?}")
            continue
        unknown = [key for key in row if key not in _COLUMNS]
        if unknown:
            shown = ", ".join(sorted(_shown(key, _COLUMNS) for key in unknown))
            problems.add(line, f"unknown field(s) {shown}; expected term, risk, severity, allow, gap")
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
            shown = f"{risk!r} is not" if _CODE_LIKE.fullmatch(risk) else "not"  # else it may be a term
            problems.add(line, f"risk: {shown} an Annex A code (A1a..A5b, rules/safety/risks.yaml)")
            continue
        severity = str(row.get("severity", "block")).strip().lower()
        if severity not in ("block", "flag"):
            problems.add(line, "severity: expected block or flag")
            continue
        gap = _gap(row.get("gap", 0))
        if gap is None:
            problems.add(line, f"gap: expected a whole number from 0 to {LIMITS['gap']}")
            continue
        allow_raw = row.get("allow") or ()
        if isinstance(allow_raw, str):
            allow_raw = (allow_raw,)
        if not isinstance(allow_raw, list | tuple) or not all(isinstance(item, str) for item in allow_raw):
            problems.add(line, "allow: expected a list of contexts")
            continue
        if len(allow_raw) > LIMITS["allow_per_term"]:
            problems.add(line, f"allow: more than {LIMITS['allow_per_term']} contexts")
            continue
        pending.append((raw_term, risk, severity, gap, allow_raw, line))
    texts = normalise_many([entry[0] for entry in pending])
    seen: set[tuple[str, str]] = set()
    for (_, risk, severity, gap, allow_raw, line), text in zip(pending, texts, strict=True):
        text = text.strip()
        if not text:
            problems.add(line, "term: empty once normalised (only format characters)")
            continue
        if len(text) > LIMITS["term_chars"]:  # NFKC can make one character 18
            problems.add(line, f"term longer than {LIMITS['term_chars']} characters once normalised")
            continue
        contexts = []
        for context in allow_raw:
            normal = normalise(context).strip() if len(context) <= LIMITS["term_chars"] else context
            if len(normal) > LIMITS["term_chars"]:
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
