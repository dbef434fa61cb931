"""``corpus-kit sample``: a seeded token-budget draw from corpus-kit datasets, run as a pipeline.

Two passes:

1. **Plan** (this process): every parent is verified against its manifest, then its data files
   are read column by column (``tokens`` and the ``--by`` column; ``text`` only for rows whose
   tokens must be counted), one record batch at a time, into three small arrays per row (file,
   tokens, group). Rows are ordered by parent (name, version, manifest sha256), file and row,
   whatever order the parents were named in. Each group's rows are permuted by a NumPy generator
   seeded with ``(seed, sha256(group key))`` and filled greedily up to the group's target
   (``--tokens`` times its weight): rows are taken in permuted order while they fit; the row that
   would cross the target is taken when it overshoots by at most 0.5 % of the target, otherwise it
   is skipped and the rest of the permutation is searched for rows that fit (so the overshoot of a
   group is at most 0.5 % of its target, unless only rows too large to fit are left: then one more
   row ends the group and the overshoot is that row's size).
2. **Run**: the parents' data folders are the input of an ordinary run whose ``sample`` step keeps
   the drawn rows and drops the others with reason ``sample.not_drawn`` (the manifest accounts for
   every parent row), followed by the ``tokens`` step (the manifest's ``tokens`` block, counted
   again on the drawn rows); the output is a full corpus-kit dataset written by the same writer
   and finaliser as every other run.

The manifest's ``sample`` block (:class:`corpus_kit.governance.draw.SampleRecord`) records the
parents, the draw and the tokenizer; the supply block is the parents' narrowed
(:func:`corpus_kit.governance.draw.narrow_supply`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import orjson
from pydantic import BaseModel, Field

from corpus_kit.errors import CheckFailed, UsageError
from corpus_kit.governance.draw import SampleBy, SampleParent, SampleRecord, SampleTokenizer, narrow_supply
from corpus_kit.governance.manifest import PiiSummary
from corpus_kit.stages.base import Stage, StageContext, StageParams

if TYPE_CHECKING:
    from datatrove.data import DocumentsPipeline
    from datatrove.pipeline.base import PipelineStep
    from datatrove.utils.stats import Stats

    from corpus_kit.governance.manifest import Manifest, Supply
    from corpus_kit.io.inputs import InputUnit
    from corpus_kit.pipeline.spec import ProgressCallback, RunResult

DEFAULT_TOKENIZER = "o200k_base"
NOT_DRAWN = "sample.not_drawn"
#: A group's fill may overshoot its target by this share (the rest of the 1 % goes to rounding).
OVERSHOOT_SHARE = 0.005
#: Weights must add up to 1 within this.
WEIGHT_SUM_TOLERANCE = 1e-6
#: Rounds of the fill after the first crossing (each strictly lowers the largest row that may fit).
MAX_FILL_ROUNDS = 64
#: Rows per batch when only numbers are read, and when text is read for counting.
_NUMBER_BATCH_ROWS = 65_536
_TEXT_BATCH_ROWS = 256
#: The key a row without a value of the ``--by`` column is counted under.
MISSING_KEYS: dict[str, str] = {"language": "und", "source": "unknown", "license": "unknown"}
BY_CHOICES: tuple[str, ...] = ("language", "source", "license", "supply_mode")
ALL_ROWS = "*"


# -- parents ------------------------------------------------------------------------------------------


@dataclass
class Parent:
    """A parent dataset, verified against its manifest."""

    path: Path
    manifest: Manifest
    manifest_sha256: str
    units: list[InputUnit]
    counted_with: tuple[str, str | None] | None  # (name, vocabulary sha256) of its tokens column's tokenizer

    @property
    def label(self) -> str:
        return f"{self.path} ({self.manifest.dataset.name})"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def load_parents(datasets: Sequence[str | Path], output: Path) -> list[Parent]:
    """The parents, verified (files, sizes, sha256, rows as their manifests list them) and ordered by
    dataset name, version and manifest sha256; a changed or foreign folder is refused."""
    from corpus_kit.governance.manifest import MANIFEST_NAME, read_dataset_manifest
    from corpus_kit.governance.verify import verify_dataset
    from corpus_kit.io.inputs import resolve_inputs

    if not datasets:
        raise UsageError("name at least one DATASET (a folder corpus-kit wrote: data/ and manifest.json)")
    target = output.resolve()
    seen: dict[Path, str] = {}
    parents = []
    for given in datasets:
        path = Path(given)
        if not path.is_dir():
            raise UsageError(
                f"{path}: not a dataset folder; name a folder corpus-kit wrote (data/ + manifest.json)"
            )
        real = path.resolve()
        if real in seen:
            raise UsageError(f"{path}: named twice (also as {seen[real]}); name each parent once")
        seen[real] = str(path)
        if _inside(target, real) or _inside(real, target):
            raise UsageError(f"{path}: the output -o {output} may not be inside a parent nor hold one")
        manifest = read_dataset_manifest(path)
        report = verify_dataset(path)
        if report.problems:
            problem = report.problems[0]
            raise CheckFailed(
                f"{path}: {problem.path} {problem.message}; the parent no longer matches its manifest "
                "(corpus-kit manifest verify), restore or rebuild it before sampling"
            )
        raw = (path / MANIFEST_NAME).read_bytes()
        if len(raw) > 256 * 1024 * 1024:  # pragma: no cover - verify read it already
            raise UsageError(f"{path / MANIFEST_NAME}: manifest over 256 MiB")
        units = resolve_inputs([str(path)], "parquet", exclude=[output]) if manifest.files else []
        listed = {item.path for item in manifest.files}
        found = {Path(unit.path).relative_to(real).as_posix() for unit in units}
        if found != listed:
            raise CheckFailed(
                f"{path}: data/ holds other Parquet files than its manifest lists; run corpus-kit manifest "
                "verify on it"
            )
        parents.append(
            Parent(
                path=path,
                manifest=manifest,
                manifest_sha256=hashlib.sha256(raw).hexdigest(),
                units=sorted(units, key=lambda unit: Path(unit.path).relative_to(real).as_posix()),
                counted_with=_counted_with(raw),
            )
        )
    parents.sort(
        key=lambda item: (item.manifest.dataset.name, item.manifest.dataset.version, item.manifest_sha256)
    )
    return parents


def _counted_with(raw: bytes) -> tuple[str, str | None] | None:
    """Which tokenizer filled a parent's ``tokens`` column, from its manifest's ``tokens`` block."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:  # pragma: no cover - the manifest was validated
        return None
    tokens = document.get("tokens") if isinstance(document, dict) else None
    tokenizer = tokens.get("tokenizer") if isinstance(tokens, dict) else None
    if isinstance(tokenizer, dict) and isinstance(tokenizer.get("name"), str):
        sha = tokenizer.get("vocabulary_sha256")
        return tokenizer["name"], sha if isinstance(sha, str) else None
    return None


# -- weights ------------------------------------------------------------------------------------------


def parse_weights(items: Sequence[str] | Mapping[str, float] | None) -> dict[str, float]:
    """``KEY=VALUE`` items (or a mapping) as shares in [0, 1] that add up to 1."""
    if not items:
        return {}
    pairs: list[tuple[str, Any]] = []
    if isinstance(items, Mapping):
        pairs = [(str(key), value) for key, value in items.items()]
    else:
        for item in items:
            key, sep, value = str(item).rpartition("=")
            if not sep or not key:
                raise UsageError(
                    f"--weights {item!r}: write KEY=SHARE, e.g. --weights zh-Hans=0.6 --weights en=0.4"
                )
            pairs.append((key, value))
    weights: dict[str, float] = {}
    for key, value in pairs:
        try:
            share = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            share = math.nan
        if not math.isfinite(share) or not 0 <= share <= 1:
            raise UsageError(f"--weights {key}={value}: a share is a number between 0 and 1")
        if key in weights:
            raise UsageError(f"--weights {key}: given twice; give each key once")
        weights[key] = share
    total = sum(weights.values())
    if abs(total - 1) > WEIGHT_SUM_TOLERANCE:
        raise UsageError(
            f"--weights add up to {total:g}, not 1; give shares that add up to 1 "
            f"({', '.join(f'{key}={share:g}' for key, share in weights.items())})"
        )
    return weights


# -- the plan -----------------------------------------------------------------------------------------


@dataclass
class Drawn:
    """The drawn rows of one data file: sorted row numbers, their tokens and group codes."""

    rows: np.ndarray  # int64, ascending
    tokens: np.ndarray  # int64
    codes: np.ndarray  # int32, index into Plan.keys
    parent: int  # index into Plan.parents


@dataclass
class Plan:
    """The rows a draw keeps, by data file (the reader's ``source_file``), and what it read."""

    keys: list[str]
    drawn: dict[str, Drawn]
    parents: list[SampleParent]
    tokenizer: SampleTokenizer
    by: str | None
    weights: dict[str, float]
    seed: int
    target: int
    tokens: int
    rows: int
    supply: Supply | None
    supply_notes: list[str] = field(default_factory=list)
    inherited_pii: PiiSummary | None = None

    def sha256(self) -> str:
        """What the run depends on (its resume fingerprint and config sha256 include it)."""
        digest = hashlib.sha256()
        for uri in sorted(self.drawn):
            entry = self.drawn[uri]
            digest.update(uri.encode("utf-8", "surrogatepass") + b"\0")
            digest.update(entry.rows.tobytes() + entry.tokens.tobytes() + entry.codes.tobytes())
        digest.update(orjson.dumps(self.keys))
        return digest.hexdigest()


class _Keys:
    """Group keys seen so far, each with a code."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def code(self, key: str) -> int:
        if key not in self.codes:
            self.codes[key] = len(self.codes)
        return self.codes[key]


def _column_codes(column: Any, keys: _Keys, missing: str) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(column, pa.DictionaryArray):
        column = pc.dictionary_encode(column)
    values = [
        value if isinstance(value, str) and value else missing for value in column.dictionary.to_pylist()
    ]
    mapping = np.array([keys.code(value) for value in values] + [keys.code(missing)], dtype=np.int32)
    local = pc.fill_null(column.indices, len(values)).to_numpy(zero_copy_only=False)
    return mapping[local]


def _read_file(
    unit: InputUnit,
    by: str | None,
    keys: _Keys,
    parent_key: str,
    use_column: bool,
    count: Callable[[str], int],
    limit: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """(tokens, codes, rows counted here) for every row of one data file, in row order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(unit.path)
        names = set(parquet.schema_arrow.names)
        rows = parquet.metadata.num_rows
        if "text" not in names and rows:
            raise UsageError(f"{unit.uri}: no text column; is it a corpus-kit data file?")
        tokens = np.zeros(rows, dtype=np.int64)
        codes = np.zeros(rows, dtype=np.int32)
        if by in (None, "supply_mode"):
            codes[:] = keys.code(parent_key)
        column_by = by if by in ("language", "source", "license") and by in names else None
        if by in ("language", "source", "license") and column_by is None:
            codes[:] = keys.code(MISSING_KEYS[by])
        has_tokens = use_column and "tokens" in names
        wanted = [name for name in ("tokens", column_by) if name and (name != "tokens" or has_tokens)]
        counted = 0
        position = 0
        if wanted:
            for batch in parquet.iter_batches(
                batch_size=_NUMBER_BATCH_ROWS, columns=wanted, use_threads=False
            ):
                end = position + batch.num_rows
                if has_tokens:
                    values = batch.column("tokens")
                    tokens[position:end] = values.fill_null(-1).to_numpy(zero_copy_only=False)
                if column_by is not None:
                    codes[position:end] = _column_codes(batch.column(column_by), keys, MISSING_KEYS[by or ""])
                position = end
        else:
            tokens[:] = -1
        if not has_tokens:
            tokens[:] = -1
        pending = np.flatnonzero(tokens < 0)
        if pending.size:
            position = 0
            for batch in parquet.iter_batches(
                batch_size=_TEXT_BATCH_ROWS, columns=["text"], use_threads=False
            ):
                end = position + batch.num_rows
                here = pending[(pending >= position) & (pending < end)]
                if here.size:
                    texts = batch.column("text")
                    for row in here.tolist():
                        value = texts[row - position].as_py()
                        if value is not None and len(value) > limit:
                            raise UsageError(
                                f"{unit.uri}: row {row} holds {len(value):,} characters, over the limit of "
                                f"{limit:,}; count its tokens with the tokens stage first"
                            )
                        tokens[row] = count(value) if value else 0
                    counted += int(here.size)
                position = end
    except (pa.ArrowException, OSError) as error:
        raise CheckFailed(
            f"{unit.uri}: unreadable Parquet ({type(error).__name__}); verify the parent"
        ) from None
    return tokens, codes, counted


def fill(tokens: np.ndarray, target: int, tolerance: int) -> np.ndarray:
    """Positions (into ``tokens``, in its order) of a greedy fill up to ``target``.

    Rows are taken in order while the total stays below the target; the row that reaches it is
    taken when it overshoots by at most ``tolerance``. Otherwise it is skipped and the rest is
    searched, in order, among the rows that still fit (each round lowers the largest row that may
    fit). If none fits, the first skipped row ends the fill: the overshoot is then that row's size.
    """
    chosen: list[np.ndarray] = []
    remaining = np.arange(tokens.size)
    deficit = int(target)
    skipped: int | None = None
    for _ in range(MAX_FILL_ROUNDS):
        if deficit <= 0 or not remaining.size:
            break
        cumulative = np.cumsum(tokens[remaining])
        crossing = int(np.searchsorted(cumulative, deficit))
        if crossing >= cumulative.size:  # everything left is not enough: take it all
            chosen.append(remaining)
            deficit -= int(cumulative[-1])
            remaining = remaining[:0]
            break
        if int(cumulative[crossing]) - deficit <= tolerance:
            chosen.append(remaining[: crossing + 1])
            deficit -= int(cumulative[crossing])
            break
        chosen.append(remaining[:crossing])
        deficit -= int(cumulative[crossing - 1]) if crossing else 0
        if skipped is None:
            skipped = int(remaining[crossing])
        rest = remaining[crossing + 1 :]
        remaining = rest[tokens[rest] <= deficit + tolerance]
    if deficit > tolerance and skipped is not None:
        chosen.append(np.array([skipped]))
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


def _group_rng(seed: int, key: str) -> np.random.Generator:
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def plan_draw(
    parents: list[Parent],
    target: int,
    by: str | None = None,
    weights: Mapping[str, float] | None = None,
    seed: int = 0,
    tokenizer: str = DEFAULT_TOKENIZER,
    max_text_chars: int = 64 * 1024 * 1024,
) -> Plan:
    """Which rows to keep: a seeded draw of ``target`` tokens, by ``weights`` over ``by``."""
    from corpus_kit.stages.tokens.tokenizer import load_tokenizer

    weights = dict(weights or {})
    if isinstance(target, bool) or not isinstance(target, int) or target < 1:
        raise UsageError(f"--tokens {target!r}: give a number of tokens >= 1")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"--seed {seed!r}: give a whole number >= 0")
    if by is not None and by not in BY_CHOICES:
        raise UsageError(f"--by {by!r}: use one of {', '.join(BY_CHOICES)}")
    if weights and by is None:
        raise UsageError("--weights needs --by (language, source, license or supply_mode)")
    counter = load_tokenizer(tokenizer)
    record = SampleTokenizer(
        name=counter.record.name,
        library=counter.record.library,
        vocabulary_sha256=counter.record.vocabulary_sha256,
    )
    keys = _Keys()
    file_tokens: list[np.ndarray] = []
    file_codes: list[np.ndarray] = []
    file_units: list[tuple[int, InputUnit]] = []
    summaries: list[dict[str, int]] = []
    for index, parent in enumerate(parents):
        supply = parent.manifest.supply
        parent_key = supply.mode.value if supply is not None else "undeclared"
        counted_with = parent.counted_with or (DEFAULT_TOKENIZER, None)
        use_column = counted_with[0] == record.name and counted_with[1] in (None, record.vocabulary_sha256)
        counted = 0
        for unit in parent.units:
            tokens, codes, here = _read_file(
                unit, by, keys, parent_key, use_column, counter.count, max_text_chars
            )
            counted += here
            file_tokens.append(tokens)
            file_codes.append(codes)
            file_units.append((index, unit))
        summaries.append({"counted": counted})
    sizes = [item.size for item in file_tokens]
    tokens = np.concatenate(file_tokens) if file_tokens else np.zeros(0, dtype=np.int64)
    codes = np.concatenate(file_codes) if file_codes else np.zeros(0, dtype=np.int32)
    del file_tokens, file_codes
    names = sorted(keys.codes, key=keys.codes.__getitem__)  # by code

    if weights:
        unknown = [key for key in weights if key not in keys.codes]
        if unknown:
            found = ", ".join(sorted(keys.codes)[:20]) or "none"
            raise UsageError(
                f"--weights {unknown[0]}: no rows with {by}={unknown[0]} in the parents (keys found: {found})"
            )
        groups = [(key, keys.codes[key], round(target * share)) for key, share in sorted(weights.items())]
    else:
        groups = [(ALL_ROWS, -1, target)]
    for key, code, group_target in groups:
        available = int(tokens.sum() if code < 0 else tokens[codes == code].sum())
        if available < group_target:
            what = "the parents hold" if code < 0 else f"{by}={key} holds"
            raise UsageError(
                f"--tokens {target:,}: {what} {available:,} tokens, {group_target:,} needed"
                + ("" if code < 0 else f" (weight {weights[key]:g})")
                + "; lower --tokens or the weight, or add parents"
            )
    selected = np.zeros(tokens.size, dtype=bool)
    for key, code, group_target in groups:
        if group_target <= 0:
            continue
        members = np.arange(tokens.size) if code < 0 else np.flatnonzero(codes == code)
        order = members[_group_rng(seed, key).permutation(members.size)]
        taken = fill(tokens[order], group_target, int(group_target * OVERSHOOT_SHARE))
        selected[order[taken]] = True

    drawn: dict[str, Drawn] = {}
    parent_stats = [{"rows": 0, "tokens": 0, "drawn_rows": 0, "drawn_tokens": 0} for _ in parents]
    start = 0
    for (index, unit), size in zip(file_units, sizes, strict=True):
        piece = slice(start, start + size)
        mask = selected[piece]
        stats = parent_stats[index]
        stats["rows"] += size
        stats["tokens"] += int(tokens[piece].sum())
        stats["drawn_rows"] += int(mask.sum())
        stats["drawn_tokens"] += int(tokens[piece][mask].sum())
        if mask.any():
            drawn[unit.uri] = Drawn(
                rows=np.flatnonzero(mask).astype(np.int64),
                tokens=tokens[piece][mask].astype(np.int64),
                codes=codes[piece][mask].astype(np.int32),
                parent=index,
            )
        start += size
    labels = [parent.manifest.dataset.name for parent in parents]
    supply, notes = narrow_supply([parent.manifest.supply for parent in parents], labels)
    return Plan(
        inherited_pii=inherited_pii([parent.manifest for parent in parents]),
        keys=names,
        drawn=drawn,
        parents=[
            SampleParent(
                name=parent.manifest.dataset.name,
                version=parent.manifest.dataset.version,
                manifest_sha256=parent.manifest_sha256,
                counted=summary["counted"],
                **stats,
            )
            for parent, stats, summary in zip(parents, parent_stats, summaries, strict=True)
        ],
        tokenizer=record,
        by=by,
        weights=weights,
        seed=seed,
        target=target,
        tokens=int(tokens[selected].sum()),
        rows=int(selected.sum()),
        supply=supply,
        supply_notes=notes,
    )


def inherited_pii(manifests: Sequence[Manifest]) -> PiiSummary | None:
    """The PII scrubbing a sample's rows underwent, when every parent's pii step used one operator and
    one rule version: the entity types all of them looked for (a type one parent did not check is not
    claimed); ``None`` when a parent was not scrubbed or they differ (then the sample has no pii block,
    and manifest validate says what a public mode lacks)."""
    scrubbed = [manifest.pii for manifest in manifests if manifest.pii is not None]
    if not scrubbed or len(scrubbed) != len(manifests):
        return None
    operators = {block.operator for block in scrubbed}
    versions = {block.rules_version for block in scrubbed}
    if len(operators) != 1 or len(versions) != 1:
        return None
    checked = set(scrubbed[0].checked)
    for block in scrubbed[1:]:
        checked &= set(block.checked)
    return PiiSummary(
        documents=0,  # counted on the drawn rows by the sample step
        images=None,
        operator=operators.pop(),
        checked=sorted(checked),
        rules_version=versions.pop(),
        # a parent that is itself a sample passes on the datasets that scrubbed its rows
        inherited_from=sorted(
            {
                name
                for manifest in manifests
                for name in (
                    manifest.pii.inherited_from
                    if manifest.pii is not None and manifest.pii.inherited_from
                    else [f"{manifest.dataset.name} {manifest.dataset.version}"]
                )
            }
        ),
    )


# -- the step that keeps the drawn rows ----------------------------------------------------------------


def _keep_step_class() -> type[PipelineStep]:
    from datatrove.pipeline.base import PipelineStep

    class KeepDrawn(PipelineStep):
        """Keeps the drawn rows (their ``tokens`` filled in) and drops the others as ``sample.not_drawn``."""

        type = "🎲 - SAMPLE"
        name = "sample"

        def __init__(self, drawn: dict[str, Drawn]):
            super().__init__()
            self.drawn = drawn

        def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
            for document in data:
                with self.track_time():
                    self.stat_update("total")
                    metadata = document.metadata
                    entry = self.drawn.get(metadata.get("source_file"))
                    row = metadata.get("source_row")
                    if entry is not None and isinstance(row, int):
                        at = int(np.searchsorted(entry.rows, row))
                        if at < entry.rows.size and int(entry.rows[at]) == row:
                            count = int(entry.tokens[at])
                            metadata["tokens"] = count
                            self.stat_update("forwarded")
                            spans = metadata.get("pii_spans")
                            if isinstance(spans, int) and spans > 0:
                                self.stat_update("pii_documents")
                            self.stat_update(f"drawn_rows/{entry.parent}/{int(entry.codes[at])}")
                            self.stat_update(
                                f"drawn_tokens/{entry.parent}/{int(entry.codes[at])}", value=count
                            )
                            keep = True
                        else:
                            keep = False
                    else:
                        keep = False
                    if not keep:
                        self.stat_update("dropped")
                        self.stat_update(f"dropped_{NOT_DRAWN}")
                if keep:
                    yield document

    return KeepDrawn


class SampleParams(StageParams):
    """What the draw was asked for (the rows come from the plan the command made)."""

    tokens: int = Field(ge=1, description="Token budget.")
    seed: int = Field(ge=0, description="Seed of the draw.")
    by: SampleBy | None = Field(None, description="Column the weights are over.")
    weights: dict[str, float] = Field(default_factory=dict, description="Token shares per key.")
    tokenizer: str = Field(DEFAULT_TOKENIZER, description="Tokenizer the budget is counted in.")
    plan_sha256: str = Field(description="sha256 of the drawn rows (files, rows, tokens).")


class SampleStage(Stage[SampleParams]):
    """The step of a ``corpus-kit sample`` run; made with its plan, never named in a pipeline."""

    name = "sample"
    summary = "Keep the rows of a token-budget draw (corpus-kit sample), drop the others."
    params_model: ClassVar[type[StageParams]] = SampleParams
    reasons = (NOT_DRAWN,)
    columns = ("tokens",)
    section_model = SampleRecord
    one_per_pipeline = True

    def __init__(self, plan: Plan | None = None):
        self.plan = plan

    def build(self, params: SampleParams, context: StageContext) -> PipelineStep:
        if self.plan is None or params.plan_sha256 != self.plan.sha256():
            raise UsageError("the sample step is made by corpus-kit sample; it cannot be named in a pipeline")
        return _keep_step_class()(self.plan.drawn)

    def inherited_sections(self, step: PipelineStep, stats: Stats) -> dict[str, BaseModel]:
        """The parents' PII scrubbing, when every parent was scrubbed alike (see inherited_pii)."""
        if self.plan is None or self.plan.inherited_pii is None:
            return {}
        documents = self.stat_total(stats, "pii_documents")
        return {"pii": self.plan.inherited_pii.model_copy(update={"documents": documents})}

    def manifest_section(self, step: PipelineStep, stats: Stats) -> SampleRecord | None:
        plan = self.plan
        if plan is None:  # pragma: no cover - build refused it
            return None
        rows = {index: 0 for index in range(len(plan.parents))}
        tokens = dict(rows)
        by_key: dict[str, int] = {}
        for label in stats.stats:
            kind, _, rest = label.partition("/")
            if kind not in ("drawn_rows", "drawn_tokens"):
                continue
            parent, _, code = rest.partition("/")
            value = self.stat_total(stats, label)
            if kind == "drawn_rows":
                rows[int(parent)] += value
            else:
                tokens[int(parent)] += value
                key = plan.keys[int(code)]
                by_key[key] = by_key.get(key, 0) + value
        total = sum(tokens.values())
        parents = [
            item.model_copy(update={"drawn_rows": rows[index], "drawn_tokens": tokens[index]})
            for index, item in enumerate(plan.parents)
        ]
        shown = {key: by_key[key] for key in sorted(by_key)} if plan.by is not None else {}
        return SampleRecord(
            parents=parents,
            by=plan.by,  # type: ignore[arg-type]
            weights=plan.weights,
            achieved={key: round(value / total, 6) for key, value in shown.items()} if total else {},
            tokens_by_key=shown,
            seed=plan.seed,
            target_tokens=plan.target,
            tokens=total,
            rows=sum(rows.values()),
            tokenizer=plan.tokenizer,
            supply="none" if plan.supply is None else ("narrowed" if plan.supply_notes else "identical"),
            supply_notes=plan.supply_notes,
        )


# -- the whole command -----------------------------------------------------------------------------


def sample_dataset(
    datasets: Sequence[str | Path],
    output: str | Path,
    tokens: int,
    *,
    by: str | None = None,
    weights: Sequence[str] | Mapping[str, float] | None = None,
    seed: int = 0,
    tokenizer: str = DEFAULT_TOKENIZER,
    overwrite: bool = False,
    workers: int | None = None,
    dataset_name: str | None = None,
    dataset_version: str | None = None,
    shard_bytes: int | None = None,
    verbose: bool = False,
    progress: ProgressCallback | None = None,
    on_plan: Callable[[Plan], None] | None = None,
) -> RunResult:
    """Draw ``tokens`` tokens from corpus-kit ``datasets`` into a new dataset at ``output``.

    ``weights`` (``KEY=SHARE`` items or a mapping, adding up to 1) are token shares over ``by``;
    without them the draw is uniform over all rows. The same seed and parents give byte-identical
    data files. Raises :class:`UsageError` for a bad request (weights, too few tokens, parents whose
    supply blocks cannot be combined) and :class:`CheckFailed` for a parent that changed since its
    manifest was written.
    """
    from dataclasses import replace

    from corpus_kit.pipeline.runner import run_pipeline
    from corpus_kit.pipeline.spec import RunSpec, StepSpec
    from corpus_kit.stages.registry import register_stage, unregister_stage

    output = Path(output)
    shares = parse_weights(weights)
    parents = load_parents(datasets, output)
    plan = plan_draw(parents, tokens, by, shares, seed, tokenizer)
    if on_plan is not None:
        on_plan(plan)
    units = [unit for parent in parents for unit in parent.units]
    if not units:
        raise UsageError("the parents hold no data files; nothing to draw from")
    names = ", ".join(
        f"{parent.manifest.dataset.name} {parent.manifest.dataset.version}" for parent in parents
    )
    params = SampleParams.model_validate(
        {
            "tokens": tokens,
            "seed": seed,
            "by": by,
            "weights": shares,
            "tokenizer": tokenizer,
            "plan_sha256": plan.sha256(),
        }
    )
    spec = RunSpec(
        pipeline_name="sample",
        units=units,
        output=output,
        # the tokens stage last: the sample's manifest states its size in tokens (tokens block, CK160),
        # counted again on the drawn rows only, by the stage every corpus-kit dataset is sized with
        steps=[
            StepSpec("sample", params.model_dump(mode="json")),
            StepSpec("tokens", {"tokenizer": tokenizer}),
        ],
        dataset_name=dataset_name,
        dataset_version=dataset_version or "0.1.0",
        dataset_description=f"A {plan.tokens:,}-token sample (seed {seed}) of {names}.",
        supply=plan.supply,
        workers=workers,
        overwrite=overwrite,
        verbose=verbose,
    )
    if shard_bytes is not None:
        spec = replace(spec, shard_bytes=shard_bytes)
    register_stage(SampleStage(plan), replace=True)
    try:
        result = run_pipeline(spec, progress)
    finally:
        unregister_stage("sample")
    drawn = result.manifest.sample.rows if result.manifest.sample is not None else 0
    sized = result.manifest.tokens
    if (
        sized is not None
        and result.manifest.sample is not None
        and sized.total != result.manifest.sample.tokens
    ):
        raise CheckFailed(  # pragma: no cover - the same tokenizer counted both
            f"{output}: the tokens step counted {sized.total:,} tokens but the draw "
            f"{result.manifest.sample.tokens:,}; this is a bug, please report it"
        )
    if drawn != plan.rows:
        raise CheckFailed(
            f"{plan.rows - drawn} drawn row(s) were rejected when read (see {output}/rejects/); "
            f"the sample holds {drawn} rows: rebuild the parents"
        )
    return result
