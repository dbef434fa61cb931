"""End to end through the CLI: accounting, rejects, media round trip, sharding, atomicity, determinism."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
import tarfile
from pathlib import Path

import jsonschema
import pyarrow.parquet as pq
import pytest

from corpus_kit.errors import CorpusKitError
from corpus_kit.governance.manifest import Manifest
from corpus_kit.io.inputs import resolve_inputs
from corpus_kit.io.readers.jsonl import JsonlReader
from corpus_kit.pipeline.runner import RunSpec, StepSpec, run_pipeline
from corpus_kit.records import OUTPUT_SCHEMA
from corpus_kit.utils import sha256_file
from tests.conftest import BAD_JSONL_LINES, make_jpeg_like, make_png, make_wav, record, write_jsonl, write_tar

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "manifests" / "manifest.schema.json").read_text())


def load_manifest(out: Path) -> Manifest:
    raw = json.loads((out / "manifest.json").read_text())
    jsonschema.validate(raw, SCHEMA)  # the generated schema accepts what we write
    return Manifest.model_validate(raw)


def assert_files_match_manifest(out: Path, manifest: Manifest) -> None:
    listed = {item.path for item in manifest.files}
    assert listed == {p.relative_to(out).as_posix() for p in (out / "data").glob("*")}
    for item in manifest.files:
        path = out / item.path
        assert sha256_file(path) == item.sha256
        assert path.stat().st_size == item.bytes
        assert pq.ParquetFile(path).metadata.num_rows == item.rows
    assert sum(item.rows for item in manifest.files) == manifest.counts.output


def make_mixed_folder(folder: Path) -> tuple[set[str], int]:
    """Good records over JSONL/gz/zst/Parquet/tar plus every kind of bad input; returns (good ids, bad)."""
    import pyarrow as pa

    folder.mkdir()
    good: set[str] = set()
    lines = []
    for index, (_, bad) in enumerate(BAD_JSONL_LINES):
        lines.append(json.dumps(record(index, "a")).encode())
        good.add(f"a{index}")
        lines.append(bad)
    (folder / "a.jsonl").write_bytes(b"\n".join(lines) + b"\n\n")
    write_jsonl(folder / "b.jsonl.gz", [record(i, "b") for i in range(20)], "gz")
    write_jsonl(folder / "c.jsonl.zst", [record(i, "c") for i in range(20)], "zst")
    good |= {f"b{i}" for i in range(20)} | {f"c{i}" for i in range(20)}
    # a Parquet file whose second row group is corrupt (100 rows lost, one reject entry)
    table = pa.table(
        {"id": [f"p{i}" for i in range(200)], "text": [f"parquet row {i} " * 20 for i in range(200)]}
    )
    pq.write_table(table, folder / "d.parquet", row_group_size=100)
    meta = pq.ParquetFile(folder / "d.parquet").metadata
    start = meta.row_group(1).column(1).data_page_offset
    data = bytearray((folder / "d.parquet").read_bytes())
    data[start + 20 : start + 400] = b"\xff" * 380
    (folder / "d.parquet").write_bytes(bytes(data))
    good |= {f"p{i}" for i in range(100)}
    write_tar(
        folder / "e.tar",
        [("t1.txt", b"tar text"), ("t2.png", make_png()), ("../up.txt", b"x"), ("t3.json", b"{broken")],
    )
    good |= {"t1", "t2"}
    bad = len(BAD_JSONL_LINES) + 100 + 2  # jsonl lines + corrupt row group rows + 2 tar rejects
    return good, bad


def test_mixed_good_and_bad_input(tmp_path: Path, cli) -> None:
    good, bad = make_mixed_folder(tmp_path / "in")
    out = tmp_path / "out"
    result = cli("convert", tmp_path / "in", "-o", out, "--workers", "2")
    assert result.exit_code == 0, result.output
    manifest = load_manifest(out)
    rows = pq.read_table(out / "data").to_pylist()
    assert {row["id"] for row in rows} == good
    assert manifest.counts.output == len(good)
    assert manifest.counts.rejected == bad
    assert manifest.counts.input == len(good) + bad
    assert manifest.counts.invariant_holds()
    assert_files_match_manifest(out, manifest)

    entries = [json.loads(line) for path in sorted((out / "rejects").glob("*.jsonl")) for line in path.open()]
    reasons = sorted(entry["reason"] for entry in entries)
    expected = sorted(
        [reason for reason, _ in BAD_JSONL_LINES]
        + ["parquet.unreadable_row_group", "tar.unsafe_path", "tar.invalid_member"]
    )
    assert reasons == expected
    for entry in entries:
        assert entry["source"].endswith((".jsonl", ".parquet", ".tar"))
        assert any(key in entry for key in ("line", "row", "member"))
    assert sum(entry.get("records", 1) for entry in entries) == bad
    assert manifest.restricted and manifest.restricted[0].path == "rejects/"
    by_uri = {Path(source.uri).name: source for source in manifest.sources}
    assert by_uri["a.jsonl"].records == 2 * len(BAD_JSONL_LINES) and by_uri["a.jsonl"].rejected == len(
        BAD_JSONL_LINES
    )
    assert by_uri["d.parquet"].sha256 == sha256_file(tmp_path / "in" / "d.parquet")
    assert "rejected" in result.output and "holds" in result.output


def test_max_rejects_turns_into_exit_1(tmp_path: Path, cli) -> None:
    make_mixed_folder(tmp_path / "in")
    out = tmp_path / "out"
    assert cli("convert", tmp_path / "in", "-o", out, "--max-rejects", "5", "-q").exit_code == 1
    assert (
        cli("convert", tmp_path / "in", "-o", out, "--overwrite", "--max-rejects", "50%", "-q").exit_code == 0
    )
    result = cli("convert", tmp_path / "in", "-o", out, "--overwrite", "--max-rejects", "0.01", "-q")
    assert result.exit_code == 1 and "exceed --max-rejects" in result.output


def test_webdataset_round_trip_is_byte_identical(tmp_path: Path, cli) -> None:
    members = [
        ("k1.jpg", make_jpeg_like(1)),
        ("k1.txt", b"a jpg"),
        ("k2.png", make_png(seed=2)),
        ("k2.txt", b"a png"),
        ("k3.wav", make_wav()),
        ("k3.txt", b"a wav"),
        ("k4.png", make_png(8, 8, seed=4)),  # image only
        ("k5.jpg", make_jpeg_like(5)),  # image only
    ]
    write_tar(tmp_path / "shard.tar", members)
    out = tmp_path / "out"
    assert cli("convert", tmp_path / "shard.tar", "-o", out, "-q").exit_code == 0
    from datasets import load_dataset

    dataset = load_dataset("parquet", data_dir=str(out / "data"), split="train")
    expected = {name: hashlib.sha256(data).hexdigest() for name, data in members}
    seen = {}
    for row in dataset:
        for media in row["media"]:
            seen[media["uri"]] = hashlib.sha256(media["bytes"]).hexdigest()
            assert media["sha256"] == seen[media["uri"]]
    assert seen == {name: digest for name, digest in expected.items() if not name.endswith(".txt")}
    assert {row["id"]: row["text"] for row in dataset}["k4"] == ""
    assert load_manifest(out).counts.output == 5


def test_shards_get_hub_names_and_explicit_schema(tmp_path: Path, cli) -> None:
    noise = [
        base64.b64encode(random.Random(i).randbytes(2000)).decode() for i in range(400)
    ]  # incompressible
    write_jsonl(tmp_path / "big.jsonl", [record(i, text=noise[i]) for i in range(400)])
    out = tmp_path / "out"
    result = cli("convert", tmp_path / "big.jsonl", "-o", out, "--shard-size", "64KiB", "-q")
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (out / "data").iterdir())
    assert len(files) > 2
    assert files == [f"train-{i:05d}-of-{len(files):05d}.parquet" for i in range(len(files))]
    parquet = pq.ParquetFile(out / "data" / files[0])
    assert parquet.schema_arrow.equals(OUTPUT_SCHEMA)
    assert parquet.metadata.row_group(0).column(1).compression == "ZSTD"
    ids = pq.read_table(out / "data").column("id").to_pylist()
    assert ids == [f"r{i}" for i in range(400)]  # input order is kept


def test_output_is_the_same_for_any_worker_count(tmp_path: Path, cli) -> None:
    (tmp_path / "in").mkdir()
    for name in "abcd":
        write_jsonl(tmp_path / "in" / f"{name}.jsonl", [record(i, name) for i in range(30)])
    digests = []
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        assert cli("convert", tmp_path / "in", "-o", out, "-w", workers, "-q").exit_code == 0
        digests.append([item.sha256 for item in load_manifest(out).files])
    assert digests[0] == digests[1]


def test_interrupted_run_leaves_nothing_that_looks_complete(tmp_path: Path, monkeypatch) -> None:
    write_jsonl(tmp_path / "in.jsonl", [record(i) for i in range(100)])
    original = JsonlReader.read_unit

    def dies_midway(self, unit):
        for count, item in enumerate(original(self, unit)):
            if count == 50:
                raise RuntimeError("simulated crash")
            yield item

    monkeypatch.setattr(JsonlReader, "read_unit", dies_midway)
    out = tmp_path / "out"
    spec = RunSpec(
        pipeline_name="t", units=resolve_inputs([str(tmp_path / "in.jsonl")]), output=out, workers=1
    )
    with pytest.raises(CorpusKitError, match="RuntimeError in a pipeline task"):
        run_pipeline(spec)
    assert not (out / "data").exists() and not (out / "manifest.json").exists()
    staged = list((out / ".corpus-kit" / "staging").rglob("*.parquet"))
    assert staged == []  # only a .tmp may exist
    logs = list((out / ".corpus-kit" / "logs").rglob("task_*.log"))
    assert logs and "RuntimeError" in logs[0].read_text()
    assert "city open data record" not in logs[0].read_text()  # no record content in logs


def test_overwrite_replaces_the_dataset_and_foreign_folders_are_refused(tmp_path: Path, cli) -> None:
    write_jsonl(tmp_path / "in.jsonl", [record(i) for i in range(5)])
    out = tmp_path / "out"
    assert cli("convert", tmp_path / "in.jsonl", "-o", out, "-q").exit_code == 0
    again = cli("convert", tmp_path / "in.jsonl", "-o", out, "-q")
    assert again.exit_code == 2 and "--overwrite" in again.output
    write_jsonl(tmp_path / "in.jsonl", [record(i) for i in range(3)])
    assert cli("convert", tmp_path / "in.jsonl", "-o", out, "-q", "--overwrite").exit_code == 0
    assert load_manifest(out).counts.output == 3
    assert not (out / ".corpus-kit").exists()
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("precious")
    refused = cli("convert", tmp_path / "in.jsonl", "-o", foreign, "-q", "--overwrite")
    assert refused.exit_code == 2 and "not empty" in refused.output
    assert (foreign / "thesis.docx").read_text() == "precious"


def test_manifest_records_pipeline_and_sources(tmp_path: Path, cli) -> None:
    write_jsonl(tmp_path / "in.jsonl", [record(i) for i in range(4)])
    out = tmp_path / "out"
    assert (
        cli(
            "convert", tmp_path / "in.jsonl", "-o", out, "-q", "--name", "my-set", "--dataset-version", "2.0"
        ).exit_code
        == 0
    )
    manifest = load_manifest(out)
    assert manifest.dataset.name == "my-set" and manifest.dataset.version == "2.0"
    assert [step.name for step in manifest.pipeline.steps] == ["read", "write"]
    assert manifest.pipeline.steps[0].input == 4 and manifest.pipeline.steps[-1].output == 4
    assert {"corpus-kit", "datatrove", "pyarrow", "python"} <= set(manifest.pipeline.versions)
    assert len(manifest.pipeline.config_sha256) == 64
    assert manifest.licenses == {"CC-BY-4.0": 4}
    assert manifest.sources[0].sha256 == sha256_file(tmp_path / "in.jsonl")


def test_empty_input_gives_a_loadable_empty_dataset(tmp_path: Path, cli) -> None:
    (tmp_path / "in.jsonl").write_bytes(b'{"id": 1}\n')
    out = tmp_path / "out"
    assert cli("convert", tmp_path / "in.jsonl", "-o", out, "-q").exit_code == 0
    manifest = load_manifest(out)
    assert manifest.counts.output == 0 and manifest.counts.rejected == 1
    assert pq.read_table(out / "data").num_rows == 0


def test_tar_media_member_too_large_for_memory_cap(tmp_path: Path, cli) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, size in (("small.txt", 10), ("huge.png", 200_000)):
            info = tarfile.TarInfo(name)
            info.size = size
            archive.addfile(info, io.BytesIO(b"x" * size))
    (tmp_path / "s.tar").write_bytes(buffer.getvalue())
    out = tmp_path / "out"
    assert cli("convert", tmp_path / "s.tar", "-o", out, "-q", "--max-record-size", "100KiB").exit_code == 0
    manifest = load_manifest(out)
    assert manifest.counts.output == 1 and manifest.counts.rejected == 1


def test_writer_columns_keep_nulls_values_and_media(tmp_path: Path) -> None:
    from datatrove.data import Document

    from corpus_kit.io.parquet_writer import ParquetShardWriter
    from corpus_kit.records import make_media

    png = make_png(seed=7)
    documents = [
        Document(
            text="中文 text", id="a", metadata={"language": "zh-Hans", "language_score": 0.5, "pii_spans": 2}
        ),
        Document(text="", id="b", media=[make_media("b.png", png, "b.png")], metadata={"license": "MIT"}),
        Document(text="plain", id="c", metadata={"quality_signals": {"gopher": 0.1}, "extra": [1, 2]}),
    ]
    writer = ParquetShardWriter(str(tmp_path), shard_bytes=1 << 20)
    assert list(writer.run(iter(documents), rank=0)) == documents
    rows = pq.read_table(tmp_path / "00000-0000.parquet").to_pylist()
    assert [row["id"] for row in rows] == ["a", "b", "c"]
    assert rows[0]["text"] == "中文 text" and rows[0]["language"] == "zh-Hans"
    assert rows[0]["language_score"] == 0.5 and rows[0]["pii_spans"] == 2
    assert rows[1]["language_score"] is None and rows[1]["pii_spans"] is None and rows[1]["language"] is None
    assert rows[1]["media"][0]["bytes"] == png and rows[1]["media"][0]["mime"] == "image/png"
    assert rows[0]["media"] == [] and rows[2]["media"] == []
    assert rows[1]["license"] == "MIT" and rows[0]["license"] is None
    assert json.loads(rows[2]["quality_signals"]) == {"gopher": 0.1}
    assert json.loads(rows[2]["metadata"]) == {"extra": [1, 2]}
    assert rows[0]["metadata"] is None


def test_stage_drops_are_counted_by_reason_and_kept_with_keep_removed(tmp_path: Path, monkeypatch) -> None:
    """The contract every stage follows: datatrove BaseFilter, dotted reason, removed/ via our writer."""
    from datatrove.pipeline.filters.base_filter import BaseFilter

    from corpus_kit.io.parquet_writer import ParquetShardWriter
    from corpus_kit.pipeline.runner import StepSpec
    from corpus_kit.stages import Stage, register_stage, registry

    class DropOddIds(BaseFilter):
        name = "drop odd ids"

        def filter(self, doc):
            return (False, "test.odd") if int(doc.id[1:]) % 2 else True

    class DropOdd(Stage):
        name = "drop_odd"
        reasons = ("test.odd",)

        def build(self, params, context):
            writer = ParquetShardWriter(context.removed_dir) if context.removed_dir else None
            return DropOddIds(exclusion_writer=writer)

    monkeypatch.setattr(registry, "_registered", {})  # registrations end with the test
    register_stage(DropOdd)
    write_jsonl(tmp_path / "in.jsonl", [record(i) for i in range(10)] + [{"id": "r99"}])
    out = tmp_path / "out"
    spec = RunSpec(
        pipeline_name="t",
        units=resolve_inputs([str(tmp_path / "in.jsonl")]),
        output=out,
        steps=[StepSpec("drop_odd")],
        keep_removed=True,
        workers=1,
    )
    result = run_pipeline(spec)
    manifest = load_manifest(out)
    assert manifest.counts.dropped == {"test.odd": 5}
    assert manifest.counts.output == 5 and manifest.counts.rejected == 1 and manifest.counts.input == 11
    assert manifest.counts.invariant_holds() and result.tally.invariant_holds()
    step = {s.name: s for s in manifest.pipeline.steps}["drop_odd"]
    assert (step.input, step.output, step.dropped) == (10, 5, {"test.odd": 5})
    removed = pq.read_table(out / "removed").to_pylist()
    assert sorted(row["id"] for row in removed) == ["r1", "r3", "r5", "r7", "r9"]
    assert all(json.loads(row["metadata"])["filter_reason"] == "test.odd" for row in removed)
    assert [item.path for item in manifest.restricted] == ["rejects/", "removed/", "ledger/"]
    assert manifest.restricted[1].records == 5


def test_a_large_file_cut_into_parts_gives_the_same_dataset(tmp_path: Path) -> None:
    """Parts of one JSONL file run as separate tasks; rows, order, rejects and sources are unchanged."""
    rng = random.Random(7)
    rows = [
        record(i, text=" ".join(f"w{rng.randint(0, 9999)}" for _ in range(rng.randint(8, 80))))
        for i in range(300)
    ]
    rows += [record(i, prefix="copy", text=rows[i * 7]["text"]) for i in range(40)]  # duplicates, spread
    path = write_jsonl(tmp_path / "in.jsonl", rows)
    with path.open("ab") as handle:
        handle.write(b"{not json\n" + json.dumps({"text": "no id here"}).encode() + b"\n")

    def run(out: Path, min_part_bytes: int) -> tuple[Manifest, list[dict], str]:
        spec = RunSpec(
            pipeline_name="t",
            units=resolve_inputs([str(path)]),
            output=out,
            steps=[StepSpec("dedup", {"mode": "both"})],
            workers=2,
            min_part_bytes=min_part_bytes,
        )
        run_pipeline(spec)
        rejects = "".join(p.read_text() for p in sorted((out / "rejects").glob("*.jsonl")))
        return load_manifest(out), pq.read_table(out / "data").to_pylist(), rejects

    whole, whole_rows, whole_rejects = run(tmp_path / "whole", 1 << 30)
    parted, parted_rows, parted_rejects = run(tmp_path / "parts", 2000)
    assert len(whole.files) == 1 and len(parted.files) >= 10  # one task per part
    assert parted_rows == whole_rows and parted_rejects == whole_rejects and "no id here" in str(whole_rows)
    assert parted.sources == whole.sources and whole.sources[0].sha256 == sha256_file(path)
    assert parted.counts == whole.counts and parted.counts.rejected == 1
    assert parted.counts.dropped == {"dedup.exact": 40}


def test_a_changed_input_does_not_resume(tmp_path: Path) -> None:
    """Tasks completed before an input file changed are not kept: the run starts afresh."""
    from corpus_kit.pipeline.runner import _resumable, _run_fingerprint

    path = write_jsonl(tmp_path / "in.jsonl", [record(0)])

    def spec() -> RunSpec:
        return RunSpec(pipeline_name="t", units=resolve_inputs([str(path)]), output=tmp_path / "out")

    work = tmp_path / "work"
    work.mkdir()
    (work / "run.json").write_bytes(json.dumps(_run_fingerprint(spec())).encode())
    assert _resumable(work, _run_fingerprint(spec()))
    path.write_text(path.read_text() + json.dumps(record(1)) + "\n")
    assert not _resumable(work, _run_fingerprint(spec()))


def test_stages_pull_their_input_in_runs_bounded_by_text_and_media_bytes() -> None:
    from datatrove.data import Document, Media, MediaType

    from corpus_kit.pipeline.runner import RUN_CHARACTERS, RUN_DOCUMENTS, _runs_of

    pulled: list[int] = []

    def source(documents: list[Document]):
        for number, document in enumerate(documents):
            pulled.append(number)
            yield document

    small = [Document(text="短文本", id=f"s{i}") for i in range(RUN_DOCUMENTS * 2 + 5)]
    out = _runs_of(source(small))
    assert next(out).id == "s0" and len(pulled) == RUN_DOCUMENTS  # a run of documents pulled ahead
    assert [document.id for document in out] == [document.id for document in small[1:]]  # order kept
    picture = b"\x89PNG" + bytes(RUN_CHARACTERS // 3)
    pictures = [
        Document(
            text="", id=f"p{i}", media=[Media(id=f"m{i}", type=MediaType.IMAGE, url="", media_bytes=picture)]
        )
        for i in range(50)
    ]
    pulled.clear()
    out = _runs_of(source(pictures))
    next(out)
    assert len(pulled) == 3  # media bytes count: a run stops at about RUN_CHARACTERS held
