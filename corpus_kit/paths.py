"""Names and relative paths that come from untrusted places (manifests, ``--name``, catalogs).

A dataset name becomes a folder in a catalog and a manifest's ``files[].path`` is opened by
``verify`` and copied by ``publish``: both are checked here, at every boundary, so that no name
or path can reach outside the folder it belongs to (``..``, separators, absolute paths) or forge
lines in a card, a log or an index (control characters, line and paragraph separators).
"""

from __future__ import annotations

import unicodedata

#: A run's work folder inside its output folder (state, logs, staging) until the dataset is complete.
WORK_DIR_NAME = ".corpus-kit"
MAX_NAME_BYTES = 255  # the usual file-name limit (ext4, xfs, APFS, NTFS in UTF-16 units)
# Cc control, Cf format (bidi overrides, zero-width), Zl/Zp line and paragraph separators,
# Cs/Co/Cn surrogates, private use and unassigned: none belongs in a name a person reads
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# separators of some system, and slashes that look like one when a name is shown
_REFUSED_CHARACTERS = frozenset("/\\\u2044\u2215\u29f8\uff0f\uff3c")


def name_problem(value: str) -> str | None:
    """Why ``value`` is not a safe single path component, or ``None`` when it is."""
    if not value:
        return "is empty"
    if value in {".", ".."}:
        return f"is {value!r}, which names a folder rather than a dataset"
    if value != value.strip():
        return "starts or ends with white space"
    if len(value.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"is longer than {MAX_NAME_BYTES} bytes"
    for character in value:
        if character in _REFUSED_CHARACTERS:
            return f"holds a path separator ({character!r}); a name is one path component"
        if unicodedata.category(character) in _REFUSED_CATEGORIES:
            return f"holds a control or separator character (U+{ord(character):04X})"
    return None


def check_name(value: str, what: str) -> str:
    """``value`` when it is a safe single path component, else ``ValueError`` saying why."""
    problem = name_problem(value)
    if problem:
        raise ValueError(f"{what} {problem}")
    return value


def relative_path_problem(value: str, roots: tuple[str, ...]) -> str | None:
    """Why ``value`` is not a relative POSIX path under one of ``roots``, or ``None`` when it is."""
    if value.startswith("/") or (len(value) > 1 and value[1] == ":"):
        return "is absolute; paths in a manifest are relative to the dataset folder"
    parts = value.rstrip("/").split("/") if value else []
    if not parts:
        return "is empty"
    for part in parts:
        problem = name_problem(part)
        if problem:
            return f"has a part that {problem}"
    if parts[0] not in roots:
        return f"is not under {' or '.join(root + '/' for root in roots)}"
    return None


def check_relative_path(value: str, roots: tuple[str, ...], what: str) -> str:
    """``value`` when it is a safe relative path under one of ``roots``, else ``ValueError``."""
    problem = relative_path_problem(value, roots)
    if problem:
        raise ValueError(f"{what} {problem}")
    return value
