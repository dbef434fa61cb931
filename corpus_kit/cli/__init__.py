"""The ``corpus-kit`` command line (Typer). ``python cli.py ...`` is the same program."""

from __future__ import annotations

import typer

from corpus_kit import __version__
from corpus_kit.cli.catalog import card, publish
from corpus_kit.cli.inspect import inspect
from corpus_kit.cli.manifest import manifest_app
from corpus_kit.cli.pipelines import convert, dedup, demo, langid, license, pii, quality, run

app = typer.Typer(
    name="corpus-kit",
    help=(
        "Govern AI-training corpora: read JSONL/Parquet/WebDataset/save_to_disk shards, run governance "
        "stages, write a Hub-compatible Parquet dataset with a compliance manifest.\n\n"
        "Example: corpus-kit demo -o demo-out && corpus-kit inspect demo-out"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"corpus-kit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """corpus-kit command line."""


app.command(name="demo")(demo)
app.command(name="run")(run)
app.command(name="convert")(convert)
app.command(name="dedup")(dedup)
app.command(name="langid")(langid)
app.command(name="license")(license)
app.command(name="pii")(pii)
app.command(name="quality")(quality)
app.command(name="inspect")(inspect)
app.command(name="card")(card)
app.command(name="publish")(publish)
app.add_typer(manifest_app, name="manifest")


def main() -> None:
    app()
