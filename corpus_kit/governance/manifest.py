"""The manifest: a dataset's compliance record (docs/architecture.md §5).

These pydantic models are the single source of the manifest's shape; ``manifests/
manifest.schema.json`` is generated from them (``python -m corpus_kit.governance.schema``) and a
test fails when the file is stale. A manifest never holds personal data: only counts, hashes,
paths, licence ids and configuration.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from corpus_kit.governance.classification import Classification, PersonalInformation, Registration
from corpus_kit.governance.draw import SampleRecord
from corpus_kit.governance.safety import SafetySummary
from corpus_kit.governance.tokens import TokensSummary
from corpus_kit.paths import check_name, check_relative_path
from corpus_kit.stages.decontaminate.section import DecontaminationSummary
from corpus_kit.stages.media.section import MediaSummary
from corpus_kit.utils import atomic_write_bytes, first_validation_error

SCHEMA_VERSION: Literal["1"] = "1"
MANIFEST_NAME = "manifest.json"
SEAL_FIELD = "seal_sha256"
#: The folders of a dataset a manifest may name files in.
DATASET_FOLDERS = ("data", "rejects", "removed", "ledger")


#: Marks the manifest fields that hold a stage's section (filled by governance.assemble, by name).
_STAGE_SECTION: dict[str, Any] = {"x-stage-section": True}


def stage_section_fields() -> frozenset[str]:
    """Manifest fields that hold a stage's section (the rest of a stage's sections go under ``stages``)."""
    return frozenset(
        name
        for name, field in Manifest.model_fields.items()
        if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("x-stage-section")
    )


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetInfo(_Model):
    """What the dataset is called and when it was made."""

    name: str = Field(
        description="Dataset name, e.g. 'sz-open-corpus-2026-11': one path component (it names the "
        "dataset's folder in a catalog), without '/', '\\', control or line-separator characters."
    )
    version: str = Field(description="Dataset version chosen by the publisher.")
    description: str = Field("", description="One or two sentences on what the dataset holds.")
    created_at: datetime = Field(description="When the manifest was written (ISO-8601, UTC).")

    @field_validator("name")
    @classmethod
    def _one_path_component(cls, value: str) -> str:
        return check_name(value, "the dataset name")


class SupplyMode(str, Enum):
    """How the dataset may be supplied (docs/architecture.md §6)."""

    open = "open"
    conditional_open = "conditional_open"
    authorised = "authorised"
    targeted_trade = "targeted_trade"
    cooperation = "cooperation"


class Supply(BaseModel):
    """The supply mode and its fields (docs/architecture.md §6). Which fields a mode requires, and the policy,
    live in ``rules/supply_policy.yaml`` and are checked by ``corpus-kit manifest validate``; extra
    fields (exchange, listing id, scope...) are kept as given."""

    model_config = ConfigDict(extra="allow")

    mode: SupplyMode = Field(
        description="open | conditional_open | authorised | targeted_trade | cooperation"
    )
    valid_from: date | None = Field(None, description="ISO date the supply terms start.")
    valid_until: date | None = Field(None, description="ISO date the authorisation or contract ends.")
    permitted_uses: list[str] = Field(
        default_factory=list, description="e.g. research, model_training, evaluation, commercial."
    )
    commercial_use: bool | None = Field(
        None, description="Whether the recipient may use the data commercially."
    )
    conditions: str | None = Field(None, description="conditional_open: the conditions of access.")
    access_contact: str | None = Field(
        None, description="conditional_open: where to apply (an office, not a person)."
    )
    authoriser: str | None = Field(None, description="authorised: the data holder or implementing body.")
    operator: str | None = Field(None, description="authorised: the authorised operating organisation.")
    authorisation_id: str | None = Field(None, description="authorised: the authorisation document id.")
    buyers: list[str] = Field(
        default_factory=list, description="targeted_trade: the named buying organisations."
    )
    contract_id: str | None = Field(None, description="targeted_trade: the contract id.")
    partners: list[str] = Field(default_factory=list, description="cooperation: the partner organisations.")
    agreement_id: str | None = Field(None, description="cooperation: the cooperation agreement id.")
    classification: Classification | None = Field(
        None,
        description="GB/T 43697-2024 industry, grade (general|important|core; missing counts as important), "
        "general level 1-4, basis, and the personal information declared (sensitive categories, consent).",
    )
    registration: Registration | None = Field(
        None, description="Public data resource registration (公共数据资源登记): code, registry, date."
    )

    @property
    def commercial(self) -> bool:
        return bool(self.commercial_use) or "commercial" in self.permitted_uses


def supply_from(data: dict[str, Any], source: str) -> Supply:
    """A supply block from a mapping; a bad one is a ``UsageError`` naming ``source`` and the field."""
    from pydantic import ValidationError

    from corpus_kit.errors import UsageError

    try:
        return Supply.model_validate(data)
    except ValidationError as error:
        _, field, message = first_validation_error(error)
        raise UsageError(f"{source}: {field or 'supply'}: {message}") from None


class Counts(_Model):
    """Record accounting. Invariant: ``input == output + sum(dropped) + rejected``."""

    input: int = Field(ge=0, description="Records read from all sources, malformed ones included.")
    output: int = Field(ge=0, description="Rows in the data files.")
    rejected: int = Field(ge=0, description="Malformed records, listed in rejects/ with a reason.")
    dropped: dict[str, int] = Field(
        default_factory=dict, description="Records removed by stages, by dotted reason id."
    )

    def invariant_holds(self) -> bool:
        return self.input == self.output + sum(self.dropped.values()) + self.rejected


class PiiImagesSummary(_Model):
    """Personal data inside pictures (the pii step's ``images``): counts only, never text or values."""

    mode: Literal["drop", "blur", "off"] = Field(
        description="drop (records whose pictures hold personal data), blur (text boxes blurred), "
        "off (pictures not screened)."
    )
    faces_mode: Literal["count", "drop", "blur", "off"] = Field(description="What was done with faces.")
    engine: str | None = Field(None, description="OCR and face-detection packages and models used.")
    not_screened_reason: str | None = Field(
        None, description="Why pictures were not screened (the ocr extra missing, images: off)."
    )
    max_pixels: int = Field(ge=1, description="Pixel cap, read from the header before decoding.")
    ocr_side: int = Field(ge=1, description="Long side, in pixels, pictures are brought to for OCR.")
    pictures: int = Field(0, ge=0, description="Pictures the step saw.")
    screened: int = Field(0, ge=0, description="Pictures read with OCR (and looked at for faces).")
    not_screened: int = Field(
        0, ge=0, description="Pictures passed on unread (no ocr extra, images: off, no bytes)."
    )
    unreadable: int = Field(
        0,
        ge=0,
        description="Pictures that could not be screened within the bounds: records dropped "
        "(pii.image_unreadable).",
    )
    with_pii: int = Field(0, ge=0, description="Pictures in which personal data was found.")
    dropped: int = Field(0, ge=0, description="Records dropped for it (pii.image).")
    blurred: int = Field(
        0, ge=0, description="Pictures kept with the regions blurred (bytes and sha256 new)."
    )
    entities: dict[str, int] = Field(default_factory=dict, description="Values found in pictures per type.")
    faces: int = Field(0, ge=0, description="Faces found (biometric data).")
    pictures_with_faces: int = Field(0, ge=0)
    faces_kept: int = Field(0, ge=0, description="Of those, faces left in pictures of the output.")
    faces_blurred: int = Field(0, ge=0)
    dropped_for_faces: int = Field(0, ge=0, description="Records dropped for faces (pii.face).")
    other_media_not_screened: int = Field(0, ge=0, description="Audio, video and other media: not screened.")


class PiiSummary(_Model):
    """What PII scrubbing did: counts only, never values."""

    operator: str = Field(description="replace | mask | hash | redact")
    entities: dict[str, int] = Field(default_factory=dict, description="Spans scrubbed per entity type.")
    documents: int = Field(0, ge=0, description="Documents in which at least one span was scrubbed.")
    places: dict[str, int] = Field(
        default_factory=dict,
        description="Values scrubbed per place: text, ids, keys (field and column names), metadata, "
        "file_names (input file names, per record; manifest sources show them scrubbed too), media (URIs).",
    )
    checked: list[str] = Field(default_factory=list, description="Entity types the scan looked for.")
    rules_version: str | None = Field(None, description="Version of the PII rule file used.")
    inherited_from: list[str] = Field(
        default_factory=list,
        description="A sample (corpus-kit sample): the parent datasets whose pii steps scrubbed its rows "
        "(name version); entities and places are not counted again, documents counts the drawn rows "
        "with scrubbed spans.",
    )
    images: PiiImagesSummary | None = Field(
        None, description="Pictures: screened or not (and why), dropped, blurred, entities and faces."
    )


class LicenceEntry(_Model):
    """One licence expression found in the output, with the registry facts it was judged by."""

    records: int = Field(ge=0)
    use: Literal["commercial", "unspecified", "non-commercial", "academic-only"]
    open: bool
    attribution: bool
    share_alike: bool
    hub: str = Field(description="Hub licence id, 'other' or 'unknown'.")
    registered: bool = Field(description="Every licence in the expression is in the registry.")


class DatasetLicence(_Model):
    """The dataset's licence, resolved over all output rows (the most restrictive use wins)."""

    expression: str = Field(description="SPDX expression covering the dataset (AND of all row licences).")
    use: Literal["commercial", "unspecified", "non-commercial", "academic-only"]
    open: bool = Field(description="Every row licence is open (Open Definition sense).")
    attribution: bool
    share_alike: bool
    share_alike_licences: list[str] = Field(default_factory=list)
    hub_id: str = Field(description="Hub licence id for the card, or 'other'.")
    hub_name: str | None = Field(None, description="With hub_id 'other': the licence name for the card.")
    licences: dict[str, LicenceEntry] = Field(description="Per expression, as counted in the data.")
    unlicensed: int = Field(0, ge=0, description="Rows without a licence or with NOASSERTION.")
    registry_version: str


class SourceRuleRecord(_Model):
    """A sources.yaml entry that licensed records, with its evidence (never record content)."""

    match: str = Field(description="How records were matched: name=..., path=... or url_prefix=...")
    license: str
    source_type: str | None = Field(
        None, description="open_source | self_collected | commercial | user_input | public_data"
    )
    evidence: str | None = Field(None, description="Where the evidence is kept (public text).")
    licence_sha256: str | None = Field(None, description="sha256 of the licence or authorisation document.")
    contract_sha256: str | None = Field(
        None, description="sha256 commitment to the contract or agreement id (the id itself is not kept)."
    )
    collected_at: date | None = Field(None, description="Self-collected data: when it was collected.")
    collection_method: str | None = Field(None, description="Self-collected data: how it was collected.")
    robots_txt: bool | None = Field(
        None, description="Self-collected data: robots.txt and opt-outs respected."
    )
    supplier_guarantee: bool | None = Field(
        None, description="Commercial data: the supplier committed to its source, quality and safety."
    )
    records: int = Field(ge=0, description="Records whose licence came from this entry.")


class QualitySummary(_Model):
    """What the quality rules did, per language (drops per rule are also in counts.dropped)."""

    rules_version: str
    checked: dict[str, int] = Field(default_factory=dict, description="Records checked per language.")
    dropped: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="Per language: records dropped per rule id."
    )


class DedupSummary(_Model):
    """What deduplication did across all input files (drops per reason are also in counts.dropped)."""

    mode: str = Field(description="exact | near | both")
    documents: int = Field(ge=0, description="Records fingerprinted.")
    clusters: int = Field(ge=0, description="Duplicate clusters (two or more records).")
    largest_cluster: int = Field(ge=0, description="Records in the largest cluster.")
    dropped: dict[str, int] = Field(default_factory=dict, description="Records dropped per reason.")
    candidate_pairs: int = Field(0, ge=0, description="Pairs proposed by LSH bands.")
    verified_pairs: int = Field(0, ge=0, description="Of those, pairs at or above the threshold.")
    media_items: int = Field(0, ge=0, description="Images and audio items fingerprinted.")
    images_exact_only: int = Field(
        0,
        ge=0,
        description="Images matched byte for byte only: flat (blank, near-uniform, fully transparent), "
        "undecodable or over the pixel cap.",
    )
    survivor: str = Field(
        "first in input order",
        description="Which record of a cluster is kept: the keep policy (first | longest | best_media | "
        "source_priority); ties go to the first in input order (input files sorted, then position).",
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="Settings used (rules/dedup.yaml + overrides)."
    )
    index_hits: int = Field(0, ge=0, description="Records dropped as dedup.index (already in an index).")
    against: list[dict[str, Any]] = Field(
        default_factory=list, description="Indexes looked up (--against): path, records, segments."
    )
    index_segment: str | None = Field(
        None, description="Segment this run added to its --index-out index (this manifest binds it)."
    )

    @classmethod
    def from_state(cls, summary: dict[str, Any]) -> DedupSummary:
        parameters = summary.get("parameters", {})
        return cls(
            mode=parameters.get("mode", "both"),
            documents=summary.get("documents", 0),
            clusters=summary.get("clusters", 0),
            largest_cluster=summary.get("largest_cluster", 0),
            dropped=summary.get("dropped", {}),
            candidate_pairs=summary.get("candidate_pairs", 0),
            verified_pairs=summary.get("verified_pairs", 0),
            media_items=summary.get("media_items", 0),
            images_exact_only=summary.get("images_without_phash", 0),
            survivor=summary.get("survivor", "first in input order"),
            parameters=parameters,
            index_hits=summary.get("index_hits", 0),
            against=summary.get("against", []),
            index_segment=summary.get("index_segment"),
        )


class Source(_Model):
    """One input file (or save_to_disk folder) and what came of it."""

    uri: str = Field(description="Path relative to the working directory, 'corpus-kit:' for bundled data.")
    format: str = Field(description="jsonl | parquet | webdataset | hf_disk")
    sha256: str = Field(description="sha256 of the file (of the sorted file listing for a folder).")
    bytes: int = Field(ge=0)
    records: int = Field(ge=0, description="Records read, malformed ones included.")
    rejected: int = Field(0, ge=0, description="Of those, how many went to rejects/.")
    license: str | None = Field(None, description="Licence of the source, when one applies to all of it.")


class DataFile(_Model):
    """One Parquet file of the dataset."""

    path: str = Field(description="Relative to the dataset folder, e.g. data/train-00000-of-00001.parquet.")
    sha256: str
    bytes: int = Field(ge=0)
    rows: int = Field(ge=0)

    @field_validator("path")
    @classmethod
    def _inside_the_dataset(cls, value: str) -> str:
        # verify opens and publish copies this path: it must not lead out of the dataset folder
        return check_relative_path(value, DATASET_FOLDERS, "the file path")


class RestrictedFolder(_Model):
    """A folder beside the data that may hold raw personal data and is never published."""

    path: str = Field(description="Relative folder, e.g. 'rejects/'.")
    records: int = Field(ge=0)
    files: list[DataFile] = Field(default_factory=list)
    reason: str

    @field_validator("path")
    @classmethod
    def _inside_the_dataset(cls, value: str) -> str:
        return check_relative_path(value, DATASET_FOLDERS, "the restricted folder")


class StepRecord(_Model):
    """One pipeline step as it ran."""

    name: str = Field(description="Step id, e.g. 'read', 'dedup', 'write'.")
    params: dict[str, Any] = Field(default_factory=dict, description="Resolved parameters.")
    input: int = Field(0, ge=0, description="Records that entered the step.")
    output: int = Field(0, ge=0, description="Records the step passed on.")
    dropped: dict[str, int] = Field(default_factory=dict)
    seconds: float = Field(0.0, ge=0, description="Time spent in the step, summed over tasks.")


class LedgerSummary(_Model):
    """The record ledger's rows (``ledger/``, restricted) counted by fate and reason when written;
    ``manifest validate`` checks them against the counts (CK125), ``manifest verify`` recounts the files."""

    rows: int = Field(ge=0, description="Ledger rows: one per input record, rejects included.")
    kept: int = Field(ge=0, description="Rows of records written to data/.")
    dropped: dict[str, int] = Field(default_factory=dict, description="Rows of dropped records by reason.")
    rejected: dict[str, int] = Field(default_factory=dict, description="Rows of rejected records by reason.")


class PipelineRecord(_Model):
    """How the dataset was made."""

    name: str = Field(description="Pipeline name (the YAML's name, or the command).")
    steps: list[StepRecord]
    config_sha256: str = Field(description="sha256 of the resolved configuration (canonical JSON).")
    versions: dict[str, str] = Field(description="corpus-kit, Python and key dependency versions.")
    tasks: int = Field(ge=1)
    wall_seconds: float = Field(ge=0)


class Manifest(_Model):
    """``manifest.json``: the compliance record written last, atomically, next to ``data/``."""

    model_config = ConfigDict(
        extra="forbid",
        title="corpus-kit dataset manifest",
        json_schema_extra={"$id": "https://corpus-kit.dev/schemas/manifest-1.json"},
    )

    schema_version: Literal["1"] = SCHEMA_VERSION
    dataset: DatasetInfo
    supply: Supply | None = Field(None, description="Supply mode block; null when none was declared.")
    counts: Counts
    languages: dict[str, int] = Field(default_factory=dict, description="Output rows per language.")
    licenses: dict[str, int] = Field(default_factory=dict, description="Output rows per licence.")
    license: DatasetLicence | None = Field(None, description="Licence resolution over all output rows.")
    pii: PiiSummary | None = Field(None, json_schema_extra=_STAGE_SECTION)
    quality: QualitySummary | None = Field(
        None, description="Quality rules: counts per language and rule.", json_schema_extra=_STAGE_SECTION
    )
    dedup: DedupSummary | None = Field(
        None,
        description="Deduplication: clusters, drops per reason, parameters.",
        json_schema_extra=_STAGE_SECTION,
    )
    personal_information: PersonalInformation | None = Field(
        None,
        description="What the run found about personal information: entity counts, sensitive ones by "
        "category (rules/classification_policy.yaml), minors declared, precise location, de-identified.",
    )
    safety: SafetySummary | None = Field(
        None,
        description="Content safety (TC260-003 / GB/T 45654): lexicons and coverage, records flagged per "
        "risk code and per source, blacklisted sources, technical and manual checks. Codes and counts only.",
        json_schema_extra=_STAGE_SECTION,
    )
    tokens: TokensSummary | None = Field(
        None,
        description="Size in tokens: the tokenizer (library, version, vocabulary sha256) and tokens by "
        "language, source, licence and split.",
        json_schema_extra=_STAGE_SECTION,
    )
    decontamination: DecontaminationSummary | None = Field(
        None,
        description="Decontamination against evaluation sets: n-gram settings, evaluation files' sha256, "
        "per-benchmark items, grams and contaminated records. Counts only, never evaluation text.",
        json_schema_extra=_STAGE_SECTION,
    )
    sample: SampleRecord | None = Field(
        None,
        description="A token-budget sample (corpus-kit sample): its parents (name, version, manifest "
        "sha256), the draw (by, requested weights, achieved token shares, seed, target and drawn tokens "
        "and rows), the tokenizer, and how the supply block was narrowed from the parents'.",
        json_schema_extra=_STAGE_SECTION,
    )
    media: MediaSummary | None = Field(
        None,
        description="Media checks (corpus-kit media): items, bytes and durations per modality, items "
        "failing each check, records dropped per reason, metadata removed (GPS, serials, owner names "
        "counted, never their values). Whether pictures were screened for personal data: the pii block.",
        json_schema_extra=_STAGE_SECTION,
    )
    sources: list[Source]
    provenance: list[SourceRuleRecord] = Field(
        default_factory=list,
        description="sources.yaml entries used by the license step.",
        json_schema_extra=_STAGE_SECTION,
    )
    files: list[DataFile]
    restricted: list[RestrictedFolder] = Field(
        default_factory=list, description="Folders never to publish (rejects/, removed/, ledger/)."
    )
    ledger: LedgerSummary | None = Field(
        None, description="The record ledger's rows by fate and reason (null: made before ledgers)."
    )
    pipeline: PipelineRecord
    stages: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Sections of stages that have no field above (plugins, newer stages), by section "
        "name; each was validated by its stage's section model when the manifest was written.",
    )
    seal_sha256: str | None = Field(
        None,
        description="sha256 of the canonical JSON (keys sorted, no white space) of every other field, "
        "written with the manifest and checked by `manifest verify` and `validate`: a manifest edited "
        "by hand (a supply mode, a count, a file) no longer matches. It detects edits, it does not "
        "prove who wrote the manifest: that is what a signature is for.",
    )

    @model_validator(mode="after")
    def _files_in_their_folders(self) -> Manifest:
        for item in self.files:
            if not item.path.startswith("data/"):
                raise ValueError(f"files: {item.path!r} is not under data/")
        for folder in self.restricted:
            prefix = folder.path.rstrip("/") + "/"
            for item in folder.files:
                if not item.path.startswith(prefix):
                    raise ValueError(f"restricted: {item.path!r} is not under {prefix}")
        return self

    def write(self, folder: str | Path) -> Path:
        """Write ``manifest.json`` atomically (temporary file, then rename), sealed."""
        path = Path(folder) / MANIFEST_NAME
        # the model carries its seal from now on: what a caller checks is what the file holds
        self.seal_sha256 = manifest_seal(orjson.loads(self.model_dump_json(exclude={SEAL_FIELD})))
        atomic_write_bytes(path, (self.model_dump_json(indent=2) + "\n").encode())
        return path

    @classmethod
    def read(cls, path: str | Path) -> Manifest:
        return cls.model_validate_json(Path(path).read_bytes())


def read_dataset_manifest(dataset: str | Path) -> Manifest:
    """The manifest of a dataset folder (or a manifest file); a missing or invalid one is a failed
    check (exit 1)."""
    from pydantic import ValidationError

    from corpus_kit.errors import CheckFailed

    path = Path(dataset) if Path(dataset).is_file() else Path(dataset) / MANIFEST_NAME
    if not path.is_file():
        raise CheckFailed(
            f"{dataset}: no {MANIFEST_NAME}; the dataset is incomplete or was not built by corpus-kit"
        )
    try:
        return Manifest.read(path)
    except ValidationError:
        raise CheckFailed(
            f"{path}: not a valid manifest; run corpus-kit manifest validate for details"
        ) from None


def manifest_seal(document: dict[str, Any]) -> str:
    """The seal of a manifest's JSON object: sha256 of every field but the seal, canonically encoded."""
    body = {key: value for key, value in document.items() if key != SEAL_FIELD}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def seal_problem(raw: bytes) -> str | None:
    """Why a manifest file's seal does not hold (missing, or the content changed), else ``None``."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return "is not valid JSON"
    if not isinstance(document, dict):
        return "is not a JSON object"
    seal = document.get(SEAL_FIELD)
    if not seal:
        return "has no seal_sha256; it was not written by this corpus-kit or the seal was removed"
    if seal != manifest_seal(document):
        return "was changed after corpus-kit wrote it (seal_sha256 does not match its content)"
    return None


def commitment_sha256(value: str) -> str:
    """The sha256 commitment the manifest keeps for a confidential id (its UTF-8 text, stripped)."""
    return hashlib.sha256(value.strip().encode()).hexdigest()


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)
