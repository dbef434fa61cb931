"""``corpus-kit sample``: a seeded token-budget draw from corpus-kit datasets (docs/sampling.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from corpus_kit.cli.common import (
    DatasetVersionOption,
    NameOption,
    OutputOption,
    OverwriteOption,
    QuietOption,
    ShardSizeOption,
    VerboseOption,
    WorkersOption,
    handle_errors,
    print_summary,
    progress_display,
    progress_wanted,
    size_option,
    stderr,
    stdout,
)

if TYPE_CHECKING:
    from corpus_kit.pipeline.sample import Plan


def _parse_tokens(value: str) -> int:
    """``1000000``, ``1_000_000``, ``1,000,000``, ``250k``, ``2M`` or ``1.5B`` tokens."""
    from corpus_kit.errors import UsageError

    text = value.strip().replace("_", "").replace(",", "")
    factor = 1
    if text[-1:].lower() in ("k", "m", "b"):
        factor = {"k": 10**3, "m": 10**6, "b": 10**9}[text[-1].lower()]
        text = text[:-1]
    try:
        number = float(text) * factor if "." in text else int(text) * factor
    except ValueError:
        raise UsageError(f"--tokens {value!r}: give a number of tokens, e.g. 1000000, 250k or 2M") from None
    if number < 1 or number != int(number) or number > 10**15:
        raise UsageError(f"--tokens {value!r}: give a whole number of tokens between 1 and 10^15")
    return int(number)


@handle_errors
def sample(
    datasets: Annotated[
        list[Path], typer.Argument(help="Parent datasets (folders corpus-kit wrote).", show_default=False)
    ],
    output: OutputOption,
    tokens: Annotated[
        str, typer.Option("--tokens", "-n", help="Token budget: 1000000, 250k, 2M.", show_default=False)
    ],
    by: Annotated[
        str | None,
        typer.Option("--by", help="Weigh by language, source, license or supply_mode.", show_default=False),
    ] = None,
    weights: Annotated[
        list[str] | None,
        typer.Option(
            "--weights",
            help="KEY=SHARE token share of a key of --by (repeatable; shares add up to 1).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the draw.", min=0)] = 0,
    tokenizer: Annotated[
        str,
        typer.Option("--tokenizer", help="o200k_base, cl100k_base, or a tokenizer.json / .tiktoken file."),
    ] = "o200k_base",
    overwrite: OverwriteOption = False,
    workers: WorkersOption = None,
    name: NameOption = None,
    dataset_version: DatasetVersionOption = None,
    shard_size: ShardSizeOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Draw a seeded token-budget sample from corpus-kit datasets into a new dataset.

    Each key of --by gets its --weights share of --tokens, drawn at random for --seed.

    The manifest records the parents, the draw and a supply block no wider than the parents'.

    Example: corpus-kit sample zh en -o mix --tokens 2M --by language --weights zh-Hans=0.6 --weights en=0.4
    """
    from corpus_kit.pipeline.config import shard_size as parse_shard_size
    from corpus_kit.pipeline.sample import sample_dataset
    from corpus_kit.pipeline.tuning import keep_freed_memory

    budget = _parse_tokens(tokens)
    keep_freed_memory()

    def planned(plan: Plan) -> None:
        if not quiet:
            _print_plan(plan)

    total = sum(_data_bytes(path) for path in datasets)
    with progress_display(progress_wanted(quiet), total, "corpus-kit sample") as callback:
        result = sample_dataset(
            datasets,
            output,
            budget,
            by=by,
            weights=weights,
            seed=seed,
            tokenizer=tokenizer,
            overwrite=overwrite,
            workers=workers,
            dataset_name=name,
            dataset_version=dataset_version,
            shard_bytes=size_option(shard_size, "--shard-size", parse_shard_size),
            verbose=verbose,
            progress=callback,
            on_plan=planned,
        )
    if not quiet:
        print_summary(result, "corpus-kit sample")
    block = result.manifest.sample
    if block is not None and abs(block.tokens - block.target_tokens) > block.target_tokens // 100:
        stderr.print(
            f"warning: drew {block.tokens:,} tokens for a budget of {block.target_tokens:,} (more than 1 % "
            "off: rows larger than the rest of the budget); see docs/sampling.md",
            soft_wrap=True,
            markup=False,
        )


def _data_bytes(dataset: Path) -> int:
    """Bytes of a parent's data files, for the progress bar (0 when they cannot be listed)."""
    try:
        return sum(path.stat().st_size for path in (dataset / "data").glob("*.parquet"))
    except OSError:
        return 0


def _print_plan(plan: Plan) -> None:
    off = (plan.tokens - plan.target) / plan.target
    stdout.print(
        f"drew {plan.rows:,} rows, {plan.tokens:,} tokens ({off:+.3%} of --tokens {plan.target:,}) "
        f"with {plan.tokenizer.name}, seed {plan.seed}",
        soft_wrap=True,
        markup=False,
    )
    if plan.supply_notes:
        stdout.print("supply narrowed: " + "; ".join(plan.supply_notes), soft_wrap=True, markup=False)
