"""``tokens`` stage: the number of tokens of every row, and the dataset's size in tokens.

Each row gets ``tokens`` (int64): the tokens its text encodes to with the run's tokenizer
(:mod:`.tokenizer`: ``o200k_base`` by default, bundled in the ``bpe-openai`` wheel; or a local
``tokenizer.json`` / ``.tiktoken`` file). The manifest's ``tokens`` block names the tokenizer (library,
version, vocabulary sha256) and totals the tokens by language, source, licence and split; the card
states the size in tokens and the report shows tokens per language.

The step must be the pipeline's last: its totals describe the rows as they are written (a later step
could drop rows or rewrite their text). Records with media and no text count 0 tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from datatrove.pipeline.base import PipelineStep
from pydantic import Field

from corpus_kit.governance.tokens import MAX_LISTED_SOURCES, OTHER, TokenizerRecord, TokensSummary
from corpus_kit.records import held_size
from corpus_kit.stages.base import Stage, StageContext, StageParams
from corpus_kit.stages.tokens.tokenizer import (
    BUNDLED_ENCODINGS,
    DEFAULT_TOKENIZER,
    PatternName,
    Tokenizer,
    load_tokenizer,
)

if TYPE_CHECKING:
    from datatrove.data import DocumentsPipeline
    from datatrove.utils.stats import Stats

    from corpus_kit.catalog.report import ReportSection
    from corpus_kit.governance.manifest import Manifest

#: Only split the Hub layout writes (``data/train-*.parquet``).
SPLIT = "train"
#: Distinct sources a task totals by name; the tokens of further ones go under ``OTHER``.
MAX_SOURCES_PER_TASK = 10_000
NONE = "(none)"
_KEY_CHARS = 200  # a source or licence name is cut to this many characters in stats
# Documents held back to be counted together: up to about 1 Mi characters of text and bytes of media
# (held_size), or one document larger than that
BATCH_CHARACTERS = 1 << 20
BATCH_DOCUMENTS = 1024

# Tokenizers loaded in this process, by (spec, pattern): workers forked after warm_up() share them
_TOKENIZERS: dict[tuple[str, str], Tokenizer] = {}


def tokenizer_for(spec: str, pattern: PatternName = "o200k_base") -> Tokenizer:
    """The process's tokenizer for ``spec`` (loaded once)."""
    key = (spec, pattern)
    tokenizer = _TOKENIZERS.get(key)
    if tokenizer is None:
        tokenizer = _TOKENIZERS[key] = load_tokenizer(spec, pattern=pattern)
    return tokenizer


class TokenCounter(PipelineStep):
    """Writes ``metadata["tokens"]`` and totals tokens by language, source and licence per task.

    Stats: ``rows``, ``tokens``, ``characters``, ``max_row`` and ``language/<code>``,
    ``source/<name>``, ``license/<expression>`` token totals.
    """

    type = "🔢 - TOKENS"
    name = "token counter"

    def __init__(self, tokenizer: str = DEFAULT_TOKENIZER, pattern: PatternName = "o200k_base"):
        super().__init__()
        self.tokenizer = tokenizer
        self.pattern = pattern

    def warm_up(self) -> None:
        """Load the tokenizer now (in a parent, before workers fork)."""
        tokenizer_for(self.tokenizer, self.pattern)

    @property
    def record(self) -> TokenizerRecord:
        return tokenizer_for(self.tokenizer, self.pattern).record

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> Iterator[Any]:
        count = tokenizer_for(self.tokenizer, self.pattern).count
        by_language: dict[str, int] = {}
        by_source: dict[str, int] = {}
        by_license: dict[str, int] = {}
        rows = total = characters = longest = 0
        for batch in _batches(data):
            # counted together: one document at a time between the other stages' work, the
            # tokenizer's tables fall out of the CPU caches (measured 3x slower in standard.yaml)
            with self.track_time():
                counts = [count(document.text) if document.text else 0 for document in batch]
            for document, tokens in zip(batch, counts, strict=True):
                text = document.text
                metadata = document.metadata
                metadata["tokens"] = tokens
                rows += 1
                total += tokens
                characters += len(text)
                if tokens > longest:
                    longest = tokens
                language = metadata.get("language")
                key = language[:50] if isinstance(language, str) and language else NONE
                by_language[key] = by_language.get(key, 0) + tokens
                source = metadata.get("source")
                key = source[:_KEY_CHARS] if isinstance(source, str) and source else NONE
                if key not in by_source and len(by_source) >= MAX_SOURCES_PER_TASK:
                    key = OTHER
                by_source[key] = by_source.get(key, 0) + tokens
                licence = metadata.get("license")
                key = licence[:_KEY_CHARS] if isinstance(licence, str) and licence else NONE
                by_license[key] = by_license.get(key, 0) + tokens
                yield document
        self.stat_update("rows", value=rows)
        self.stat_update("tokens", value=total)
        self.stat_update("characters", value=characters)
        self.stat_update("max_row", value=longest)
        for prefix, totals in (("language", by_language), ("source", by_source), ("license", by_license)):
            for key, value in totals.items():
                self.stat_update(f"{prefix}/{key}", value=value)


def _batches(data: DocumentsPipeline) -> Iterator[list[Any]]:
    """Documents in input order, in lists of up to ``BATCH_CHARACTERS`` characters of text and bytes of
    media (or one document larger than that)."""
    batch: list[Any] = []
    size = 0
    for document in data:
        batch.append(document)
        size += held_size(document)
        if size >= BATCH_CHARACTERS or len(batch) >= BATCH_DOCUMENTS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _max_over_tasks(stats: Stats, label: str) -> int:
    """The largest per-task value of a stat (merged stats keep the max of the tasks' updates)."""
    from datatrove.utils.stats import MetricStats

    value = stats.stats.get(label)
    if value is None:
        return 0
    parsed = value if isinstance(value, MetricStats) else MetricStats.from_dict(value)
    return round(parsed.max) if parsed.n else 0


def _top_sources(totals: dict[str, int]) -> tuple[dict[str, int], int]:
    named = sorted(
        ((key, value) for key, value in totals.items() if key != OTHER), key=lambda kv: (-kv[1], kv[0])
    )
    listed = dict(named[:MAX_LISTED_SOURCES])
    rest = sum(value for _, value in named[MAX_LISTED_SOURCES:]) + totals.get(OTHER, 0)
    if rest:
        listed[OTHER] = rest
    return listed, len(named)


class TokensParams(StageParams):
    tokenizer: str = Field(
        DEFAULT_TOKENIZER,
        description=f"{' or '.join(BUNDLED_ENCODINGS)} (bundled in the bpe-openai wheel), or a local "
        "Hugging Face tokenizer.json or .tiktoken BPE file. Nothing is downloaded.",
    )
    pattern: PatternName = Field(
        "o200k_base", description="For a .tiktoken file: whose pre-tokenisation pattern to use."
    )


class TokensStage(Stage[TokensParams]):
    """Count every row's tokens and state the dataset's size in tokens (manifest, card, report)."""

    name = "tokens"
    summary = (
        "Count every row's tokens (o200k_base bundled, or your tokenizer.json / .tiktoken file) and "
        "state the size in tokens by language, source and licence."
    )
    params_model = TokensParams
    columns = ("tokens",)
    section_model = TokensSummary
    extra = "tokens"
    one_per_pipeline = True
    last_in_pipeline = True
    example = "- tokens: {tokenizer: o200k_base}"

    def build(self, params: TokensParams, context: StageContext) -> TokenCounter:
        spec = params.tokenizer
        if spec not in BUNDLED_ENCODINGS:
            resolved = context.resolve_path(spec)
            assert resolved is not None
            spec = resolved
        tokenizer_for(spec, params.pattern)  # a bad tokenizer stops the run before anything is read
        return TokenCounter(spec, params.pattern)

    def manifest_section(self, step: PipelineStep, stats: Stats) -> TokensSummary:
        assert isinstance(step, TokenCounter)
        totals: dict[str, dict[str, int]] = {"language": {}, "source": {}, "license": {}}
        for label in stats.stats:
            prefix, _, key = label.partition("/")
            if key and prefix in totals:
                totals[prefix][key] = self.stat_total(stats, label)
        total = self.stat_total(stats, "tokens")
        by_source, sources_total = _top_sources(totals["source"])
        return TokensSummary(
            tokenizer=step.record,
            rows=self.stat_total(stats, "rows"),
            total=total,
            characters=self.stat_total(stats, "characters"),
            by_language=dict(sorted(totals["language"].items(), key=lambda kv: (-kv[1], kv[0]))),
            by_source=by_source,
            sources_total=sources_total,
            by_license=dict(sorted(totals["license"].items(), key=lambda kv: (-kv[1], kv[0]))),
            by_split={SPLIT: total},
            max_row=_max_over_tasks(stats, "max_row"),
        )

    def report_section(self, section: TokensSummary, manifest: Manifest) -> ReportSection:
        from corpus_kit.stages.tokens.sections import tokens_report_section

        return tokens_report_section(section, manifest)

    def card_section(self, section: TokensSummary, manifest: Manifest) -> tuple[str, str]:
        from corpus_kit.stages.tokens.sections import tokens_card_section

        return tokens_card_section(section, manifest)


__all__ = ["TokenCounter", "TokensParams", "TokensStage", "TokensSummary", "tokenizer_for"]
