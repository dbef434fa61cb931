"""``croissant.json``: Croissant 1.1 metadata with the Responsible-AI extension, from the manifest.

Written by hand (no runtime dependency on ``mlcroissant``; the tests validate the output with it and
stream a record). Files are FileObjects with their sha256 and a FileSet for the records; fields
follow the Parquet schema; licences are SPDX URLs; provenance uses PROV-O and the supply terms
become an ODRL offer under ``usageInfo`` (confidential fields left out).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from corpus_kit.catalog.card import public_supply_terms
from corpus_kit.governance.manifest import Manifest, read_dataset_manifest
from corpus_kit.utils import atomic_write_bytes

CROISSANT_NAME = "croissant.json"
_CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
    "prov": "http://www.w3.org/ns/prov#",
    "odrl": "http://www.w3.org/ns/odrl/2/",
}
_FILE_SET = "parquet-files"
_RECORD_SET = "default"


def _data_type(arrow_type: pa.DataType) -> str | None:
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "sc:Text"
    if pa.types.is_floating(arrow_type):
        return "sc:Float"
    if pa.types.is_integer(arrow_type):
        return "sc:Integer"
    if pa.types.is_boolean(arrow_type):
        return "sc:Boolean"
    return None  # nested columns (media) are described in the card, not as Croissant fields


def _licence_entries(manifest: Manifest) -> list[Any]:
    licence = manifest.license
    if licence is None:
        return []
    entries: list[Any] = []
    seen: set[str] = set()
    for key in licence.licences:
        for part in key.replace("(", " ").replace(")", " ").split():
            if part in ("AND", "OR", "WITH") or part in seen:
                continue
            seen.add(part)
            if part.startswith("LicenseRef-") or part == "NOASSERTION":
                entries.append({"@type": "sc:CreativeWork", "name": part, "url": "LICENSE.md"})
            else:
                entries.append(f"https://spdx.org/licenses/{part}.html")
    return entries


def _usage_offer(manifest: Manifest) -> dict[str, Any] | None:
    supply = manifest.supply
    if supply is None:
        return None
    offer: dict[str, Any] = {
        "@type": "odrl:Offer",
        "name": f"supply mode {supply.mode.value}",
        "odrl:permission": [{"odrl:action": use} for use in supply.permitted_uses]
        or [{"odrl:action": "use"}],
    }
    licence = manifest.license
    if not supply.commercial or (licence is not None and licence.use != "commercial"):
        offer["odrl:prohibition"] = [{"odrl:action": "commercialize"}]
    if supply.valid_until is not None:
        offer["odrl:constraint"] = [
            {
                "odrl:leftOperand": "dateTime",
                "odrl:operator": "lteq",
                "odrl:rightOperand": supply.valid_until.isoformat(),
            }
        ]
    return offer


def build_croissant(
    dataset_dir: Path, manifest: Manifest, url: str | None, creator: str | None
) -> dict[str, Any]:
    schema = pq.read_schema(dataset_dir / manifest.files[0].path)
    fields = []
    for column in schema:
        data_type = _data_type(column.type)
        if data_type is None:
            continue
        fields.append(
            {
                "@type": "cr:Field",
                "@id": f"{_RECORD_SET}/{column.name}",
                "name": column.name,
                "dataType": data_type,
                "source": {"fileSet": {"@id": _FILE_SET}, "extract": {"column": column.name}},
            }
        )
    distribution: list[dict[str, Any]] = [
        {
            "@type": "cr:FileObject",
            "@id": item.path,
            "name": Path(item.path).name,
            "contentUrl": item.path,
            "contentSize": f"{item.bytes} B",
            "encodingFormat": "application/x-parquet",
            "sha256": item.sha256,
        }
        for item in manifest.files
    ]
    distribution.append(
        {
            "@type": "cr:FileSet",
            "@id": _FILE_SET,
            "name": _FILE_SET,
            "encodingFormat": "application/x-parquet",
            "includes": "data/*.parquet",
        }
    )  # fmt: skip
    steps = [
        f"{step.name}: {step.input} in, {step.output} out"
        + ("; dropped " + ", ".join(f"{k} {v}" for k, v in step.dropped.items()) if step.dropped else "")
        for step in manifest.pipeline.steps
    ]
    pii = manifest.pii
    personal = (
        [
            f"PII scrubbed ({pii.operator}) in {pii.documents} documents: "
            + (", ".join(f"{k} {v}" for k, v in pii.entities.items()) or "none found"),
            "Not detected: person names, postal addresses, personal data inside images or audio.",
        ]
        if pii
        else ["No PII step ran: the data may contain personal data."]
    )
    metadata: dict[str, Any] = {
        "@context": _CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": ["http://mlcommons.org/croissant/1.1", "http://mlcommons.org/croissant/RAI/1.0"],
        "name": manifest.dataset.name,
        "description": manifest.dataset.description or f"{manifest.dataset.name}, governed with corpus-kit.",
        "url": url or dataset_dir.resolve().as_uri(),
        "version": manifest.dataset.version,
        "datePublished": manifest.dataset.created_at.date().isoformat(),
        "creator": {"@type": "sc:Organization", "name": creator or "publisher not declared"},
        "citeAs": (
            f"@misc{{{manifest.dataset.name.replace(' ', '_')},title={{{manifest.dataset.name}}},"
            f"version={{{manifest.dataset.version}}},year={{{manifest.dataset.created_at.year}}}}}"
        ),
        "license": _licence_entries(manifest),
        "distribution": distribution,
        "recordSet": [{"@type": "cr:RecordSet", "@id": _RECORD_SET, "name": _RECORD_SET, "field": fields}],
        "rai:dataCollection": (
            f"{manifest.counts.input} records read from {len(manifest.sources)} source file(s); "
            f"{manifest.counts.rejected} malformed records set apart; "
            "licences from record metadata and the source map."
        ),
        "rai:dataPreprocessingProtocol": steps,
        "rai:personalSensitiveInformation": personal,
        "rai:dataLimitations": [
            "Heuristic filters; see the drop counts per step.",
            "Rejected and removed records are restricted and not distributed.",
        ],
        "prov:wasDerivedFrom": [
            {"@type": "prov:Entity", "name": source.uri, "sha256": source.sha256}
            for source in manifest.sources
        ],
        "prov:wasGeneratedBy": {
            "@type": "prov:Activity",
            "name": f"corpus-kit pipeline {manifest.pipeline.name}",
            "description": f"configuration sha256 {manifest.pipeline.config_sha256}",
            "prov:endedAtTime": manifest.dataset.created_at.isoformat(),
        },
    }
    supply = manifest.supply
    if supply is not None and supply.permitted_uses:
        metadata["rai:dataUseCases"] = list(supply.permitted_uses)
    offer = _usage_offer(manifest)
    if offer is not None:
        offer["description"] = "; ".join(f"{k}: {v}" for k, v in public_supply_terms(supply))
        metadata["usageInfo"] = offer
    return metadata


def write_croissant(dataset_dir: str | Path, url: str | None = None, creator: str | None = None) -> Path:
    dataset_dir = Path(dataset_dir)
    manifest = read_dataset_manifest(dataset_dir)
    path = dataset_dir / CROISSANT_NAME
    document = build_croissant(dataset_dir, manifest, url, creator)
    atomic_write_bytes(path, (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode())
    return path
