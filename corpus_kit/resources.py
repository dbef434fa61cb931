"""Locate the folders that ship with corpus-kit (pipelines/, rules/, samples/, manifests/).

In a source checkout (or an editable install) they are the top-level folders of the repository;
in an installed wheel they are bundled under ``corpus_kit/_bundled/`` (see pyproject.toml).
Both layouts keep the same relative structure, so ``pipelines/demo.yaml`` can name its sample as
``../samples/demo`` in either.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_CANDIDATE_ROOTS = (_PACKAGE_DIR / "_bundled", _PACKAGE_DIR.parent)


def resource_root() -> Path:
    """The folder holding ``pipelines/``, ``rules/``, ``samples/`` and ``manifests/``."""
    for root in _CANDIDATE_ROOTS:
        if (root / "pipelines").is_dir():
            return root
    raise FileNotFoundError(
        "corpus-kit's bundled pipelines/ folder is missing; reinstall corpus-kit (pip install corpus-kit)"
    )


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource, e.g. ``resource_path("pipelines", "demo.yaml")``."""
    return resource_root().joinpath(*parts)


def display_uri(path: str | Path) -> str:
    """A portable name for a local path, for manifests and rejects.

    Paths under the working directory are written relative to it, bundled resources as
    ``corpus-kit:<relative path>``; anything else keeps its absolute POSIX form.
    """
    resolved = Path(path).resolve()
    try:
        return "corpus-kit:" + resolved.relative_to(resource_root()).as_posix()
    except (ValueError, FileNotFoundError):
        pass
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()
