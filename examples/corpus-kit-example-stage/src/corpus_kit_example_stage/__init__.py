"""An example corpus-kit stage: counts the words of each record and drops records that are too short.

It shows every part of the stage contract (``corpus_kit.Stage``): a parameter model, a drop reason, a
column, a manifest section and a report section. Nothing in it touches corpus-kit's own files.
"""

from __future__ import annotations

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.utils.stats import Stats
from pydantic import Field

from corpus_kit import Manifest, ReportSection, Stage, StageContext, StageParams, StageSection


class WordCountParams(StageParams):
    min_words: int = Field(1, ge=0, description="Drop records with fewer words than this.")
    field: str = Field("word_count", description="Metadata column the count is written to.")


class WordCountSection(StageSection):
    """What the stage did: counts only, never text."""

    min_words: int
    documents: int = Field(ge=0, description="Records counted.")
    words: int = Field(ge=0, description="Words in the records kept.")
    dropped: int = Field(ge=0, description="Records dropped as too short.")


class WordCounter(BaseFilter):
    """The datatrove step: ``metadata[field] = words``; drops with reason ``wordcount.too_short``."""

    name = "🔢 word count"

    def __init__(self, min_words: int, field: str, exclusion_writer=None):
        super().__init__(exclusion_writer=exclusion_writer)
        self.min_words = min_words
        self.field = field

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        words = len(doc.text.split())
        doc.metadata[self.field] = words
        self.stat_update("counted")
        if words < self.min_words:
            return False, "wordcount.too_short"
        self.stat_update("words", value=words)
        return True


class WordCountStage(Stage[WordCountParams]):
    name = "wordcount"
    summary = "Count the words of each record; drop records with fewer than min_words."
    params_model = WordCountParams
    reasons = ("wordcount.too_short",)
    columns = ("word_count",)
    section_model = WordCountSection
    example = "- wordcount: {min_words: 5}"

    def build(self, params: WordCountParams, context: StageContext) -> WordCounter:
        return WordCounter(params.min_words, params.field, exclusion_writer=context.exclusion_writer())

    def manifest_section(self, step: WordCounter, stats: Stats) -> WordCountSection:
        return WordCountSection(
            min_words=step.min_words,
            documents=self.stat_total(stats, "counted"),
            words=self.stat_total(stats, "words"),
            dropped=self.stat_total(stats, "dropped_wordcount.too_short"),
        )

    def report_section(self, section: WordCountSection, manifest: Manifest) -> ReportSection:
        from corpus_kit.catalog.report import facts

        body = facts(
            {"records counted": section.documents, "words kept": section.words, "too short": section.dropped}
        )
        return ReportSection(
            "wordcount", "Word count", body, f"Records with fewer than {section.min_words} words dropped."
        )

    def card_section(self, section: WordCountSection, manifest: Manifest) -> tuple[str, str]:
        return (
            "Word count",
            f"{section.words:,} words in the kept records; {section.dropped:,} records were too short.",
        )
