"""The tokens stage end to end: per-row counts against an independent count with another library,
totals in the manifest by language, source, licence and split, CK160, user tokenizer files, and the
rule that the step comes last."""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus_kit.errors import UsageError
from corpus_kit.governance.manifest import Manifest
from corpus_kit.governance.policy import validate_manifest_data
from corpus_kit.stages.tokens.tokenizer import load_tokenizer
from tests.conftest import rewrite_manifest, write_jsonl

O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"  # as OpenAI publishes it

TEXTS = [
    (
        "zh-Hans",
        "src-a",
        "CC-BY-4.0",
        "深圳市卫生健康委员会发布了新的数据开放目录，涵盖医疗机构、床位和门诊量等信息。",
    ),
    (
        "zh-Hant",
        "src-a",
        "CC-BY-4.0",
        "臺北市政府資料開放平臺提供交通、環境與教育等類別的資料集，供民眾下載使用。",
    ),
    ("en", "src-b", "CC0-1.0", "The city transport bureau publishes monthly ridership for every metro line."),
    (
        "en",
        "src-b",
        "MIT",
        "Special tokens such as <|endoftext|> are counted as text, never as control tokens.",
    ),
    ("zh-Hans", "src-c", "CC0-1.0", "低空经济：无人机物流航线共 42 条，2026 年 11 月完成配送 18,500 单。"),
]


def corpus(path: Path, copies: int = 12) -> Path:
    records = []
    for copy in range(copies):
        for index, (language, source, licence, text) in enumerate(TEXTS):
            records.append(
                {
                    "id": f"{copy}-{index}",
                    "text": f"{text} ({copy})" * (1 + copy % 3),
                    "metadata": {"source": source, "license": licence, "language": language},
                }
            )
    records.append(
        {"id": "media-only", "media": [{"type": "image", "bytes": "aGVsbG8=", "mime": "image/png"}]}
    )
    return write_jsonl(path, records)


def output_rows(out: Path) -> list[dict]:
    rows = []
    for path in sorted((out / "data").glob("*.parquet")):
        rows += pq.read_table(
            path, columns=["id", "text", "language", "source", "license", "tokens"]
        ).to_pylist()
    return rows


def independent_o200k():
    """o200k_base through tiktoken (another library) from the vocabulary file the wheel ships."""
    import tiktoken
    from bpe_openai import registry

    spec = registry.o200k_base()
    encoding = tiktoken.Encoding(
        name="o200k-independent",
        pat_str=spec["pat_str"],
        mergeable_ranks=spec["mergeable_ranks"],
        special_tokens={},
    )
    return lambda text: len(encoding.encode_ordinary(text))


def pipeline(tmp_path: Path, steps: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "name: tokens-test\ndataset: {name: tokens-test, version: '1'}\n"
        "supply: {mode: open}\nsteps:\n" + steps + "write: {keep_removed: false}\n"
    )
    return path


def test_counts_equal_an_independent_count_and_add_up_in_the_manifest(tmp_path: Path, cli) -> None:
    source = corpus(tmp_path / "in.jsonl")
    out = tmp_path / "out"
    supply = tmp_path / "supply.yaml"
    supply.write_text(
        "mode: cooperation\npartners: [Partner lab]\nagreement_id: A-1\n"
        "classification: {industry: government, grade: general, general_level: 1, basis: test data}\n"
    )
    result = cli("tokens", source, "-o", out, "--supply", supply, "-q")
    assert result.exit_code == 0, result.output
    manifest = Manifest.read(out / "manifest.json")
    tokens = manifest.tokens
    assert tokens is not None
    assert tokens.tokenizer.name == "o200k_base" and tokens.tokenizer.vocabulary_sha256 == O200K_SHA256
    assert tokens.tokenizer.library.startswith("bpe-openai ")
    rows = output_rows(out)
    count = independent_o200k()
    assert len(rows) == manifest.counts.output == tokens.rows == len(TEXTS) * 12 + 1
    for row in rows:
        assert row["tokens"] == count(row["text"]), row["id"]
    assert [row["tokens"] for row in rows if row["id"] == "media-only"] == [0]
    assert tokens.total == sum(row["tokens"] for row in rows) > 0
    assert tokens.characters == sum(len(row["text"]) for row in rows)
    assert tokens.max_row == max(row["tokens"] for row in rows)
    for key, field in (("language", "by_language"), ("source", "by_source"), ("license", "by_license")):
        expected: dict[str, int] = {}
        for row in rows:
            name = row[key] or "(none)"
            expected[name] = expected.get(name, 0) + row["tokens"]
        assert getattr(tokens, field) == expected, field
    assert tokens.by_split == {"train": tokens.total}
    assert list(tokens.by_language.values()) == sorted(tokens.by_language.values(), reverse=True)
    assert cli("manifest", "validate", out).exit_code == 0
    assert cli("card", out).exit_code == 0
    card = (out / "README.md").read_text()
    assert "## Size in Tokens" in card and f"{tokens.total:,} tokens in {tokens.rows:,} rows" in card
    assert "Size in tokens" in (out / "report.html").read_text()


def test_the_same_counts_for_one_and_two_workers(tmp_path: Path, cli) -> None:
    sources = [corpus(tmp_path / f"in{index}.jsonl", copies=4 + index) for index in range(3)]
    blocks = []
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        result = cli("tokens", *sources, "-o", out, "--workers", workers, "-q")
        assert result.exit_code == 0, result.output
        blocks.append(Manifest.read(out / "manifest.json").tokens)
    assert blocks[0] == blocks[1]


def test_the_step_must_come_last(tmp_path: Path, cli) -> None:
    source = corpus(tmp_path / "in.jsonl", copies=1)
    early = pipeline(tmp_path, "  - tokens: {}\n  - license: {default: CC-BY-4.0}\n")
    result = cli("run", early, "-i", source, "-o", tmp_path / "out", "-q")
    assert result.exit_code == 2
    assert "must be the pipeline's last step" in result.output
    last = pipeline(tmp_path, "  - license: {default: CC-BY-4.0}\n  - tokens: {tokenizer: cl100k_base}\n")
    result = cli("run", last, "-i", source, "-o", tmp_path / "out", "-q")
    assert result.exit_code == 0, result.output
    tokens = Manifest.read(tmp_path / "out" / "manifest.json").tokens
    assert tokens is not None and tokens.tokenizer.name == "cl100k_base"


def test_a_pii_step_clears_counts_read_back_from_an_earlier_run(tmp_path: Path, cli) -> None:
    records = [
        {"id": "phone", "text": "请致电 13812345678 咨询。", "metadata": {"license": "CC0-1.0"}},
        {"id": "plain", "text": "没有个人信息的句子。", "metadata": {"license": "CC0-1.0"}},
    ]
    first = tmp_path / "first"
    assert cli("tokens", write_jsonl(tmp_path / "in.jsonl", records), "-o", first, "-q").exit_code == 0
    second = tmp_path / "second"
    result = cli("pii", first, "-o", second, "-q")
    assert result.exit_code == 0, result.output
    counts = {row["id"]: row["tokens"] for row in output_rows(second)}
    # the scrubbed text no longer has the count of the original; the untouched one keeps it
    assert counts["phone"] is None and counts["plain"] is not None


def test_user_tokenizer_files(tmp_path: Path, cli) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    texts = [text for _, _, _, text in TEXTS]
    trained = Tokenizer(models.BPE(unk_token="[UNK]"))
    trained.pre_tokenizer = pre_tokenizers.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["[UNK]"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    trained.train_from_iterator(texts * 5, trainer)
    hf_file = tmp_path / "tokenizer.json"
    trained.save(str(hf_file))
    tiktoken_file = tmp_path / "o200k_base.tiktoken"
    with resources.files("bpe_openai.data").joinpath("o200k_base.tiktoken.gz").open("rb") as raw:
        tiktoken_file.write_bytes(gzip.decompress(raw.read()))
    source = corpus(tmp_path / "in.jsonl", copies=2)
    for path, expected in (
        (hf_file, lambda text: len(trained.encode(text, add_special_tokens=False))),
        (tiktoken_file, independent_o200k()),
    ):
        out = tmp_path / f"out-{path.suffix}"
        result = cli("tokens", source, "-o", out, "--tokenizer", path, "-q")
        assert result.exit_code == 0, result.output
        rows = output_rows(out)
        assert all(row["tokens"] == expected(row["text"]) for row in rows)
        tokens = Manifest.read(out / "manifest.json").tokens
        assert tokens is not None and tokens.tokenizer.name == path.name
    # the tiktoken copy of the bundled vocabulary is the bundled vocabulary
    assert load_tokenizer(str(tiktoken_file)).record.vocabulary_sha256 == O200K_SHA256


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"c2VjcmV0LXRva2Vu 0\nnot-base64!! 1\n", ":2: not a tiktoken BPE line"),
        (b"YQ== 0\nYg== 0\n", "two tokens share a rank"),
        (b"\n\n", "no tokens in this tiktoken file"),
        (b'{"model": 3}', "not a Hugging Face tokenizer.json"),
    ],
)
def test_bad_tokenizer_files_are_named_without_their_content(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "vocab.tiktoken"
    path.write_bytes(content)
    with pytest.raises(UsageError) as caught:
        load_tokenizer(str(path))
    assert message in str(caught.value) and str(path) in str(caught.value)
    assert "secret" not in str(caught.value) and "not-base64" not in str(caught.value)


def test_unknown_tokenizer_is_a_usage_error_before_anything_is_read(tmp_path: Path, cli) -> None:
    source = corpus(tmp_path / "in.jsonl", copies=1)
    result = cli("tokens", source, "-o", tmp_path / "out", "--tokenizer", "gpt-9000", "-q")
    assert result.exit_code == 2
    assert "neither a bundled encoding (o200k_base, cl100k_base)" in result.output
    assert not (tmp_path / "out").exists()


def test_a_tokens_block_that_does_not_add_up_is_an_error(tmp_path: Path, cli) -> None:
    out = tmp_path / "out"
    assert cli("tokens", corpus(tmp_path / "in.jsonl", copies=1), "-o", out, "-q").exit_code == 0
    path = out / "manifest.json"
    data = json.loads(path.read_text())
    assert not [f for f in validate_manifest_data(path.read_text()) if f.rule == "CK160"]
    data["tokens"]["by_language"]["en"] += 1
    data["tokens"]["rows"] += 1
    rewrite_manifest(path, data)
    findings = [f for f in validate_manifest_data(path.read_text()) if f.rule == "CK160"]
    assert {f.field for f in findings} == {"tokens.rows", "tokens.by_language"}
    assert all(f.severity == "error" for f in findings)


def test_long_runs_without_spaces_are_counted_in_linear_time() -> None:
    # 4 MB of one letter or of random CJK: the bundled counter is linear (no quadratic BPE merges)
    tokenizer = load_tokenizer("o200k_base")
    assert tokenizer.count("a" * 4_000_000) > 0
    assert tokenizer.count("数据" * 1_000_000) > 0
