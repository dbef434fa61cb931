"""The ``corpus-kit`` command line (Typer). ``python cli.py ...`` is the same program."""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import Any

import typer
from typer.core import TyperGroup

from corpus_kit import __version__
from corpus_kit.cli.catalog import card, publish
from corpus_kit.cli.decontam import decontam_app
from corpus_kit.cli.diff import diff
from corpus_kit.cli.explain import explain
from corpus_kit.cli.export import export
from corpus_kit.cli.index import index_app
from corpus_kit.cli.inspect import inspect
from corpus_kit.cli.manifest import manifest_app
from corpus_kit.cli.pipelines import convert, demo, run
from corpus_kit.cli.sample import sample
from corpus_kit.cli.sign import sign
from corpus_kit.cli.stages import stages


class _WithStageCommands(TyperGroup):
    """The app's commands plus one per built-in stage, built when first asked for.

    A stage command is generated from the stage's params model, which means importing the stage's
    module (and datatrove's filters): ~0.2 s that ``manifest validate`` or ``convert`` should not pay.
    """

    def list_commands(self, ctx: Any) -> list[str]:
        from corpus_kit.cli.stage_commands import builtin_stage_names

        names = super().list_commands(ctx)
        at = names.index("convert") + 1 if "convert" in names else len(names)
        stage_names = []
        for name in builtin_stage_names():
            if name not in names:
                stage_names.append(name)
                stage_names.extend(f"{name} {sub}" for sub in STAGE_SUBCOMMANDS.get(name, ()))
        return [*names[:at], *stage_names, *names[at:]]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            from corpus_kit.cli.stage_commands import builtin_stage_names, click_stage_command

            stage, _, sub = cmd_name.partition(" ")
            if sub and sub in STAGE_SUBCOMMANDS.get(stage, ()):
                command = _stage_subcommand(stage, sub)
            elif cmd_name in builtin_stage_names():
                command = click_stage_command(cmd_name)
        return command

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        # `corpus-kit safety lexicon-check FILE`: a stage command with subcommands of its own; any
        # other first argument is the stage command's input (`corpus-kit safety INPUT... -o OUT`)
        if len(args) >= 2 and args[1] in STAGE_SUBCOMMANDS.get(args[0], ()):
            name = f"{args[0]} {args[1]}"
            command = self.get_command(ctx, name)
            if command is not None:
                return name, command, args[2:]
        return super().resolve_command(ctx, args)


#: Stages whose command also has subcommands (``corpus-kit safety sample ...``); each is a command of
#: the Typer app in ``corpus_kit.cli.<stage>``.
STAGE_SUBCOMMANDS: dict[str, tuple[str, ...]] = {"safety": ("lexicon-check", "sample", "review")}


def _stage_subcommand(stage: str, sub: str) -> Any:
    import importlib

    module = importlib.import_module(f"corpus_kit.cli.{stage}")
    group = typer.main.get_command(module.app)
    if hasattr(group, "get_command"):
        command = group.get_command(typer.Context(group), sub)
    else:  # a Typer app with one command is that command
        command = group if group.name == sub else None
    if command is not None:
        command.name = f"{stage} {sub}"  # as listed in --help and shown in its usage line
    return command


app = typer.Typer(
    cls=_WithStageCommands,
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
app.command(name="sample")(sample)
app.command(name="stages")(stages)
app.command(name="inspect")(inspect)
app.command(name="card")(card)
app.command(name="publish")(publish)
app.command(name="export")(export)
app.command(name="sign")(sign)
app.command(name="explain")(explain)
app.command(name="diff")(diff)
app.add_typer(manifest_app, name="manifest")
app.add_typer(decontam_app, name="decontam-index")
app.add_typer(index_app, name="index")


def main() -> None:
    """Console entry point (``corpus-kit``, ``python -m corpus_kit``, ``python cli.py``)."""
    try:
        app()
    except SystemExit as finished:
        _leave(finished)
        raise


def _leave(finished: SystemExit) -> None:
    """End the process once the command is done, without the interpreter's teardown.

    Tearing down the modules and objects a pipeline run loaded (presidio, spaCy, pyarrow, NumPy
    tables) took ~0.25 s of a 9 s benchmark run, doing nothing the operating system does not do
    when the process ends. Everything a command writes is closed and renamed before it returns;
    what Python itself would still do is done here: the atexit handlers (logging, multiprocessing's
    children) and flushing stdout/stderr. If a non-daemon thread is still running, the normal
    exit (which waits for it) is left to happen.
    """
    main_thread = threading.main_thread()
    if any(thread is not main_thread and not thread.daemon for thread in threading.enumerate()):
        return
    code = finished.code
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): Python prints it and exits with 1
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (corpus-kit ... | head); Python exits 120 then
            status = status or 120
    os._exit(status)
