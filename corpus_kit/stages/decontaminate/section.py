"""The ``decontamination`` manifest section: settings, checksums and counts, never evaluation text.

Kept free of heavy imports: :mod:`corpus_kit.governance.manifest` imports it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from corpus_kit.stages.base import StageSection


class EvalFile(StageSection):
    """One evaluation file or index the step read."""

    name: str = Field(max_length=255, description="File name (without its folder).")
    kind: Literal["text", "index"] = Field(description="Evaluation items (text) or a hash-only index.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the file.")


class BenchmarkDecontamination(StageSection):
    """One benchmark: its items and grams, and the records that overlap it (counts only)."""

    items: int = Field(ge=0, description="Evaluation items read.")
    matchable: int = Field(ge=0, description="Items of at least n units (all their n-grams are used).")
    short: int = Field(
        ge=0, description="Items of min_units to n-1 units: matched as one whole-item gram each."
    )
    too_short: int = Field(ge=0, description="Items of fewer than min_units units: not matchable.")
    empty: int = Field(ge=0, description="Items without text in the fields used.")
    grams: int = Field(ge=0, description="Distinct n-gram hashes of the benchmark.")
    contaminated: int = Field(ge=0, description="Records sharing at least one gram with the benchmark.")
    dropped: int = Field(
        ge=0, description="Records dropped with reason decontam.<benchmark> (each record once)."
    )


class DecontaminationSummary(StageSection):
    """What the decontaminate step did: n-gram overlap with evaluation sets, per benchmark."""

    n: int = Field(
        ge=1, description="Units per n-gram (a unit: a word, or a character of an unspaced script)."
    )
    min_units: int = Field(ge=1, description="Shortest item matched (as one whole-item gram).")
    normalisation: str = Field(description="Normalisation and unit version the grams were made with.")
    action: Literal["drop", "flag"]
    fields: list[str] | None = Field(description="Item fields whose text counts (null: the default list).")
    evals: list[EvalFile] = Field(description="Evaluation files and indexes read, with their sha256.")
    checked: int = Field(ge=0, description="Records with text, checked.")
    not_checked: int = Field(ge=0, description="Records without text.")
    contaminated: int = Field(ge=0, description="Records sharing a gram with at least one benchmark.")
    dropped: int = Field(ge=0, description="Records dropped (action drop).")
    flagged: int = Field(ge=0, description="Records kept and marked in metadata.decontam (action flag).")
    benchmarks: dict[str, BenchmarkDecontamination] = Field(
        description="Per benchmark id (as in decontam.<id>)."
    )
