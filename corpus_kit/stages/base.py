"""The stage contract: one module declares everything about a stage.

A stage is a subclass of :class:`Stage` with:

* ``name``: the pipeline step name (``- name: {...}`` in YAML, ``corpus-kit name`` for built-ins);
* ``summary``: one line for ``corpus-kit stages`` and the command's help;
* ``params_model``: a :class:`StageParams` model (``extra="forbid"``), the single source of YAML
  validation (errors keep their ``file:line``), the stage's CLI options and
  ``manifests/pipeline.schema.json``;
* ``reasons``: the dotted drop reasons it can give (``"quality.*"`` for a family);
* ``columns``: the columns or metadata keys it writes;
* ``section_model``: the pydantic model of its manifest section (``None``: no section);
* ``build(params, context)``: the datatrove ``PipelineStep`` that does the work;
* ``manifest_section(step, stats)``: its section, from the step and its merged stats;
* ``report_section`` / ``card_section``: what it adds to ``report.html`` and the dataset card;
* optionally ``one_per_pipeline`` / ``last_in_pipeline`` (where it may stand) and
  ``inherited_sections`` (sections it vouches for on behalf of earlier runs, as a sample does for its
  parents' PII scrubbing).

The registry (:mod:`corpus_kit.stages.registry`) finds built-ins, stages registered from Python
(:func:`corpus_kit.register_stage`), the ``corpus_kit.stages`` entry-point group and
``module:Class`` step names; a third-party stage needs nothing from inside ``corpus_kit/``.

A stage's module must stay cheap to import (the CLI imports built-in stage modules to build their
commands): heavy libraries are imported in ``build()``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, TypeVar, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

from corpus_kit.utils import split_list

if TYPE_CHECKING:
    from datatrove.pipeline.base import PipelineStep
    from datatrove.utils.stats import Stats

    from corpus_kit.catalog.report import ReportSection
    from corpus_kit.governance.licence_registry import LicenceFacts
    from corpus_kit.governance.manifest import Manifest
    from corpus_kit.io.parquet_writer import ParquetShardWriter


class StageParams(BaseModel):
    """Base of every stage's parameter model: unknown parameters are errors, and so is ``true`` or
    ``false`` for a parameter that is not a yes/no one (pydantic would read ``min_score: true`` as
    1.0 and drop every record)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, value in data.items():
                field = cls.model_fields.get(name)
                if isinstance(value, bool) and field is not None and not _admits_bool(field.annotation):
                    raise ValueError(
                        f"{name}: expected {_expected(field.annotation)}, not {str(value).lower()}"
                    )
        return data


def _admits_bool(annotation: Any) -> bool:
    if annotation is bool or annotation is Any:
        return True
    return any(_admits_bool(argument) for argument in get_args(annotation))


def _expected(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
    return {"float": "a number", "int": "a whole number", "str": "text"}.get(text, text)


def _comma_list(value: Any) -> Any:
    return split_list(value) if isinstance(value, str) else value


#: A list parameter that may also be given as one comma-separated string (``zh-Hans,en``), as the
#: CLI passes it.
CommaList = Annotated[list[str], BeforeValidator(_comma_list)]


class StageSection(BaseModel):
    """Base of a stage's manifest section model (counts, versions, settings; never record content)."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class StageContext:
    """What a stage's ``build`` may need besides its own parameters."""

    work_dir: str  # the run's work folder, for intermediate state
    removed_dir: str | None  # where dropped records go with --keep-removed (None: not kept)
    base_dir: str = "."  # relative paths in step parameters are resolved against this
    ledger_dir: str | None = None  # the run's record ledger (main pipeline only; io/ledger.py)
    step: str = ""  # the step's name, as the ledger names the stage that dropped a record

    def resolve_path(self, value: str | Path | None) -> str | None:
        """A step parameter path, made absolute against the pipeline file's folder."""
        if not value:
            return None
        path = Path(value)
        return str(path if path.is_absolute() else Path(self.base_dir) / path)

    def exclusion_writer(self) -> ParquetShardWriter | None:
        """The writer a filter stage gives its dropped records to: a ledger row for each, and with
        --keep-removed the record in ``removed/<step>/``; None when neither is wanted."""
        removed = None
        if self.removed_dir:
            from corpus_kit.io.parquet_writer import ParquetShardWriter

            removed = ParquetShardWriter(self.removed_dir)
        if self.ledger_dir:
            from corpus_kit.io.ledger import LedgerExclusion

            # duck-typed like datatrove's DiskWriter (write, enter, exit), as stages use it
            return LedgerExclusion(self.ledger_dir, self.step, removed)  # type: ignore[return-value]
        return removed


@dataclass
class Preparation:
    """A phase a step needs finished before the main pipeline runs (its ``preparation()`` lists them).

    ``after_input``: the steps go after the run's reader and the stages before this one, with the
    run's task count (they see exactly the records the step will see); otherwise they run alone with
    ``tasks`` tasks. State passes between phases through files under the run's work folder.
    """

    name: str
    steps: list[PipelineStep]
    tasks: int | None = None
    after_input: bool = False


ParamsT = TypeVar("ParamsT", bound=StageParams)


class Stage(ABC, Generic[ParamsT]):
    """A governance stage. Subclass it, set the class attributes and implement :meth:`build`."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    params_model: ClassVar[type[StageParams]] = StageParams
    #: Dotted drop reasons; a trailing ``*`` stands for a family (``quality.*``).
    reasons: ClassVar[tuple[str, ...]] = ()
    #: Columns or metadata keys the stage writes.
    columns: ClassVar[tuple[str, ...]] = ()
    #: Model of the manifest section (``None``: the stage adds no section).
    section_model: ClassVar[type[BaseModel] | None] = None
    #: Where the section goes in the manifest: a stage-section field of the manifest of the same
    #: name (``pii``, ``quality``, ``dedup``, ``provenance``), otherwise ``stages.<section_key>``.
    #: Default: the stage's name.
    section_key: ClassVar[str | None] = None
    #: The optional dependency group ``build`` needs (``pip install "corpus-kit[EXTRA]"``).
    extra: ClassVar[str | None] = None
    #: At most one step of this stage per pipeline (its state lives in a fixed place).
    one_per_pipeline: ClassVar[bool] = False
    #: The step must be the pipeline's last (what it records describes the rows as written).
    last_in_pipeline: ClassVar[bool] = False
    #: Example step for docs and ``corpus-kit stages``.
    example: ClassVar[str] = ""

    @abstractmethod
    def build(self, params: ParamsT, context: StageContext) -> PipelineStep:
        """The datatrove step that does the work; raise ``UsageError`` for a bad configuration."""

    def manifest_section(self, step: PipelineStep, stats: Stats) -> BaseModel | None:
        """The stage's manifest section (an instance of ``section_model``) from its merged stats."""
        return None

    def inherited_sections(self, step: PipelineStep, stats: Stats) -> dict[str, BaseModel]:
        """Manifest sections (by manifest field name, e.g. ``pii``) that the step vouches for on behalf
        of the runs its records came from: a sample's rows were scrubbed by its parents' pii steps.
        Used only where no step of this run gives that section itself."""
        return {}

    def licence_definitions(self, step: PipelineStep) -> Sequence[LicenceFacts]:
        """Licences the step defines (beyond the registry) that the output's licences are judged by."""
        return ()

    def public_input_names(self, params: ParamsT, context: StageContext, names: list[str]) -> list[str]:
        """The input file names (``sources[].uri`` of the manifest) as the stage leaves them in the
        records it passes on: a stage that rewrites ``source_file`` (``pii`` scrubs personal data in
        it) rewrites them here the same way, so that the manifest shows what the data shows."""
        return names

    def report_section(self, section: Any, manifest: Manifest) -> ReportSection | None:
        """What the stage adds to ``report.html`` (built with :mod:`corpus_kit.catalog.report` helpers)."""
        return None

    def card_section(self, section: Any, manifest: Manifest) -> tuple[str, str] | None:
        """What the stage adds to the dataset card: ``(title, Markdown body)``."""
        return None

    @staticmethod
    def stat_total(stats: Stats, label: str) -> int:
        """A stat's total over all tasks (0 when no task recorded it): ``stats`` as given to
        :meth:`manifest_section`, whose values may be numbers, dicts or ``MetricStats``."""
        from corpus_kit.governance.accounting import metric_total

        return metric_total(stats.stats.get(label))

    # -- derived, not to be overridden ---------------------------------------------------------------
    @classmethod
    def manifest_key(cls) -> str:
        return cls.section_key or cls.name

    @classmethod
    def drops_records(cls) -> bool:
        """Whether the stage can drop records (then its command takes --keep-removed)."""
        return bool(cls.reasons)

    def parse_params(self, params: dict[str, Any] | StageParams) -> ParamsT:
        """Validated parameters (raises pydantic's ``ValidationError``)."""
        if isinstance(params, self.params_model):
            return params  # type: ignore[return-value]
        return self.params_model.model_validate(params)  # type: ignore[return-value]
