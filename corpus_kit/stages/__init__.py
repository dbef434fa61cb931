"""Governance stages (dedup, langid, quality, pii, licence) as datatrove steps.

Each stage has a builder registered under its pipeline name in :data:`STAGES`; a pipeline
YAML's ``steps:`` entries are looked up here. A stage drops records through datatrove's
``BaseFilter`` convention (stat ``dropped_<reason>`` with a dotted reason such as ``dedup.exact``),
which the manifest turns into ``counts.dropped``. A step may add to the manifest by defining
``manifest_contribution(stats) -> dict`` (keys: ``pii``, ``quality``, ``provenance``, ``extra_licences``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from datatrove.pipeline.base import PipelineStep

from corpus_kit.utils import split_list

if TYPE_CHECKING:
    from corpus_kit.io.parquet_writer import ParquetShardWriter


@dataclass(frozen=True)
class StageContext:
    """What a stage builder may need besides its own parameters."""

    work_dir: str  # the run's work folder, for intermediate state
    removed_dir: str | None  # where dropped records go with --keep-removed (None: not kept)
    base_dir: str = "."  # relative paths in step parameters are resolved against this

    def resolve_path(self, value: str | None) -> str | None:
        """A step parameter path, made absolute against the pipeline file's folder."""
        if not value:
            return None
        path = Path(value)
        return str(path if path.is_absolute() else Path(self.base_dir) / path)

    def exclusion_writer(self) -> ParquetShardWriter | None:
        """The writer a filter stage gives its dropped records to with --keep-removed, else None."""
        if not self.removed_dir:
            return None
        from corpus_kit.io.parquet_writer import ParquetShardWriter

        return ParquetShardWriter(self.removed_dir)


HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))  # CJK ideographs, ext. A, compat.


@lru_cache(maxsize=4)
def every_character(size: int) -> str:
    """Code points ``0 .. size - 1`` as one string, for building per-code-point tables with regexes and
    str methods in C; surrogates, which cannot be encoded, stand as spaces."""
    codes = np.arange(size, dtype=np.uint32)
    codes[(codes >= 0xD800) & (codes < 0xE000)] = 0x20
    return codes.astype("<u4").tobytes().decode("utf-32-le")


def code_points(text: str) -> np.ndarray:
    """One uint32 per character of ``text`` (a lone surrogate stays one code point, as in Python)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def as_list(value: Any) -> list[str] | None:
    """A step parameter given as a list or as a comma-separated string."""
    if isinstance(value, str):
        return split_list(value)
    return list(value) if value else None


StageBuilder = Callable[[dict[str, Any], StageContext], PipelineStep]

#: Pipeline step name -> builder, or ``"module:function"`` of one: built-in stages are imported
#: only when a pipeline uses them (presidio alone costs ~0.7 s of imports).
STAGES: dict[str, StageBuilder | str] = {
    "dedup": "corpus_kit.stages.dedup:build_dedup_stage",
    "license": "corpus_kit.stages.license:build_license_stage",
    "pii": "corpus_kit.stages.pii:build_pii_stage",
    "langid": "corpus_kit.stages.langid:build_langid_stage",
    "quality": "corpus_kit.stages.quality:build_quality_stage",
}


def stage_builder(name: str) -> StageBuilder:
    """The builder registered for ``name`` (imported on first use)."""
    builder = STAGES[name]
    if isinstance(builder, str):
        module_name, _, function = builder.partition(":")
        builder = getattr(importlib.import_module(module_name), function)
        STAGES[name] = builder
    return builder
