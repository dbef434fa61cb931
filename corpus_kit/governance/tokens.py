"""The manifest's ``tokens`` block: which tokenizer counted, and the dataset's size in tokens.

Written by the ``tokens`` stage (:mod:`corpus_kit.stages.tokens`); checked against the rest of the
manifest by ``manifest validate`` (CK160).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: Sources the manifest lists by name (most tokens first); the rest are added up under ``OTHER``.
MAX_LISTED_SOURCES = 1_000
OTHER = "(other sources)"


class TokenizerRecord(BaseModel):
    """Which tokenizer counted: enough to reproduce the count elsewhere."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="o200k_base, cl100k_base, or the file name of the user's tokenizer")
    kind: Literal["bundled", "tokenizer.json", "tiktoken"] = Field(
        description="bundled in a wheel, a Hugging Face tokenizer.json, or a tiktoken BPE file"
    )
    library: str = Field(description="the library that counted, with its version (bpe-openai 0.1.4)")
    vocabulary_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="sha256 of the vocabulary file (bundled: the uncompressed .tiktoken file, as OpenAI "
        "publishes it)",
    )
    pattern: str | None = Field(None, description="tiktoken files: the pre-tokenisation pattern used")


class TokensSummary(BaseModel):
    """The dataset's size in tokens (the manifest's ``tokens`` block)."""

    model_config = ConfigDict(extra="forbid")

    tokenizer: TokenizerRecord
    rows: int = Field(ge=0, description="Rows counted (every output row).")
    total: int = Field(ge=0, description="Tokens of all rows.")
    characters: int = Field(
        ge=0, description="Characters of all rows' text (tokens per character = total / this)."
    )
    by_language: dict[str, int] = Field(default_factory=dict, description="Tokens per language code.")
    by_source: dict[str, int] = Field(
        default_factory=dict,
        description=f"Tokens per source (metadata.source), most first; past {MAX_LISTED_SOURCES:,} sources "
        f"the rest are added up under {OTHER!r}.",
    )
    sources_total: int = Field(0, ge=0, description="Distinct sources counted by name.")
    by_license: dict[str, int] = Field(default_factory=dict, description="Tokens per licence expression.")
    by_split: dict[str, int] = Field(default_factory=dict, description="Tokens per split (train).")
    max_row: int = Field(0, ge=0, description="Tokens of the longest row.")
