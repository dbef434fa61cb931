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


#: Every YAML corpus-kit reads (pipelines, rules, supply, sources, lexicons) is refused beyond
#: these: a file larger than MAX_YAML_BYTES, or a document whose aliases expand to more than
#: MAX_YAML_NODES nodes ("billion laughs": a few hundred bytes that a consumer walking the data,
#: pydantic or json, expands to gigabytes), or whose aliases refer to themselves.
MAX_YAML_BYTES = 64 * 1024 * 1024
MAX_YAML_NODES = 2_000_000


class YamlRefused(yaml.YAMLError):
    """A YAML document over the size or alias-expansion budget."""

    def __init__(self, problem: str, line: int | None = None):
        super().__init__(problem)
        self.problem = problem
        self.line = line


def load_yaml(stream: str | bytes | IO[str]) -> Any:
    """``yaml.safe_load`` (libyaml's C loader when available) within the size and alias budgets."""
    return load_yaml_document(stream)[0]


def load_yaml_document(stream: str | bytes | IO[str]) -> tuple[Any, yaml.Node | None]:
    """The data and the node tree (for line numbers) of one YAML document, within the budgets.

    The tree is composed first (aliases are shared nodes there, nothing is expanded) and its
    expanded size counted with one visit per distinct node; only then is it constructed.
    Raises ``yaml.YAMLError`` (``YamlRefused`` for a document over the budgets).
    """
    if not isinstance(stream, (str, bytes)):
        stream = stream.read(MAX_YAML_BYTES + 1)
    if len(stream) > MAX_YAML_BYTES:
        raise YamlRefused(
            f"larger than {MAX_YAML_BYTES // (1024 * 1024)} MiB; corpus-kit reads smaller YAML files"
        )
    _count_events(stream)
    loader = _SAFE_LOADER(stream)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_expansion(node)
        return loader.construct_document(node), node
    finally:
        loader.dispose()


def _count_events(stream: str | bytes) -> None:
    """Refuse a document with more values than the budget before its nodes are built: composing
    16 MiB of ``- a`` lines holds ~4 million nodes (1.7 GB) before the expansion could be counted.
    The parser's events that make a node (a scalar, the start of a list or mapping, an alias) are
    counted against the same budget as the nodes, and dropped as they come: a document within it
    composes to at most that many nodes (a 600,000-term lexicon passed a looser count, then took
    47 s and 1.6 GB to compose before being refused)."""
    node_events = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)
    parser = _SAFE_LOADER(stream)
    try:
        events = 0
        while parser.check_event():
            if isinstance(parser.get_event(), node_events):
                events += 1
            if events > MAX_YAML_NODES:
                raise YamlRefused(
                    f"it holds more than {MAX_YAML_NODES:,} values; corpus-kit reads smaller YAML files"
                )
    finally:
        parser.dispose()


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph whose tree expansion exceeds ``MAX_YAML_NODES`` or that has a cycle."""
    expanded: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        children = _children(node)
        if children_done:
            on_path.discard(key)
            size = 1 + sum(expanded[id(child)] for child in children)
            if size > MAX_YAML_NODES:
                raise YamlRefused(
                    f"its aliases expand to more than {MAX_YAML_NODES:,} values (an alias bomb?); "
                    "write the values out or use fewer aliases",
                    node.start_mark.line + 1,
                )
            expanded[key] = size
            continue
        if key in expanded:
            continue
        if key in on_path:
            raise YamlRefused("an alias refers to a value that contains it", node.start_mark.line + 1)
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in expanded)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def yaml_error_line(error: yaml.YAMLError) -> int | None:
    """The 1-based line a YAML error points at, when it points at one."""
    if isinstance(error, YamlRefused):
        return error.line
    mark = getattr(error, "problem_mark", None)
    return mark.line + 1 if mark is not None else None


def load_yaml_file(path: str | Path, what: str) -> Any:
    """A YAML file's data; a missing, unreadable, invalid or over-budget one is a ``UsageError``
    naming the file, the line when known, and ``what`` it should be."""
    from corpus_kit.errors import UsageError

    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            return load_yaml(handle)
    except FileNotFoundError:
        raise UsageError(f"{path}: {what} not found; check the path") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not UTF-8 text"
        raise UsageError(f"{path}: cannot read the {what} ({reason}); check the file") from None
    except yaml.YAMLError as error:
        line = yaml_error_line(error)
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise UsageError(f"{path}{f':{line}' if line else ''}: {problem}; fix the {what}") from None


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
