"""The functions behind ``import corpus_kit``: run a pipeline, read, validate and verify a manifest.

They raise :class:`corpus_kit.errors.CorpusKitError` subclasses (``UsageError`` for a bad
configuration, ``CheckFailed`` for a failed check) instead of printing or exiting, and change
nothing in the calling process beyond the duration of a call (the CLI alone tunes malloc).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from corpus_kit.errors import CheckFailed, UsageError
from corpus_kit.governance.manifest import Manifest, Supply, read_dataset_manifest
from corpus_kit.governance.policy import Finding, manifest_path_for, validate_manifest_data
from corpus_kit.governance.verify import VerifyReport
from corpus_kit.governance.verify import verify_dataset as _verify_dataset
from corpus_kit.pipeline.config import PipelineConfig
from corpus_kit.pipeline.config import load_pipeline as _load_pipeline
from corpus_kit.pipeline.spec import ProgressCallback, RunResult, RunSpec, StepSpec

StepsArgument = Sequence[str | Mapping[str, Mapping[str, Any] | None]]


def load_pipeline(path: str | Path) -> PipelineConfig:
    """Read and validate a pipeline YAML (errors name the file and line)."""
    return _load_pipeline(path)


def _steps(steps: StepsArgument) -> list[StepSpec]:
    specs = []
    for entry in steps:
        if isinstance(entry, str):
            specs.append(StepSpec(entry, {}))
        elif isinstance(entry, Mapping) and len(entry) == 1:
            name, params = next(iter(entry.items()))
            specs.append(StepSpec(str(name), dict(params or {})))
        else:
            raise UsageError(f"steps: {entry!r}: give a name or a one-key mapping, e.g. {{'dedup': {{}}}}")
    return specs


def run(
    pipeline: str | Path | PipelineConfig | None = None,
    *,
    inputs: Iterable[str | Path] | None = None,
    output: str | Path | None = None,
    steps: StepsArgument | None = None,
    supply: Supply | Mapping[str, Any] | None = None,
    workers: int | None = None,
    overwrite: bool = False,
    keep_removed: bool | None = None,
    max_rejects: float | int | None = None,
    dataset_name: str | None = None,
    dataset_version: str | None = None,
    executor: str = "local",
    progress: ProgressCallback | None = None,
) -> RunResult:
    """Run a pipeline and write the dataset (Parquet, manifest, report) to ``output``.

    ``pipeline``: a YAML path or a loaded :class:`PipelineConfig`; or ``None`` with ``steps`` such
    as ``["langid", {"pii": {"operator": "mask"}}]``. ``inputs`` replace the pipeline's own; relative
    paths in step parameters are resolved against the YAML's folder (the current folder without
    one). Re-running on the same ``output`` resumes an interrupted run. Exceeding ``max_rejects``
    raises :class:`~corpus_kit.errors.CheckFailed` after the dataset is written.
    """
    from corpus_kit.io.inputs import resolve_inputs
    from corpus_kit.io.readers import ReadOptions
    from corpus_kit.pipeline.runner import run_pipeline

    base_dir = Path.cwd()
    if isinstance(pipeline, (str, Path)):
        base_dir = Path(pipeline).resolve().parent
        config = _load_pipeline(pipeline)
    elif isinstance(pipeline, PipelineConfig):
        config = pipeline
    elif pipeline is None:
        config = PipelineConfig(name="python")
    else:
        raise UsageError(f"pipeline: expected a YAML path or a PipelineConfig, not {type(pipeline).__name__}")
    if steps is not None:
        config = config.model_copy(update={"steps": []})
        step_specs = _steps(steps)
    else:
        step_specs = [StepSpec(step.name, step.params) for step in config.steps]
    if inputs is not None:
        sources = [str(item) for item in inputs]
    else:
        sources = [item if Path(item).is_absolute() else str(base_dir / item) for item in config.inputs]
    if not sources:
        raise UsageError("no inputs: pass inputs=[...] or name them in the pipeline")
    if output is None:
        raise UsageError("output: name the folder the dataset is written to")
    if executor not in ("local", "ray"):
        raise UsageError(f"executor {executor!r}: use local or ray (Slurm runs go through the CLI)")
    if supply is not None and not isinstance(supply, Supply):
        from pydantic import ValidationError

        try:
            supply = Supply.model_validate(dict(supply))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "supply"
            raise UsageError(f"supply: {where}: {first['msg']}") from None
    spec = RunSpec(
        pipeline_name=config.name,
        units=resolve_inputs(sources, config.read.format),
        output=Path(output),
        read=ReadOptions(
            text_field=config.read.text_field,
            id_field=config.read.id_field,
            max_record_bytes=config.read.max_record_size,
        ),
        steps=step_specs,
        shard_bytes=config.write.shard_size,
        row_group_bytes=config.write.row_group_size,
        keep_removed=config.write.keep_removed if keep_removed is None else keep_removed,
        dataset_name=dataset_name or config.dataset.name,
        dataset_version=dataset_version or config.dataset.version,
        dataset_description=config.dataset.description or config.description,
        supply=supply if supply is not None else config.supply,
        max_rejects=max_rejects if max_rejects is not None else config.max_rejects,
        base_dir=base_dir,
        workers=workers,
        overwrite=overwrite,
        executor=executor,
    )
    result = run_pipeline(spec, progress)
    if result.max_rejects_exceeded:
        raise CheckFailed(f"{result.max_rejects_exceeded}; see {result.output}/rejects/")
    return result


def load_manifest(path: str | Path) -> Manifest:
    """The manifest of a dataset folder (or a manifest file); ``CheckFailed`` if missing or invalid."""
    return read_dataset_manifest(path)


def validate_manifest(path: str | Path, today: date | None = None) -> list[Finding]:
    """What ``corpus-kit manifest validate`` reports: schema, supply policy, licences, accounting.

    Returns the findings (rule id, severity, field, message); an empty list means valid. Errors
    are ``finding.severity == "error"``.
    """
    manifest_path = manifest_path_for(path)
    if not manifest_path.is_file():
        raise UsageError(f"{path}: no such manifest or dataset folder")
    return validate_manifest_data(manifest_path.read_bytes(), today=today)


def verify_dataset(path: str | Path) -> VerifyReport:
    """What ``corpus-kit manifest verify`` checks: every listed file's size, sha256 and row count,
    and nothing unlisted in ``data/``. ``report.problems`` is empty when the dataset is intact."""
    return _verify_dataset(path)
