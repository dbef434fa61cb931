"""Classification grade, personal-information status and registration (DESIGN.md §9).

The supply block may declare ``classification`` (GB/T 43697-2024: industry, grade general /
important / core, general level 1-4, basis; PIPL art. 28-29: sensitive categories declared and
the consent basis) and ``registration`` (a public data resource registration code). The manifest
adds what the run found (:func:`personal_information`): entity counts, which of them are sensitive
personal information by ``rules/classification_policy.yaml`` (an ID-card number alone is personal,
not sensitive, information: GB/T 45574-2025), whether precise location was looked for and found,
and ``deidentified``. ``manifest validate`` (CK140-CK144) and ``publish`` gate on them; a missing
grade counts as important (就高从严).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from corpus_kit.resources import resource_path
from corpus_kit.utils import load_yaml_file

if TYPE_CHECKING:
    from corpus_kit.governance.manifest import PiiSummary

Grade = Literal["general", "important", "core"]
SensitiveCategory = Literal[
    "biometric",
    "religion",
    "specific_identity",
    "medical_health",
    "financial_account",
    "whereabouts",
    "minor_under_14",
]
ConsentBasis = Literal["separate", "other_basis", "none"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeclaredPersonalInformation(_Model):
    """What the data holder declares about personal information in the data (PIPL art. 28-29)."""

    contains: bool | None = Field(None, description="Whether the data holds personal information at all.")
    sensitive: list[SensitiveCategory] = Field(
        default_factory=list, description="Sensitive categories the data holds (PIPL art. 28)."
    )
    consent: ConsentBasis | None = Field(
        None,
        description="separate (单独同意, needed for sensitive PI), other_basis (another legal basis), none.",
    )


class Classification(_Model):
    """GB/T 43697-2024 classification and grade of the dataset, as declared by its holder."""

    industry: str | None = Field(
        None, description="health, education, transport, finance, low_altitude_economy, government, ..."
    )
    grade: Grade | None = Field(
        None, description="general | important | core; missing counts as important (就高从严)."
    )
    general_level: int | None = Field(None, ge=1, le=4, description="General data: level 1-4 (Annex H).")
    basis: str | None = Field(
        None, description="Why this grade, e.g. 'GB/T 43697-2024 6.5, sector catalogue'."
    )
    pi: DeclaredPersonalInformation | None = None

    @model_validator(mode="after")
    def _level_of_general_data(self) -> Classification:
        if self.general_level is not None and self.grade not in (None, "general"):
            raise ValueError("general_level applies to general data only; remove it or set grade: general")
        return self


class Registration(_Model):
    """Public data resource registration (公共数据资源登记)."""

    code: str = Field(description="Registration code.")
    registry: str = Field(description="The registry (platform or authority) that issued it.")
    date: date


class PersonalInformation(_Model):
    """What the run found about personal information (counts only, never values)."""

    screened: bool = Field(description="The pii step ran over the text.")
    entities: dict[str, int] = Field(default_factory=dict, description="Spans found and scrubbed per type.")
    sensitive: dict[str, int] = Field(
        default_factory=dict, description="Of those, types that are sensitive PI, by sensitive category."
    )
    declared_sensitive: list[str] = Field(default_factory=list)
    minors: bool = Field(False, description="Personal information of minors under 14 declared.")
    precise_location: bool | None = Field(
        None, description="Precise location found (null: no precise-location entity type was checked)."
    )
    media_screened: bool = Field(
        False,
        description="Every picture was screened for personal data (OCR text and faces: the pii step's "
        "ocr extra) and no audio or video went unscreened; false when any was passed on unread.",
    )
    deidentified: bool = Field(
        description="Every detection in the text was scrubbed: the pii step ran and scrubbed all it found "
        "(pictures and audio: see media_screened); it looked for every type the policy's "
        "deidentification_requires lists.",
    )


class ClassificationPolicy(_Model):
    """``rules/classification_policy.yaml``."""

    version: str
    industries: list[str]
    missing_grade: Grade
    restricted_grades: list[Grade]
    public_modes: list[str]
    consent_bases: list[ConsentBasis]
    sensitive_entities: dict[str, SensitiveCategory]
    not_personal: list[str]
    precise_location_entities: list[str]
    deidentification_requires: list[str]


@lru_cache(maxsize=1)
def classification_policy() -> ClassificationPolicy:
    return ClassificationPolicy.model_validate(
        load_yaml_file(resource_path("rules", "classification_policy.yaml"), "classification policy")
    )


def personal_information(
    pii: PiiSummary | None, classification: Classification | None
) -> PersonalInformation:
    """The personal-information status of a dataset from its PII section and declaration."""
    policy = classification_policy()
    declared = classification.pi if classification is not None and classification.pi is not None else None
    entities = {
        kind: count
        for kind, count in (pii.entities if pii else {}).items()
        if kind not in policy.not_personal
    }
    sensitive: dict[str, int] = {}
    for kind, count in entities.items():
        category = policy.sensitive_entities.get(kind)
        if category is not None and count:
            sensitive[category] = sensitive.get(category, 0) + count
    checked = set(pii.checked) if pii else set()
    location_types = set(policy.precise_location_entities)
    precise: bool | None = None
    if location_types & checked:
        precise = any(entities.get(kind, 0) for kind in location_types)
    declared_sensitive: list[str] = sorted(declared.sensitive) if declared else []
    images = pii.images if pii is not None else None
    if images is not None and images.faces:
        # a face is biometric data (PIPL art. 28): counted whether its picture was kept or not
        sensitive["biometric"] = sensitive.get("biometric", 0) + images.faces
    media_screened = (
        images is not None
        and images.mode != "off"
        and images.not_screened == 0
        and images.other_media_not_screened == 0
    )
    return PersonalInformation(
        screened=pii is not None,
        entities=dict(sorted(entities.items())),
        sensitive=dict(sorted(sensitive.items())),
        declared_sensitive=declared_sensitive,
        minors="minor_under_14" in declared_sensitive,
        precise_location=precise,
        media_screened=media_screened,
        # faces left in pictures of the output are detections not scrubbed
        deidentified=pii is not None
        and set(policy.deidentification_requires) <= checked
        and not (images is not None and images.faces_kept),
    )


def effective_grade(classification: Classification | None) -> tuple[Grade, bool]:
    """The grade the gates apply, and whether it was declared (a missing one counts as the policy's)."""
    if classification is not None and classification.grade is not None:
        return classification.grade, True
    return classification_policy().missing_grade, False
