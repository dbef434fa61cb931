"""``inspect``: schema, counts, sample rows and manifest summary of a dataset, Parquet file or input."""

from __future__ import annotations

import json
import tempfile
from itertools import islice
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.parquet as pq
import typer
from datatrove.data import Document
from pydantic import ValidationError
from rich.table import Table

from corpus_kit.cli.common import handle_errors, stdout
from corpus_kit.errors import CheckFailed, UsageError
from corpus_kit.governance.manifest import MANIFEST_NAME, Manifest
from corpus_kit.io.inputs import resolve_inputs
from corpus_kit.io.readers import READER_CLASSES, ReadOptions, TaskFolders
from corpus_kit.io.readers.base import DEFAULT_MAX_RECORD_BYTES
from corpus_kit.io.readers.parquet import BATCH_BUDGET
from corpus_kit.io.readers.parquet_pages import PageHeaderError, plan_row_group
from corpus_kit.io.rejects import Reject
from corpus_kit.records import MEDIA_TYPE_NAMES
from corpus_kit.utils import format_size

_TEXT_PREVIEW = 160


def _preview(text: str | None) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= _TEXT_PREVIEW else flat[:_TEXT_PREVIEW] + "…"


def _media_summary(media: list[dict[str, Any]] | None) -> str:
    if not media:
        return ""
    return "; ".join(
        f"{item.get('mime') or item.get('type')} {format_size(len(item.get('bytes') or b''))}"
        for item in media
    )


def _parquet_report(files: list[Path], rows: int) -> dict[str, Any]:
    first = pq.ParquetFile(files[0])
    schema = {field.name: str(field.type) for field in first.schema_arrow}
    samples = []
    if rows:
        for file in files:
            batch = _first_rows(file, rows)
            if batch is not None:
                for row in batch:
                    samples.append(
                        {
                            "id": row.get("id"),
                            "text": _preview(row.get("text")),
                            "media": _media_summary(row.get("media")),
                            "source": row.get("source"),
                            "license": row.get("license"),
                        }
                    )
                if len(samples) >= rows:
                    break
    total_rows = sum(pq.ParquetFile(file).metadata.num_rows for file in files)
    total_bytes = sum(file.stat().st_size for file in files)
    return {
        "schema": schema,
        "rows": total_rows,
        "files": len(files),
        "bytes": total_bytes,
        "samples": samples[:rows],
    }


def _first_rows(file: Path, rows: int) -> list[dict[str, Any]] | None:
    """Up to ``rows`` rows of the first row group that is safe to expand (its page headers say no
    value is larger than the default record cap) and decodes; ``None`` when there is none."""
    parquet = pq.ParquetFile(file)
    with open(file, "rb") as pages:
        for group in range(parquet.metadata.num_row_groups):
            try:
                plan = plan_row_group(
                    pages.fileno(), parquet, group, DEFAULT_MAX_RECORD_BYTES, BATCH_BUDGET, rows
                )
                if plan.too_large is not None or not plan.batch_rows:
                    continue
                batch = next(parquet.iter_batches(batch_size=plan.batch_rows, row_groups=[group]), None)
                if batch is not None and batch.num_rows:
                    found: list[dict[str, Any]] = batch.slice(0, rows).to_pylist()
                    return found
            except (PageHeaderError, OSError, pa.ArrowException, UnicodeDecodeError):
                continue
    return None


def _input_report(path: Path, rows: int) -> dict[str, Any]:
    units = resolve_inputs([str(path)])
    samples: list[dict[str, Any]] = []
    rejects = seen = 0
    with tempfile.TemporaryDirectory() as scratch:
        folders = TaskFolders(rejects=scratch, sources=scratch)
        for unit in units:
            reader = READER_CLASSES[unit.format]([unit], ReadOptions(), folders)
            for item in islice(reader.read_unit(unit), rows * 10):
                seen += 1
                if isinstance(item, Reject):
                    rejects += 1
                elif len(samples) < rows and isinstance(item, Document):
                    samples.append(
                        {
                            "id": item.id,
                            "text": _preview(item.text),
                            "media": "; ".join(
                                f"{MEDIA_TYPE_NAMES.get(m.type)} {format_size(len(m.media_bytes or b''))}"
                                for m in item.media
                            ),
                            "metadata keys": ", ".join(sorted(item.metadata)),
                        }
                    )
            if len(samples) >= rows:
                break
    return {
        "inputs": [{"uri": unit.uri, "format": unit.format, "bytes": unit.size} for unit in units],
        "records_scanned": seen,
        "rejects_in_scanned": rejects,
        "samples": samples,
    }


def _manifest_summary(manifest: Manifest) -> dict[str, Any]:
    return {
        "dataset": f"{manifest.dataset.name} {manifest.dataset.version}",
        "created_at": manifest.dataset.created_at.isoformat(),
        "supply_mode": manifest.supply.mode.value if manifest.supply else None,
        "counts": manifest.counts.model_dump(),
        "invariant": "holds" if manifest.counts.invariant_holds() else "BROKEN",
        "languages": manifest.languages,
        "licenses": manifest.licenses,
        "sources": len(manifest.sources),
        "restricted": [item.path for item in manifest.restricted],
        "pipeline": manifest.pipeline.name,
    }


def _print_samples(samples: list[dict[str, Any]]) -> None:
    if not samples:
        return
    table = Table(title="sample rows", title_justify="left", show_lines=True)
    for column in samples[0]:
        table.add_column(column, overflow="fold")
    for sample in samples:
        table.add_row(*(str(value) if value is not None else "" for value in sample.values()))
    stdout.print(table)


@handle_errors
def inspect(
    path: Annotated[
        Path, typer.Argument(help="A dataset folder, a Parquet file or an input file.", show_default=False)
    ],
    rows: Annotated[int, typer.Option("--rows", "-n", help="Sample rows to show.", min=0)] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
) -> None:
    """Show schema, counts, sample rows and the manifest summary of a dataset (or any input).

    Example: corpus-kit inspect corpus-kit-demo --rows 5
    """
    if not path.exists():
        raise UsageError(f"{path}: not found; give a dataset folder, a .parquet file or an input file")
    report: dict[str, Any] = {"path": str(path)}
    manifest_path = path / MANIFEST_NAME
    if path.is_dir() and (manifest_path.is_file() or (path / "data").is_dir()):
        files = sorted((path / "data").glob("*.parquet"))
        if not files:
            raise CheckFailed(
                f"{path}/data: no Parquet files; the dataset is incomplete, run the command again"
            )
        report["kind"] = "dataset"
        report.update(_parquet_report(files, rows))
        if manifest_path.is_file():
            try:
                report["manifest"] = _manifest_summary(Manifest.read(manifest_path))
            except ValidationError as error:
                raise CheckFailed(
                    f"{manifest_path}: not a valid manifest ({error.error_count()} problems); "
                    "regenerate it with the command that wrote the dataset"
                ) from None
        else:
            report["manifest"] = None
    elif path.is_file() and path.suffix == ".parquet":
        report["kind"] = "parquet"
        report.update(_parquet_report([path], rows))
    else:
        report["kind"] = "input"
        report.update(_input_report(path, rows))

    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2, default=str))
        return
    _print_report(report)


def _print_report(report: dict[str, Any]) -> None:
    stdout.print(f"[bold]{report['path']}[/] ({report['kind']})")
    if "schema" in report:
        table = Table(title="schema", title_justify="left")
        table.add_column("column")
        table.add_column("type")
        for column, kind in report["schema"].items():
            table.add_row(column, kind)
        stdout.print(table)
        stdout.print(f"{report['rows']:,} rows in {report['files']} file(s), {format_size(report['bytes'])}")
    if "inputs" in report:
        for item in report["inputs"]:
            stdout.print(f"{item['uri']}  {item['format']}  {format_size(item['bytes'])}")
        stdout.print(
            f"scanned {report['records_scanned']} records, {report['rejects_in_scanned']} of them malformed"
        )
    manifest = report.get("manifest")
    if manifest:
        counts = manifest["counts"]
        stdout.print(
            f"manifest: {manifest['dataset']} · supply mode {manifest['supply_mode'] or 'not declared'} · "
            f"input {counts['input']:,} = output {counts['output']:,} "
            f"+ dropped {sum(counts['dropped'].values()):,} "
            f"+ rejected {counts['rejected']:,} ({manifest['invariant']})"
        )
        for reason, count in sorted(counts["dropped"].items()):
            stdout.print(f"  dropped {reason}: {count:,}")
        if manifest["languages"]:
            stdout.print("languages: " + ", ".join(f"{k} {v:,}" for k, v in manifest["languages"].items()))
        if manifest["licenses"]:
            stdout.print("licences: " + ", ".join(f"{k} {v:,}" for k, v in manifest["licenses"].items()))
        if manifest["restricted"]:
            stdout.print("restricted (never publish): " + ", ".join(manifest["restricted"]))
    elif report.get("kind") == "dataset":
        stdout.print(
            "[yellow]no manifest.json: the run did not finish or the folder was copied without it[/]"
        )
    _print_samples(report.get("samples", []))
