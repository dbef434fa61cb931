"""Readers: every format, every malformed-input path, media bytes intact."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document

from corpus_kit.errors import UsageError
from corpus_kit.io.inputs import resolve_inputs, split_into_parts
from corpus_kit.io.readers import MixedReader, ReadOptions, TaskFolders
from corpus_kit.io.readers.webdataset import is_unsafe_member_name, split_key
from corpus_kit.io.rejects import REJECT_REASONS, Reject
from tests.conftest import BAD_JSONL_LINES, make_jpeg_like, make_png, make_wav, record, write_jsonl, write_tar


def read_all(path: Path, tmp_path: Path, **options) -> tuple[list[Document], list[Reject]]:
    units = resolve_inputs([str(path)], options.pop("forced_format", None))
    reader = MixedReader(
        units, ReadOptions(**options), TaskFolders(str(tmp_path / "rj"), str(tmp_path / "src"))
    )
    docs, rejects = [], []
    for unit in units:
        for item in reader.read_unit(unit):
            (rejects if isinstance(item, Reject) else docs).append(item)
    return docs, rejects


# --- input resolution ---------------------------------------------------------------------------
def test_resolve_inputs_formats_folders_and_globs(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    write_jsonl(tmp_path / "a.jsonl", [record(1)])
    write_jsonl(tmp_path / "sub" / "b.jsonl.gz", [record(2)], "gz")
    write_jsonl(tmp_path / "sub" / "c.jsonl.zst", [record(3)], "zst")
    (tmp_path / "notes.md").write_text("not an input")
    (tmp_path / ".hidden.jsonl").write_text("{}")
    units = resolve_inputs([str(tmp_path)])
    assert [Path(u.path).name for u in units] == ["a.jsonl", "b.jsonl.gz", "c.jsonl.zst"]
    assert {u.format for u in units} == {"jsonl"}
    globbed = resolve_inputs([str(tmp_path / "**" / "*.jsonl*")])
    assert len(globbed) == 3
    # naming the same file twice reads it once
    assert len(resolve_inputs([str(tmp_path / "a.jsonl"), str(tmp_path / "a.jsonl")])) == 1


def test_resolve_inputs_errors_name_the_path_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="input not found"):
        resolve_inputs([str(tmp_path / "missing.jsonl")])
    odd = tmp_path / "data.txt"
    odd.write_text('{"text": "x"}\n')
    with pytest.raises(UsageError, match="--format"):
        resolve_inputs([str(odd)])
    assert resolve_inputs([str(odd)], "jsonl")[0].format == "jsonl"
    with pytest.raises(UsageError, match="matches no file"):
        resolve_inputs([str(tmp_path / "*.parquet")])


# --- JSONL --------------------------------------------------------------------------------------
@pytest.mark.parametrize("compress", [None, "gz", "zst"])
def test_jsonl_plain_and_compressed(tmp_path: Path, compress: str | None) -> None:
    suffix = {None: ".jsonl", "gz": ".jsonl.gz", "zst": ".jsonl.zst"}[compress]
    path = write_jsonl(tmp_path / f"in{suffix}", [record(i) for i in range(50)], compress)
    docs, rejects = read_all(path, tmp_path)
    assert not rejects
    assert [d.id for d in docs] == [f"r{i}" for i in range(50)]
    assert docs[7].text.startswith("记录 7")
    assert docs[0].metadata["license"] == "CC-BY-4.0"
    assert docs[0].metadata["source_line"] == 1


def test_jsonl_field_mapping_default_ids_and_metadata(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"doc": {"body": "nested text"}, "uid": 7, "lang_hint": "en"},
            {"doc": {"body": "no id here"}, "metadata": '{"license": "MIT"}'},
        ],
    )
    docs, rejects = read_all(path, tmp_path, text_field="doc.body", id_field="uid")
    assert not rejects
    assert docs[0].text == "nested text" and docs[0].id == "7"
    assert docs[0].metadata["lang_hint"] == "en"
    assert docs[1].id.endswith("in.jsonl:2")  # stable id from source file + line
    assert docs[1].metadata["license"] == "MIT"  # JSON-string metadata is decoded


def test_jsonl_every_kind_of_bad_line_is_rejected_with_its_reason(tmp_path: Path) -> None:
    good = [json.dumps(record(i)).encode() for i in range(6)]
    lines = [b"\xef\xbb\xbf" + good[0], good[1]]
    extras = good[2:] + [b""] * (len(BAD_JSONL_LINES) - len(good[2:]))
    for (_, bad), extra in zip(BAD_JSONL_LINES, extras, strict=True):
        lines.append(bad)
        if extra:
            lines.append(extra)
    lines.insert(3, b"   ")  # a blank line is not a record
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    docs, rejects = read_all(path, tmp_path)
    assert sorted(d.id for d in docs) == [f"r{i}" for i in range(6)]
    assert [r.reason for r in rejects] == [reason for reason, _ in BAD_JSONL_LINES]
    for reject in rejects:
        assert reject.reason in REJECT_REASONS
        assert reject.line is not None and reject.raw
        entry = json.loads(reject.to_json("mixed.jsonl"))
        assert entry["source"] == "mixed.jsonl" and entry["line"] == reject.line


def test_jsonl_parts_read_exactly_the_whole_file(tmp_path: Path) -> None:
    """Cut into line-aligned parts, a file gives the same records, ids, line numbers and rejects."""
    rng = random.Random(3)
    lines = []
    for index in range(400):
        if index % 37 == 5:
            lines.append(BAD_JSONL_LINES[index % len(BAD_JSONL_LINES)][1])
        elif index % 53 == 7:
            lines.append(b"")  # blank: not a record
        else:
            lines.append(json.dumps({"text": "x" * rng.randint(0, 300), "n": index}).encode())
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines))  # BOM; no newline at the end
    whole = resolve_inputs([str(path)])
    parts = split_into_parts(whole, target=16, min_part_bytes=1000)
    assert len(parts) >= 10 and all(part.is_part for part in parts)
    data = path.read_bytes()
    assert [p.start for p in parts[1:]] == [p.end for p in parts[:-1]] and parts[-1].end == len(data)
    for part in parts:
        assert part.start == 0 or data[part.start - 1 : part.start] == b"\n"
        assert part.first_line == data[: part.start].count(b"\n")

    def read(units):
        reader = MixedReader(units, ReadOptions(), TaskFolders(str(tmp_path / "rj"), str(tmp_path / "src")))
        items = [item for unit in units for item in reader.read_unit(unit)]
        return [
            (d.id, d.text, d.metadata["source_line"]) if isinstance(d, Document) else (d.reason, d.line)
            for d in items
        ]

    assert read(parts) == read(whole)
    gz = write_jsonl(tmp_path / "z.jsonl.gz", [record(i) for i in range(500)], "gz")
    assert split_into_parts(resolve_inputs([str(gz)]), min_part_bytes=100) == resolve_inputs([str(gz)])
    many = resolve_inputs([str(path)]) * 16
    assert split_into_parts(many, min_part_bytes=1000) == many  # enough units already


def test_jsonl_oversized_line_is_rejected_and_reading_goes_on(tmp_path: Path) -> None:
    big = {"id": "big", "text": "x" * 50_000}
    path = write_jsonl(tmp_path / "in.jsonl.gz", [record(1), big, record(2)], "gz")
    docs, rejects = read_all(path, tmp_path, max_record_bytes=10_000)
    assert [d.id for d in docs] == ["r1", "r2"]
    assert [r.reason for r in rejects] == ["record.too_large"] and rejects[0].line == 2
    assert len(rejects[0].to_json("x")) < 4096  # only a head of the record is kept


def test_jsonl_decompression_bomb_is_bounded(tmp_path: Path) -> None:
    # 64 MiB of one line compresses to ~64 KiB; the reader must never hold it whole
    path = tmp_path / "bomb.jsonl.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b'{"text": "')
        chunk = b"a" * (1 << 20)
        for _ in range(64):
            handle.write(chunk)
        handle.write(b'"}\n' + json.dumps(record(1)).encode() + b"\n")
    assert path.stat().st_size < 1_000_000
    docs, rejects = read_all(path, tmp_path, max_record_bytes=1 << 20)
    # expansion stops one cap past the cap (issue 21 item 5): the rest of the file is not read
    assert [r.reason for r in rejects] == ["record.too_large", "input.unreadable"]
    assert docs == []


def test_jsonl_truncated_gzip_keeps_what_was_read(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "in.jsonl.gz", [record(i) for i in range(2000)], "gz")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    docs, rejects = read_all(path, tmp_path)
    assert 0 < len(docs) < 2000
    assert rejects[-1].reason == "input.unreadable"


def test_jsonl_media_paths_are_loaded_inside_the_input_folder_only(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    png = make_png()
    (tmp_path / "img" / "a.png").write_bytes(png)
    (tmp_path / "secret.txt").write_text("outside")
    path = write_jsonl(
        tmp_path / "x.jsonl",
        [
            {"id": "ok", "text": "", "media": [{"type": "image", "path": "img/a.png"}]},
            {"id": "up", "text": "t", "media": [{"type": "image", "path": "../etc/passwd"}]},
            {"id": "abs", "text": "t", "media": [{"type": "image", "path": "/etc/passwd"}]},
            {"id": "gone", "text": "t", "media": [{"type": "image", "path": "img/none.png"}]},
            {"id": "url", "text": "remote", "media": [{"type": "image", "url": "https://example.org/a.png"}]},
        ],
    )
    docs, rejects = read_all(path, tmp_path)
    assert [d.id for d in docs] == ["ok", "url"]
    assert docs[0].text == "" and docs[0].media[0].media_bytes == png  # image-only record kept
    assert docs[1].media[0].media_bytes is None and docs[1].media[0].url.startswith("https://")
    assert [r.reason for r in rejects] == ["media.unsafe_path", "media.unsafe_path", "media.missing"]


# --- Parquet ------------------------------------------------------------------------------------
def test_parquet_unreadable_row_group_costs_only_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    table = pa.table({"id": [f"p{i}" for i in range(300)], "text": [f"row {i} " * 20 for i in range(300)]})
    pq.write_table(table, path, row_group_size=100, compression="zstd")
    meta = pq.ParquetFile(path).metadata
    column = meta.row_group(1).column(1)
    start = column.data_page_offset
    data = bytearray(path.read_bytes())
    data[start + 20 : start + 400] = b"\xff" * 380
    path.write_bytes(bytes(data))
    docs, rejects = read_all(path, tmp_path)
    assert [r.reason for r in rejects] == ["parquet.unreadable_row_group"]
    assert rejects[0].records == 100 and rejects[0].row == 100
    assert len(docs) == 200 and docs[0].id == "p0" and docs[-1].id == "p299"


def test_parquet_unreadable_file_is_one_reject(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet at all")
    docs, rejects = read_all(path, tmp_path)
    assert not docs and [r.reason for r in rejects] == ["parquet.unreadable_file"]


def test_parquet_reads_hf_image_columns_as_media(tmp_path: Path) -> None:
    png = make_png(seed=3)
    struct_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    table = pa.table(
        {
            "caption": ["a", None],
            "image": pa.array(
                [{"bytes": png, "path": "a.png"}, {"bytes": png, "path": "b.png"}], struct_type
            ),
        }
    )
    pq.write_table(table, tmp_path / "img.parquet")
    docs, rejects = read_all(tmp_path / "img.parquet", tmp_path, text_field="caption")
    assert not rejects
    assert [d.text for d in docs] == ["a", ""]  # the caption-less image survives
    assert all(d.media[0].media_bytes == png and d.media[0].metadata["mime"] == "image/png" for d in docs)


# --- WebDataset ---------------------------------------------------------------------------------
def test_split_key_and_unsafe_names() -> None:
    assert split_key("shard/0001.seg.JPG") == ("shard/0001", "seg.jpg")
    assert split_key("0002") == ("0002", "")
    for name in ("/etc/passwd", "../up.txt", "a/../../b.txt", "C:/x.txt", "..\\win.txt"):
        assert is_unsafe_member_name(name)
    assert not is_unsafe_member_name("ok/sample..txt")


def test_webdataset_groups_members_and_keeps_media_bytes(tmp_path: Path) -> None:
    jpg, png, wav = make_jpeg_like(), make_png(), make_wav()
    members = [
        ("s1.jpg", jpg),
        ("s1.txt", "图片说明 caption".encode()),
        ("s2.png", png),
        ("s2.json", json.dumps({"text": "from json", "license": "CC0-1.0", "id": "custom-2"}).encode()),
        ("s3.wav", wav),
        ("s3.txt", b"transcript"),
        ("s3.cls", b"7"),
        ("s4.jpg", jpg),  # image only
        ("s5.wav", wav),  # audio only
    ]
    path = write_tar(tmp_path / "shard.tar", members)
    docs, rejects = read_all(path, tmp_path)
    assert not rejects
    by_id = {d.id: d for d in docs}
    assert list(by_id) == ["s1", "custom-2", "s3", "s4", "s5"]
    assert by_id["s1"].text == "图片说明 caption"
    assert by_id["custom-2"].metadata["license"] == "CC0-1.0"
    assert by_id["s3"].metadata["cls"] == "7"
    assert by_id["s4"].text == "" and by_id["s5"].text == ""
    expected = {name: hashlib.sha256(data).hexdigest() for name, data in members}
    for doc in docs:
        for media in doc.media:
            assert hashlib.sha256(media.media_bytes).hexdigest() == expected[media.url]
    assert by_id["s3"].media[0].metadata["mime"] == "audio/wav"


def test_webdataset_refuses_unsafe_and_special_members(tmp_path: Path) -> None:
    members = [
        ("ok.txt", b"fine"),
        ("../escape.txt", b"x"),
        ("/abs.txt", b"y"),
        ("bad.json", b"{not json"),
        ("big.txt", b"z" * 5000),
    ]
    path = write_tar(tmp_path / "evil.tar", members, symlinks=[("link.txt", "/etc/passwd")])
    docs, rejects = read_all(path, tmp_path, max_record_bytes=4096)
    assert [d.id for d in docs] == ["ok"]
    assert sorted(r.reason for r in rejects) == [
        "record.too_large",
        "tar.invalid_member",
        "tar.not_regular_file",
        "tar.unsafe_path",
        "tar.unsafe_path",
    ]


def test_webdataset_truncated_archive(tmp_path: Path) -> None:
    path = write_tar(tmp_path / "t.tar", [(f"s{i}.txt", b"x" * 3000) for i in range(10)])
    path.write_bytes(path.read_bytes()[:20000])
    docs, rejects = read_all(path, tmp_path)
    assert 0 < len(docs) < 10
    assert rejects and rejects[-1].reason == "input.unreadable"


# --- save_to_disk folders ----------------------------------------------------------------------
def test_hf_disk_dataset_and_dataset_dict(tmp_path: Path) -> None:
    import datasets

    png = make_png(seed=9)
    features = datasets.Features({"text": datasets.Value("string"), "image": datasets.Image()})
    # built from Arrow, as datasets stores it: reading must not need Pillow (nothing is decoded)
    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    table = pa.table(
        {"text": ["one", None], "image": pa.array([None, {"bytes": png, "path": None}], type=image_type)}
    )
    ds = datasets.Dataset(table, info=datasets.DatasetInfo(features=features))
    ds.save_to_disk(str(tmp_path / "single"))
    datasets.DatasetDict({"train": ds, "test": ds.select([0])}).save_to_disk(str(tmp_path / "dict"))

    docs, rejects = read_all(tmp_path / "single", tmp_path)
    assert not rejects
    assert [d.text for d in docs] == ["one", ""]
    assert docs[1].media[0].media_bytes == png and docs[1].media[0].metadata["mime"] == "image/png"

    docs, _ = read_all(tmp_path / "dict", tmp_path)
    assert [d.metadata["source_split"] for d in docs] == ["test", "train", "train"]
