"""A stream that ends without its end marker is a reject, never a silent loss (issue 22, item 5).

Before: a ``.jsonl.zst`` cut at a block boundary and a tar cut at a member boundary ended as if
the file were complete: half the records gone, 0 rejects, a clean manifest.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zstandard

from tests.hostile.helpers22 import counts, rejects, verified

LINES = [json.dumps({"id": f"r{i}", "text": f"record {i} " * 12}).encode() + b"\n" for i in range(400)]


def _zstd_cut_at_block(cut_line: int, inside_line: bool) -> tuple[bytes, int]:
    """A zstd frame whose blocks end after line ``cut_line`` (or inside the next line), cut there.

    Returns the bytes up to the cut and the number of complete lines they hold."""
    head = b"".join(LINES[:cut_line])
    if inside_line:
        head += LINES[cut_line][:20]
    buffer = io.BytesIO()
    writer = zstandard.ZstdCompressor().stream_writer(buffer, closefd=False)
    writer.write(head)
    writer.flush(zstandard.FLUSH_BLOCK)  # a block boundary: what a cut-off download often ends on
    cut = buffer.tell()
    writer.write(b"".join(LINES)[len(head) :])
    writer.flush(zstandard.FLUSH_FRAME)
    return buffer.getvalue()[:cut], cut_line


def _convert_one(cli: Callable[..., Any], tmp_path: Path, name: str, data: bytes) -> Path:
    """``convert`` a folder holding one file ``name``; the output folder (the run must succeed)."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / name).write_bytes(data)
    out = tmp_path / "out"
    result = cli("convert", folder, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    return out


def _check_cut(cli: Callable[..., Any], tmp_path: Path, name: str, data: bytes, good: int) -> None:
    out = _convert_one(cli, tmp_path, name, data)
    block = counts(out)
    assert block["output"] == good
    assert block["rejected"] == 1
    [entry] = rejects(out / "rejects")
    assert entry["reason"] == "input.unreadable"
    assert entry["line"] == good + 1
    assert f"line {good} is the last complete line" in entry["detail"]
    verified(cli, out)


def test_zstd_cut_at_a_block_boundary_between_lines(cli: Callable[..., Any], tmp_path: Path) -> None:
    data, good = _zstd_cut_at_block(200, inside_line=False)
    _check_cut(cli, tmp_path, "cut.jsonl.zst", data, good)


def test_zstd_cut_at_a_block_boundary_inside_a_line(cli: Callable[..., Any], tmp_path: Path) -> None:
    # before: the partial line became a json.invalid reject and the loss of the rest went unsaid
    data, good = _zstd_cut_at_block(150, inside_line=True)
    _check_cut(cli, tmp_path, "cut.jsonl.zst", data, good)


def test_gzip_cut_names_the_last_complete_line(cli: Callable[..., Any], tmp_path: Path) -> None:
    whole = gzip.compress(b"".join(LINES))
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    out = tmp_path / "out"
    assert cli("convert", folder, "-o", out, "-q").exit_code == 0
    block = counts(out)
    [entry] = rejects(out / "rejects")
    assert entry["reason"] == "input.unreadable"
    assert entry["line"] == block["output"] + 1
    assert f"line {block['output']} is the last complete line" in entry["detail"]
    verified(cli, out)


def _tar(samples: int) -> tuple[bytes, list[int]]:
    """An uncompressed WebDataset tar and the offset where each sample's header starts."""
    buffer = io.BytesIO()
    starts = []
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for index in range(samples):
            starts.append(buffer.tell())
            for extension, data in (("txt", f"sample {index} text ".encode() * 8), ("json", b'{"a": 1}')):
                info = tarfile.TarInfo(f"s{index:04d}.{extension}")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue(), starts


def test_tar_cut_at_a_member_boundary(cli: Callable[..., Any], tmp_path: Path) -> None:
    data, starts = _tar(60)
    _check_tar(cli, tmp_path, "cut.tar", data[: starts[30]])


def test_tar_gz_of_a_cut_tar(cli: Callable[..., Any], tmp_path: Path) -> None:
    # the gzip stream is whole; the tar inside it lacks its end-of-archive marker
    data, starts = _tar(60)
    _check_tar(cli, tmp_path, "cut.tar.gz", gzip.compress(data[: starts[30]]))


def _check_tar(cli: Callable[..., Any], tmp_path: Path, name: str, data: bytes) -> None:
    out = _convert_one(cli, tmp_path, name, data)
    block = counts(out)
    # the last sample read may miss members: it is rejected with the rest of the archive
    assert block["output"] == 29
    assert block["rejected"] == 1
    [entry] = rejects(out / "rejects")
    assert entry["reason"] == "input.unreadable"
    assert entry["member"] == "s0029"
    assert (
        "end-of-archive marker" in entry["detail"] and "'s0028' is the last complete one" in entry["detail"]
    )
    verified(cli, out)


def test_whole_files_have_no_unreadable_reject(cli: Callable[..., Any], tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    compressor = zstandard.ZstdCompressor(write_checksum=True)
    (folder / "a.jsonl.zst").write_bytes(compressor.compress(b"".join(LINES[:100])))
    # two frames and a skippable frame: still whole
    skippable = (0x184D2A50).to_bytes(4, "little") + (3).to_bytes(4, "little") + b"abc"
    two = (
        compressor.compress(b"".join(LINES[100:150]))
        + skippable
        + compressor.compress(b"".join(LINES[150:200]))
    )
    (folder / "b.jsonl.zst").write_bytes(two)
    data, _ = _tar(10)
    (folder / "c.tar").write_bytes(data)
    out = tmp_path / "out"
    assert cli("convert", folder, "-o", out, "-q").exit_code == 0
    assert counts(out) == {"input": 210, "output": 210, "rejected": 0, "dropped": {}}
