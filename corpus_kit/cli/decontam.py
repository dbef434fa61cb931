"""``decontam-index build``: a hash-only index of evaluation sets, shareable without their text."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corpus_kit.cli.common import handle_errors, stdout
from corpus_kit.errors import UsageError

decontam_app = typer.Typer(
    name="decontam-index",
    help="Hash-only indexes of evaluation sets for the decontaminate stage (docs/decontamination.md).",
    no_args_is_help=True,
)


@decontam_app.command("build")
@handle_errors
def build(
    evals: Annotated[
        list[str],
        typer.Argument(
            help="Evaluation sets: JSONL/Parquet files or folders (one benchmark per file, or a "
            "'benchmark' field per item), or other indexes.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Index file to write (.ckdi).", show_default=False)
    ],
    fields: Annotated[
        str | None,
        typer.Option(
            "--fields",
            help="Comma-separated item fields whose text counts [default: those present of text, "
            "question, prompt, input, context, passage, choices, options, answer, output, target, ...].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Build a hash-only index of evaluation sets: per benchmark, the sorted 64-bit hashes of its
    13-unit n-grams and counts, with the sha256 of the files it was built from; no text.

    The decontaminate stage takes the index in evals and gives exactly the result the files give.
    The index is written atomically (temporary file, then rename).

    Example: corpus-kit decontam-index build evals/ -o evals.ckdi
    """
    from corpus_kit.stages.decontaminate.evals import load_evals, resolve_eval_paths, write_index
    from corpus_kit.utils import split_list

    field_list = split_list(fields) if fields is not None else None
    if field_list is not None and not field_list:
        raise UsageError("--fields: give at least one field name, or leave the option out")
    target = output.resolve()
    if any(path.resolve() == target for path in resolve_eval_paths(evals)):
        raise UsageError(f"-o {output}: is one of the evaluation files; choose another output file")
    if output.is_dir():
        raise UsageError(f"-o {output}: is a folder; give a file name such as evals.ckdi")
    benchmarks, sources = load_evals(evals, field_list)
    if not benchmarks:
        raise UsageError("no benchmark found in the evaluation files")
    header = write_index(output, benchmarks, sources, field_list)
    items = sum(entry.items for entry in header.benchmarks)
    grams = sum(entry.grams for entry in header.benchmarks)
    unmatched = sum(entry.too_short + entry.empty for entry in header.benchmarks)
    stdout.print(
        f"{output}: {len(header.benchmarks):,} benchmark(s), {items:,} item(s), {grams:,} n-gram hashes "
        f"from {len(sources):,} file(s)"
        + (f"; {unmatched:,} item(s) too short or empty, not matchable" if unmatched else "")
        + ". It holds no evaluation text: use it in decontaminate's evals.",
        soft_wrap=True,
        highlight=False,
    )
