"""Licence facts from ``rules/licences.yaml`` and SPDX expressions parsed by ``license-expression``.

* :meth:`LicenceRegistry.normalize` turns what a record says (``cc-by-4.0``, ``CC BY 4.0``,
  ``mit or apache-2.0``) into a normalised SPDX expression, or ``None`` when it cannot be parsed.
* :meth:`LicenceRegistry.facts` gives what an expression allows: ``AND`` takes the most restrictive
  part, ``OR`` the most permissive choice, ``WITH`` the base licence.
* :func:`resolve_dataset` combines the licences of all output rows: the most restrictive use class
  wins (commercial < unspecified < non-commercial < academic-only, as the Data Provenance
  Initiative resolves them), attribution and share-alike carry over.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from license_expression import Licensing

from corpus_kit.governance.manifest import DatasetLicence, LicenceEntry
from corpus_kit.resources import resource_path
from corpus_kit.utils import load_yaml_file

UseClass = Literal["commercial", "unspecified", "non-commercial", "academic-only"]
USE_LADDER: tuple[UseClass, ...] = ("commercial", "unspecified", "non-commercial", "academic-only")
NO_LICENCE = "(none)"  # what the writer counts for rows without a licence
NOASSERTION = "NOASSERTION"


class LicenceFacts(BaseModel):
    """One registry entry (``rules/licences.yaml`` or a sources.yaml ``licences:`` section)."""

    model_config = ConfigDict(extra="forbid")

    spdx: str = Field(description="SPDX id or LicenseRef-*")
    hub: str = Field("other", description="Hugging Face Hub licence id")
    name: str = ""
    open: bool
    use: UseClass
    attribution: bool
    share_alike: bool
    notes: str = ""
    aliases: list[str] = Field(default_factory=list)


class RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    licences: list[LicenceFacts]


@dataclass(frozen=True)
class ExpressionFacts:
    """What an expression allows; ``known`` is False when a licence in it is not in the registry."""

    use: UseClass
    open: bool
    attribution: bool
    share_alike: bool
    known: bool

    @property
    def rank(self) -> int:
        return USE_LADDER.index(self.use)


_UNKNOWN = ExpressionFacts(use="unspecified", open=False, attribution=False, share_alike=False, known=False)


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _le() -> ModuleType:
    """license-expression, imported on first use (~40 ms that commands without licences skip)."""
    import license_expression

    return license_expression


@lru_cache(maxsize=1)
def _spdx_licensing() -> Licensing:
    return _le().get_spdx_licensing()


def load_licence_file(path: str | Path) -> RegistryFile:
    return RegistryFile.model_validate(load_yaml_file(path, "licence registry"))


class LicenceRegistry:
    """Licence facts by SPDX id, with an expression parser that knows the registry's LicenseRefs."""

    def __init__(self, entries: list[LicenceFacts], version: str):
        self.version = version
        self.entries: dict[str, LicenceFacts] = {}
        for entry in entries:  # later entries (a data repo's own) override earlier ones
            self.entries[entry.spdx] = entry
        self._by_folded = {_fold(spdx): spdx for spdx in self.entries}
        self._aliases = {
            _fold(alias): entry.spdx for entry in self.entries.values() for alias in entry.aliases
        }
        self._licensing_cache: Licensing | None = None

    @property
    def _licensing(self) -> Licensing:
        # the registry's LicenseRef-* ids become known symbols next to the SPDX list
        if self._licensing_cache is None:
            le, spdx = _le(), _spdx_licensing()
            extra = [le.LicenseSymbol(key) for key in self.entries if key not in spdx.known_symbols]
            self._licensing_cache = le.Licensing([*spdx.known_symbols.values(), *extra]) if extra else spdx
        return self._licensing_cache

    @classmethod
    def load(cls, extra: list[LicenceFacts] | None = None) -> LicenceRegistry:
        """The bundled registry, plus a data repository's own entries."""
        base = _bundled_registry_file()
        return cls([*base.licences, *(extra or [])], base.version)

    def get(self, spdx: str) -> LicenceFacts | None:
        return self.entries.get(spdx)

    def normalize(self, raw: object) -> str | None:
        """A normalised SPDX expression, or ``None`` for an empty, unparseable or unknown-key value."""
        if not isinstance(raw, str) or not raw.strip():
            return None
        folded = _fold(raw)
        if folded in self._aliases:
            return self._aliases[folded]
        if folded in self._by_folded:
            return self._by_folded[folded]
        try:
            info = self._licensing.validate(raw.strip())
        except (_le().ExpressionError, AttributeError):
            # license_expression 30.x raises AttributeError on some symbols ('a@b', '<EMAIL_ADDRESS>')
            return None
        if info.errors or not info.normalized_expression:
            return None
        return info.normalized_expression

    def facts(self, expression: str) -> ExpressionFacts:
        """Facts of a normalised expression (see the module docstring for AND/OR/WITH)."""
        if expression in self.entries:
            return self._symbol_facts(expression)
        try:
            parsed = self._licensing.parse(expression)
        except (_le().ExpressionError, AttributeError):
            return _UNKNOWN
        return self._walk(parsed) if parsed is not None else _UNKNOWN

    def hub_id(self, expression: str) -> str:
        entry = self.entries.get(expression)
        return entry.hub if entry else "other"

    def _symbol_facts(self, key: str) -> ExpressionFacts:
        entry = self.entries.get(key)
        if entry is None:
            return _UNKNOWN
        return ExpressionFacts(entry.use, entry.open, entry.attribution, entry.share_alike, known=True)

    def _walk(self, node: object) -> ExpressionFacts:
        le = _le()
        if isinstance(node, le.LicenseWithExceptionSymbol):
            return self._walk(node.license_symbol)
        if isinstance(node, le.LicenseSymbol):
            return self._symbol_facts(node.key)
        parts = [self._walk(arg) for arg in getattr(node, "args", ())]
        if not parts:
            return _UNKNOWN
        if isinstance(node, self._licensing.OR):
            candidates = [part for part in parts if part.known] or parts
            return min(candidates, key=lambda f: (f.rank, f.share_alike, f.attribution))
        return combine_all(parts)


def combine_all(parts: list[ExpressionFacts]) -> ExpressionFacts:
    """All of these apply at once (AND, or a dataset mixing them): the most restrictive wins."""
    return ExpressionFacts(
        use=max(parts, key=lambda f: f.rank).use,
        open=all(f.open for f in parts),
        attribution=any(f.attribution for f in parts),
        share_alike=any(f.share_alike for f in parts),
        known=all(f.known for f in parts),
    )


@lru_cache(maxsize=1)
def _bundled_registry_file() -> RegistryFile:
    return load_licence_file(resource_path("rules", "licences.yaml"))


@lru_cache(maxsize=1)
def default_registry() -> LicenceRegistry:
    return LicenceRegistry.load()


_REGISTRIES: dict[str, LicenceRegistry] = {}


def registry_key(extra: list[LicenceFacts] | None) -> str:
    """What tells registries apart: a data repository's own entries (``""`` for none)."""
    return orjson.dumps([entry.model_dump() for entry in extra]).decode() if extra else ""


def registry_for(extra: list[LicenceFacts] | None, key: str | None = None) -> LicenceRegistry:
    """The bundled registry plus ``extra``, built once per process (``key``: its registry_key)."""
    if not extra:
        return default_registry()
    key = registry_key(extra) if key is None else key
    registry = _REGISTRIES.get(key)
    if registry is None:
        registry = _REGISTRIES[key] = LicenceRegistry.load(extra)
    return registry


def _bracket(expression: str) -> str:
    return f"({expression})" if " " in expression else expression


def resolve_dataset(counts: dict[str, int], registry: LicenceRegistry) -> DatasetLicence | None:
    """The dataset licence from output rows per licence value (``None`` for an empty dataset)."""
    entries: dict[str, LicenceEntry] = {}
    facts_by_key: dict[str, ExpressionFacts] = {}
    unlicensed = 0
    for raw, records in sorted(counts.items()):
        if not records:
            continue
        key = NOASSERTION if raw == NO_LICENCE else (registry.normalize(raw) or raw)
        facts = registry.facts(key)
        if key == NOASSERTION:
            unlicensed += records
        if key in entries:
            entries[key] = entries[key].model_copy(update={"records": entries[key].records + records})
            continue
        facts_by_key[key] = facts
        entries[key] = LicenceEntry(
            records=records,
            use=facts.use,
            open=facts.open,
            attribution=facts.attribution,
            share_alike=facts.share_alike,
            hub=registry.hub_id(key) if facts.known else "unknown",
            registered=facts.known,
        )
    if not entries:
        return None
    overall = combine_all(list(facts_by_key.values()))
    keys = sorted(entries)
    single = keys[0] if len(keys) == 1 else None
    hub_id = entries[single].hub if single and entries[single].hub not in ("other", "unknown") else "other"
    return DatasetLicence(
        expression=" AND ".join(_bracket(key) for key in keys),
        use=overall.use,
        open=overall.open,
        attribution=overall.attribution,
        share_alike=overall.share_alike,
        share_alike_licences=[key for key in keys if entries[key].share_alike],
        hub_id=hub_id,
        hub_name=None if hub_id != "other" else (single or "mixed-licences"),
        licences={key: entries[key] for key in keys},
        unlicensed=unlicensed,
        registry_version=registry.version,
    )
