"""Small helpers shared by the CLI, readers and writers."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import IO, Any

import yaml

# libyaml's safe loader when PyYAML was built with it: the same SafeConstructor (plain data only,
# no Python objects), ~10x faster than the pure-Python parser on the rule files (~0.1 s per run)
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "kib": 1024, "ki": 1024,
    "m": 1000**2, "mb": 1000**2, "mib": 1024**2, "mi": 1024**2,
    "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "gi": 1024**3,
    "t": 1000**4, "tb": 1000**4, "tib": 1024**4, "ti": 1024**4,
}  # fmt: skip


def load_yaml(stream: str | bytes | IO[str]) -> Any:
    """``yaml.safe_load``, with libyaml's C implementation of the safe loader when it is available."""
    return yaml.load(stream, Loader=_SAFE_LOADER)


def split_list(values: str | None) -> list[str] | None:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; ``None`` or empty -> ``None``."""
    return [item.strip() for item in values.split(",") if item.strip()] if values else None


def parse_size(text: str | int) -> int:
    """Parse ``"512MiB"``, ``"2GB"``, ``"1048576"`` into bytes."""
    if isinstance(text, int):
        return text
    match = _SIZE_RE.match(str(text))
    if not match or (match.group(2) or "").lower() not in _SIZE_UNITS:
        raise ValueError(f"not a size: {text!r} (use e.g. 512MiB, 2GB or a number of bytes)")
    return int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "").lower()])


def format_size(num_bytes: float) -> str:
    """Human-readable bytes, e.g. ``12.3 MB``."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(num_bytes) < 1000 or unit == "TB":
            return f"{num_bytes:.0f} {unit}" if unit == "B" else f"{num_bytes:.1f} {unit}"
        num_bytes /= 1000
    raise AssertionError("unreachable")


def sha256_file(path: str | Path, chunk_size: int = 4 * 1024 * 1024) -> str:
    """Hex sha256 of a file, read in chunks (bounded memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def truncate_excerpt(raw: bytes | str, limit: int = 512) -> str:
    """A short printable excerpt of raw input for rejects files (never for logs)."""
    if isinstance(raw, bytes):
        total = len(raw)
        text = raw[:limit].decode("utf-8", errors="backslashreplace")
    else:
        total = len(raw)
        text = raw[:limit]
    if total > limit:
        text += f"…[truncated, {total} {'bytes' if isinstance(raw, bytes) else 'chars'} in all]"
    return text


def first_validation_error(error: Any, prefix: tuple[Any, ...] = ()) -> tuple[tuple[Any, ...], str, str]:
    """The first problem of a pydantic ``ValidationError``: its location (after ``prefix``), that
    location as ``a.b.0``, and the message without pydantic's "Value error, " prefix."""
    first = error.errors()[0]
    location = (*prefix, *first["loc"])
    return location, ".".join(str(part) for part in location), first["msg"].removeprefix("Value error, ")
