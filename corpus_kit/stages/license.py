"""``license`` stage: give every record a normalised SPDX licence expression.

A record's licence is, in this order: its own ``metadata.license`` (normalised), else the licence
of the first ``sources.yaml`` entry that matches it (by source name, input path glob or URL
prefix), else ``--default``. A value that cannot be parsed, or names a licence the registry does
not know, is *unknown*: dropped with reason ``license.unknown`` (``--unknown drop``, the default)
or kept as ``NOASSERTION`` (``--unknown keep``) with the original value in ``license_raw``.

``sources.yaml``::

    sources:
      - name: sz-open-data                 # matches metadata.source
        license: CC-BY-4.0
        type: public_data                  # open_source|self_collected|commercial|user_input|public_data
        evidence: https://opendata.sz.gov.cn/terms
        licence_sha256: 3b0c...            # sha256 of the licence document (64 hex digits)
      - path: "raw/health/*.parquet"       # glob on the input file
        license: LicenseRef-sz-health-data-agreement
        type: commercial
        contract_id: SZH-2026-017          # the manifest keeps only its sha256 commitment
        supplier_guarantee: true
      - name: web-crawl-2026-10
        license: CC-BY-4.0
        type: self_collected
        collected_at: 2026-10-31
        collection_method: crawl of public pages
        robots_txt: true
      - url_prefix: https://news.example.cn/
        license: CC-BY-NC-4.0
    licences:                              # your own LicenseRef-* facts (fields as rules/licences.yaml)
      - {spdx: LicenseRef-sz-health-data-agreement, hub: other, open: false, use: commercial,
         attribution: true, share_alike: false, name: Shenzhen health data agreement}
"""

from __future__ import annotations

import fnmatch
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.utils.stats import Stats
from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError, model_validator

from corpus_kit.errors import UsageError
from corpus_kit.governance.accounting import metric_total
from corpus_kit.governance.licence_registry import (
    NOASSERTION,
    LicenceFacts,
    LicenceRegistry,
    registry_for,
    registry_key,
)
from corpus_kit.governance.manifest import SourceRuleRecord, commitment_sha256
from corpus_kit.stages.base import Stage, StageContext, StageParams
from corpus_kit.utils import first_validation_error, load_yaml_file

if TYPE_CHECKING:
    from datatrove.pipeline.base import PipelineStep

    from corpus_kit.io.parquet_writer import ParquetShardWriter

_RESOLVED_CACHE = 4096  # distinct licence strings remembered per process and registry

# Resolutions per registry (registry_key), kept for the process: the registry and these are built
# in the parent before workers are forked (``warm_up``) instead of once per task
_RESOLVED: dict[str, dict[str, tuple[str | None, bool]]] = {}

SourceType = Literal["open_source", "self_collected", "commercial", "user_input", "public_data"]


class SourceRule(BaseModel):
    """One line of sources.yaml: how to recognise a source, and its licence and evidence."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, description="equals the record's metadata.source")
    path: str | None = Field(None, description="glob matched against the input file")
    url_prefix: str | None = Field(None, description="prefix of the record's metadata.url")
    license: str
    type: SourceType | None = None
    evidence: str | None = Field(
        None, description="where the evidence is kept (a licence URL, a record reference); public text"
    )
    licence_sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$", description="sha256 of the licence or authorisation document"
    )
    contract_id: str | None = Field(
        None,
        description="contract or cooperation agreement id; only its sha256 commitment reaches the manifest",
    )
    collected_at: date | None = Field(None, description="self-collected: when the data was collected")
    collection_method: str | None = Field(None, description="self-collected: how (crawl, API, survey...)")
    robots_txt: bool | None = Field(None, description="self-collected: robots.txt and opt-outs respected")
    supplier_guarantee: bool | None = Field(
        None, description="commercial: the supplier committed to the source, quality and safety of the data"
    )

    @model_validator(mode="after")
    def _one_matcher(self) -> SourceRule:
        if sum(value is not None for value in (self.name, self.path, self.url_prefix)) != 1:
            raise ValueError("give exactly one of name, path or url_prefix")
        return self

    def describe(self) -> str:
        if self.name is not None:
            return f"name={self.name}"
        if self.path is not None:
            return f"path={self.path}"
        return f"url_prefix={self.url_prefix}"


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[SourceRule] = Field(default_factory=list)
    licences: list[LicenceFacts] = Field(default_factory=list)


def load_sources(path: str | Path) -> SourcesFile:
    """Read and check a sources.yaml; every licence it names must be known to the registry."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: sources file not found; see the license command's help for its format")
    try:
        sources = SourcesFile.model_validate(load_yaml_file(path, "sources file") or {})
    except ValidationError as error:
        _, where, message = first_validation_error(error)
        raise UsageError(f"{path}: {where}: {message}") from None
    registry = registry_for(sources.licences)
    for index, rule in enumerate(sources.sources):
        normalized = registry.normalize(rule.license)
        if normalized is None or not registry.facts(normalized).known:
            raise UsageError(
                f"{path}: sources.{index}.license {rule.license!r} is not in the licence registry; "
                "use an SPDX id from rules/licences.yaml or describe it under licences:"
            )
    return sources


class LicenseTagger(BaseFilter):
    """Sets ``metadata.license`` (normalised SPDX) and drops or flags records with no known licence.

    Stats: ``license_from_record|source|default``, ``license_unknown_kept``, ``rule/<index>``.
    """

    name = "🏷 licence"

    def __init__(
        self,
        sources: SourcesFile | None = None,
        default: str | None = None,
        unknown: Literal["drop", "keep"] = "drop",
        exclusion_writer: ParquetShardWriter | None = None,
    ):
        super().__init__(exclusion_writer=exclusion_writer)
        self.sources = sources or SourcesFile()
        self.default = default
        self.unknown = unknown
        self._path_cache: dict[str, int | None] = {}
        # which process-wide registry this step uses: the bundled one plus its sources' own licences
        self._registry_key = registry_key(self.sources.licences)

    def provenance(self, stats: Stats) -> list[SourceRuleRecord]:
        """The sources.yaml entries, with their evidence and how many records each licensed."""
        return [
            SourceRuleRecord(
                match=rule.describe(),
                license=rule.license,
                source_type=rule.type,
                evidence=rule.evidence,
                licence_sha256=rule.licence_sha256,
                contract_sha256=commitment_sha256(rule.contract_id) if rule.contract_id else None,
                collected_at=rule.collected_at,
                collection_method=rule.collection_method,
                robots_txt=rule.robots_txt,
                supplier_guarantee=rule.supplier_guarantee,
                records=metric_total(stats.stats.get(f"rule/{index}")),
            )
            for index, rule in enumerate(self.sources.sources)
        ]

    def _cached(self) -> tuple[LicenceRegistry, dict[str, tuple[str | None, bool]]]:
        # found where it is used (once per process) instead of being pickled with the step
        registry = registry_for(self.sources.licences, self._registry_key)
        return registry, _RESOLVED.setdefault(self._registry_key, {})

    def warm_up(self) -> None:
        """Build the registry and resolve the configured licences now (in a parent, before workers fork)."""
        for raw in [self.default, *(rule.license for rule in self.sources.sources)]:
            if raw:
                self._resolve(raw)

    def _match(self, document: Document) -> int | None:
        metadata = document.metadata
        source, url, source_file = metadata.get("source"), metadata.get("url"), metadata.get("source_file")
        for index, rule in enumerate(self.sources.sources):
            if rule.name is not None and rule.name == source:
                return index
            if rule.url_prefix is not None and isinstance(url, str) and url.startswith(rule.url_prefix):
                return index
            if rule.path is not None and isinstance(source_file, str):
                key = f"{index}\0{source_file}"
                if key not in self._path_cache:
                    self._path_cache[key] = index if fnmatch.fnmatch(source_file, rule.path) else None
                if self._path_cache[key] is not None:
                    return index
        return None

    def _resolve(self, raw: object) -> tuple[str | None, bool]:
        """(normalised expression, known to the registry); a few distinct strings cover most records."""
        registry, remembered = self._cached()
        key = raw if isinstance(raw, str) else None
        if key is not None and key in remembered:
            return remembered[key]
        normalized = registry.normalize(raw) if raw is not None else None
        resolved = normalized, normalized is not None and registry.facts(normalized).known
        if key is not None and len(remembered) < _RESOLVED_CACHE:
            remembered[key] = resolved
        return resolved

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        metadata = doc.metadata
        raw = metadata.get("license")
        origin = "record"
        if raw is None or raw == "":
            rule_index = self._match(doc) if self.sources.sources else None
            if rule_index is not None:
                rule = self.sources.sources[rule_index]
                raw, origin = rule.license, "source"
                self.stat_update(f"rule/{rule_index}")
                if rule.type:
                    metadata["source_type"] = rule.type
            elif self.default:
                raw, origin = self.default, "default"
        normalized, known = self._resolve(raw)
        if not known:
            if self.unknown == "drop":
                return False, "license.unknown"
            if raw is not None:
                metadata["license_raw"] = str(raw)[:200]
            normalized = NOASSERTION
            self.stat_update("license_unknown_kept")
        metadata["license"] = normalized
        self.stat_update(f"license_from_{origin}")
        return True


class LicenseParams(StageParams):
    sources: str | None = Field(
        None,
        description="sources.yaml: source name / path glob / URL prefix -> licence.",
        json_schema_extra={"path": True},
    )
    default: str | None = Field(None, description="Licence for records that have none and match no source.")
    unknown: Literal["drop", "keep"] = Field(
        "drop", description="Records with no known licence: drop (license.unknown) or keep (NOASSERTION)."
    )


class Provenance(RootModel[list[SourceRuleRecord]]):
    """The sources.yaml entries used by the license step (the manifest's ``provenance``)."""


class LicenseStage(Stage[LicenseParams]):
    """Tag every record with a normalised SPDX licence (own metadata > sources.yaml > --default)."""

    name = "license"
    summary = "Tag every record with a normalised SPDX licence (own metadata > sources.yaml > --default)."
    params_model = LicenseParams
    reasons = ("license.unknown",)
    columns = ("license", "source_type", "license_raw")
    section_model = Provenance
    section_key = "provenance"
    example = "- license: {sources: sources.yaml, default: CC-BY-4.0, unknown: drop}"

    def build(self, params: LicenseParams, context: StageContext) -> LicenseTagger:
        path = context.resolve_path(params.sources)
        sources = load_sources(path) if path else None
        default = params.default
        if default is not None:
            registry = registry_for(sources.licences if sources else None)
            normalized = registry.normalize(default)
            if normalized is None or not registry.facts(normalized).known:
                raise UsageError(
                    f"--default {default!r} is not a licence in the registry (rules/licences.yaml)"
                )
            default = normalized
        writer = context.exclusion_writer()
        return LicenseTagger(
            sources=sources, default=default, unknown=params.unknown, exclusion_writer=writer
        )

    def manifest_section(self, step: PipelineStep, stats: Stats) -> Provenance:
        assert isinstance(step, LicenseTagger)
        return Provenance(step.provenance(stats))

    def licence_definitions(self, step: PipelineStep) -> list[LicenceFacts]:
        assert isinstance(step, LicenseTagger)
        return list(step.sources.licences)
