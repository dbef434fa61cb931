"""``index build``: a dedup index of published datasets, for ``dedup --against`` (docs/dedup.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corpus_kit.cli.common import handle_errors, stdout

index_app = typer.Typer(
    name="index",
    help="Dedup indexes of published datasets, for dedup --against (docs/dedup.md).",
    no_args_is_help=True,
)


@index_app.command("build")
@handle_errors
def build(
    datasets: Annotated[
        list[str],
        typer.Argument(help="corpus-kit dataset folders (data/ + manifest.json).", show_default=False),
    ],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Index folder: created, or appended to.", show_default=False),
    ],
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="Dedup rule file (default rules/dedup.yaml): shingles, bands, seed."),
    ] = None,
) -> None:
    """Add the exact keys, MinHash band keys, signatures and media hashes of every record of DATASETS
    to a dedup index, as one new segment bound to the datasets' manifests (sha256).

    An existing index is appended to (its settings must match); a second writer is refused while
    one holds the index, and the catalogue is written last, so a killed build adds nothing.

    Example: corpus-kit index build release-2026-11 -o catalog-index
    """
    from corpus_kit.stages.dedup.config import load_dedup_config
    from corpus_kit.stages.dedup.index_write import build_from_datasets

    config = load_dedup_config({"rules": str(rules)} if rules else {})
    segment, records = build_from_datasets(datasets, str(output), config)
    stdout.print(f"{output}: added segment {segment} ({records} records from {len(datasets)} dataset(s))")
