"""The functions behind ``import corpus_kit``: run a pipeline, read, validate and verify a manifest.

They raise :class:`corpus_kit.errors.CorpusKitError` subclasses (``UsageError`` for a bad
configuration, ``CheckFailed`` for a failed check) instead of printing or exiting, and change
nothing in the calling process beyond the duration of a call (the CLI alone tunes malloc).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from corpus_kit.errors import CheckFailed, UsageError
from corpus_kit.governance.manifest import Manifest, Supply, read_dataset_manifest, supply_from
from corpus_kit.governance.policy import Finding, manifest_path_for, validate_manifest_data
from corpus_kit.governance.verify import VerifyReport
from corpus_kit.governance.verify import verify_dataset as _verify_dataset
from corpus_kit.pipeline.config import PipelineConfig, load_pipeline, parse_max_rejects, run_spec
from corpus_kit.pipeline.spec import ProgressCallback, RunResult, StepSpec

__all__ = ["load_manifest", "load_pipeline", "run", "validate_manifest", "verify_dataset"]

StepsArgument = Sequence[str | Mapping[str, Mapping[str, Any] | None]]


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
    from corpus_kit.pipeline.runner import run_pipeline

    if executor not in ("local", "ray"):
        raise UsageError(f"executor {executor!r}: use local or ray (Slurm runs go through the CLI)")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise UsageError(f"workers {workers!r}: use a number of processes >= 1 (None: one per CPU)")
    try:
        max_rejects = parse_max_rejects(max_rejects)
    except ValueError as error:
        raise UsageError(str(error)) from None
    base_dir = Path.cwd()
    if isinstance(pipeline, (str, Path)):
        base_dir = Path(pipeline).resolve().parent
        config = load_pipeline(pipeline)
    elif isinstance(pipeline, PipelineConfig):
        config = pipeline
    elif pipeline is None:
        config = PipelineConfig(name="python")
    else:
        raise UsageError(f"pipeline: expected a YAML path or a PipelineConfig, not {type(pipeline).__name__}")
    if output is None:
        raise UsageError("output: name the folder the dataset is written to")
    given = [str(item) for item in inputs] if inputs is not None else None
    spec = run_spec(config, base_dir, Path(output), given)
    if supply is not None and not isinstance(supply, Supply):
        supply = supply_from(dict(supply), "supply")
    spec = replace(
        spec,
        steps=_steps(steps) if steps is not None else spec.steps,
        keep_removed=spec.keep_removed if keep_removed is None else keep_removed,
        dataset_name=dataset_name or spec.dataset_name,
        dataset_version=dataset_version or spec.dataset_version,
        supply=supply if supply is not None else spec.supply,
        max_rejects=max_rejects if max_rejects is not None else spec.max_rejects,
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
