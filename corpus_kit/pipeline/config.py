"""Pipeline YAML: safe-loaded within the YAML budgets of ``utils``, validated by pydantic, errors with lines.

```yaml
name: demo
dataset: {name: corpus-kit-demo, version: "1.0.0"}
supply: {mode: open}
inputs: [../samples/demo]        # relative to this file; -i on the command line replaces them
read: {text_field: text, id_field: id, max_record_size: 64MiB, reject_lines_per_file: 1000}
steps: []                        # stages, e.g. "- dedup: {mode: both}", as they are registered
write: {shard_size: 512MiB, row_group_size: 128MiB, keep_removed: false}
max_rejects: 5%                  # a count, a fraction (0.05) or a percentage; exit 1 beyond it
```
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, field_validator

from corpus_kit.errors import UsageError
from corpus_kit.governance.manifest import Supply
from corpus_kit.io.parquet_writer import DEFAULT_ROW_GROUP_BYTES, DEFAULT_SHARD_BYTES
from corpus_kit.io.readers.base import DEFAULT_MAX_RECORD_BYTES
from corpus_kit.io.rejects import DEFAULT_REJECT_LINES_PER_FILE
from corpus_kit.utils import first_validation_error, load_yaml_document, parse_size, yaml_error_line

if TYPE_CHECKING:
    from corpus_kit.pipeline.spec import RunSpec


_REJECT_LIMIT_HINT = "use a count (100), a fraction (0.01) or a percentage (1%)"


def parse_max_rejects(value: str | float | int | None) -> float | int | None:
    """``100`` (a count), ``0.01`` (a fraction of input records) or ``"1%"``; ``None`` for no limit."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"max_rejects: {_REJECT_LIMIT_HINT}, not {type(value).__name__}")
    if isinstance(value, str):
        text = value.strip()
        try:
            if text.endswith("%"):
                value = float(text[:-1]) / 100
            elif text.isdigit():
                value = int(text)
            else:
                value = float(text)
        except ValueError as error:
            raise ValueError(f"max_rejects {value!r}: {_REJECT_LIMIT_HINT}") from error
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"max_rejects {value!r}: {_REJECT_LIMIT_HINT}")
    if value < 0:
        raise ValueError(f"max_rejects {value!r}: must be a count or a fraction >= 0")
    if isinstance(value, float) and value >= 1:
        if not value.is_integer():
            raise ValueError(f"max_rejects {value!r}: a fraction must be below 1 (0.05 = 5%)")
        return int(value)
    return value


#: Bounds of the size limits: below them every record or shard would be refused or split to
#: pieces; above them a value is a typo (and would overflow the readers' buffers).
MIN_RECORD_BYTES = 1024
MAX_RECORD_BYTES = 2 * 1024**3  # one value of an Arrow string or binary column
MIN_SHARD_BYTES = 1024
MAX_SHARD_BYTES = 1024**4


def _bounded_size(value: Any, low: int, high: int, what: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"not a size: {value!r} (use e.g. 512MiB, 2GB or a number of bytes)")
    size = parse_size(value)
    if not low <= size <= high:
        raise ValueError(f"{size} bytes: {what}")
    return size


def record_size(value: Any) -> int:
    """``read.max_record_size`` / ``--max-record-size`` in bytes, within sane bounds."""
    return _bounded_size(
        value, MIN_RECORD_BYTES, MAX_RECORD_BYTES, "use a record size limit between 1KiB and 2GiB"
    )


def shard_size(value: Any) -> int:
    """``write.shard_size`` / ``--shard-size`` in bytes, within sane bounds."""
    return _bounded_size(value, MIN_SHARD_BYTES, MAX_SHARD_BYTES, "use a shard size between 1KiB and 1TiB")


#: A size in bytes, or text such as ``64MiB`` (what the YAML may hold; the model keeps bytes).
ByteSize = Annotated[
    int,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*[A-Za-z]*\s*$"},
            ]
        }
    ),
]
#: A count (100), a fraction (0.01) or a percentage ("1%").
RejectLimit = Annotated[
    float | int | None,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": r"^\s*\d+(\.\d+)?%?\s*$"},
                {"type": "null"},
            ]
        }
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReadConfig(_Strict):
    format: Literal["jsonl", "parquet", "webdataset", "hf_disk"] | None = None
    text_field: str = Field(default="text", min_length=1)
    id_field: str = Field(default="id", min_length=1)
    max_record_size: ByteSize = DEFAULT_MAX_RECORD_BYTES
    reject_lines_per_file: int = Field(
        default=DEFAULT_REJECT_LINES_PER_FILE,
        ge=0,
        strict=True,
        description="Rejects of one input file written one by one; further ones are counted by reason.",
    )

    @field_validator("max_record_size", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int:
        return record_size(value)


class WriteConfig(_Strict):
    shard_size: ByteSize = DEFAULT_SHARD_BYTES
    row_group_size: ByteSize = DEFAULT_ROW_GROUP_BYTES
    keep_removed: bool = False

    @field_validator("row_group_size", mode="before")
    @classmethod
    def _row_group(cls, value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError(f"not a size: {value!r} (use e.g. 128MiB)")
        size = parse_size(value)
        if not 1024 <= size <= 1024**3:
            raise ValueError(
                "use a row group size between 1KiB and 1GiB (Arrow holds at most 2 GiB per column)"
            )
        return size

    @field_validator("shard_size", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int:
        return shard_size(value)


class DatasetConfig(_Strict):
    name: str | None = None  # default: the output folder's name
    version: str = "0.1.0"
    description: str = ""


class StepConfig(_Strict):
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class PipelineConfig(_Strict):
    name: str
    description: str = ""
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    supply: Supply | None = None
    inputs: list[str] = Field(default_factory=list)
    read: ReadConfig = Field(default_factory=ReadConfig)
    steps: list[StepConfig] = Field(default_factory=list)
    write: WriteConfig = Field(default_factory=WriteConfig)
    max_rejects: RejectLimit = None

    @field_validator("steps", mode="before")
    @classmethod
    def _steps(cls, value: Any) -> list[dict[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError("steps must be a list, e.g. '- dedup: {mode: both}'")
        steps: list[dict[str, Any]] = []
        for entry in value:
            params: Any
            if isinstance(entry, str):
                name, params = entry, {}
            elif isinstance(entry, dict) and len(entry) == 1:
                name, params = next(iter(entry.items()))
                params = params or {}
            else:
                raise ValueError("each step is a name or a one-key mapping, e.g. '- dedup: {mode: both}'")
            if not isinstance(name, str):
                raise ValueError("a step name is a string, e.g. '- dedup: {mode: both}'")
            if not isinstance(params, dict):
                raise ValueError(f"parameters of step {name!r} must be a mapping")
            steps.append({"name": name, "params": params})
        return steps

    @field_validator("max_rejects", mode="before")
    @classmethod
    def _max_rejects(cls, value: Any) -> float | int | None:
        return parse_max_rejects(value)


def node_line(node: yaml.Node | None, location: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at a pydantic error location (deepest node found)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for key in location:
        if isinstance(node, yaml.MappingNode):
            match = next((value for name, value in node.value if name.value == key), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    return line


def load_pipeline(path: str | Path) -> PipelineConfig:
    """Read and validate a pipeline YAML; a bad file raises ``UsageError`` naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: pipeline file not found; see the pipelines/ folder for examples")
    try:
        with open(path, encoding="utf-8") as handle:
            data, tree = load_yaml_document(handle)
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not UTF-8 text"
        raise UsageError(f"{path}: cannot read the pipeline ({reason}); check the file") from None
    except yaml.YAMLError as error:
        line = yaml_error_line(error)
        where = f":{line}" if line else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise UsageError(f"{path}{where}: {problem}; fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a pipeline is a mapping with at least 'name:'; see pipelines/demo.yaml")
    try:
        config = PipelineConfig.model_validate(data)
    except ValidationError as error:
        raise _located(path, tree, error, ()) from None
    check_steps(config, path, tree)
    return config


def _located(
    path: Path, tree: yaml.Node | None, error: ValidationError, prefix: tuple[Any, ...]
) -> UsageError:
    location, field, message = first_validation_error(error, prefix)
    line = node_line(tree, location)
    where = f":{line}" if line else ""
    return UsageError(f"{path}{where}: {field or '(top level)'}: {message}")


def check_steps(config: PipelineConfig, path: Path, tree: yaml.Node | None) -> None:
    """Every step names a stage that exists and gives it valid parameters (errors at ``file:line``)."""
    from corpus_kit.stages.registry import get_stage

    for index, step in enumerate(config.steps):
        try:
            stage = get_stage(step.name)
        except UsageError as error:
            line = node_line(tree, ("steps", index))
            raise UsageError(f"{path}{f':{line}' if line else ''}: steps.{index}: {error}") from None
        try:
            stage.parse_params(step.params)
        except ValidationError as error:
            raise _located(path, tree, error, ("steps", index, step.name)) from None


def step_lines(path: str | Path) -> list[int]:
    """1-based line of each entry under ``steps:`` (for errors found when a step is built)."""
    try:
        tree = yaml.compose(Path(path).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        return []
    if not isinstance(tree, yaml.MappingNode):
        return []
    for key, value in tree.value:
        if getattr(key, "value", None) == "steps" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def run_spec(
    config: PipelineConfig,
    base_dir: Path,
    output: Path,
    inputs: list[str] | None = None,
    format_: str | None = None,
    text_field: str | None = None,
    id_field: str | None = None,
    max_record_bytes: int | None = None,
) -> RunSpec:
    """The run a pipeline config describes; given values (command line, Python call) win over the
    YAML's, and the YAML's relative inputs are resolved against ``base_dir`` (its folder)."""
    from corpus_kit.io.inputs import resolve_inputs
    from corpus_kit.io.readers.base import ReadOptions
    from corpus_kit.pipeline.spec import RunSpec, StepSpec

    if not inputs:
        inputs = [item if Path(item).is_absolute() else str(base_dir / item) for item in config.inputs]
    if not inputs:
        raise UsageError(
            "the pipeline names no inputs; pass one or more with -i INPUT (inputs=[...] in Python)"
        )
    if max_record_bytes is not None:
        try:
            max_record_bytes = record_size(max_record_bytes)
        except ValueError as error:
            raise UsageError(f"--max-record-size: {error}") from None
    return RunSpec(
        pipeline_name=config.name,
        units=resolve_inputs(inputs, format_ or config.read.format, exclude=[output]),
        output=output,
        read=ReadOptions(
            text_field=text_field or config.read.text_field,
            id_field=id_field or config.read.id_field,
            max_record_bytes=max_record_bytes or config.read.max_record_size,
            reject_lines_per_file=config.read.reject_lines_per_file,
        ),
        steps=[StepSpec(step.name, step.params) for step in config.steps],
        shard_bytes=config.write.shard_size,
        row_group_bytes=config.write.row_group_size,
        keep_removed=config.write.keep_removed,
        dataset_name=config.dataset.name,
        dataset_version=config.dataset.version,
        dataset_description=config.dataset.description or config.description,
        supply=config.supply,
        max_rejects=config.max_rejects,
        base_dir=base_dir,
    )
