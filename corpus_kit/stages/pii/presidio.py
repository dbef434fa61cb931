"""Presidio recognizers for Chinese and international PII, from the rules in ``pii_recognizers``.

presidio has no Chinese recognizers and its regexes anchor on ``\\b``, which never fires between a
Chinese character and a digit. Ours use look-arounds, validate checksums, score context words
found in the raw characters before a match (no NLP model needed: presidio's NoOp engine has no
lemmas), and drop matches preceded by words that mean "not PII" (``version 10.2.3.4``).
"""

from __future__ import annotations

from typing import Any

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts

from corpus_kit.errors import UsageError
from corpus_kit.stages.pii.recognizers import (
    MAX_VALIDATED_CHARS,
    EntityConfig,
    PiiRules,
    ScanBudget,
    bundled_patterns,
    compile_rule_pattern,
    exclusion_regex,
    validator_function,
)


class ConfiguredRecognizer(EntityRecognizer):
    """A presidio recognizer for one entity, from its YAML entry.

    Matching uses the rule's compiled patterns (stdlib ``re`` for the bundled ones, ~5x faster than
    presidio's per-pattern loop; see :func:`compile_rule_pattern` for the others); context is looked
    up in the raw characters before the match, so it works with presidio's NoOp NLP engine and
    inside Chinese text. Every match spends one unit of ``budget``, shared by the recognizers of an
    engine and reset for each document, so that a text dense in candidates stops early.
    """

    def __init__(
        self,
        entity: str,
        config: EntityConfig,
        context_window: int,
        language: str,
        budget: ScanBudget | None = None,
    ):
        self.config = config
        self.context_window = context_window
        self.validator = validator_function(config.validator) if config.validator else None
        bundled = bundled_patterns()
        self._compiled = [
            (p.score, compile_rule_pattern(p.regex, p.regex in bundled)) for p in config.patterns
        ]
        self.budget = budget if budget is not None else ScanBudget()
        self.budget.reset(2**62)  # used on its own, a recognizer has no limit
        self._context = [word.lower() for word in config.context]
        self._exclude = exclusion_regex(config.exclude_context)
        self._exclude_after = [word.lower() for word in config.exclude_context_after]
        self.label = f"corpus-kit {entity}"
        super().__init__(supported_entities=[entity], name=self.label, supported_language=language)

    def load(self) -> None:  # nothing to load: patterns are compiled in __init__
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        entity = self.supported_entities[0]
        results = []
        window = self.context_window
        budget = self.budget
        for base_score, compiled in self._compiled:
            for match in compiled.finditer(text):
                budget.spend()
                start, end = match.span()
                before = text[max(0, start - window) : start].lower()
                if self._exclude is not None and self._exclude.search(before):
                    continue
                if self._exclude_after:
                    after = text[end : end + window // 2].lower()
                    if any(word in after for word in self._exclude_after):
                        continue
                has_context = any(word in before for word in self._context)
                verdict = None
                # a value longer than any personal data is kept at the pattern's score, unchecked:
                # a validator is not made to walk megabytes a user's pattern may match
                if self.validator is not None and end - start <= MAX_VALIDATED_CHARS:
                    verdict = self.validator(match.group(), has_context)
                if verdict is False:
                    continue
                score = 1.0 if verdict else base_score
                if has_context:
                    score = min(1.0, score + self.config.context_boost)
                results.append(
                    RecognizerResult(
                        entity_type=entity,
                        start=start,
                        end=end,
                        score=score,
                        recognition_metadata={
                            RecognizerResult.RECOGNIZER_NAME_KEY: self.label,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                            RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True,
                        },
                    )
                )
        return results


class ContextScoredByRecognizers(ContextAwareEnhancer):
    """The analyzer's context step, for recognizers that score context themselves (ours all do).

    presidio's default enhancer looks for context words among the NLP engine's lemmas; the NoOp engine
    has none, so it never changed a score, yet it walked every result of every call."""

    def __init__(self) -> None:
        super().__init__(
            context_similarity_factor=0.0,
            min_score_with_context_similarity=0.0,
            context_prefix_count=0,
            context_suffix_count=0,
        )

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: Any,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        return raw_results


class CorpusKitAnalyzer(AnalyzerEngine):
    """presidio's analyzer, without its context step when every recognizer scores context itself.

    That step sorts the results of each call by recognizer, twice per recognizer: with a dozen
    recognizers it cost as much as finding the values in a text dense in them. A plugin's
    recognizer keeps it.

    The registry is complete when the analyzer is made, so the recognizers a call needs are looked
    up once per (language, entities) instead of on every call (~35 us of ~120 us on a short id)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        lookup = self.registry.get_recognizers
        found: dict[tuple[Any, ...], list[EntityRecognizer]] = {}

        def get_recognizers(
            language: str,
            entities: list[str] | None = None,
            all_fields: bool = False,
            ad_hoc_recognizers: list[EntityRecognizer] | None = None,
        ) -> list[EntityRecognizer]:
            if ad_hoc_recognizers:
                return lookup(language, entities, all_fields, ad_hoc_recognizers)
            key = (language, tuple(entities) if entities else None, all_fields)
            if key not in found:
                found[key] = lookup(language, entities, all_fields, None)
            return list(found[key])

        self.registry.get_recognizers = get_recognizers  # type: ignore[method-assign]

    def _enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        if all(isinstance(recognizer, ConfiguredRecognizer) for recognizer in recognizers):
            return raw_results
        return super()._enhance_using_context(text, raw_results, nlp_artifacts, recognizers, context)


def build_recognizers(
    rules: PiiRules, entities: list[str] | None, language: str, budget: ScanBudget | None = None
) -> list[ConfiguredRecognizer]:
    chosen = entities or list(rules.entities)
    unknown = sorted(set(chosen) - set(rules.entities))
    if unknown:
        raise ValueError(f"unknown PII entities {unknown}; available: {', '.join(sorted(rules.entities))}")
    shared = budget if budget is not None else ScanBudget()
    return [
        ConfiguredRecognizer(name, rules.entities[name], rules.context_window, language, shared)
        for name in chosen
    ]


RECOGNIZER_ENTRY_POINT_GROUP = "corpus_kit.pii_recognizers"
_REGISTERED_RECOGNIZERS: dict[str, Any] = {}


def register_pii_recognizer(name: str, factory: Any, *, replace: bool = False) -> None:
    """Make a presidio ``EntityRecognizer`` usable as ``- pii: {recognizers: [NAME]}``.

    ``factory`` is an ``EntityRecognizer`` instance or a callable returning one (or a list of them).
    Installed packages can offer recognizers through the ``corpus_kit.pii_recognizers`` entry-point
    group instead. A step with recognizers of its own analyses whole texts (the pre-scan is built for
    the bundled patterns only): slower, nothing missed.
    """
    if name in _REGISTERED_RECOGNIZERS and not replace:
        raise ValueError(f"PII recognizer {name!r} exists; pass replace=True to override it")
    _REGISTERED_RECOGNIZERS[name] = factory


def extra_recognizers(names: list[str], language: str) -> list[EntityRecognizer]:
    """The recognizers named in a step's ``recognizers`` (registered, entry point or ``module:attr``)."""
    import importlib
    from importlib.metadata import entry_points

    found: list[EntityRecognizer] = []
    installed = {entry.name: entry for entry in entry_points(group=RECOGNIZER_ENTRY_POINT_GROUP)}
    for name in names:
        if name in _REGISTERED_RECOGNIZERS:
            factory = _REGISTERED_RECOGNIZERS[name]
        elif name in installed:
            factory = installed[name].load()
        elif ":" in name:
            module, _, attribute = name.partition(":")
            try:
                factory = getattr(importlib.import_module(module), attribute)
            except (ImportError, AttributeError):
                raise UsageError(f"pii recognizers: cannot import {name!r}") from None
        else:
            known = ", ".join(sorted({*_REGISTERED_RECOGNIZERS, *installed})) or "none installed"
            raise UsageError(f"pii recognizers: unknown recognizer {name!r} (known: {known})")
        made = factory if isinstance(factory, EntityRecognizer) else factory()
        for recognizer in made if isinstance(made, list) else [made]:
            if not isinstance(recognizer, EntityRecognizer):
                raise UsageError(f"pii recognizers: {name!r} did not give a presidio EntityRecognizer")
            recognizer.supported_language = language  # our analysis language for mixed zh/en text
            found.append(recognizer)
    return found
