"""Fixtures that make every kind of input the tests need (nothing is downloaded)."""

from __future__ import annotations

import gzip
import io
import json
import os
import struct
import tarfile
import wave
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpus_kit.cli import app


def make_png(width: int = 4, height: int = 4, seed: int = 0) -> bytes:
    """A valid RGB PNG built with zlib only."""
    rows = b"".join(
        b"\x00"
        + b"".join(
            bytes([(x * 50 + y * 20 + seed) % 256, (x * 10 + seed) % 256, (y * 70) % 256])
            for x in range(width)
        )
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def make_jpeg_like(seed: int = 0) -> bytes:
    """JPEG markers around arbitrary bytes: enough for MIME sniffing and byte round trips."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes((seed + i) % 256 for i in range(200)) + b"\xff\xd9"


def make_wav(frames: int = 800, tone: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(bytes((i * tone) % 256 for i in range(frames * 2)))
    return buffer.getvalue()


def write_tar(path: Path, members: list[tuple[str, bytes]], symlinks: list[tuple[str, str]] = ()) -> Path:
    with tarfile.open(path, "w") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            archive.addfile(info, io.BytesIO(data))
        for name, target in symlinks:
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return path


def rewrite_manifest(path: Path, manifest: dict) -> None:
    """Write an edited manifest sealed again, as a test that checks another rule needs it."""
    from corpus_kit.governance.manifest import SEAL_FIELD, manifest_seal

    manifest[SEAL_FIELD] = manifest_seal(manifest)
    path.write_text(json.dumps(manifest))


def record(index: int, prefix: str = "r", **extra: object) -> dict:
    return {
        "id": f"{prefix}{index}",
        "text": f"记录 {index}: city open data record number {index}.",
        "metadata": {"source": "test-source", "license": "CC-BY-4.0"},
        **extra,
    }


def write_jsonl(path: Path, records: list[dict], compress: str | None = None) -> Path:
    data = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in records).encode()
    if compress == "gz":
        data = gzip.compress(data)
    elif compress == "zst":
        import zstandard

        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


#: One malformed line per reject reason of the JSONL reader (reason, raw line).
BAD_JSONL_LINES: list[tuple[str, bytes]] = [
    ("json.invalid", b'{"id": "bad-1", "text": "cut off'),
    ("json.not_object", b"[1, 2, 3]"),
    ("text.missing", b'{"id": "bad-3", "metadata": {"source": "x"}}'),
    ("text.not_string", b'{"id": "bad-4", "text": 42}'),
    ("encoding.invalid_utf8", b'{"id": "bad-5", "text": "caf\xe9 \xff"}'),
    ("text.empty", b'{"id": "bad-6", "text": ""}'),
    ("id.invalid", b'{"id": {"nested": 1}, "text": "has a bad id"}'),
]


@pytest.fixture
def cli() -> Callable[..., object]:
    """Run the CLI in-process: ``cli("convert", "in", "-o", "out")`` -> click Result."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [str(arg) for arg in args], catch_exceptions=False)

    return invoke


def skip_unless_required(reason: str) -> None:
    """Skip a test whose tool is missing here; CI (``CORPUS_KIT_REQUIRE_ALL=1``) fails instead,
    so that a missing tool cannot pass unnoticed."""
    if os.environ.get("CORPUS_KIT_REQUIRE_ALL") == "1":
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)
