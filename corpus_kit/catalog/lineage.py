"""Lineage exports of a dataset's manifest: OpenLineage, W3C PROV and in-toto SLSA v1 (docs/lineage.md).

``export_lineage(dataset, fmt)`` reads a sealed ``manifest.json`` and returns one JSON document:

* ``openlineage``: a COMPLETE ``RunEvent`` built with ``openlineage-python``'s classes (sources as
  inputs, data files and the dataset as outputs, with sha256, schema and corpus-kit facets);
* ``prov``: a PROV-JSON document built with ``prov`` (sources, data files and the dataset as
  entities, one activity per pipeline step, corpus-kit as the software agent);
* ``slsa``: an in-toto Statement v1 with an SLSA provenance v1 predicate (data files and the
  manifest as subjects, sources and licence documents as resolved dependencies).

Every document is validated before it is returned (``validate_*``): rebuilt through the package's
own classes and compared, or checked against the format's field list. Only what the manifest
holds goes out, and of the supply block only the terms: buyers, partners, contract, agreement and
authorisation ids and organisation names appear as the card's short sha256 commitments.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

from corpus_kit import __version__
from corpus_kit.catalog.card import commitment
from corpus_kit.errors import CheckFailed, UsageError
from corpus_kit.governance.manifest import MANIFEST_NAME, Manifest, seal_problem

FORMATS = ("openlineage", "prov", "slsa")
#: The Python modules the exports import (the ``lineage`` extra installs them).
LINEAGE_MODULES = ("openlineage", "prov")
NAMESPACE = "corpus-kit"
URI_BASE = "https://corpus-kit.dev"
BUILD_TYPE = f"{URI_BASE}/lineage/build/v1"
FACET_SCHEMA_BASE = f"{URI_BASE}/schemas/openlineage/1-0-0"
PROV_NAMESPACE = f"{URI_BASE}/ns/prov#"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
SLSA_PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
#: Supply fields that name a party or a confidential document: exported only as commitments.
COMMITTED_SUPPLY_FIELDS = (
    "buyers",
    "contract_id",
    "agreement_id",
    "authorisation_id",
    "partners",
    "authoriser",
    "operator",
)
#: Supply fields exported as they are: the terms of use, no party and no free text.
PUBLIC_SUPPLY_FIELDS = ("mode", "valid_from", "valid_until", "permitted_uses", "commercial_use")


def _require(module: str, fmt: str) -> None:
    from importlib.util import find_spec

    if find_spec(module) is None:
        raise UsageError(f'the {fmt} export needs {module!r}: pip install "corpus-kit[lineage]"')


# --- what every format shares --------------------------------------------------------------------


def run_id(manifest: Manifest) -> str:
    """The run's id: a UUID derived from the manifest seal (the same manifest, the same id)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{URI_BASE}/run/{manifest.seal_sha256}"))


def run_times(manifest: Manifest) -> tuple[datetime, datetime]:
    """When the run started and finished: the manifest is written last, after ``wall_seconds``."""
    finished = manifest.dataset.created_at.astimezone(timezone.utc)
    return finished - timedelta(seconds=round(manifest.pipeline.wall_seconds)), finished


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def corpus_kit_version(manifest: Manifest) -> str:
    return manifest.pipeline.versions.get("corpus-kit", "unknown")


def confidential_values(manifest: Manifest) -> list[str]:
    """The supply block's party names and ids, none of which may appear in an export."""
    if manifest.supply is None:
        return []
    values: list[str] = []
    for field in COMMITTED_SUPPLY_FIELDS:
        value = getattr(manifest.supply, field, None)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item.strip():
                values.append(item.strip())
    return values


def _scrub(value: Any, secrets: list[str]) -> Any:
    """``value`` with every string that holds a confidential value replaced by its commitment."""
    if isinstance(value, str):
        return commitment(value) if any(secret in value for secret in secrets) else value
    if isinstance(value, dict):
        return {key: _scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item, secrets) for item in value]
    return value


def supply_terms(manifest: Manifest) -> dict[str, Any] | None:
    """The supply block as exported: its terms, and commitments (as the card shows) for its parties."""
    supply = manifest.supply
    if supply is None:
        return None
    dumped = supply.model_dump(mode="json")
    terms: dict[str, Any] = {
        field: dumped[field] for field in PUBLIC_SUPPLY_FIELDS if dumped.get(field) not in (None, [], "")
    }
    for field in COMMITTED_SUPPLY_FIELDS:
        value = dumped.get(field)
        if value not in (None, [], ""):
            terms[f"{field}_commitment"] = commitment(value)
    return terms


def classification_summary(manifest: Manifest) -> dict[str, Any] | None:
    """The declared classification (grade, industry, level), registration and personal-information
    status, when the manifest holds them (counts and categories only)."""
    supply = manifest.supply
    classification = getattr(manifest, "classification", None) or getattr(supply, "classification", None)
    registration = getattr(manifest, "registration", None) or getattr(supply, "registration", None)
    found = getattr(manifest, "personal_information", None)
    summary: dict[str, Any] = {}
    if classification is not None:
        for field in ("grade", "industry", "general_level", "basis"):
            value = getattr(classification, field, None)
            if value is not None:
                summary[field] = getattr(value, "value", value)
    if registration is not None:
        summary["registration"] = {
            key: str(value)
            for key in ("code", "registry", "date")
            if (value := getattr(registration, key, None)) is not None
        }
    if found is not None:
        summary["personal_information"] = {
            key: getattr(found, key)
            for key in ("screened", "sensitive", "minors", "precise_location", "deidentified")
            if getattr(found, key, None) is not None
        }
    return summary or None


def counts_summary(manifest: Manifest) -> dict[str, Any]:
    counts = manifest.counts
    return {
        "input": counts.input,
        "output": counts.output,
        "rejected": counts.rejected,
        "dropped": dict(counts.dropped),
        "languages": dict(manifest.languages),
        "licences": dict(manifest.licenses),
    }


def licence_summary(manifest: Manifest) -> dict[str, Any] | None:
    licence = manifest.license
    if licence is None:
        return None
    return {
        "expression": licence.expression,
        "use": licence.use,
        "open": licence.open,
        "attribution": licence.attribution,
        "share_alike": licence.share_alike,
        "hub_id": licence.hub_id,
        "unlicensed": licence.unlicensed,
        "registry_version": licence.registry_version,
    }


def steps_summary(manifest: Manifest) -> list[dict[str, Any]]:
    """The pipeline steps with their resolved parameters (as the manifest holds them) and counts."""
    secrets = confidential_values(manifest)
    return [
        {
            "name": step.name,
            "params": _scrub(step.params, secrets),
            "input": step.input,
            "output": step.output,
            "dropped": dict(step.dropped),
            "seconds": step.seconds,
        }
        for step in manifest.pipeline.steps
    ]


def source_evidence(manifest: Manifest) -> list[dict[str, Any]]:
    """The sources.yaml entries the licence step used, with their evidence: the licence document's
    sha256, the contract as the card's short commitment, collection facts (the ``evidence`` note,
    where the documents are kept, is left to the card)."""
    evidence = []
    for entry in manifest.provenance:
        item: dict[str, Any] = {"match": entry.match, "license": entry.license, "records": entry.records}
        if entry.source_type:
            item["source_type"] = entry.source_type
        if entry.licence_sha256:
            item["licence_sha256"] = entry.licence_sha256
        if entry.contract_sha256:
            item["contract_commitment"] = f"sha256:{entry.contract_sha256[:16]}"
        if entry.collected_at:
            item["collected_at"] = entry.collected_at.isoformat()
        for field in ("collection_method", "robots_txt", "supplier_guarantee"):
            if getattr(entry, field) is not None:
                item[field] = getattr(entry, field)
        evidence.append(item)
    return evidence


def _manifest_sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _output_name(manifest: Manifest, path: str | None = None) -> str:
    base = f"{manifest.dataset.name}@{manifest.dataset.version}"
    return base if path is None else f"{base}/{path}"


def _source_namespace(uri: str) -> str:
    return NAMESPACE if uri.startswith("corpus-kit:") else "file"


def _dumps(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


# --- OpenLineage ---------------------------------------------------------------------------------


@cache
def _facet_classes() -> dict[str, type]:
    """corpus-kit's custom OpenLineage facets (attrs classes on the client's base facets)."""
    import attr
    from openlineage.client.generated.base import DatasetFacet, RunFacet

    def schema(name: str) -> Callable[[], str]:
        return staticmethod(lambda: f"{FACET_SCHEMA_BASE}/{name}.json#/$defs/{name}")

    @attr.define
    class CorpusKitChecksumDatasetFacet(DatasetFacet):
        """sha256 and size of a file, as the manifest records them."""

        sha256: str = attr.field()
        bytes: int | None = attr.field(default=None)
        algorithm: str = attr.field(default="sha256")
        _get_schema = schema("CorpusKitChecksumDatasetFacet")

    @attr.define
    class CorpusKitSupplyDatasetFacet(DatasetFacet):
        """Supply mode and terms; parties and ids as sha256 commitments (as the card shows them)."""

        mode: str = attr.field()
        terms: dict[str, Any] = attr.field(factory=dict)
        _get_schema = schema("CorpusKitSupplyDatasetFacet")

    @attr.define
    class CorpusKitLicenceDatasetFacet(DatasetFacet):
        """The dataset's licence expression and what it allows."""

        expression: str = attr.field()
        use: str | None = attr.field(default=None)
        open: bool | None = attr.field(default=None)
        attribution: bool | None = attr.field(default=None)
        share_alike: bool | None = attr.field(default=None)
        hub_id: str | None = attr.field(default=None)
        unlicensed: int | None = attr.field(default=None)
        registry_version: str | None = attr.field(default=None)
        _get_schema = schema("CorpusKitLicenceDatasetFacet")

    @attr.define
    class CorpusKitCountsDatasetFacet(DatasetFacet):
        """Record accounting: input == output + dropped + rejected; rows per language and licence."""

        input: int = attr.field()
        output: int = attr.field()
        rejected: int = attr.field()
        dropped: dict[str, int] = attr.field(factory=dict)
        languages: dict[str, int] = attr.field(factory=dict)
        licences: dict[str, int] = attr.field(factory=dict)
        _get_schema = schema("CorpusKitCountsDatasetFacet")

    @attr.define
    class CorpusKitClassificationDatasetFacet(DatasetFacet):
        """GB/T 43697-2024 grade as declared, registration, personal-information status (counts)."""

        grade: str | None = attr.field(default=None)
        industry: str | None = attr.field(default=None)
        general_level: int | None = attr.field(default=None)
        basis: str | None = attr.field(default=None)
        registration: dict[str, str] | None = attr.field(default=None)
        personal_information: dict[str, Any] | None = attr.field(default=None)
        _get_schema = schema("CorpusKitClassificationDatasetFacet")

    @attr.define
    class CorpusKitManifestDatasetFacet(DatasetFacet):
        """The manifest the dataset carries: its file's sha256 and its seal."""

        sha256: str = attr.field()
        seal_sha256: str = attr.field()
        schema_version: str = attr.field()
        _get_schema = schema("CorpusKitManifestDatasetFacet")

    @attr.define
    class CorpusKitPipelineRunFacet(RunFacet):
        """The pipeline as it ran: steps with resolved parameters and counts, configuration digest."""

        name: str = attr.field()
        config_sha256: str = attr.field()
        steps: list[dict[str, Any]] = attr.field(factory=list)
        versions: dict[str, str] = attr.field(factory=dict)
        tasks: int | None = attr.field(default=None)
        wall_seconds: float | None = attr.field(default=None)
        _get_schema = schema("CorpusKitPipelineRunFacet")

    classes: list[type] = [
        CorpusKitChecksumDatasetFacet,
        CorpusKitSupplyDatasetFacet,
        CorpusKitLicenceDatasetFacet,
        CorpusKitCountsDatasetFacet,
        CorpusKitClassificationDatasetFacet,
        CorpusKitManifestDatasetFacet,
        CorpusKitPipelineRunFacet,
    ]
    return {cls.__name__: cls for cls in classes}


def _schema_fields(fields: Any) -> list[Any]:
    """The OpenLineage schema facet's fields for Arrow fields (nested for lists and structs)."""
    import pyarrow as pa
    from openlineage.client.generated.schema_dataset import SchemaDatasetFacetFields

    result = []
    for position, field in enumerate(fields, start=1):
        kind = field.type
        nested: list[Any] = []
        name = str(kind)
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            inner = kind.value_type
            name = "list<struct>" if pa.types.is_struct(inner) else f"list<{inner}>"
            nested = _schema_fields(list(inner)) if pa.types.is_struct(inner) else []
        elif pa.types.is_struct(kind):
            name, nested = "struct", _schema_fields(list(kind))
        result.append(
            SchemaDatasetFacetFields(name=field.name, type=name, ordinal_position=position, fields=nested)
        )
    return result


def openlineage_event(manifest: Manifest, raw: bytes) -> Any:
    """The run as an OpenLineage COMPLETE ``RunEvent`` (``openlineage.client.event_v2``)."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import (
        dataset_version_dataset,
        datasource_dataset,
        documentation_job,
        input_statistics_input_dataset,
        job_type_job,
        nominal_time_run,
        output_statistics_output_dataset,
        processing_engine_run,
        schema_dataset,
        storage_dataset,
    )

    from corpus_kit.records import OUTPUT_SCHEMA

    facets = _facet_classes()
    producer = f"{URI_BASE}/corpus-kit/{__version__}"
    started, finished = run_times(manifest)
    version = corpus_kit_version(manifest)

    def checksum(sha256: str, size: int) -> Any:
        return facets["CorpusKitChecksumDatasetFacet"](sha256=sha256, bytes=size, producer=producer)

    inputs = []
    for source in manifest.sources:
        namespace = _source_namespace(source.uri)
        dataset_facets: dict[str, Any] = {
            "dataSource": datasource_dataset.DatasourceDatasetFacet(
                name=namespace, uri=source.uri, producer=producer
            ),
            "storage": storage_dataset.StorageDatasetFacet(
                storageLayer="file", fileFormat=source.format, producer=producer
            ),
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=f"sha256:{source.sha256}", producer=producer
            ),
            "corpus_kit_checksum": checksum(source.sha256, source.bytes),
        }
        inputs.append(
            InputDataset(
                namespace=namespace,
                name=source.uri,
                facets=dataset_facets,
                inputFacets={
                    "inputStatistics": input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
                        rowCount=source.records, size=source.bytes, fileCount=1, producer=producer
                    )
                },
            )
        )

    def schema() -> Any:
        return schema_dataset.SchemaDatasetFacet(fields=_schema_fields(OUTPUT_SCHEMA), producer=producer)

    outputs = []
    for item in manifest.files:
        outputs.append(
            OutputDataset(
                namespace=NAMESPACE,
                name=_output_name(manifest, item.path),
                facets={
                    "schema": schema(),
                    "storage": storage_dataset.StorageDatasetFacet(
                        storageLayer="file", fileFormat="parquet", producer=producer
                    ),
                    "version": dataset_version_dataset.DatasetVersionDatasetFacet(
                        datasetVersion=f"sha256:{item.sha256}", producer=producer
                    ),
                    "corpus_kit_checksum": checksum(item.sha256, item.bytes),
                },
                outputFacets={
                    "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                        rowCount=item.rows, size=item.bytes, fileCount=1, producer=producer
                    )
                },
            )
        )
    whole: dict[str, Any] = {
        "schema": schema(),
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=manifest.dataset.version, producer=producer
        ),
        "corpus_kit_manifest": facets["CorpusKitManifestDatasetFacet"](
            sha256=_manifest_sha256(raw),
            seal_sha256=manifest.seal_sha256,
            schema_version=manifest.schema_version,
            producer=producer,
        ),
        "corpus_kit_counts": facets["CorpusKitCountsDatasetFacet"](
            **counts_summary(manifest), producer=producer
        ),
    }
    terms = supply_terms(manifest)
    if terms is not None:
        mode = terms.pop("mode")
        whole["corpus_kit_supply"] = facets["CorpusKitSupplyDatasetFacet"](
            mode=mode, terms=terms, producer=producer
        )
    licence = licence_summary(manifest)
    if licence is not None:
        whole["corpus_kit_licence"] = facets["CorpusKitLicenceDatasetFacet"](**licence, producer=producer)
    classification = classification_summary(manifest)
    if classification is not None:
        whole["corpus_kit_classification"] = facets["CorpusKitClassificationDatasetFacet"](
            **classification, producer=producer
        )
    outputs.append(
        OutputDataset(
            namespace=NAMESPACE,
            name=_output_name(manifest),
            facets=whole,
            outputFacets={
                "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                    rowCount=manifest.counts.output,
                    size=sum(item.bytes for item in manifest.files),
                    fileCount=len(manifest.files),
                    producer=producer,
                )
            },
        )
    )
    job_facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="CORPUS_KIT", jobType="PIPELINE", producer=producer
        )
    }
    if manifest.dataset.description:
        job_facets["documentation"] = documentation_job.DocumentationJobFacet(
            description=manifest.dataset.description, contentType="text/plain", producer=producer
        )
    pipeline = manifest.pipeline
    run_facets: dict[str, Any] = {
        "nominalTime": nominal_time_run.NominalTimeRunFacet(
            nominalStartTime=_timestamp(started), nominalEndTime=_timestamp(finished), producer=producer
        ),
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=version, name="corpus-kit", openlineageAdapterVersion=__version__, producer=producer
        ),
        "corpus_kit_pipeline": facets["CorpusKitPipelineRunFacet"](
            name=pipeline.name,
            config_sha256=pipeline.config_sha256,
            steps=steps_summary(manifest),
            versions=dict(pipeline.versions),
            tasks=pipeline.tasks,
            wall_seconds=pipeline.wall_seconds,
            producer=producer,
        ),
    }
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=_timestamp(finished),
        run=Run(runId=run_id(manifest), facets=run_facets),
        job=Job(namespace=NAMESPACE, name=pipeline.name, facets=job_facets),
        inputs=inputs,
        outputs=outputs,
        producer=producer,
    )


def openlineage_document(manifest: Manifest, raw: bytes) -> dict[str, Any]:
    """The RunEvent as the client serialises it (``Serde``, as its file transport writes it)."""
    from openlineage.client.serde import Serde

    document: dict[str, Any] = json.loads(Serde.to_json(openlineage_event(manifest, raw)))
    return document


#: Standard facets by the key corpus-kit writes them under: (module of facet_v2, class name).
_STANDARD_FACETS = {
    "dataSource": ("datasource_dataset", "DatasourceDatasetFacet"),
    "storage": ("storage_dataset", "StorageDatasetFacet"),
    "version": ("dataset_version_dataset", "DatasetVersionDatasetFacet"),
    "schema": ("schema_dataset", "SchemaDatasetFacet"),
    "inputStatistics": ("input_statistics_input_dataset", "InputStatisticsInputDatasetFacet"),
    "outputStatistics": ("output_statistics_output_dataset", "OutputStatisticsOutputDatasetFacet"),
    "jobType": ("job_type_job", "JobTypeJobFacet"),
    "documentation": ("documentation_job", "DocumentationJobFacet"),
    "nominalTime": ("nominal_time_run", "NominalTimeRunFacet"),
    "processing_engine": ("processing_engine_run", "ProcessingEngineRunFacet"),
}
#: The fields the OpenLineage 2-0-2 spec requires (RunEvent, Run, Job, Dataset, every facet).
_REQUIRED = {
    "event": ("eventTime", "producer", "schemaURL", "run", "job"),
    "run": ("runId",),
    "job": ("namespace", "name"),
    "dataset": ("namespace", "name"),
    "facet": ("_producer", "_schemaURL"),
}


def _rebuild_facet(key: str, data: dict[str, Any]) -> Any:
    import importlib

    from openlineage.client.generated.schema_dataset import SchemaDatasetFacetFields

    custom = {cls._get_schema(): cls for cls in _facet_classes().values()}  # type: ignore[attr-defined]
    if key in _STANDARD_FACETS:
        module, name = _STANDARD_FACETS[key]
        cls = getattr(importlib.import_module(f"openlineage.client.generated.{module}"), name)
    elif data.get("_schemaURL") in custom:
        cls = custom[data["_schemaURL"]]
    else:
        raise ValueError(f"facet {key!r}: unknown schema {data.get('_schemaURL')!r}")
    for field in _REQUIRED["facet"]:
        if not data.get(field):
            raise ValueError(f"facet {key!r}: no {field}")
    values = {name: value for name, value in data.items() if not name.startswith("_")}

    def fields(items: list[dict[str, Any]]) -> list[Any]:
        return [
            SchemaDatasetFacetFields(**{**item, "fields": fields(item.get("fields", []))}) for item in items
        ]

    if key == "schema":
        values["fields"] = fields(values.get("fields", []))
    facet = cls(**values, producer=data["_producer"])
    if facet._schemaURL != data["_schemaURL"]:
        raise ValueError(f"facet {key!r}: _schemaURL {data['_schemaURL']!r} is not {facet._schemaURL!r}")
    return facet


def validate_openlineage(document: dict[str, Any]) -> None:
    """Check a RunEvent document: the spec's required fields, then rebuild it through the client's
    attrs classes (their validators check the run id, times and URIs) and compare the serialisation.
    ``openlineage-python`` ships no JSON schema of the spec, so this round trip is its validator."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.serde import Serde

    def require(part: dict[str, Any], kind: str, where: str) -> None:
        for field in _REQUIRED[kind]:
            if field not in part:
                raise ValueError(f"{where}: no {field}")

    def rebuilt(facets: dict[str, Any] | None) -> dict[str, Any]:
        return {key: _rebuild_facet(key, value) for key, value in (facets or {}).items()}

    require(document, "event", "event")
    require(document["run"], "run", "run")
    require(document["job"], "job", "job")
    for where in ("inputs", "outputs"):
        for index, dataset in enumerate(document.get(where, [])):
            require(dataset, "dataset", f"{where}[{index}]")
    event = RunEvent(
        eventType=RunState(document["eventType"]),
        eventTime=document["eventTime"],
        producer=document["producer"],
        run=Run(runId=document["run"]["runId"], facets=rebuilt(document["run"].get("facets"))),
        job=Job(
            namespace=document["job"]["namespace"],
            name=document["job"]["name"],
            facets=rebuilt(document["job"].get("facets")),
        ),
        inputs=[
            InputDataset(
                namespace=item["namespace"],
                name=item["name"],
                facets=rebuilt(item.get("facets")),
                inputFacets=rebuilt(item.get("inputFacets")),
            )
            for item in document.get("inputs", [])
        ],
        outputs=[
            OutputDataset(
                namespace=item["namespace"],
                name=item["name"],
                facets=rebuilt(item.get("facets")),
                outputFacets=rebuilt(item.get("outputFacets")),
            )
            for item in document.get("outputs", [])
        ],
    )
    if event.schemaURL != document["schemaURL"]:
        raise ValueError(f"schemaURL {document['schemaURL']!r} is not the client's {event.schemaURL!r}")
    if json.loads(Serde.to_json(event)) != document:
        raise ValueError("the event does not survive a round trip through openlineage.client's classes")


# --- W3C PROV ------------------------------------------------------------------------------------


def prov_document(manifest: Manifest, raw: bytes) -> Any:
    """The run as a W3C PROV document (``prov.model.ProvDocument``)."""
    from prov.constants import PROV, PROV_TYPE
    from prov.model import ProvDocument

    document = ProvDocument()
    ck = document.add_namespace("ck", PROV_NAMESPACE)
    document.add_namespace("run", f"{URI_BASE}/run/{run_id(manifest)}/")
    started, finished = run_times(manifest)
    pipeline = manifest.pipeline

    def text(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)

    software = document.agent(
        "run:corpus-kit",
        {
            PROV_TYPE: PROV["SoftwareAgent"],
            "prov:label": f"corpus-kit {corpus_kit_version(manifest)}",
            "ck:version": corpus_kit_version(manifest),
            "ck:versions": text(dict(pipeline.versions)),
        },
    )
    plan = document.entity(
        "run:pipeline",
        {
            PROV_TYPE: PROV["Plan"],
            "prov:label": pipeline.name,
            "ck:config_sha256": pipeline.config_sha256,
            "ck:tasks": pipeline.tasks,
        },
    )
    sources = [
        document.entity(
            f"run:source-{index}",
            {
                PROV_TYPE: ck["SourceFile"],
                "prov:label": source.uri,
                "ck:uri": source.uri,
                "ck:format": source.format,
                "ck:sha256": source.sha256,
                "ck:bytes": source.bytes,
                "ck:records": source.records,
                "ck:rejected": source.rejected,
                **({"ck:license": source.license} if source.license else {}),
            },
        )
        for index, source in enumerate(manifest.sources, start=1)
    ]
    files = [
        document.entity(
            f"run:file-{index}",
            {
                PROV_TYPE: ck["DataFile"],
                "prov:label": item.path,
                "ck:path": item.path,
                "ck:sha256": item.sha256,
                "ck:bytes": item.bytes,
                "ck:rows": item.rows,
            },
        )
        for index, item in enumerate(manifest.files, start=1)
    ]
    attributes: dict[Any, Any] = {
        PROV_TYPE: ck["Dataset"],
        "prov:label": _output_name(manifest),
        "ck:name": manifest.dataset.name,
        "ck:version": manifest.dataset.version,
        "ck:counts": text(counts_summary(manifest)),
    }
    terms = supply_terms(manifest)
    if terms is not None:
        attributes["ck:supply_mode"] = terms["mode"]
        attributes["ck:supply_terms"] = text({k: v for k, v in terms.items() if k != "mode"})
    licence = licence_summary(manifest)
    if licence is not None:
        attributes["ck:licence"] = licence["expression"]
        attributes["ck:licence_use"] = licence["use"]
    classification = classification_summary(manifest)
    if classification is not None:
        if classification.get("grade"):
            attributes["ck:grade"] = classification["grade"]
        attributes["ck:classification"] = text(classification)
    dataset = document.collection("run:dataset", attributes)
    manifest_entity = document.entity(
        "run:manifest",
        {
            PROV_TYPE: ck["Manifest"],
            "prov:label": MANIFEST_NAME,
            "ck:sha256": _manifest_sha256(raw),
            "ck:seal_sha256": manifest.seal_sha256,
        },
    )
    steps = manifest.pipeline.steps or []
    activities: list[Any] = []
    summaries = steps_summary(manifest)
    for index, summary in enumerate(summaries, start=1):
        first, last = index == 1, index == len(summaries)
        activity = document.activity(
            f"run:step-{index}-{summary['name']}",
            started if first else None,
            finished if last else None,
            {
                PROV_TYPE: ck["Step"],
                "prov:label": summary["name"],
                "ck:params": text(summary["params"]),
                "ck:input": summary["input"],
                "ck:output": summary["output"],
                "ck:dropped": text(summary["dropped"]),
                "ck:seconds": summary["seconds"],
            },
        )
        document.association(activity, software, plan)
        if activities:
            document.communication(activity, activities[-1])
        activities.append(activity)
    if not steps:  # a manifest always lists its steps; an empty list still has one activity
        activity = document.activity("run:run", started, finished, {"prov:label": pipeline.name})
        document.association(activity, software, plan)
        activities.append(activity)
    for source in sources:
        document.usage(activities[0], source)
        document.derivation(dataset, source)
    for item in files:
        document.generation(item, activities[-1])
        document.membership(dataset, item)
    document.generation(dataset, activities[-1], finished)
    document.generation(manifest_entity, activities[-1], finished)
    for role in ("authoriser", "operator", "partners"):
        value = getattr(manifest.supply, role, None) if manifest.supply is not None else None
        if value in (None, [], ""):
            continue
        organisation = document.agent(
            f"run:{role}",
            {PROV_TYPE: PROV["Organization"], "ck:role": role, "ck:commitment": commitment(value)},
        )
        if role == "operator":
            document.delegation(software, organisation)
        else:
            document.attribution(dataset, organisation)
    return document


def validate_prov(serialised: str, built: Any | None = None) -> Any:
    """Check a PROV-JSON document with ``prov``: it deserialises (to the document built, when given),
    unifies without conflict (PROV-CONSTRAINTS), and survives a PROV-N round trip. Returns it."""
    import warnings

    from prov.model import ProvDocument

    document = ProvDocument.deserialize(content=serialised, format="json")
    if built is not None and document != built:
        raise ValueError("the PROV-JSON does not deserialise to the document built")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        document.unified()
    provn = document.serialize(format="provn")
    if ProvDocument.deserialize(content=provn, format="provn") != document:
        raise ValueError("the document does not survive a PROV-N round trip")
    return document


# --- in-toto / SLSA provenance v1 ----------------------------------------------------------------


def slsa_statement(manifest: Manifest, raw: bytes) -> dict[str, Any]:
    """The run as an in-toto Statement v1 with an SLSA provenance v1 predicate."""
    started, finished = run_times(manifest)
    pipeline = manifest.pipeline
    subjects = [{"name": item.path, "digest": {"sha256": item.sha256}} for item in manifest.files]
    subjects.append({"name": MANIFEST_NAME, "digest": {"sha256": _manifest_sha256(raw)}})
    dependencies: list[dict[str, Any]] = [
        {
            "uri": source.uri,
            "digest": {"sha256": source.sha256},
            "annotations": {
                key: value
                for key, value in (
                    ("kind", "source"),
                    ("format", source.format),
                    ("bytes", source.bytes),
                    ("records", source.records),
                    ("rejected", source.rejected),
                    ("license", source.license),
                )
                if value is not None
            },
        }
        for source in manifest.sources
    ]
    for entry in manifest.provenance:
        if not entry.licence_sha256:
            continue
        annotations: dict[str, Any] = {
            "kind": "licence_document",
            "match": entry.match,
            "license": entry.license,
        }
        if entry.source_type:
            annotations["source_type"] = entry.source_type
        if entry.contract_sha256:
            annotations["contract_commitment"] = f"sha256:{entry.contract_sha256[:16]}"
        dependencies.append(
            {"name": f"licence document ({entry.match})", "digest": {"sha256": entry.licence_sha256},
             "annotations": annotations}
        )  # fmt: skip
    external: dict[str, Any] = {
        "pipeline": pipeline.name,
        "config_sha256": pipeline.config_sha256,
        "steps": [{"name": step["name"], "params": step["params"]} for step in steps_summary(manifest)],
        "dataset": {"name": manifest.dataset.name, "version": manifest.dataset.version},
    }
    terms = supply_terms(manifest)
    if terms is not None:
        external["supply"] = terms
    byproducts = [
        {
            "name": item.path,
            "digest": {"sha256": item.sha256},
            "annotations": {"restricted": True, "reason": folder.reason, "rows": item.rows},
        }
        for folder in manifest.restricted
        for item in folder.files
    ]
    run_details: dict[str, Any] = {
        "builder": {
            "id": f"{URI_BASE}/builder/corpus-kit@{corpus_kit_version(manifest)}",
            "version": {"corpus-kit": corpus_kit_version(manifest)},
        },
        "metadata": {
            "invocationId": f"urn:uuid:{run_id(manifest)}",
            "startedOn": _timestamp(started),
            "finishedOn": _timestamp(finished),
        },
    }
    if byproducts:
        run_details["byproducts"] = byproducts
    internal: dict[str, Any] = {"versions": dict(pipeline.versions), "tasks": pipeline.tasks}
    classification = classification_summary(manifest)
    if classification is not None:
        internal["classification"] = classification
    licence = licence_summary(manifest)
    if licence is not None:
        internal["licence"] = licence
    internal["counts"] = counts_summary(manifest)
    evidence = source_evidence(manifest)
    if evidence:
        internal["source_evidence"] = evidence
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": SLSA_PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": external,
                "internalParameters": internal,
                "resolvedDependencies": dependencies,
            },
            "runDetails": run_details,
        },
    }


_DESCRIPTOR_FIELDS = {"name", "uri", "digest", "content", "downloadLocation", "mediaType", "annotations"}


def _check_descriptor(item: Any, where: str) -> None:
    if not isinstance(item, dict) or not item.keys() <= _DESCRIPTOR_FIELDS:
        raise ValueError(f"{where}: not a ResourceDescriptor")
    if not ({"uri", "digest", "content"} & item.keys()):
        raise ValueError(f"{where}: a ResourceDescriptor needs uri, digest or content")
    for algorithm, value in item.get("digest", {}).items():
        if algorithm == "sha256" and (len(value) != 64 or value.strip("0123456789abcdef")):
            raise ValueError(f"{where}: digest.sha256 is not 64 lower-case hex characters")


def _check_timestamp(value: Any, where: str) -> None:
    if not isinstance(value, str) or not value.endswith("Z"):
        raise ValueError(f"{where}: not an RFC 3339 UTC timestamp")
    datetime.fromisoformat(value.replace("Z", "+00:00"))


def validate_slsa(document: dict[str, Any]) -> None:
    """Check an in-toto Statement v1 / SLSA provenance v1 against the specs' field lists
    (in-toto attestation framework v1; slsa.dev/provenance/v1), then with the framework's own
    protobuf models (``in-toto-attestation``)."""
    if set(document) != {"_type", "subject", "predicateType", "predicate"}:
        raise ValueError("a Statement has exactly _type, subject, predicateType and predicate")
    if document["_type"] != STATEMENT_TYPE or document["predicateType"] != SLSA_PREDICATE_TYPE:
        raise ValueError("not an in-toto Statement v1 with an SLSA provenance v1 predicate")
    if not document["subject"]:
        raise ValueError("subject: at least one is required")
    for index, subject in enumerate(document["subject"]):
        _check_descriptor(subject, f"subject[{index}]")
        if not subject.get("digest"):
            raise ValueError(f"subject[{index}]: a subject needs a digest")
    predicate = document["predicate"]
    if not predicate.keys() <= {"buildDefinition", "runDetails"} or len(predicate) != 2:
        raise ValueError("predicate: exactly buildDefinition and runDetails")
    build = predicate["buildDefinition"]
    if not build.keys() <= {"buildType", "externalParameters", "internalParameters", "resolvedDependencies"}:
        raise ValueError("buildDefinition: unknown field")
    if not isinstance(build.get("buildType"), str) or not isinstance(build.get("externalParameters"), dict):
        raise ValueError("buildDefinition: buildType and externalParameters are required")
    for index, item in enumerate(build.get("resolvedDependencies", [])):
        _check_descriptor(item, f"resolvedDependencies[{index}]")
    details = predicate["runDetails"]
    if not details.keys() <= {"builder", "metadata", "byproducts"}:
        raise ValueError("runDetails: unknown field")
    builder = details.get("builder")
    if not isinstance(builder, dict) or not isinstance(builder.get("id"), str):
        raise ValueError("runDetails.builder.id is required")
    if not builder.keys() <= {"id", "builderDependencies", "version"}:
        raise ValueError("runDetails.builder: unknown field")
    metadata = details.get("metadata", {})
    if not metadata.keys() <= {"invocationId", "startedOn", "finishedOn"}:
        raise ValueError("runDetails.metadata: unknown field")
    for key in ("startedOn", "finishedOn"):
        if key in metadata:
            _check_timestamp(metadata[key], f"runDetails.metadata.{key}")
    for index, item in enumerate(details.get("byproducts", [])):
        _check_descriptor(item, f"byproducts[{index}]")
    if json.loads(json.dumps(document)) != document:
        raise ValueError("the statement does not survive a JSON round trip")
    _validate_slsa_protos(document)


def _validate_slsa_protos(document: dict[str, Any]) -> None:
    """The in-toto attestation framework's own models (``in-toto-attestation``): the statement and
    the SLSA v1 predicate parsed into their protobuf messages (an unknown or mistyped field fails)
    and the statement's ``validate()``."""
    from google.protobuf import json_format
    from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.statement import Statement

    try:
        proto = json_format.ParseDict(document, statement_pb2.Statement())
        Statement.copy_from_pb(proto).validate()
        json_format.ParseDict(document["predicate"], provenance_pb2.Provenance())
    except (json_format.ParseError, ValueError) as error:
        raise ValueError(f"in-toto attestation models: {error}") from None


# --- the entry point -----------------------------------------------------------------------------


def read_sealed_manifest(dataset: str | Path) -> tuple[Manifest, bytes]:
    """The dataset's manifest and its bytes; an invalid or edited (unsealed) manifest is refused."""
    from corpus_kit.governance.manifest import read_dataset_manifest

    folder = Path(dataset)
    path = folder if folder.is_file() else folder / MANIFEST_NAME
    read_dataset_manifest(folder)  # a missing or invalid manifest: one line naming it
    raw = path.read_bytes()
    sealing = seal_problem(raw)
    if sealing:
        raise CheckFailed(f"{path} {sealing}; nothing exported: rebuild the dataset or restore its manifest")
    return Manifest.model_validate_json(raw), raw  # the bytes checked, whatever changed since the read


def export_lineage(dataset: str | Path, fmt: str) -> bytes:
    """The dataset's run in ``fmt`` (openlineage, prov or slsa) as validated JSON (UTF-8)."""
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt == "openlineage":
        _require("openlineage", fmt)
    elif fmt == "prov":
        _require("prov", fmt)
    else:
        _require("in_toto_attestation", fmt)
    manifest, raw = read_sealed_manifest(dataset)
    if fmt == "openlineage":
        document = openlineage_document(manifest, raw)
        validate_openlineage(document)
        text = _dumps(document)
    elif fmt == "prov":
        built = prov_document(manifest, raw)
        text = built.serialize(format="json", indent=2, ensure_ascii=False) + "\n"
        validate_prov(text, built)
    else:
        document = slsa_statement(manifest, raw)
        validate_slsa(document)
        text = _dumps(document)
    leaked = [value for value in confidential_values(manifest) if value in text]
    if leaked:  # a guard: the builders above only ever write commitments of these
        raise CheckFailed(f"the {fmt} export would hold a confidential supply value; nothing written")
    return text.encode()
