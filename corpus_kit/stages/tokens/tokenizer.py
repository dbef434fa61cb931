"""Token counters whose vocabulary is on this machine: bundled in a PyPI wheel or a file the user names.

``load_tokenizer(spec)`` takes:

* ``o200k_base`` (default) or ``cl100k_base``: OpenAI's BPE vocabularies as compiled into
  ``bpe-openai`` (MIT; the Rust ``bpe-openai`` crate, linear in the input, ~26 MB/s per core when
  counting). o200k_base is the default because it is compact on Chinese as well as English
  (~0.4 tokens per character on the project's mixed corpus, cl100k_base ~0.5);
* a path to a Hugging Face ``tokenizer.json`` (counted with the ``tokenizers`` library, special
  tokens not added);
* a path to a tiktoken BPE file (``*.tiktoken``: one ``base64-token rank`` per line), counted with
  ``tiktoken`` using the pre-tokenisation pattern of ``o200k_base`` or ``cl100k_base``
  (``pattern``). A user-supplied regular expression is not accepted: a pattern is code.

Nothing is downloaded. :class:`TokenizerRecord` (name, library and version, vocabulary sha256) is
what the manifest keeps, so a count can be reproduced.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import importlib.util
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from corpus_kit.errors import UsageError
from corpus_kit.governance.tokens import TokenizerRecord

BUNDLED_ENCODINGS = ("o200k_base", "cl100k_base")
DEFAULT_TOKENIZER = "o200k_base"
PatternName = Literal["o200k_base", "cl100k_base"]

# A vocabulary file is read whole: these bound what a hostile or mistaken path can cost.
MAX_VOCABULARY_BYTES = 256 * 1024 * 1024
MAX_TIKTOKEN_RANKS = 4_000_000
MAX_REPORTED_PROBLEMS = 1  # the first bad line is named; the rest of a broken file is not read


@dataclass
class Tokenizer:
    """A token counter: ``count(text)`` is the number of tokens ``text`` encodes to, special tokens
    read as text and none added."""

    record: TokenizerRecord
    count: Callable[[str], int]

    def count_many(self, texts: Sequence[str]) -> list[int]:
        count = self.count
        return [count(text) for text in texts]


def _version(distribution: str) -> str:
    try:
        return f"{distribution} {metadata.version(distribution)}"
    except metadata.PackageNotFoundError:
        return distribution


def _bpe_openai_root() -> Path:
    spec = importlib.util.find_spec("bpe_openai")  # finds the package without running its __init__
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("No module named 'bpe_openai'", name="bpe_openai")
    return Path(spec.origin).parent


def _bpe_openai_bindings() -> Any:
    """bpe-openai's compiled module, loaded alone: the package's ``__init__`` parses every vocabulary
    it knows in Python (~0.6 s) for a tiktoken-compatible layer the counter does not use."""
    root = _bpe_openai_root()
    for library in sorted(root.glob("_bindings*.so")) + sorted(root.glob("_bindings*.pyd")):
        spec = importlib.util.spec_from_file_location("bpe_openai._bindings", library)
        if spec is not None and spec.loader is not None:
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    from bpe_openai import _bindings  # another layout: the ordinary import

    return _bindings


def _bundled_vocabulary_sha256(name: str) -> str:
    """sha256 of the vocabulary the wheel ships (bpe_openai/data/<name>.tiktoken.gz, uncompressed)."""
    with open(_bpe_openai_root() / "data" / f"{name}.tiktoken.gz", "rb") as raw:
        return hashlib.sha256(gzip.decompress(raw.read())).hexdigest()


def _bundled(name: str) -> Tokenizer:
    backend = _bpe_openai_bindings().tokenizer_for_encoding(name)
    record = TokenizerRecord(
        name=name,
        kind="bundled",
        library=_version("bpe-openai"),
        vocabulary_sha256=_bundled_vocabulary_sha256(name),
        pattern=None,
    )
    return Tokenizer(record, backend.count)


def _read_vocabulary(path: Path) -> bytes:
    try:
        size = path.stat().st_size
    except OSError as error:
        raise UsageError(f"{path}: tokenizer file not readable ({error.strerror})") from None
    if size > MAX_VOCABULARY_BYTES:
        raise UsageError(
            f"{path}: tokenizer file of {size:,} bytes is over the {MAX_VOCABULARY_BYTES // 2**20} MiB limit"
        )
    return path.read_bytes()


def _tokenizer_json(path: Path, content: bytes) -> Tokenizer:
    from tokenizers import Tokenizer as HFTokenizer

    try:
        backend = HFTokenizer.from_str(content.decode("utf-8"))
    except Exception as error:  # decoding errors, and the library raises bare Exception subclasses
        raise UsageError(
            f"{path}: not a Hugging Face tokenizer.json ({type(error).__name__}); give a tokenizer.json "
            "file, a .tiktoken file or one of " + ", ".join(BUNDLED_ENCODINGS)
        ) from None
    encode = backend.encode

    def count(text: str) -> int:
        return len(encode(text, add_special_tokens=False))

    record = TokenizerRecord(
        name=path.name,
        kind="tokenizer.json",
        library=_version("tokenizers"),
        vocabulary_sha256=hashlib.sha256(content).hexdigest(),
        pattern=None,
    )
    return Tokenizer(record, count)


def _tiktoken_ranks(path: Path, content: bytes) -> dict[bytes, int]:
    """A tiktoken BPE file's ranks; errors name the line, never its content."""
    ranks: dict[bytes, int] = {}
    for number, line in enumerate(io.BytesIO(content), start=1):
        line = line.strip()
        if not line:
            continue
        parts = line.split()
        try:
            if len(parts) != 2:
                raise ValueError
            token, rank = base64.b64decode(parts[0], validate=True), int(parts[1])
            if rank < 0:
                raise ValueError
        except (ValueError, binascii.Error):
            raise UsageError(
                f"{path}:{number}: not a tiktoken BPE line (base64 token, space, rank)"
            ) from None
        ranks[token] = rank
        if len(ranks) > MAX_TIKTOKEN_RANKS:
            raise UsageError(f"{path}: more than {MAX_TIKTOKEN_RANKS:,} tokens")
    if not ranks:
        raise UsageError(f"{path}: no tokens in this tiktoken file")
    if len(set(ranks.values())) != len(ranks):
        raise UsageError(f"{path}: two tokens share a rank")
    return ranks


def _bundled_pattern(name: PatternName) -> str:
    from bpe_openai import registry

    spec: dict[str, str] = getattr(registry, name)()
    return spec["pat_str"]


def _tiktoken_file(path: Path, content: bytes, pattern: PatternName) -> Tokenizer:
    import tiktoken

    ranks = _tiktoken_ranks(path, content)
    try:
        encoding = tiktoken.Encoding(
            name=path.stem, pat_str=_bundled_pattern(pattern), mergeable_ranks=ranks, special_tokens={}
        )
    except ValueError as error:
        raise UsageError(f"{path}: tiktoken refused this vocabulary ({error})") from None
    encode = encoding.encode_ordinary

    def count(text: str) -> int:
        return len(encode(text))

    record = TokenizerRecord(
        name=path.name,
        kind="tiktoken",
        library=_version("tiktoken"),
        vocabulary_sha256=hashlib.sha256(content).hexdigest(),
        pattern=pattern,
    )
    return Tokenizer(record, count)


def load_tokenizer(spec: str, *, pattern: PatternName = "o200k_base") -> Tokenizer:
    """The counter for ``spec``: a bundled encoding name or a path (``tokenizer.json``, ``*.tiktoken``).

    Raises :class:`UsageError` naming the problem (unknown name, unreadable or malformed file).
    """
    if spec in BUNDLED_ENCODINGS:
        return _bundled(spec)
    path = Path(spec)
    if not path.exists():
        raise UsageError(
            f"tokenizer {spec!r}: neither a bundled encoding ({', '.join(BUNDLED_ENCODINGS)}) nor an "
            "existing file (a Hugging Face tokenizer.json or a .tiktoken BPE file)"
        )
    if not path.is_file():
        raise UsageError(f"{path}: the tokenizer must be a file (tokenizer.json or .tiktoken)")
    content = _read_vocabulary(path)
    if path.suffix == ".json" or content.lstrip()[:1] == b"{":
        return _tokenizer_json(path, content)
    return _tiktoken_file(path, content, pattern)


__all__ = [
    "BUNDLED_ENCODINGS",
    "DEFAULT_TOKENIZER",
    "Tokenizer",
    "TokenizerRecord",
    "load_tokenizer",
]
