"""Hostile input for the readers: floods, bombs, pipes and broken names (issue 21, items 4-8).

Every input is made here, at test time. Each case runs ``corpus-kit`` in a child under an
address-space cap and checks time (generous budgets), peak RSS, exit code, rejects with reasons,
the accounting invariant and ``manifest verify``. Before the fix: a 64 MiB file of newlines took
about 185 s to convert and ``inspect`` never returned; a 30 KB Parquet file expanding to 1.2 GB
reached 3.7 GB RSS and died of MemoryError; a .jsonl.zst bomb was expanded to its end; a named
pipe blocked forever; invalid UTF-8 in Parquet and a tar member name that is not UTF-8 stopped the
run (UnicodeDecodeError, TypeError).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import record
from tests.hostile.bounded import ChildRun, run_bounded
from tests.hostile.helpers22 import counts, rejects, verified

MIB = 1 << 20
RSS_BUDGET_MB = 1000


def _convert(tmp_path: Path, source: Path, *options: str, timeout: float = 60) -> tuple[ChildRun, Path]:
    out = tmp_path / "out"
    run = run_bounded(["convert", source, "-o", out, "-q", *options], tmp_path, timeout, address_space_gb=4)
    assert run.peak_rss_mb < RSS_BUDGET_MB, run
    return run, out


def _line(item: dict[str, Any]) -> bytes:
    return json.dumps(item, ensure_ascii=False).encode() + b"\n"


# -- item 4: blank-line floods ---------------------------------------------------------------------


def test_a_flood_of_blank_lines_costs_what_reading_it_costs(cli: Callable[..., Any], tmp_path: Path) -> None:
    source = tmp_path / "flood.jsonl"
    with open(source, "wb") as handle:
        handle.write(_line(record(1)))
        block = b"\n" * MIB
        for _ in range(64):
            handle.write(block)
        handle.write(b" \r\n\t\n" * 50_000 + _line(record(2)))
    run, out = _convert(tmp_path, source)
    assert run.returncode == 0, run.stderr
    assert run.seconds < 30, run  # before: ~185 s
    assert counts(out) == {"input": 2, "output": 2, "rejected": 0, "dropped": {}}
    lines = pq.read_table(out / "data", columns=["metadata"]).column("metadata").to_pylist()
    assert sorted(json.loads(item)["source_line"] for item in lines) == [1, 1 + 64 * MIB + 100_000 + 1]
    verified(cli, out)

    shown = run_bounded(["inspect", source, "--json"], tmp_path, timeout=60, address_space_gb=4)
    assert shown.returncode == 0, shown.stderr
    assert shown.seconds < 30  # before: never returned
    assert json.loads(shown.stdout)["records_scanned"] == 2


# -- item 5: decompression bombs --------------------------------------------------------------------


def _zstd_rle_bomb(path: Path, gib: int) -> None:
    """A zstd frame of RLE blocks: 4 bytes per 128 KiB of 'a', so 16 GiB fit in 512 KiB."""
    head = b'{"id": "bomb", "text": "'
    tail = b'"}\n' + _line(record(1))
    block = 128 * 1024
    with open(path, "wb") as handle:
        # magic; descriptor 0 (no content size, no checksum); window 2**17 (exponent 7)
        handle.write(bytes.fromhex("28b52ffd") + b"\x00\x38")
        handle.write(((len(head) << 3) | 0).to_bytes(3, "little") + head)  # a raw block
        rle = ((block << 3) | (1 << 1)).to_bytes(3, "little") + b"a"
        handle.write(rle * (gib * 1024**3 // block))
        handle.write(((len(tail) << 3) | 1).to_bytes(3, "little") + tail)  # the last block, raw


def _gzip_bomb(path: Path, gib: int) -> None:
    """Gzip members of 64 MiB of 'a' each (~64 KB), repeated: 8 GiB in about 8 MB."""
    member = gzip.compress(b"a" * (64 * MIB), compresslevel=9)
    with open(path, "wb") as handle:
        handle.write(gzip.compress(b'{"id": "bomb", "text": "'))
        for _ in range(gib * 16):
            handle.write(member)
        handle.write(gzip.compress(b'"}\n' + _line(record(1))))


@pytest.mark.parametrize(
    ("name", "make", "gib"), [("bomb.jsonl.zst", _zstd_rle_bomb, 16), ("bomb.jsonl.gz", _gzip_bomb, 8)]
)
def test_a_compressed_bomb_stops_at_the_cap(
    cli: Callable[..., Any], tmp_path: Path, name: str, make: Callable[[Path, int], None], gib: int
) -> None:
    source = tmp_path / name
    make(source, gib)
    assert source.stat().st_size < 16 * MIB
    run, out = _convert(tmp_path, source, "--max-record-size", "1MiB")
    assert run.returncode == 0, run.stderr
    assert run.seconds < 30, run  # expanding the whole bomb: minutes
    assert counts(out) == {"input": 2, "output": 0, "rejected": 2, "dropped": {}}
    too_large, rest = rejects(out / "rejects")
    assert (too_large["reason"], too_large["line"]) == ("record.too_large", 1)
    assert "reading stopped" in too_large["detail"]
    assert (rest["reason"], rest["line"]) == ("input.unreadable", 2)
    verified(cli, out)


def _parquet_dictionary_bomb(path: Path, rows: int, value_bytes: int) -> None:
    """``rows`` rows sharing one dictionary value: a few KB on disk, ``rows * value_bytes`` read."""
    text = pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array(["b" * value_bytes]))
    ids = pa.array([f"d{i}" for i in range(rows)])
    # no Arrow schema stored: the column reads back as plain strings, every row a copy of the value
    pq.write_table(pa.table({"id": ids, "text": text}), path, compression="zstd", store_schema=False)


def test_a_parquet_dictionary_bomb_is_rejected_unread(cli: Callable[..., Any], tmp_path: Path) -> None:
    source = tmp_path / "bomb.parquet"
    _parquet_dictionary_bomb(source, 1024, 2 * MIB)  # 2 GiB once read
    assert source.stat().st_size < 64 * 1024
    run, out = _convert(tmp_path, source, "--max-record-size", "1MiB")
    assert run.returncode == 0, run.stderr  # before: MemoryError under the 4 GB cap
    assert run.seconds < 30, run
    assert counts(out) == {"input": 1024, "output": 0, "rejected": 1024, "dropped": {}}
    [entry] = rejects(out / "rejects")
    assert (entry["reason"], entry["row"], entry["records"]) == ("record.too_large", 0, 1024)
    assert "not decompressed" in entry["detail"]
    verified(cli, out)


def test_a_parquet_value_over_the_cap_costs_only_its_row_group(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    source = tmp_path / "mixed.parquet"
    schema = pa.schema([("id", pa.string()), ("text", pa.string())])
    with pq.ParquetWriter(source, schema, compression="zstd", use_dictionary=False) as writer:
        writer.write_table(pa.table({"id": ["a0", "a1"], "text": ["first", "second"]}, schema=schema))
        writer.write_table(pa.table({"id": ["huge"], "text": ["c" * (8 * MIB)]}, schema=schema))
        writer.write_table(pa.table({"id": ["z0"], "text": ["last"]}, schema=schema))
    run, out = _convert(tmp_path, source, "--max-record-size", "1MiB")
    assert run.returncode == 0, run.stderr
    assert counts(out) == {"input": 4, "output": 3, "rejected": 1, "dropped": {}}
    [entry] = rejects(out / "rejects")
    assert (entry["reason"], entry["row"]) == ("record.too_large", 2)
    verified(cli, out)


def test_a_parquet_page_over_the_cap_of_values_under_it_is_read(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    # pyarrow writes up to 1024 values per page whatever their size (100 images of 1 MiB: one
    # 100 MiB page); such a page is read, only a page that must hold a value over the cap is not
    source = tmp_path / "wide.parquet"
    texts = [f"{i:04d}" + "w" * (256 * 1024) for i in range(20)]
    pq.write_table(
        pa.table({"id": [f"w{i}" for i in range(20)], "text": texts}), source, use_dictionary=False
    )
    run, out = _convert(tmp_path, source, "--max-record-size", "1MiB")
    assert run.returncode == 0, run.stderr
    assert counts(out) == {"input": 20, "output": 20, "rejected": 0, "dropped": {}}
    verified(cli, out)


# -- item 6: named pipes ---------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
@pytest.mark.parametrize("in_folder", [False, True])
def test_a_named_pipe_is_refused(tmp_path: Path, in_folder: bool) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.jsonl").write_bytes(_line(record(1)))
    pipe = folder / "pipe.jsonl"
    os.mkfifo(pipe)
    run = run_bounded(["convert", folder if in_folder else pipe, "-o", tmp_path / "out", "-q"], tmp_path, 30)
    assert run.returncode == 2, run
    assert run.seconds < 30  # before: blocked forever
    assert "Traceback" not in run.stderr
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("error: ") and "pipe.jsonl" in line and "named pipe" in line
    assert not (tmp_path / "out" / "manifest.json").exists()


# -- item 7: invalid UTF-8 in Parquet ---------------------------------------------------------------


def test_invalid_utf8_in_a_parquet_string_column_is_rejected_by_row(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    source = tmp_path / "utf8.parquet"
    values = [b"good zero", b"bad \xff\xfe one", b"good two", b"\xc3", b"good four"]
    text = pa.array(values, pa.binary()).view(pa.string())  # Arrow does not check UTF-8 here
    pq.write_table(pa.table({"id": [f"u{i}" for i in range(5)], "text": text}), source)
    run, out = _convert(tmp_path, source)
    assert run.returncode == 0, run.stderr  # before: UnicodeDecodeError stopped the run
    assert counts(out) == {"input": 5, "output": 3, "rejected": 2, "dropped": {}}
    found = rejects(out / "rejects")
    assert [(entry["reason"], entry["row"]) for entry in found] == [
        ("encoding.invalid_utf8", 1),
        ("encoding.invalid_utf8", 3),
    ]
    verified(cli, out)


# -- item 8: WebDataset member names ----------------------------------------------------------------


def test_any_webdataset_member_name_is_read_or_rejected(cli: Callable[..., Any], tmp_path: Path) -> None:
    source = tmp_path / "odd.tar"
    names = {
        "good/0001.txt": True,
        "x/\udcff\udcfe.txt": False,  # bytes that are not UTF-8 in the key
        "ok/0003.\udcffjpg": False,  # ... in the extension only
        "a\\b\\c.txt": True,
        "名前/ファイル.txt": True,
        "sp ace/\t\u202e\n.txt": True,
        "dots.in.dir/k.txt": True,
        "good/0002.txt": True,
    }
    with tarfile.open(source, "w", format=tarfile.GNU_FORMAT) as archive:
        for index, name in enumerate(names):
            data = f"sample {index}".encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    run, out = _convert(tmp_path, source)
    assert run.returncode == 0, run.stderr  # before: TypeError stopped the run
    good = sum(names.values())
    assert counts(out) == {"input": len(names), "output": good, "rejected": len(names) - good, "dropped": {}}
    found = rejects(out / "rejects")
    assert {entry["reason"] for entry in found} == {"tar.invalid_member"}
    assert sorted(entry["member"] for entry in found) == ["ok/0003", "x/\\xff\\xfe"]
    verified(cli, out)


def test_a_forged_page_header_container_is_refused_at_once() -> None:
    """A map of booleans claiming 2**28 entries read no byte per entry: the reader spun for
    minutes (review of issue 21). Every container element takes a byte; a larger size is refused."""
    import time

    from corpus_kit.io.readers.parquet_pages import PageHeaderError, _parse_header

    started = time.perf_counter()
    with pytest.raises(PageHeaderError):
        _parse_header(bytes([0x15, 0, 0x15, 2, 0x15, 2, 0x1B, 0xFF, 0xFF, 0xFF, 0x7F, 0x11, 0]), 0)
    assert time.perf_counter() - started < 1.0


def test_a_parquet_value_over_the_cap_is_rejected_whatever_the_page_layout(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    """A 2 MiB value sharing a page with small ones passed --max-record-size 1MiB (only a page
    that must hold a value over the cap was checked); rows are now measured one by one."""
    texts = [f"row {i} " + "x" * 100 for i in range(10)]
    texts[3] = "big " + "y" * (2 * 1024 * 1024)
    folder = tmp_path / "in"
    folder.mkdir()
    pq.write_table(pa.table({"id": [f"r{i}" for i in range(10)], "text": texts}), folder / "a.parquet")
    out = tmp_path / "out"
    result = cli("convert", folder, "-o", out, "-q", "--max-record-size", "1MiB")
    assert result.exit_code == 0, result.output
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    assert (counts["input"], counts["output"], counts["rejected"]) == (10, 9, 1)
    assert cli("manifest", "verify", out).exit_code == 0
