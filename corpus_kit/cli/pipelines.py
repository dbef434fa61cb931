"""The commands that write a dataset: run, convert, demo, and the shared runner of the stage commands
(:mod:`corpus_kit.cli.stage_commands`)."""

from __future__ import annotations

import functools
import inspect
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import typer

from corpus_kit.cli.common import (
    ClassificationFileOption,
    DatasetVersionOption,
    FormatOption,
    IdFieldOption,
    KeepRemovedOption,
    MaxRecordOption,
    MaxRejectsOption,
    NameOption,
    OutputOption,
    OverwriteOption,
    QuietOption,
    ShardSizeOption,
    SupplyFileOption,
    SupplyModeOption,
    TextFieldOption,
    VerboseOption,
    WorkersOption,
    fail,
    handle_errors,
    print_summary,
    progress_display,
    progress_wanted,
    size_option,
)
from corpus_kit.errors import UsageError
from corpus_kit.governance.manifest import Supply
from corpus_kit.pipeline.config import (
    PipelineConfig,
    load_pipeline,
    node_line,
    parse_max_rejects,
    record_size,
    run_spec,
    shard_size,
)
from corpus_kit.pipeline.runner import SlurmLaunched, run_pipeline
from corpus_kit.pipeline.spec import RunResult, RunSpec
from corpus_kit.resources import resource_path
from corpus_kit.utils import first_validation_error


def _spec_from_config(
    config: PipelineConfig,
    base_dir: Path,
    inputs: list[str] | None,
    output: Path,
    format_: str | None,
    text_field: str | None,
    id_field: str | None,
    max_record_size: str | None,
) -> RunSpec:
    """A RunSpec from a pipeline config; command-line values win over the YAML's."""
    return run_spec(
        config, base_dir, output, inputs, format_, text_field, id_field,
        size_option(max_record_size, "--max-record-size", record_size),
    )  # fmt: skip


def _execute(spec: RunSpec, quiet: bool, title: str) -> RunResult:
    from corpus_kit.pipeline.tuning import keep_freed_memory

    keep_freed_memory()  # process-wide, so the CLI's choice: before tables are built and workers fork
    total = sum(unit.size for unit in spec.units)
    with progress_display(progress_wanted(quiet), total, title) as callback:
        result = run_pipeline(spec, callback)
    if not quiet:
        print_summary(result, title)
    if result.max_rejects_exceeded:
        raise fail(
            f"{result.max_rejects_exceeded}; see {spec.output}/rejects/ for each record and its reason", 1
        )
    return result


def resolve_supply(
    current: Supply | None,
    supply_file: Path | None,
    supply_mode: str | None,
    classification_file: Path | None = None,
) -> Supply | None:
    """The supply block: a --supply file replaces the pipeline's, --supply-mode sets the mode,
    --classification replaces its classification (and registration, when the file has one)."""
    data: dict[str, Any] = current.model_dump(exclude_none=True, exclude_defaults=True) if current else {}
    if current is not None:
        data["mode"] = current.mode.value
    source = "the pipeline's supply block"
    trees: dict[str, tuple[Path | None, Any]] = {}  # top-level key ("" for the rest) -> (file, YAML node)
    if supply_file is not None:
        loaded, node = _load_block(supply_file, "supply file", "supply")
        if not isinstance(loaded, dict):
            raise UsageError(f"{supply_file}: a supply file is a mapping with mode: and the mode's fields")
        data, source = loaded, str(supply_file)
        trees[""] = (supply_file, node)
    if supply_mode is not None:
        data["mode"] = supply_mode
        source = "--supply-mode" if supply_file is None else source
    if classification_file is not None:
        raw, node = _load_block(classification_file, "classification file", None)
        loaded = raw
        if isinstance(raw, dict) and "classification" in raw:
            if "registration" in raw:
                data["registration"] = raw["registration"]
                trees["registration"] = (classification_file, _child(node, "registration"))
            loaded, node = raw["classification"], _child(node, "classification")
        if not isinstance(loaded, dict):
            raise UsageError(f"{classification_file}: expected a mapping with grade, industry, basis, pi")
        if "mode" not in data:
            raise UsageError(
                f"--classification {classification_file}: give a supply mode too (--supply-mode)"
            )
        data["classification"] = loaded
        source = str(classification_file)
        trees["classification"] = (classification_file, node)
    if not data:
        return None
    from pydantic import ValidationError

    try:
        return Supply.model_validate(data)
    except ValidationError as error:
        location, field, message = first_validation_error(error)
        key = str(location[0]) if location else ""
        where, node = trees.get(key) or trees.get("", (None, None))
        if where is None:
            raise UsageError(f"{source}: {field or 'supply'}: {message}") from None
        inner = location[1:] if key in trees and key else location
        line = node_line(node, tuple(inner))
        raise UsageError(f"{where}{f':{line}' if line else ''}: {field or 'supply'}: {message}") from None


def _load_block(path: Path, what: str, wrapper: str | None) -> tuple[Any, Any]:
    """A YAML file's data and node tree; a file holding ``{wrapper: {...}}`` gives the inner mapping."""
    from corpus_kit.utils import load_yaml_document, load_yaml_file

    if not path.is_file():
        raise UsageError(f"{path}: {what} not found")
    data = load_yaml_file(path, what)  # its errors (bombs, syntax) name the file and line
    _, node = load_yaml_document(path.read_bytes())  # the tree, for the line of a field's error
    if wrapper is not None and isinstance(data, dict) and isinstance(data.get(wrapper), dict):
        return data[wrapper], _child(node, wrapper)
    return (data or {}), node


def _child(node: Any, key: str) -> Any:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return next((value for name, value in node.value if name.value == key), None)
    return None


@dataclass(frozen=True)
class DatasetOptions:
    """The options every dataset-writing command takes (declared once, see :func:`dataset_command`)."""

    workers: int | None = None
    overwrite: bool = False
    max_rejects: str | None = None
    shard_size: str | None = None
    format_: str | None = None
    text_field: str | None = None
    id_field: str | None = None
    max_record_size: str | None = None
    name: str | None = None
    dataset_version: str | None = None
    supply_mode: str | None = None
    supply_file: Path | None = None
    classification_file: Path | None = None
    quiet: bool = False
    verbose: bool = False


_COMMON_OPTIONS: list[tuple[str, Any, Any]] = [
    ("workers", WorkersOption, None),
    ("overwrite", OverwriteOption, False),
    ("max_rejects", MaxRejectsOption, None),
    ("shard_size", ShardSizeOption, None),
    ("format_", FormatOption, None),
    ("text_field", TextFieldOption, None),
    ("id_field", IdFieldOption, None),
    ("max_record_size", MaxRecordOption, None),
    ("name", NameOption, None),
    ("dataset_version", DatasetVersionOption, None),
    ("supply_mode", SupplyModeOption, None),
    ("supply_file", SupplyFileOption, None),
    ("classification_file", ClassificationFileOption, None),
    ("quiet", QuietOption, False),
    ("verbose", VerboseOption, False),
]


def dataset_command(function: Callable[..., None]) -> Callable[..., None]:
    """Give a command the shared dataset options; it receives them as ``options: DatasetOptions``.

    Typer reads parameters from the signature, so the wrapper's signature is the command's own
    parameters followed by the shared ones (annotations resolved, as Typer needs them).
    """
    hints = typing.get_type_hints(function, include_extras=True)
    own = [
        parameter.replace(annotation=hints[parameter.name])
        for parameter in inspect.signature(function).parameters.values()
        if parameter.name != "options"
    ]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        for name, annotation, default in _COMMON_OPTIONS
    ]

    @functools.wraps(function)
    def wrapper(**kwargs: Any) -> None:
        options = DatasetOptions(**{name: kwargs.pop(name) for name, _, _ in _COMMON_OPTIONS})
        return function(**kwargs, options=options)

    wrapper.__signature__ = inspect.Signature([*own, *shared])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *shared]} | {"return": None}
    del wrapper.__wrapped__  # Typer must see the wrapper's signature, not the function's
    return wrapper


def _build_spec(
    config: PipelineConfig, base_dir: Path, inputs: list[str] | None, output: Path, options: DatasetOptions
) -> RunSpec:
    """A RunSpec from a pipeline config with the shared command-line options applied over it."""
    spec = _spec_from_config(
        config, base_dir, inputs, output, options.format_, options.text_field, options.id_field,
        options.max_record_size,
    )  # fmt: skip
    return replace(
        spec,
        workers=options.workers,
        overwrite=options.overwrite,
        verbose=options.verbose,
        max_rejects=_max_rejects_option(options.max_rejects)
        if options.max_rejects is not None
        else spec.max_rejects,
        shard_bytes=size_option(options.shard_size, "--shard-size", shard_size) or spec.shard_bytes,
        dataset_name=options.name or spec.dataset_name,
        dataset_version=options.dataset_version or spec.dataset_version,
        supply=resolve_supply(
            spec.supply, options.supply_file, options.supply_mode, options.classification_file
        ),
    )


def _max_rejects_option(value: str) -> float | int | None:
    try:
        return parse_max_rejects(value)
    except ValueError as error:
        raise UsageError(f"--max-rejects: {error}") from None


def run_single_stage(
    step: str,
    params: dict[str, Any],
    inputs: list[str],
    output: Path,
    keep_removed: bool,
    options: DatasetOptions,
) -> None:
    config = PipelineConfig.model_validate(
        {"name": step, "steps": [{step: params}] if step != "convert" else []}
    )
    spec = replace(_build_spec(config, Path.cwd(), inputs, output, options), keep_removed=keep_removed)
    _execute(spec, options.quiet, f"corpus-kit {step}")


InputsArgument = Annotated[
    list[str], typer.Argument(help="Input files, folders or globs.", show_default=False)
]


@handle_errors
@dataset_command
def run(
    pipeline: Annotated[
        Path, typer.Argument(help="Pipeline YAML, e.g. pipelines/demo.yaml.", show_default=False)
    ],
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--input", "-i", help="Input file, folder or glob (repeatable); replaces the YAML's inputs."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Output folder (default: output/<pipeline name>).")
    ] = None,
    keep_removed: KeepRemovedOption = False,
    executor: Annotated[
        str,
        typer.Option(
            "--executor",
            help="local (default), ray (a local cluster or --ray-address), slurm (one job array per phase).",
        ),
    ] = "local",
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="Ray cluster to join, e.g. ray://head:10001.")
    ] = None,
    slurm_partition: Annotated[str, typer.Option("--slurm-partition", help="Slurm partition.")] = "cpu",
    slurm_time: Annotated[str, typer.Option("--slurm-time", help="Slurm time limit per task.")] = "4:00:00",
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="With --executor slurm: write the sbatch scripts, submit nothing."),
    ] = False,
    *,
    options: DatasetOptions,
) -> None:
    """Run a YAML pipeline: read the inputs, apply its steps, write Parquet + manifest.

    Running again on the same output resumes an interrupted run: completed tasks are not run again.

    Example: corpus-kit run pipelines/standard.yaml -i data/ -o out/ --workers 2
    """
    if executor not in ("local", "ray", "slurm"):
        raise typer.BadParameter(f"must be local, ray or slurm, not {executor!r}", param_hint="--executor")
    if dry_run and executor != "slurm":
        raise typer.BadParameter("--dry-run needs --executor slurm", param_hint="--dry-run")
    config = load_pipeline(pipeline)
    spec = _build_spec(
        config, pipeline.resolve().parent, inputs, output or Path("output") / config.name, options
    )
    spec = replace(
        spec,
        keep_removed=keep_removed or spec.keep_removed,
        executor=executor,
        ray_address=ray_address,
        slurm={"partition": slurm_partition, "time": slurm_time, "dry_run": dry_run},
        command=[*sys.argv],
    )
    try:
        _execute(spec, options.quiet, f"corpus-kit run {config.name}")
    except UsageError as error:
        index = getattr(error, "step_index", None)
        if index is None:
            raise
        from corpus_kit.pipeline.config import step_lines

        lines = step_lines(pipeline)
        where = f":{lines[index]}" if index < len(lines) else ""
        raise UsageError(f"{pipeline}{where}: {error}") from None
    except SlurmLaunched as launched:
        # a real submission writes datatrove's scripts in each phase's log folder, not in this one
        typer.echo(
            f"wrote Slurm jobs for {launched.phases} phases + a finalising job in {launched.folder}; "
            f"submit with: bash {launched.folder / 'submit.sh'}"
            if dry_run
            else f"submitted Slurm jobs for {launched.phases} phases + a finalising job"
        )


@handle_errors
@dataset_command
def convert(inputs: InputsArgument, output: OutputOption, *, options: DatasetOptions) -> None:
    """Convert shards (JSONL, Parquet, WebDataset, save_to_disk) into a governed Parquet dataset, no stages.

    Example: corpus-kit convert 'raw/*.jsonl.gz' media/shard-0001.tar -o datasets/intake-2026-11
    """
    run_single_stage("convert", {}, inputs, output, False, options)


@handle_errors
def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="Output dataset folder.")] = Path(
        "corpus-kit-demo"
    ),
    workers: WorkersOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Run pipelines/demo.yaml on the bundled zh/en + image + audio sample (no network needed).

    The output folder is replaced if it already holds an earlier demo.

    Example: corpus-kit demo -o demo-out && corpus-kit inspect demo-out
    """
    pipeline = resource_path("pipelines", "demo.yaml")
    config = load_pipeline(pipeline)
    spec = _spec_from_config(config, pipeline.parent, None, output, None, None, None, None)
    _refuse_a_dataset_that_is_not_the_demo(output, spec.dataset_name or output.name)
    spec = replace(spec, workers=workers, overwrite=True, verbose=verbose)
    _execute(spec, quiet, "corpus-kit demo")


def _refuse_a_dataset_that_is_not_the_demo(output: Path, demo_name: str) -> None:
    """``demo`` replaces an earlier demo without asking; any other dataset stays (it has no --overwrite)."""
    from corpus_kit.governance.manifest import MANIFEST_NAME, Manifest

    existing = output / MANIFEST_NAME
    if not existing.is_file():
        return
    try:
        name = Manifest.read(existing).dataset.name
    except (ValueError, OSError):
        name = None
    if name != demo_name:
        raise UsageError(f"{output}: holds a dataset that is not the demo; choose another -o for the demo")
