"""``run``, ``convert`` and ``demo``: the commands that write a governed dataset."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from corpus_kit.cli.common import (
    DatasetVersionOption,
    FormatOption,
    IdFieldOption,
    MaxRecordOption,
    MaxRejectsOption,
    NameOption,
    OutputOption,
    OverwriteOption,
    QuietOption,
    ShardSizeOption,
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
from corpus_kit.io.inputs import resolve_inputs
from corpus_kit.io.readers import ReadOptions
from corpus_kit.pipeline.config import PipelineConfig, load_pipeline, parse_max_rejects
from corpus_kit.pipeline.runner import RunResult, RunSpec, StepSpec, run_pipeline
from corpus_kit.resources import resource_path


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
    if inputs:
        units = resolve_inputs(inputs, format_ or config.read.format)
    elif config.inputs:
        resolved = [str(base_dir / item) if not Path(item).is_absolute() else item for item in config.inputs]
        units = resolve_inputs(resolved, format_ or config.read.format)
    else:
        raise fail("the pipeline names no inputs; pass one or more with -i INPUT", 2)
    read = ReadOptions(
        text_field=text_field or config.read.text_field,
        id_field=id_field or config.read.id_field,
        max_record_bytes=size_option(max_record_size, "--max-record-size") or config.read.max_record_size,
    )
    return RunSpec(
        pipeline_name=config.name,
        units=units,
        output=output,
        read=read,
        steps=[StepSpec(step.name, step.params) for step in config.steps],
        shard_bytes=config.write.shard_size,
        row_group_bytes=config.write.row_group_size,
        keep_removed=config.write.keep_removed,
        dataset_name=config.dataset.name,
        dataset_version=config.dataset.version,
        dataset_description=config.dataset.description or config.description,
        supply=config.supply,
        max_rejects=config.max_rejects,
    )


def _execute(spec: RunSpec, quiet: bool, title: str) -> RunResult:
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


def _apply_common(
    spec: RunSpec,
    workers: int | None,
    overwrite: bool,
    verbose: bool,
    max_rejects: str | None,
    shard_size: str | None,
    name: str | None,
    dataset_version: str | None,
) -> RunSpec:
    return replace(
        spec,
        workers=workers,
        overwrite=overwrite,
        verbose=verbose,
        max_rejects=parse_max_rejects(max_rejects) if max_rejects is not None else spec.max_rejects,
        shard_bytes=size_option(shard_size, "--shard-size") or spec.shard_bytes,
        dataset_name=name or spec.dataset_name,
        dataset_version=dataset_version or spec.dataset_version,
    )


@handle_errors
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
    workers: WorkersOption = None,
    overwrite: OverwriteOption = False,
    max_rejects: MaxRejectsOption = None,
    shard_size: ShardSizeOption = None,
    format_: FormatOption = None,
    text_field: TextFieldOption = None,
    id_field: IdFieldOption = None,
    max_record_size: MaxRecordOption = None,
    name: NameOption = None,
    dataset_version: DatasetVersionOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Run a YAML pipeline: read the inputs, apply its steps, write Parquet + manifest.

    Example: corpus-kit run pipelines/demo.yaml -i data/ -o out/ --workers 2
    """
    config = load_pipeline(pipeline)
    target = output or Path("output") / config.name
    spec = _spec_from_config(
        config, pipeline.resolve().parent, inputs, target, format_, text_field, id_field, max_record_size
    )
    spec = _apply_common(spec, workers, overwrite, verbose, max_rejects, shard_size, name, dataset_version)
    _execute(spec, quiet, f"corpus-kit run {config.name}")


@handle_errors
def convert(
    inputs: Annotated[list[str], typer.Argument(help="Input files, folders or globs.", show_default=False)],
    output: OutputOption,
    workers: WorkersOption = None,
    overwrite: OverwriteOption = False,
    max_rejects: MaxRejectsOption = None,
    shard_size: ShardSizeOption = None,
    format_: FormatOption = None,
    text_field: TextFieldOption = None,
    id_field: IdFieldOption = None,
    max_record_size: MaxRecordOption = None,
    name: NameOption = None,
    dataset_version: DatasetVersionOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Convert shards (JSONL, Parquet, WebDataset, save_to_disk) into a governed Parquet dataset, no stages.

    Example: corpus-kit convert 'raw/*.jsonl.gz' media/shard-0001.tar -o datasets/intake-2026-11
    """
    config = PipelineConfig(name="convert")
    spec = _spec_from_config(
        config, Path.cwd(), inputs, output, format_, text_field, id_field, max_record_size
    )
    spec = _apply_common(spec, workers, overwrite, verbose, max_rejects, shard_size, name, dataset_version)
    _execute(spec, quiet, "corpus-kit convert")


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
    spec = replace(spec, workers=workers, overwrite=True, verbose=verbose)
    _execute(spec, quiet, "corpus-kit demo")
