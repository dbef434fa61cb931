"""What every command shares: error handling, progress, the run summary, common options."""

from __future__ import annotations

import errno
import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from corpus_kit.errors import CorpusKitError, UsageError
from corpus_kit.io.rejects import REJECT_REASONS
from corpus_kit.pipeline.spec import ProgressCallback, RunResult
from corpus_kit.utils import format_size, parse_size

stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int) -> typer.Exit:
    """Print one ``error:`` line to stderr and return the Exit to raise."""
    from rich.markup import escape

    # the message is text, not markup: "[pii]" in a pip hint or a path must print as it is
    stderr.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, markup=True)
    return typer.Exit(code)


def handle_errors(function: F) -> F:
    """Turn corpus-kit errors into one line on stderr and the exit code of docs/architecture.md §4."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except CorpusKitError as error:
            raise fail(str(error), error.exit_code) from None
        except ValueError as error:  # option values parsed by hand (sizes, limits)
            raise fail(str(error), UsageError.exit_code) from None
        except OSError as error:  # the file system refused: name the file, not a traceback
            raise fail(*os_error_message(error)) from None
        except KeyboardInterrupt:
            raise fail(
                "interrupted; the output folder's data/ and manifest were left as they were", 130
            ) from None

    return wrapper  # type: ignore[return-value]


_USAGE_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ELOOP, errno.ENOENT, errno.ENOTDIR})


def os_error_message(error: OSError) -> tuple[str, int]:
    """One line naming the file the system refused and what to do, and the exit code: 2 when the
    fix is another path or its permissions, 1 otherwise (a full disk, an I/O error)."""
    where = error.filename if error.filename is not None else "a file"
    reason = error.strerror or type(error).__name__
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "fix its permissions or choose another folder (-o for the output)"
    elif error.errno == errno.ENOSPC:
        fix = "free some space or choose another -o"
    else:
        fix = "check the path and run the command again"
    code = UsageError.exit_code if error.errno in _USAGE_ERRNOS else 1
    return f"{where}: {reason}; {fix}", code


def progress_wanted(quiet: bool) -> bool:
    """Progress bars only for a person at a terminal: not with --quiet, in CI, or when piped."""
    return not quiet and not os.environ.get("CI") and sys.stderr.isatty()


@contextmanager
def progress_display(enabled: bool, total_bytes: int, label: str) -> Iterator[ProgressCallback | None]:
    """A rich progress bar (bytes read, records, MB/s) fed by the runner's polling thread.

    The bar is created on the first report and refreshed by the caller's thread only
    (``auto_refresh=False``): no rendering thread exists while worker processes are forked, so a
    child never inherits a held stderr lock. The runner reports only once a task has started,
    that is after the pool's workers exist.
    """
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[records]:,} records"),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
    )
    state: dict[str, Any] = {}

    def update(records: int, size: int) -> None:
        if "progress" not in state:
            progress = Progress(*columns, console=stderr, transient=True, auto_refresh=False)
            progress.start()
            state["progress"] = progress
            state["task"] = progress.add_task(label, total=max(total_bytes, 1), records=0)
        progress = state["progress"]
        progress.update(state["task"], completed=min(size, total_bytes), records=records)
        progress.refresh()

    try:
        yield update
    finally:
        if "progress" in state:
            state["progress"].stop()


def print_summary(result: RunResult, title: str) -> None:
    """The end-of-run table: in / out / dropped by reason / rejected / where, and throughput."""
    tally, manifest, output = result.tally, result.manifest, result.output
    where = _display_path(output)
    table = Table(title=title, title_justify="left", show_header=True, header_style="bold")
    table.add_column("records")
    table.add_column("count", justify="right")
    table.add_column("where")
    table.add_row(
        "input", f"{tally.input:,}", f"{len(manifest.sources)} source(s), {format_size(result.input_bytes)}"
    )
    data_bytes = sum(item.bytes for item in manifest.files)
    table.add_row(
        "output",
        f"{tally.output:,}",
        f"{where}/data/ ({len(manifest.files)} file(s), {format_size(data_bytes)})",
    )
    for reason, count in sorted(tally.dropped.items()):
        table.add_row(
            f"dropped: {reason}", f"{count:,}", f"{where}/removed/" if _has(output, "removed") else ""
        )
    if manifest.pii is not None:
        spans = ", ".join(f"{entity} {count:,}" for entity, count in manifest.pii.entities.items())
        table.add_row(
            f"PII scrubbed ({manifest.pii.operator})", f"{manifest.pii.documents:,}", spans or "none found"
        )
    if manifest.safety is not None:
        safety = manifest.safety
        codes = ", ".join(f"{code} {count:,}" for code, count in safety.flagged_by_code.items())
        notes = [codes or "none flagged"]
        if safety.blacklisted_sources:
            notes.append(f"{len(safety.blacklisted_sources):,} source(s) blacklisted")
        if not safety.coverage.meets_minima:
            notes.append(f"lexicon {safety.coverage.terms:,} terms, below clause 8.1")
        table.add_row("safety flagged", f"{safety.flagged:,}", "; ".join(notes))
    if manifest.tokens is not None:
        tokens = manifest.tokens
        languages = ", ".join(f"{code} {count:,}" for code, count in list(tokens.by_language.items())[:4])
        table.add_row("tokens", f"{tokens.total:,}", f"{tokens.tokenizer.name}: {languages or 'no text'}")
    table.add_row(
        "rejected", f"{tally.rejected:,}", f"{where}/rejects/ (restricted)" if tally.rejected else ""
    )
    for reason, count in sorted(tally.rejected_by_reason.items()):
        table.add_row(f"  {reason}", f"{count:,}", REJECT_REASONS.get(reason, ""))
    stdout.print(table)
    rate = result.input_bytes / result.seconds / 1e6 if result.seconds else 0.0
    docs = tally.input / result.seconds if result.seconds else 0.0
    balance = "holds" if tally.invariant_holds() else "BROKEN"
    stdout.print(
        f"{result.seconds:.1f} s, {rate:.1f} MB/s, {docs:,.0f} docs/s · "
        f"input = output + dropped + rejected {balance} · manifest: {where}/manifest.json",
        soft_wrap=True,
    )
    from corpus_kit.governance.policy import validate_manifest_data  # only for people: not with --quiet

    findings = validate_manifest_data(manifest.model_dump_json())
    errors = [f for f in findings if f.severity == "error"]
    if findings:
        rules = ", ".join(sorted({f.rule for f in findings}))
        stdout.print(
            f"manifest validate: {len(errors)} error(s), {len(findings) - len(errors)} warning(s) ({rules}); "
            f"details: corpus-kit manifest validate {where}",
            soft_wrap=True,
        )
    else:
        stdout.print("manifest validate: passes", soft_wrap=True)


def _has(output: Path, name: str) -> bool:
    return (output / name).exists()


def _display_path(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd()).as_posix() or "."
    except ValueError:
        return path.as_posix()


def size_option(value: str | None, name: str, parse: Callable[[Any], int] = parse_size) -> int | None:
    """A size given on the command line, in bytes (``parse`` also checks its bounds)."""
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError as error:
        raise UsageError(f"{name}: {error}") from None


# Options shared by the dataset-writing commands -------------------------------------------------
OutputOption = Annotated[
    Path, typer.Option("--output", "-o", help="Output dataset folder.", show_default=False)
]
WorkersOption = Annotated[
    int | None, typer.Option("--workers", "-w", help="Parallel worker processes (default: CPU count).", min=1)
]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace a dataset already in the output folder.")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary; errors only.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", help="Show datatrove's task logs on stderr.")]
MaxRejectsOption = Annotated[
    str | None,
    typer.Option(
        "--max-rejects",
        help="Exit 1 when more records are rejected than this: a count (100; a run stops as soon as "
        "one task exceeds it), a fraction (0.01) or 1%.",
        show_default=False,
    ),
]
ShardSizeOption = Annotated[
    str | None,
    typer.Option("--shard-size", help="Target Parquet file size, e.g. 512MiB.", show_default=False),
]
FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        help="Force the input format: jsonl, parquet, webdataset, hf_disk.",
        show_default=False,
    ),
]
TextFieldOption = Annotated[str | None, typer.Option("--text-field", help="Input field holding the text.")]
IdFieldOption = Annotated[str | None, typer.Option("--id-field", help="Input field holding the record id.")]
MaxRecordOption = Annotated[
    str | None,
    typer.Option(
        "--max-record-size",
        help="Reject records larger than this once expanded (default 64MiB; 1KiB to 2GiB).",
        show_default=False,
    ),
]
NameOption = Annotated[
    str | None, typer.Option("--name", help="Dataset name in the manifest (default: folder name).")
]
DatasetVersionOption = Annotated[
    str | None, typer.Option("--dataset-version", help="Dataset version in the manifest.", show_default=False)
]
SupplyModeOption = Annotated[
    str | None,
    typer.Option(
        "--supply-mode",
        help="Supply mode for the manifest: open, conditional_open, authorised, targeted_trade, cooperation.",
        show_default=False,
    ),
]
SupplyFileOption = Annotated[
    Path | None,
    typer.Option("--supply", help="YAML with the supply block (mode and its fields).", show_default=False),
]
ClassificationFileOption = Annotated[
    Path | None,
    typer.Option(
        "--classification",
        help="YAML with the classification block (industry, grade, general_level, basis, pi) and, "
        "optionally, registration; it replaces the supply block's.",
        show_default=False,
    ),
]
KeepRemovedOption = Annotated[
    bool, typer.Option("--keep-removed", help="Keep dropped records in OUT/removed/<stage>/ (restricted).")
]
