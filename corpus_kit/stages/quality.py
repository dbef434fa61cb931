"""``quality`` stage: Gopher / C4 / FineWeb / ChineseWebText rules from ``rules/quality/*.yaml``.

Rules are data: each has an id, a signal ``kind`` computed here, and ``min``/``max`` bounds in the
YAML. The rule sets applied depend on the record's language (``metadata.language`` from the langid
stage, or identified on the fly), passed explicitly: Chinese is measured in characters, spaced
scripts in words. Duplicate lines/paragraphs use datatrove's Gopher helper; word splitting is a
regex instead of datatrove's spaCy tokenizers (those load a model per language and ran at ~1 MB/s
here), and the n-gram repetition signals are vectorised with NumPy. A record fails at its first
failing rule (reason ``quality.<rule id>``); every signal computed is kept in ``quality_signals``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates
from datatrove.utils.stats import Stats
from pydantic import BaseModel, ConfigDict, Field, model_validator

from corpus_kit.errors import UsageError
from corpus_kit.io.parquet_writer import ParquetShardWriter
from corpus_kit.resources import resource_path
from corpus_kit.stages import StageContext

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NON_SPACE = re.compile(r"\S")
_SPACE = re.compile(r"\s+")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
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
    words: list[str] = Field(default_factory=list)
    short_chars: int = 30

    @model_validator(mode="after")
    def _known(self) -> Rule:
        if self.kind not in SIGNALS:
            raise ValueError(
                f"rule {self.id}: unknown kind {self.kind!r}; known: {', '.join(sorted(SIGNALS))}"
            )
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
    return QualityRules.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


class TextView:
    """Lines, paragraphs, words and characters of a text, each computed once, on demand."""

    def __init__(self, text: str):
        self.text = text
        self._cache: dict[str, Any] = {}

    def _get(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def lines(self) -> list[str]:
        return self._get("lines", lambda: [line.strip() for line in self.text.split("\n") if line.strip()])

    @property
    def paragraphs(self) -> list[str]:
        return self._get(
            "paragraphs", lambda: [p.strip() for p in _PARAGRAPH_BREAK.split(self.text) if p.strip()]
        )

    @property
    def words(self) -> list[str]:
        return self._get("words", lambda: _WORD.findall(self.text))

    def ngram_stats(self, unit: str, n: int) -> tuple[float, float]:
        """(top n-gram char share, duplicate n-gram char share) for words or characters."""
        return self._get(f"ngrams/{unit}/{n}", lambda: _ngram_stats(self, unit, n))

    def unit_arrays(self, unit: str) -> tuple[np.ndarray, np.ndarray]:
        """Integer ids of the units and their lengths in characters."""
        return self._get(f"units/{unit}", lambda: _unit_arrays(self, unit))


_P = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit multiplier for the rolling n-gram hash


def _unit_arrays(view: TextView, unit: str) -> tuple[np.ndarray, np.ndarray]:
    if unit == "char":
        compact = _SPACE.sub("", view.text)
        ids = np.frombuffer(compact.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        return ids, np.ones(len(ids), dtype=np.int64)
    vocabulary: dict[str, int] = {}
    ids = np.fromiter((vocabulary.setdefault(w, len(vocabulary)) for w in view.words), dtype=np.uint64)
    lengths = np.fromiter(map(len, view.words), dtype=np.int64, count=len(view.words))
    return ids, lengths


def _ngram_stats(view: TextView, unit: str, n: int) -> tuple[float, float]:
    """Vectorised Gopher repetition signals (NumPy instead of one joined string per position).

    top: characters of the most frequent n-gram times its count, over all characters (as datatrove's
    ``find_top_duplicate``); duplicate: characters covered by any n-gram occurrence that appeared
    before, counted once (the Gopher paper's definition; datatrove's helper skips ahead greedily).
    """
    ids, lengths = view.unit_arrays(unit)
    total_chars = int(lengths.sum())
    count = len(ids) - n + 1
    if count <= 1 or not total_chars:
        return 0.0, 0.0
    hashes = ids[:count].copy()
    with np.errstate(over="ignore"):
        for k in range(1, n):
            hashes = hashes * _P + ids[k : k + count] + np.uint64(k)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    gram_chars = offsets[n : n + count] - offsets[:count]
    _, first, inverse, counts = np.unique(hashes, return_index=True, return_inverse=True, return_counts=True)
    repeats = counts[inverse]
    top_position = int(np.argmax(repeats * (repeats > 1)))
    top = float(gram_chars[top_position] * repeats[top_position]) if repeats[top_position] > 1 else 0.0
    later = np.nonzero(first[inverse] != np.arange(count))[0]
    if not len(later):
        return top / total_chars, 0.0
    cover = np.zeros(len(ids) + 1, dtype=np.int64)
    np.add.at(cover, later, 1)
    np.add.at(cover, later + n, -1)
    covered = np.cumsum(cover[:-1]) > 0
    return top / total_chars, float(lengths[covered].sum()) / total_chars


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


SIGNALS: dict[str, Callable[[TextView, Rule], float]] = {
    "length_chars": lambda v, r: float(len(v.text.strip())),
    "word_count": lambda v, r: float(len(v.words)),
    "mean_word_length": lambda v, r: _ratio(sum(map(len, v.words)), len(v.words)),
    "symbol_word_ratio": lambda v, r: _ratio(
        v.text.count("#") + sum(v.text.count(e) for e in _ELLIPSIS), len(v.words)
    ),
    "alphabetic_word_fraction": lambda v, r: _ratio(
        sum(any(c.isalpha() for c in w) for w in v.words), len(v.words)
    ),
    "stop_word_count": lambda v, r: float(sum(1 for w in v.words if w.lower() in set(r.words))),
    "duplicate_line_fraction": lambda v, r: _ratio(find_duplicates(v.lines)[0], len(v.lines)),
    "duplicate_line_char_fraction": lambda v, r: _ratio(find_duplicates(v.lines)[1], sum(map(len, v.lines))),
    "duplicate_paragraph_fraction": lambda v, r: _ratio(find_duplicates(v.paragraphs)[0], len(v.paragraphs)),
    "bullet_line_fraction": lambda v, r: _ratio(
        sum(line.startswith(_BULLET) for line in v.lines), len(v.lines)
    ),
    "ellipsis_line_fraction": lambda v, r: _ratio(
        sum(line.endswith(_ELLIPSIS) for line in v.lines), len(v.lines)
    ),
    "terminal_punctuation_line_fraction": lambda v, r: _ratio(
        sum(line.endswith(_TERMINAL) for line in v.lines), len(v.lines)
    ),
    "short_line_fraction": lambda v, r: _ratio(
        sum(len(line) < r.short_chars for line in v.lines), len(v.lines)
    ),
    "phrase_count": lambda v, r: float(sum(v.text.lower().count(p.lower()) for p in r.phrases)),
    "cjk_char_fraction": lambda v, r: _ratio(len(_HAN.findall(v.text)), len(_NON_SPACE.findall(v.text))),
    "mean_line_length": lambda v, r: _ratio(sum(map(len, v.lines)), len(v.lines)),
    "top_ngram_char_fraction": lambda v, r: v.ngram_stats(r.unit, r.n)[0],
    "duplicate_ngram_char_fraction": lambda v, r: v.ngram_stats(r.unit, r.n)[1],
}


def evaluate(rule: Rule, view: TextView) -> tuple[bool, float]:
    """``(passes, signal)`` for one rule."""
    value = SIGNALS[rule.kind](view, rule)
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

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_identifier"] = None
        return state

    def _language(self, doc: Document) -> str:
        language = doc.metadata.get("language")
        if isinstance(language, str) and language:
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
            for rule in self.rules.for_language(language):
                passes, value = evaluate(rule, view)
                signals[rule.id] = value
                if not passes:
                    self.stat_update(f"rule_drops/{language}/{rule.id}")
                    return False, f"quality.{rule.id}"
        finally:
            doc.metadata["quality_signals"] = signals
        return True

    def manifest_contribution(self, stats: Stats) -> dict[str, Any]:
        from corpus_kit.governance.accounting import metric_total
        from corpus_kit.governance.manifest import QualitySummary

        checked: dict[str, int] = {}
        dropped: dict[str, dict[str, int]] = {}
        for label, metric in sorted(stats.stats.items()):
            count = metric_total(metric)
            if label.startswith("checked/") and count:
                checked[label.removeprefix("checked/")] = count
            elif label.startswith("rule_drops/") and count:
                language, _, rule = label.removeprefix("rule_drops/").partition("/")
                dropped.setdefault(language, {})[rule] = count
        return {"quality": QualitySummary(rules_version=self.rules.version, checked=checked, dropped=dropped)}


def build_quality_stage(params: dict[str, Any], context: StageContext) -> QualityFilter:
    """Pipeline builder: ``- quality: {rules: rules/quality/default.yaml}``."""
    unknown = set(params) - {"rules"}
    if unknown:
        raise UsageError(f"quality step: unknown parameter(s) {sorted(unknown)}; use rules")
    rules = context.resolve_path(params.get("rules"))
    writer = ParquetShardWriter(context.removed_dir) if context.removed_dir else None
    return QualityFilter(rules=rules, exclusion_writer=writer)
