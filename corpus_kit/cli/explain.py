"""``explain DATASET ID...``: what happened to records, from the dataset's ledger (restricted).

It prints ids, input file names and locations: to the user who holds the dataset, never to a log.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from corpus_kit.cli.common import handle_errors, stderr, stdout
from corpus_kit.errors import CheckFailed, UsageError
from corpus_kit.governance.manifest import Manifest, read_dataset_manifest
from corpus_kit.io.ledger import find_rows, ledger_files

#: What explain prints for each row; --json objects have these keys.
FIELDS = ("id", "fate", "stage", "reason", "dup_of", "dup_dataset", "source", "location", "content_sha256")


def _step_params(manifest: Manifest) -> dict[str, dict[str, Any]]:
    params: dict[str, dict[str, Any]] = {}
    for step in manifest.pipeline.steps:
        params.setdefault(step.name, step.params)
    return params


def explain_ids(dataset: Path, ids: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The ledger rows of ``ids`` (in the order asked, then ledger order) and the ids not found."""
    manifest = read_dataset_manifest(dataset)
    folder = dataset.parent if dataset.is_file() else dataset
    if not ledger_files(folder):
        raise UsageError(
            f"{folder}: has no ledger/ (made before corpus-kit wrote ledgers, or a published copy, which "
            "never holds it); explain needs the dataset as the run left it"
        )
    params = _step_params(manifest)
    by_id: dict[str, list[dict[str, Any]]] = {}
    for row in find_rows(folder, ids):
        digest = row.get("content_sha256")
        entry = {key: row.get(key) for key in FIELDS}
        entry["content_sha256"] = digest.hex() if isinstance(digest, bytes) else None
        stage = entry.get("stage")
        entry["params"] = params.get(stage) if isinstance(stage, str) and stage != "read" else None
        by_id.setdefault(row["id"], []).append(entry)
    found: list[dict[str, Any]] = []
    missing: list[str] = []
    for record_id in dict.fromkeys(ids):
        rows = by_id.get(record_id)
        if rows:
            found.extend(rows)
        else:
            missing.append(record_id)
    return found, missing


def _describe(entry: dict[str, Any]) -> str:
    fate = entry["fate"]
    lines = [f"{entry['id']}: {fate}"]
    if fate != "kept":
        lines[0] += f" by {entry['stage']} ({entry['reason']})"
    if entry.get("dup_of") is not None:
        where = f" in dataset {entry['dup_dataset']}" if entry.get("dup_dataset") else ""
        lines.append(f"  duplicate of: {entry['dup_of']}{where}")
    where = entry.get("source") or "(unknown)"
    if entry.get("location"):
        where += f", {entry['location']}"
    lines.append(f"  source: {where}")
    if entry.get("content_sha256"):
        lines.append(f"  content sha256: {entry['content_sha256']}")
    if entry.get("params"):
        params = json.dumps(entry["params"], ensure_ascii=False, sort_keys=True)
        lines.append(f"  {entry['stage']} parameters: {params}")
    return "\n".join(lines)


@handle_errors
def explain(
    dataset: Annotated[
        Path, typer.Argument(help="Dataset folder (holding manifest.json and ledger/).", show_default=False)
    ],
    ids: Annotated[list[str], typer.Argument(help="Record ids.", show_default=False)],
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print a JSON list of objects (id, fate, stage, reason, dup_of, source, location...).",
        ),
    ] = False,
) -> None:
    """What happened to records: kept, dropped (by which step, why, duplicate of what) or rejected.

    Reads the dataset's restricted ledger; ids not in it are named and the exit status is 1.

    Example: corpus-kit explain out/release-2 doc-00042 doc-00043
    """
    found, missing = explain_ids(dataset, ids)
    if as_json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
    else:
        for entry in found:
            stdout.print(_describe(entry), markup=False, soft_wrap=True)
    if missing:
        for record_id in missing:
            stderr.print(f"not in the ledger: {record_id}", markup=False, soft_wrap=True)
        raise CheckFailed(f"{len(missing)} of {len(dict.fromkeys(ids))} id(s) are not in {dataset}'s ledger")
