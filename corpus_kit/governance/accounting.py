"""Record accounting from datatrove stats: every input record is output, dropped or rejected.

Each task saves its steps' stats (``logs/stats/<rank>.json``, datatrove's format); they are summed
here, step by step, in pipeline order (reader, stages..., writer). Conventions:

* reader: ``input``, ``documents``, ``rejected``, ``rejected_<reason>``;
* stages (datatrove ``BaseFilter``): ``total``, ``forwarded``, ``dropped``, ``dropped_<reason>``;
* writer: ``written``, ``license/<id>``, ``language/<code>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datatrove.utils.stats import MetricStats, PipelineStats, Stats

from corpus_kit.errors import CorpusKitError


@dataclass
class StepTally:
    name: str
    input: int = 0
    output: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Tally:
    input: int = 0
    output: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    licenses: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    steps: list[StepTally] = field(default_factory=list)

    def invariant_holds(self) -> bool:
        return self.input == self.output + sum(self.dropped.values()) + self.rejected


def metric_total(metric: MetricStats | dict[str, Any] | float | None) -> int:
    """A stat's total; a stats file read back by datatrove keeps single-task values as dicts or numbers."""
    if metric is None:
        return 0
    parsed = metric if isinstance(metric, MetricStats) else MetricStats.from_dict(metric)
    return round(parsed.total or 0)


def _count(stats: Stats, label: str) -> int:
    return metric_total(stats.stats.get(label))


def _prefixed(stats: Stats, prefix: str) -> dict[str, int]:
    totals = {
        label[len(prefix) :]: metric_total(metric)
        for label, metric in sorted(stats.stats.items())
        if label.startswith(prefix)
    }
    return {key: value for key, value in totals.items() if value}


def load_merged_stats(logging_dir: str | Path, tasks: int) -> PipelineStats:
    """Sum the per-task stats files of a finished run; a missing file means a task did not finish."""
    merged = PipelineStats()
    for rank in range(tasks):
        path = Path(logging_dir) / "stats" / f"{rank:05d}.json"
        if not path.is_file():
            raise CorpusKitError(f"{path}: task {rank} left no stats; the run did not complete, run it again")
        merged = merged + PipelineStats.from_json(json.loads(path.read_text(encoding="utf-8")))
    return merged


def tally_from_stats(merged: PipelineStats, step_names: list[str]) -> Tally:
    """Counts for the manifest. ``step_names``: pipeline step ids in order (first = read, last = write)."""
    stats = merged.stats
    if len(stats) != len(step_names):
        raise CorpusKitError(
            f"stats list {len(stats)} steps but the pipeline has {len(step_names)}; the work folder is stale"
        )
    reader, *stages, writer = stats
    tally = Tally(
        input=_count(reader, "input"),
        rejected=_count(reader, "rejected"),
        rejected_by_reason=_prefixed(reader, "rejected_"),
        output=_count(writer, "written"),
        licenses=_prefixed(writer, "license/"),
        languages=_prefixed(writer, "language/"),
    )
    documents = _count(reader, "documents")
    tally.steps.append(StepTally(step_names[0], tally.input, documents, {}, reader.time_stats.total))
    entering = documents
    for name, stage in zip(step_names[1:-1], stages, strict=True):
        dropped = _prefixed(stage, "dropped_")
        unexplained = _count(stage, "dropped") - sum(dropped.values())
        if unexplained > 0:
            dropped[name] = dropped.get(name, 0) + unexplained
        for reason, count in dropped.items():
            tally.dropped[reason] = tally.dropped.get(reason, 0) + count
        forwarded = (
            _count(stage, "forwarded") if "forwarded" in stage.stats else entering - sum(dropped.values())
        )
        tally.steps.append(StepTally(name, entering, forwarded, dropped, stage.time_stats.total))
        entering = forwarded
    tally.steps.append(StepTally(step_names[-1], entering, tally.output, {}, writer.time_stats.total))
    return tally
