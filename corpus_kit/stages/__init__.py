"""Governance stages (dedup, langid, quality, pii, licence) as datatrove steps.

Each stage registers a builder under its pipeline name in :data:`STAGES`; a pipeline YAML's
``steps:`` entries are looked up here. A stage drops records through datatrove's ``BaseFilter``
convention (stat ``dropped_<reason>`` with a dotted reason such as ``dedup.exact``), which the
manifest turns into ``counts.dropped``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from datatrove.pipeline.base import PipelineStep


@dataclass(frozen=True)
class StageContext:
    """What a stage builder may need besides its own parameters."""

    work_dir: str  # the run's work folder, for intermediate state
    removed_dir: str | None  # where dropped records go with --keep-removed (None: not kept)
    base_dir: str = "."  # relative paths in step parameters are resolved against this


StageBuilder = Callable[[dict[str, Any], StageContext], PipelineStep]

#: Pipeline step name -> builder. Stages add themselves here as they land.
STAGES: dict[str, StageBuilder] = {}


# Built-in stages register themselves on import (kept last: they import STAGES from here).
from corpus_kit.stages import license as _license  # noqa: E402, F401
from corpus_kit.stages import pii as _pii  # noqa: E402, F401
