"""The manifest's ``safety`` block and the content-safety policy (DESIGN.md §8).

The block records what the ``safety`` stage screened with (lexicons, their coverage against the
clause 8.1 minima), what it found (records per Annex A risk code, flagged share per source, the
blacklisted sources), the technical check of clause 9.2 and, once ``corpus-kit safety review`` has
read a reviewer's verdicts back, the manual check. Counts and codes only: never a matched term or
text. The thresholds come from ``rules/safety_policy.yaml``; the risk codes and the per-risk
minima from ``rules/safety/risks.yaml``.

These models describe what the documents ask (TC260-003-2024 / GB/T 45654-2025, clauses 5.1, 8.1,
9.2); a passing block does not make a dataset "compliant".
"""

from __future__ import annotations

import hashlib
import math
from datetime import date
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from corpus_kit.resources import resource_path
from corpus_kit.utils import load_yaml_file


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- rules ------------------------------------------------------------------------------------------


class RiskClass(_Model):
    zh: str
    en: str
    minimum_terms: int = Field(ge=0, description="Clause 8.1 floor per risk of the class.")


class Risk(_Model):
    zh: str
    en: str


class RiskCatalogue(_Model):
    """``rules/safety/risks.yaml``: the 31 Annex A risks and their classes."""

    version: str
    classes: dict[str, RiskClass]
    risks: dict[str, Risk]

    def class_of(self, code: str) -> str:
        return code[:2]

    def minimum_for(self, code: str) -> int:
        return self.classes[self.class_of(code)].minimum_terms


class SafetyPolicy(_Model):
    """``rules/safety_policy.yaml``."""

    version: str
    source_share: float = Field(gt=0, le=1)
    minimum_terms: int = Field(ge=0)
    technical_checked_share: float = Field(ge=0, le=1)
    technical_pass_rate: float = Field(ge=0, le=1)
    manual_sample: int = Field(ge=1)
    manual_pass_rate: float = Field(ge=0, le=1)
    uses_requiring_assessment: list[str]


@lru_cache(maxsize=1)
def risk_catalogue() -> RiskCatalogue:
    catalogue = RiskCatalogue.model_validate(
        load_yaml_file(resource_path("rules", "safety", "risks.yaml"), "risk catalogue")
    )
    unknown = sorted({code[:2] for code in catalogue.risks} - set(catalogue.classes))
    if unknown:
        raise ValueError(f"rules/safety/risks.yaml: risks of undeclared classes {unknown}")
    return catalogue


@lru_cache(maxsize=1)
def safety_policy() -> SafetyPolicy:
    return SafetyPolicy.model_validate(
        load_yaml_file(resource_path("rules", "safety_policy.yaml"), "safety policy")
    )


def wilson_lower_bound(passed: int, total: int, z: float = 1.959963984540054) -> float:
    """Lower end of the Wilson score interval (95 % by default) for ``passed`` out of ``total``."""
    if total <= 0:
        return 0.0
    share = passed / total
    denominator = 1 + z * z / total
    centre = share + z * z / (2 * total)
    margin = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total))
    return max(0.0, (centre - margin) / denominator)


def data_checksum(file_checksums: list[str]) -> str:
    """sha256 of a dataset's data files' sha256 values, in manifest order, one per line: what a manual
    assessment is bound to."""
    return hashlib.sha256("\n".join(file_checksums).encode()).hexdigest()


# -- the manifest block -----------------------------------------------------------------------------


class LexiconRecord(_Model):
    """One lexicon file the stage screened with (identified by name and checksum, never by its terms)."""

    file: str = Field(description="File name (without its folder).")
    name: str
    version: str
    updated: date
    sha256: str
    terms: int = Field(ge=0, description="Distinct (term, risk) entries after normalisation.")
    terms_per_code: dict[str, int] = Field(default_factory=dict)


class LexiconCoverage(_Model):
    """The lexicons together, against the clause 8.1 minima."""

    terms: int = Field(ge=0, description="Distinct (normalised term, risk) entries over all lexicons.")
    terms_per_code: dict[str, int] = Field(default_factory=dict)
    minimum_terms: int = Field(ge=0)
    minimum_per_code: dict[str, int] = Field(
        default_factory=dict, description="Clause 8.1: >= 200 per A.1 risk, >= 100 per A.2 risk."
    )
    shortfall: dict[str, int] = Field(
        default_factory=dict, description="Terms missing, per code and under 'total'."
    )
    meets_minima: bool


class SourceScreening(_Model):
    """Flagged share of one source (metadata.source, else the input file name)."""

    source: str
    documents: int = Field(ge=0, description="Records of the source the stage screened.")
    flagged: int = Field(ge=0)
    share: float = Field(ge=0, le=1)
    blacklisted: bool
    reason: Literal["share", "list"] | None = Field(
        None, description="share: over the threshold in this run; list: named in the --blacklist file."
    )


class TechnicalCheck(_Model):
    """Clause 9.2's technical check, on the records the stage passed on."""

    documents: int = Field(ge=0, description="Records the stage passed on.")
    checked: int = Field(ge=0, description="Of those, records screened (with text).")
    checked_share: float = Field(ge=0, le=1)
    flagged: int = Field(ge=0, description="Of the checked records passed on, those with a hit.")
    pass_rate: float = Field(ge=0, le=1)


class ManualAssessment(_Model):
    """Clause 9.2's manual check, read back from a review sheet by ``corpus-kit safety review``."""

    population: int = Field(ge=0, description="Rows of the dataset the sample was drawn from.")
    sample_size: int = Field(ge=0)
    seed: int
    sample_sha256: str = Field(description="sha256 of the sampled ids, in sheet order.")
    data_sha256: str = Field(description="sha256 of the data files' checksums the sample was drawn from.")
    sheet_sha256: str = Field(description="sha256 of the review sheet as read.")
    reviewed: int = Field(ge=0)
    passed: int = Field(ge=0)
    failed: int = Field(ge=0)
    pass_rate: float = Field(ge=0, le=1)
    wilson_lower_95: float = Field(ge=0, le=1, description="Lower end of the 95 % Wilson interval.")
    failed_by_code: dict[str, int] = Field(default_factory=dict)
    reviewer: str | None = None
    reviewed_on: date


class SafetyThresholds(_Model):
    """The thresholds the run applied (``rules/safety_policy.yaml`` and the step's parameters)."""

    policy_version: str
    risks_version: str
    source_share: float
    technical_checked_share: float
    technical_pass_rate: float
    manual_sample: int
    manual_pass_rate: float


class SafetySummary(_Model):
    """The manifest's ``safety`` block (DESIGN.md §8): codes and counts only."""

    action: Literal["drop", "flag"]
    lexicons: list[LexiconRecord]
    coverage: LexiconCoverage
    screened: int = Field(ge=0, description="Records screened (with text).")
    not_screened: int = Field(ge=0, description="Records without text (media only).")
    flagged: int = Field(ge=0, description="Screened records with at least one hit.")
    flagged_by_code: dict[str, int] = Field(default_factory=dict, description="Records per risk code.")
    hits_by_code: dict[str, int] = Field(default_factory=dict, description="Hits per risk code.")
    allowed_hits: int = Field(0, ge=0, description="Hits suppressed by an allow context.")
    saturated: int = Field(
        0,
        ge=0,
        description="Records with more matches than the per-record cap (100,000): their counts are lower "
        "bounds and they count as flagged and blocked.",
    )
    dropped: dict[str, int] = Field(default_factory=dict, description="Records dropped per reason.")
    sources: list[SourceScreening] = Field(
        default_factory=list,
        description="Per source, at most 1,000: the blacklisted ones first, then by flagged share.",
    )
    sources_total: int = Field(0, ge=0, description="Distinct sources screened (listed or not).")
    blacklisted_sources: list[str] = Field(
        default_factory=list, description="Blacklisted sources, at most 10,000 (all of them in the state)."
    )
    blacklisted_total: int = Field(0, ge=0, description="Blacklisted sources (listed or not).")
    blacklisted_present: int = Field(
        0, ge=0, description="Records of blacklisted sources the stage passed on (action flag)."
    )
    technical: TechnicalCheck
    manual: ManualAssessment | None = None
    thresholds: SafetyThresholds
