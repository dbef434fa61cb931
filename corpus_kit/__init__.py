"""corpus-kit: govern AI-training corpora on datatrove.

Read multimodal shards (JSONL, Parquet, WebDataset, ``datasets`` folders), run governance
stages, and write a Hub-compatible Parquet dataset with a compliance manifest.
"""

__version__ = "0.1.0"
