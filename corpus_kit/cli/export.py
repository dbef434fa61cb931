"""``export``: a dataset's run as an OpenLineage event, a W3C PROV document or SLSA provenance."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from corpus_kit.cli.common import handle_errors, stdout
from corpus_kit.errors import UsageError
from corpus_kit.governance.manifest import DATASET_FOLDERS, MANIFEST_NAME


@handle_errors
def export(
    dataset: Annotated[
        Path, typer.Argument(help="Dataset folder (holding manifest.json).", show_default=False)
    ],
    fmt: Annotated[
        Literal["openlineage", "prov", "slsa"],
        typer.Option(
            "--format",
            help="openlineage (a COMPLETE RunEvent), prov (W3C PROV-JSON) or slsa (in-toto Statement "
            "with SLSA provenance v1).",
            show_default=False,
        ),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write (JSON).", show_default=False)],
) -> None:
    """Write the dataset's run as a standard lineage or provenance document (docs/lineage.md).

    Sources and data files carry the manifest's sha256, steps their parameters and counts;
    supply mode, licence and grade are corpus-kit fields. Buyers, partners and contract ids
    appear only as sha256 commitments. The document is validated before it is written.
    Exit 1 when the manifest is invalid or was edited (seal), 2 when -o is inside the dataset.

    Example: corpus-kit export corpus-kit-demo --format openlineage -o demo.openlineage.json
    """
    from corpus_kit.catalog.lineage import export_lineage
    from corpus_kit.utils import atomic_write_bytes

    if not dataset.is_dir():
        raise UsageError(f"{dataset}: not a folder; give a dataset folder written by corpus-kit")
    target = output.resolve()
    for name in DATASET_FOLDERS:
        folder = (dataset / name).resolve()
        if target == folder or folder in target.parents:
            raise UsageError(
                f"{output}: inside the dataset's {name}/ folder, which holds only the files its "
                "manifest lists; write the export elsewhere (-o)"
            )
    if target == (dataset / MANIFEST_NAME).resolve():
        raise UsageError(f"{output}: is the dataset's manifest; write the export elsewhere (-o)")
    if target.is_dir():
        raise UsageError(f"{output}: is a folder; give a file name, e.g. -o {dataset.name}.{fmt}.json")
    atomic_write_bytes(target, export_lineage(dataset, fmt))
    stdout.print(f"wrote {output} ({fmt})", highlight=False, soft_wrap=True)
