"""``safety`` stage: keyword screening for the content-safety risks of TC260-003-2024 / GB/T 45654-2025.

Records are matched against one or more lexicons (:mod:`.lexicon`) after normalisation
(:mod:`.normalise`: NFKC, case fold, Traditional -> Simplified, zero-width characters removed), with
terms that allow a ``gap`` matched across spaces and punctuation, and hits inside an allow context
ignored (:mod:`.matcher`). Every screened record gets the ``safety`` column (risk codes and hit
counts, never the matched text). A source whose share of flagged records exceeds the threshold (5 %,
clause 5.1) is blacklisted and all its records go with ``safety.source``; with ``action: drop``
(default) records with a ``block`` hit go with ``safety.<code>``. The manifest's ``safety`` block
(:mod:`corpus_kit.governance.safety`) holds the lexicons' checksums and coverage against clause 8.1,
the counts per code and per source and the technical check of clause 9.2; ``corpus-kit safety
sample`` / ``review`` add the manual check.

Steps and state: :mod:`.screen`. The stage cites clauses; it does not make a corpus "compliant".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from corpus_kit.errors import UsageError
from corpus_kit.governance.safety import (
    SafetySummary,
    SafetyThresholds,
    SourceScreening,
    TechnicalCheck,
    risk_catalogue,
    safety_policy,
)
from corpus_kit.stages.base import CommaList, Stage, StageContext, StageParams

if TYPE_CHECKING:
    from datatrove.pipeline.base import PipelineStep
    from datatrove.utils.stats import Stats

    from corpus_kit.catalog.report import ReportSection
    from corpus_kit.governance.manifest import Manifest
    from corpus_kit.stages.safety.lexicon import Lexicon
    from corpus_kit.stages.safety.screen import SafetyFilter

BUNDLED_LEXICON = "rules/safety/synthetic_lexicon.yaml"
# the manifest stays small however many sources the input names (one per record, in the worst case)
MAX_LISTED_SOURCES = 1_000
MAX_LISTED_BLACKLISTED = 10_000


#: Lexicons read in this process, by (path, sha256 of the file): a run builds the step once for its
#: main pipeline and again for every preparation phase that replays it (~1 s per 10,000 YAML terms).
_LOADED: dict[tuple[str, str], Lexicon] = {}


def _load_once(path: str, load: Callable[[str], Lexicon]) -> Lexicon:
    from corpus_kit.utils import sha256_file

    try:
        key = (path, sha256_file(path))
    except OSError:
        return load(path)  # it says what is wrong with the path
    lexicon = _LOADED.get(key)
    if lexicon is None:
        lexicon = load(path)
        if lexicon.sha256 == key[1]:  # not replaced in between: the same bytes next time
            _LOADED[key] = lexicon
    return lexicon


def _listed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The sources the manifest lists: blacklisted ones first, then by flagged share, then by name."""
    ranked = sorted(rows, key=lambda row: (not row["blacklisted"], -row["share"], row["source"]))
    return ranked[:MAX_LISTED_SOURCES]


class SafetyParams(StageParams):
    lexicon: CommaList = Field(
        description="Lexicon files (YAML, CSV or TSV; see corpus-kit safety lexicon-check). The bundled "
        f"{BUNDLED_LEXICON} is synthetic, for demos and tests: use your own keyword library.",
        json_schema_extra={"path": True},
    )
    action: Literal["drop", "flag"] = Field(
        "drop", description="Records with a 'block' hit: drop (safety.<code>) or flag (keep, marked)."
    )
    source_threshold: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Flagged share above which a source is blacklisted (clause 5.1) [default: 0.05, "
        "rules/safety_policy.yaml].",
    )
    blacklist: str | None = Field(
        None,
        description="Blacklist file carried across runs: its sources' records are dropped (safety.source) "
        "and the run adds the sources it blacklists.",
        json_schema_extra={"path": True},
    )

    @field_validator("lexicon")
    @classmethod
    def _at_least_one(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError(f"give at least one lexicon file (e.g. {BUNDLED_LEXICON})")
        return value


class SafetyStage(Stage[SafetyParams]):
    """Screen records for the 31 risks of TC260-003 Annex A with keyword lexicons; blacklist sources."""

    name = "safety"
    summary = (
        "Screen records for the 31 content-safety risks of TC260-003 / GB/T 45654 with your keyword "
        "lexicons; blacklist sources over 5 % flagged (subcommands: lexicon-check, sample, review)."
    )
    params_model = SafetyParams
    reasons = ("safety.*",)
    columns = ("safety",)
    section_model = SafetySummary
    extra = "safety"
    one_per_pipeline = True  # its state lives in a fixed place under the work folder
    example = (
        "- safety: {lexicon: [rules/safety/synthetic_lexicon.yaml], action: drop, source_threshold: 0.05}"
    )

    def build(self, params: SafetyParams, context: StageContext) -> SafetyFilter:
        from corpus_kit.stages.safety.lexicon import LexiconError, load_lexicon
        from corpus_kit.stages.safety.screen import SafetyFilter, _Lexicons

        lexicons = []
        for value in params.lexicon:
            path = context.resolve_path(value)
            assert path is not None
            try:
                lexicons.append(_load_once(path, load_lexicon))
            except LexiconError as error:
                raise UsageError(
                    f"lexicon {error}; run corpus-kit safety lexicon-check {path} for every problem"
                ) from None
        threshold = params.source_threshold or safety_policy().source_share
        blacklist = context.resolve_path(params.blacklist)
        if blacklist is not None:
            from corpus_kit.stages.safety.screen import load_blacklist

            load_blacklist(blacklist)  # a bad file stops the run before anything is read
        step = SafetyFilter(
            state_dir=f"{context.work_dir}/safety",
            lexicons=_Lexicons(lexicons),
            action=params.action,
            threshold=threshold,
            blacklist=blacklist,
            dataset=Path(context.work_dir).parent.name,
            exclusion_writer=context.exclusion_writer(),
        )
        return step

    def manifest_section(self, step: PipelineStep, stats: Stats) -> SafetySummary:
        import orjson

        from corpus_kit.stages.safety.lexicon import coverage
        from corpus_kit.stages.safety.screen import SafetyFilter, SafetyState

        assert isinstance(step, SafetyFilter)
        total = self.stat_total
        try:
            sources_state = orjson.loads(SafetyState(step.state_dir).sources.read_bytes())
        except OSError:
            sources_state = {"sources": [], "blacklisted": [], "allowed": 0}
        flagged_by_code: dict[str, int] = {}
        hits_by_code: dict[str, int] = {}
        dropped: dict[str, int] = {}
        for label in stats.stats:
            if label.startswith("flagged/"):
                flagged_by_code[label.removeprefix("flagged/")] = total(stats, label)
            elif label.startswith("hits/"):
                hits_by_code[label.removeprefix("hits/")] = total(stats, label)
            elif label.startswith("drop/"):
                dropped[label.removeprefix("drop/")] = total(stats, label)
        checked, not_screened = total(stats, "kept_checked"), total(stats, "not_screened")
        kept_flagged = total(stats, "kept_flagged")
        documents = checked + not_screened
        policy = safety_policy()
        lexicons = step.lexicons.lexicons
        return SafetySummary(
            action=step.action,
            lexicons=[lexicon.record() for lexicon in lexicons],
            coverage=coverage(lexicons),
            screened=total(stats, "screened"),
            not_screened=not_screened,
            flagged=total(stats, "flagged"),
            flagged_by_code=dict(sorted(flagged_by_code.items())),
            hits_by_code=dict(sorted(hits_by_code.items())),
            allowed_hits=sources_state.get("allowed", 0),
            saturated=total(stats, "saturated"),
            dropped=dict(sorted(dropped.items())),
            sources=[SourceScreening(**row) for row in _listed(sources_state["sources"])],
            sources_total=len(sources_state["sources"]),
            blacklisted_sources=sources_state["blacklisted"][:MAX_LISTED_BLACKLISTED],
            blacklisted_total=len(sources_state["blacklisted"]),
            blacklisted_present=total(stats, "blacklisted_present"),
            technical=TechnicalCheck(
                documents=documents,
                checked=checked,
                checked_share=round(checked / documents, 6) if documents else 0.0,
                flagged=kept_flagged,
                pass_rate=round(1 - kept_flagged / checked, 6) if checked else 1.0,
            ),
            thresholds=SafetyThresholds(
                policy_version=policy.version,
                risks_version=risk_catalogue().version,
                source_share=step.threshold,
                technical_checked_share=policy.technical_checked_share,
                technical_pass_rate=policy.technical_pass_rate,
                manual_sample=policy.manual_sample,
                manual_pass_rate=policy.manual_pass_rate,
            ),
        )

    def report_section(self, section: SafetySummary, manifest: Manifest) -> ReportSection:
        from corpus_kit.stages.safety.sections import safety_report_section

        return safety_report_section(section, manifest)

    def card_section(self, section: SafetySummary, manifest: Manifest) -> tuple[str, str]:
        from corpus_kit.stages.safety.sections import safety_card_section

        return safety_card_section(section, manifest)


__all__ = ["SafetyParams", "SafetyStage"]
