"""The manifest, assembled from a run's accounting and the typed sections its stages contribute.

Each stage declares a section model (:attr:`corpus_kit.stages.base.Stage.section_model`); after a run
its ``manifest_section`` gives an instance, which goes to the manifest field of the same name when
the manifest has one marked as a stage section (``pii``, ``quality``, ``dedup``, ``provenance``),
and under ``stages.<name>`` otherwise (plugins, newer stages). Nothing here knows a stage by name.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, RootModel, ValidationError

import corpus_kit
from corpus_kit.errors import CorpusKitError
from corpus_kit.governance.manifest import (
    Counts,
    DataFile,
    DatasetInfo,
    Manifest,
    PipelineRecord,
    RestrictedFolder,
    Source,
    Supply,
    stage_section_fields,
)

if TYPE_CHECKING:
    from datatrove.pipeline.base import PipelineStep
    from datatrove.utils.stats import Stats

    from corpus_kit.governance.accounting import Tally
    from corpus_kit.governance.licence_registry import LicenceFacts
    from corpus_kit.stages.base import Stage

_VERSIONED_PACKAGES = ("datatrove", "pyarrow", "datasets", "pydantic", "orjson", "zstandard", "typer")


def package_versions() -> dict[str, str]:
    """corpus-kit's, Python's and the key dependencies' versions (those installed)."""
    versions = {"corpus-kit": corpus_kit.__version__, "python": platform.python_version()}
    for name in _VERSIONED_PACKAGES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


@dataclass
class StageContribution:
    """What one pipeline step adds to the manifest."""

    step_name: str  # as the pipeline names it (a built-in name, an entry point or module:Class)
    stage: Stage[Any]
    section: BaseModel | None = None
    licences: list[LicenceFacts] = field(default_factory=list)
    inherited: dict[str, BaseModel] = field(default_factory=dict)  # see Stage.inherited_sections


def collect_contributions(
    steps: Sequence[tuple[str, Stage[Any], PipelineStep, Stats]],
) -> list[StageContribution]:
    """Ask each stage for its section and licence definitions; check the section's type."""
    contributions = []
    for step_name, stage, step, stats in steps:
        try:
            section = stage.manifest_section(step, stats)
            inherited = stage.inherited_sections(step, stats)
        except CorpusKitError:
            raise
        except Exception as error:  # a plugin's bug must not leave a half-written dataset unexplained
            raise CorpusKitError(
                f"stage {step_name!r} failed to give its manifest section ({type(error).__name__}: {error}); "
                "fix the stage and run the command again (completed tasks are not run again)"
            ) from error
        model = stage.section_model
        if section is not None and (model is None or not isinstance(section, model)):
            expected = model.__name__ if model is not None else "no section (section_model is None)"
            raise CorpusKitError(
                f"stage {step_name!r} returned a {type(section).__name__} as its manifest section; "
                f"its section_model says {expected}"
            )
        unknown = sorted(set(inherited) - stage_section_fields())
        if unknown:
            raise CorpusKitError(
                f"stage {step_name!r} inherits sections the manifest has no field for: {', '.join(unknown)}"
            )
        contributions.append(
            StageContribution(step_name, stage, section, list(stage.licence_definitions(step)), inherited)
        )
    return contributions


def _section_value(section: BaseModel) -> Any:
    return section.root if isinstance(section, RootModel) else section


def place_sections(contributions: Sequence[StageContribution]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(manifest fields, ``stages`` entries). Two steps with list sections add up; otherwise the
    later step's section replaces the earlier one's."""
    fields_here = stage_section_fields()
    core: dict[str, Any] = {}
    extensions: dict[str, Any] = {}
    for contribution in contributions:
        if contribution.section is None:
            continue
        key = contribution.stage.manifest_key()
        value = _section_value(contribution.section)
        if key in fields_here:
            if isinstance(value, list) and isinstance(core.get(key), list):
                core[key] = [*core[key], *value]
            else:
                core[key] = value
        else:
            dumped = contribution.section.model_dump(mode="json")
            previous = extensions.get(key)
            if isinstance(dumped, list) and isinstance(previous, list):
                dumped = [*previous, *dumped]
            extensions[key] = dumped
    for contribution in contributions:
        for key, value in contribution.inherited.items():
            core.setdefault(key, _section_value(value))  # a section this run made itself wins
    return core, extensions


def assemble_manifest(
    *,
    dataset: DatasetInfo,
    supply: Supply | None,
    tally: Tally,
    sources: list[Source],
    files: list[DataFile],
    restricted: list[RestrictedFolder],
    pipeline: PipelineRecord,
    contributions: Sequence[StageContribution],
) -> Manifest:
    """The manifest of a finished run; the licence resolution uses the stages' own licence facts."""
    from corpus_kit.governance.licence_registry import registry_for, resolve_dataset

    extra_licences = [facts for contribution in contributions for facts in contribution.licences]
    registry = registry_for(extra_licences)
    core, extensions = place_sections(contributions)
    from corpus_kit.governance.classification import personal_information

    classification = supply.classification if supply is not None else None
    core["personal_information"] = personal_information(core.get("pii"), classification)
    return Manifest(
        dataset=dataset,
        supply=supply,
        counts=Counts(input=tally.input, output=tally.output, rejected=tally.rejected, dropped=tally.dropped),
        languages=tally.languages,
        licenses=tally.licenses,
        license=resolve_dataset(tally.licenses, registry),
        sources=sources,
        files=files,
        restricted=restricted,
        pipeline=pipeline,
        stages=extensions,
        **core,
    )


def manifest_sections(manifest: Manifest) -> list[tuple[str, Stage[Any], Any]]:
    """``(step name, stage, section)`` for each step of ``manifest`` whose stage is installed and left a
    section, in pipeline order (for rendering a card or report from a manifest alone)."""
    from corpus_kit.stages.registry import get_stage

    found: list[tuple[str, Stage[Any], Any]] = []
    seen: set[str] = set()
    fields_here = stage_section_fields()
    for step in manifest.pipeline.steps[1:-1]:  # read ... write
        try:
            stage = get_stage(step.name, import_modules=False)
        except CorpusKitError:
            continue  # a plugin that is not installed here: its section stays as data
        key = stage.manifest_key()
        if stage.section_model is None or key in seen:
            continue
        seen.add(key)
        raw = getattr(manifest, key) if key in fields_here else manifest.stages.get(key)
        if raw is None or raw == []:
            continue
        if isinstance(raw, stage.section_model):
            section = raw
        else:
            try:
                section = stage.section_model.model_validate(
                    raw.model_dump() if isinstance(raw, BaseModel) else raw
                )
            except ValidationError:
                continue  # written by another version of the stage; the manifest keeps it as data
        found.append((step.name, stage, section))
    return found
