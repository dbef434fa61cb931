"""``card`` and ``publish``: describe a dataset and move it to the Hub or a catalog folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from corpus_kit.cli.common import handle_errors, stdout
from corpus_kit.errors import CheckFailed, UsageError
from corpus_kit.governance.manifest import MANIFEST_NAME
from corpus_kit.utils import split_list


def _dataset_dir(dataset: Path) -> Path:
    if not dataset.is_dir():
        raise UsageError(f"{dataset}: not a folder; give a dataset folder written by corpus-kit")
    if not (dataset / MANIFEST_NAME).is_file():
        raise CheckFailed(f"{dataset}: no {MANIFEST_NAME}; build the dataset with corpus-kit first")
    return dataset


@handle_errors
def card(
    dataset: Annotated[
        Path, typer.Argument(help="Dataset folder (holding manifest.json).", show_default=False)
    ],
    language: Annotated[
        str | None,
        typer.Option(
            "--language", help="ISO 639-1 codes for the card, e.g. zh,en (default: from langid counts)."
        ),
    ] = None,
    task_categories: Annotated[
        str | None, typer.Option("--task-categories", help="Hub task categories, e.g. text-generation.")
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help="Dataset home page for croissant.json.")] = None,
    creator: Annotated[
        str | None, typer.Option("--creator", help="Publishing organisation for croissant.json.")
    ] = None,
    card_template: Annotated[
        Path | None,
        typer.Option(
            "--card-template",
            help="Jinja2 template for the README.md body (rendered in a sandbox; see docs/card-template.md).",
        ),
    ] = None,
) -> None:
    """Write README.md (Hub dataset card) and croissant.json (Croissant 1.1 + RAI) from the manifest.

    Example: corpus-kit card corpus-kit-demo --language zh,en --creator "City Data Agency"
    """
    from corpus_kit.catalog.card import write_card
    from corpus_kit.catalog.croissant import write_croissant

    folder = _dataset_dir(dataset)
    written = write_card(folder, split_list(language), split_list(task_categories), template=card_template)
    written.append(write_croissant(folder, url, creator))
    for path in written:
        stdout.print(f"wrote {path}", highlight=False, soft_wrap=True)


@handle_errors
def publish(
    dataset: Annotated[
        Path, typer.Argument(help="Dataset folder (holding manifest.json).", show_default=False)
    ],
    to: Annotated[
        str, typer.Option("--to", help="hf://datasets/ORG/NAME or a catalog folder.", show_default=False)
    ],
    visibility: Annotated[
        Literal["public", "gated", "private"],
        typer.Option(
            "--visibility", help="Who can read the target: public, gated (approval needed) or private."
        ),
    ] = "private",
    card_only: Annotated[
        bool, typer.Option("--card-only", help="Publish README.md and croissant.json only.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and the gates; move nothing.")
    ] = False,
) -> None:
    """Publish a dataset behind its supply-mode gates (verify, validate, who may see the data).

    Only open data goes to a public target; other modes put at most the card there (--card-only).
    rejects/ and removed/ never leave. Exit 1 when a gate refuses, with the reason.

    Example: corpus-kit publish corpus-kit-demo --to hf://datasets/city/demo --visibility private --dry-run
    """
    from corpus_kit.catalog.publish import parse_target
    from corpus_kit.io.folder_lock import folder_lock

    folder = _dataset_dir(dataset)
    kind, where = parse_target(to)
    # from the gates to the last copied byte, no run may rebuild the dataset under the publication
    with folder_lock(folder, activity="publication", read_only_ok=True):
        _publish_locked(folder, to, kind, where, visibility, card_only, dry_run)


def _publish_locked(
    folder: Path,
    to: str,
    kind: str,
    where: str,
    visibility: Literal["public", "gated", "private"],
    card_only: bool,
    dry_run: bool,
) -> None:
    from corpus_kit.catalog.publish import (
        ensure_card,
        plan_publication,
        publish_to_folder,
        publish_to_hub,
    )

    if not dry_run:
        ensure_card(folder)
    plan = plan_publication(folder, to, visibility, card_only)
    for line in plan.describe():
        stdout.print(line, highlight=False, soft_wrap=True)
    if plan.refusal:
        raise typer.Exit(1)
    if dry_run:
        stdout.print("dry run: nothing was published", highlight=False)
        return
    if kind == "hub":
        result = publish_to_hub(folder, where, plan)
        stdout.print(f"published to {to}: {result}", highlight=False, soft_wrap=True)
    else:
        published = publish_to_folder(folder, where, plan)
        index = f"{where.rstrip('/')}/index.html"
        stdout.print(f"published to {published}; catalog index {index}", highlight=False, soft_wrap=True)
