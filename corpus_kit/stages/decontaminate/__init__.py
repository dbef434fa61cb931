"""``decontaminate`` stage: drop or flag records that overlap evaluation sets (docs/decontamination.md).

Evaluation items and records are normalised as the safety stage normalises text (NFKC, case fold,
Traditional -> Simplified), cut into units (a word of a spaced script, a character of an unspaced
one; punctuation, white space and line breaks dropped) and hashed as 13-unit n-grams (:mod:`.grams`).
A record that shares one gram with a benchmark is contaminated by it: ``action: drop`` removes it
with ``decontam.<benchmark>``, ``action: flag`` keeps it with ``metadata.decontam`` listing the
benchmarks. Evaluation sets are JSONL / Parquet files or folders, or hash-only indexes built by
``corpus-kit decontam-index build`` (:mod:`.evals`), which give the same result. The manifest's
``decontamination`` section (:mod:`.section`) holds counts and checksums only.

This module stays light to import (NumPy, datatrove and the tables are loaded in ``build()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from corpus_kit.errors import UsageError
from corpus_kit.stages.base import CommaList, Stage, StageContext, StageParams
from corpus_kit.stages.decontaminate.section import (
    BenchmarkDecontamination,
    DecontaminationSummary,
    EvalFile,
)

if TYPE_CHECKING:
    from datatrove.pipeline.base import PipelineStep
    from datatrove.utils.stats import Stats

    from corpus_kit.catalog.report import ReportSection
    from corpus_kit.governance.manifest import Manifest
    from corpus_kit.stages.decontaminate.step import DecontaminateFilter


class DecontaminateParams(StageParams):
    evals: CommaList = Field(
        description="Evaluation sets: JSONL/Parquet files or folders of them (one benchmark per file, or "
        "a 'benchmark' field per item), or hash-only indexes from corpus-kit decontam-index build.",
        json_schema_extra={"path": True},
    )
    action: Literal["drop", "flag"] = Field(
        "drop",
        description="Contaminated records: drop (reason decontam.<benchmark>) or flag (kept, "
        "metadata.decontam lists the benchmarks).",
    )
    fields: CommaList | None = Field(
        None,
        description="Item fields whose text counts, joined by line feeds (dotted paths reach into objects; "
        "strings in lists are joined); when not given, those present of text, question, prompt, input, "
        "context, passage, choices, options, answer, output, target and the like.",
    )

    @field_validator("evals")
    @classmethod
    def _at_least_one(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("give at least one evaluation file, folder or index")
        return value

    @field_validator("fields")
    @classmethod
    def _some_fields(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("give at least one field name, or leave fields out for the default list")
        return value


class DecontaminateStage(Stage[DecontaminateParams]):
    """Drop or flag records that share a 13-unit n-gram with an evaluation set."""

    name = "decontaminate"
    summary = (
        "Drop or flag records that overlap evaluation sets (13-word / 13-character n-grams, Chinese and "
        "spaced scripts; text files or hash-only indexes from corpus-kit decontam-index build)."
    )
    params_model = DecontaminateParams
    reasons = ("decontam.*",)
    columns = ("decontam",)
    section_model = DecontaminationSummary
    section_key = "decontamination"
    extra = "safety"  # the normalisation's Traditional -> Simplified table comes from opencc
    one_per_pipeline = True  # one manifest section
    example = "- decontaminate: {evals: [evals/], action: drop}"

    def build(self, params: DecontaminateParams, context: StageContext) -> DecontaminateFilter:
        from corpus_kit.stages.decontaminate.evals import EvalIndex
        from corpus_kit.stages.decontaminate.step import DecontaminateFilter

        paths = [context.resolve_path(value) for value in params.evals]
        index = EvalIndex.load([path for path in paths if path], params.fields)
        if not index.names:
            raise UsageError("evals: no benchmark found in the evaluation files")
        return DecontaminateFilter(index, params.action, exclusion_writer=context.exclusion_writer())

    def manifest_section(self, step: PipelineStep, stats: Stats) -> DecontaminationSummary:
        from pathlib import Path

        from corpus_kit.stages.decontaminate import grams
        from corpus_kit.stages.decontaminate.step import DecontaminateFilter

        assert isinstance(step, DecontaminateFilter)
        total = self.stat_total
        index = step.index
        benchmarks = {
            header.name: BenchmarkDecontamination(
                items=header.items,
                matchable=header.matchable,
                short=header.short,
                too_short=header.too_short,
                empty=header.empty,
                grams=header.grams,
                contaminated=total(stats, f"contaminated/{header.name}"),
                dropped=total(stats, f"drop/{header.name}"),
            )
            for header in index.headers
        }
        return DecontaminationSummary(
            n=grams.N,
            min_units=grams.MIN_UNITS,
            normalisation=grams.normalisation_version(),
            action=step.action,
            fields=index.fields,
            evals=[
                EvalFile(name=Path(source.path).name, kind=source.kind, sha256=source.sha256)  # type: ignore[arg-type]
                for source in index.sources
            ],
            checked=total(stats, "checked"),
            not_checked=total(stats, "not_checked"),
            contaminated=total(stats, "contaminated"),
            dropped=sum(row.dropped for row in benchmarks.values()),
            flagged=total(stats, "flagged"),
            benchmarks=benchmarks,
        )

    def report_section(self, section: DecontaminationSummary, manifest: Manifest) -> ReportSection:
        from corpus_kit.stages.decontaminate.sections import decontamination_report_section

        return decontamination_report_section(section, manifest)

    def card_section(self, section: DecontaminationSummary, manifest: Manifest) -> tuple[str, str]:
        from corpus_kit.stages.decontaminate.sections import decontamination_card_section

        return decontamination_card_section(section, manifest)


__all__ = ["DecontaminateParams", "DecontaminateStage", "DecontaminationSummary"]
