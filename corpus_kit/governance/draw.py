"""What a token-budget sample (``corpus-kit sample``) records, and how its supply block is narrowed.

A sample is drawn from one or more parent datasets; it may never permit more than any of them.
:func:`narrow_supply` combines the parents' supply blocks (docs/architecture.md §6, DESIGN §9)
into the narrowest block that keeps every parent's obligations, or refuses with the fields that
cannot be combined. It is a pure function of the blocks (and of ``today`` for expiry).

:class:`SampleRecord` is the manifest's ``sample`` block: the parents (name, version, sha256 of
their manifest), the draw (``by``, requested weights, achieved token shares, seed, target and drawn
tokens and rows) and the tokenizer. Counts, hashes and keys only: never record content.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from corpus_kit.errors import UsageError

if TYPE_CHECKING:
    from corpus_kit.governance.manifest import Supply

SampleBy = Literal["language", "source", "license", "supply_mode"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SampleParent(_Model):
    """A dataset the sample was drawn from."""

    name: str = Field(description="The parent's dataset name (its manifest's dataset.name).")
    version: str = Field(description="The parent's dataset version.")
    manifest_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="sha256 of the parent's manifest.json file as read."
    )
    rows: int = Field(ge=0, description="Rows the parent holds (all were read; the undrawn are dropped).")
    tokens: int = Field(ge=0, description="Tokens of all its rows with the sample's tokenizer.")
    drawn_rows: int = Field(ge=0, description="Of its rows, how many were drawn.")
    drawn_tokens: int = Field(ge=0, description="Tokens of the drawn rows.")
    counted: int = Field(
        0, ge=0, description="Rows whose tokens were counted by the sample (no usable tokens column)."
    )


class SampleTokenizer(_Model):
    """The tokenizer the budget is counted in."""

    name: str = Field(description="o200k_base, cl100k_base, or the file name of the user's tokenizer.")
    library: str = Field(description="The library that counts, with its version.")
    vocabulary_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class SampleRecord(_Model):
    """The manifest's ``sample`` block: a seeded token-budget draw from parent datasets."""

    parents: list[SampleParent] = Field(description="The parent datasets, in the order the draw reads them.")
    by: SampleBy | None = Field(
        None, description="The column the weights are over (language, source, license, supply_mode)."
    )
    weights: dict[str, float] = Field(
        default_factory=dict, description="Requested token shares per key (empty: a uniform draw)."
    )
    achieved: dict[str, float] = Field(
        default_factory=dict, description="Achieved token shares per key of `by` (drawn tokens / total)."
    )
    tokens_by_key: dict[str, int] = Field(default_factory=dict, description="Drawn tokens per key of `by`.")
    seed: int = Field(description="Seed of the NumPy generator that permuted each group.")
    target_tokens: int = Field(ge=1, description="--tokens: the budget.")
    tokens: int = Field(ge=0, description="Tokens drawn (sum of the output rows' tokens).")
    rows: int = Field(ge=0, description="Rows drawn.")
    tokenizer: SampleTokenizer
    supply: Literal["none", "identical", "narrowed"] = Field(
        description="How the supply block came from the parents': none declared, identical in all, or "
        "narrowed (see supply_notes)."
    )
    supply_notes: list[str] = Field(
        default_factory=list, description="What narrowing did, field by field (field names, no values)."
    )


# -- supply narrowing ---------------------------------------------------------------------------------


class SupplyConflict(UsageError):
    """The parents' supply blocks have no well-defined narrowest combination."""


#: Fields that identify a restricted mode's terms: parents in that mode must agree on them.
_IDENTITY_FIELDS: dict[str, tuple[str, ...]] = {
    "open": (),
    "conditional_open": ("conditions", "access_contact"),
    "authorised": ("authoriser", "operator", "authorisation_id"),
    "targeted_trade": ("contract_id",),
    "cooperation": ("agreement_id",),
}
#: Party lists a restricted mode narrows by intersection.
_PARTY_FIELDS: dict[str, str] = {"targeted_trade": "buyers", "cooperation": "partners"}
_GRADE_ORDER = {"general": 0, "important": 1, "core": 2}
#: Weakest first: an undeclared consent claims nothing, so it is the narrowest claim.
_CONSENT_ORDER: dict[str | None, int] = {None: 0, "none": 1, "other_basis": 2, "separate": 3}


def _label(names: list[str], index: int) -> str:
    return names[index] if index < len(names) else f"parent {index + 1}"


def narrow_supply(
    blocks: Sequence[Supply | None], names: Sequence[str] | None = None, today: date | None = None
) -> tuple[Supply | None, list[str]]:
    """The narrowest supply block that every parent's block permits, and notes on what was narrowed.

    ``names`` label the parents in errors (dataset names, never values of the blocks). Rules:

    * no block anywhere: ``None``; a block in some parents only: refused (declare the others');
    * identical blocks: kept as they are;
    * mode: ``open`` adds no terms, so open parents take the other parents' mode; two different
      restricted modes (or ``conditional_open`` with another restricted mode) are refused: neither
      contains the other's obligations;
    * parents in the chosen restricted mode must agree on the fields that identify its terms
      (authorisation, contract, agreement, conditions); buyers and partners are intersected;
    * ``permitted_uses``: the intersection of the parents that list uses (an empty intersection is
      refused); ``commercial_use`` true only if every parent allows commercial use;
    * ``valid_from`` the latest, ``valid_until`` the earliest; an expired parent is refused;
    * classification: the highest grade wins (就高从严; a missing grade counts as important, so it
      stays missing unless a parent is core), sensitive PI categories are united, ``contains`` is
      true if any parent's is, consent is the weakest declared (undeclared is weaker than ``none``);
      industry and basis are kept when all agree; registration is kept only when identical;
    * other fields (exchange, listing ids...) are kept when every parent that has one agrees.
    """
    from corpus_kit.governance.manifest import Supply

    labels = list(names or [])
    if not blocks:
        raise ValueError("narrow_supply needs at least one parent")
    declared = [index for index, block in enumerate(blocks) if block is not None]
    if not declared:
        return None, []
    if len(declared) != len(blocks):
        missing = next(index for index, block in enumerate(blocks) if block is None)
        raise SupplyConflict(
            f"supply: {_label(labels, missing)} declares no supply block but "
            f"{_label(labels, declared[0])} does; rebuild it with --supply or sample the parents apart"
        )
    supplies: list[Supply] = [block for block in blocks if block is not None]
    today = today or date.today()
    for index, block in enumerate(supplies):
        if block.valid_until is not None and block.valid_until < today:
            raise SupplyConflict(
                f"supply.valid_until: the supply terms of {_label(labels, index)} ended on "
                f"{block.valid_until.isoformat()}; its data may not be drawn until they are renewed"
            )
    dumps = [block.model_dump(mode="json", exclude_none=True, exclude_defaults=True) for block in supplies]
    if all(dump == dumps[0] for dump in dumps[1:]):
        return supplies[0].model_copy(deep=True), []

    notes: list[str] = []
    result: dict[str, Any] = {}
    modes = [block.mode.value for block in supplies]
    restricted = sorted({mode for mode in modes if mode != "open"})
    if len(restricted) > 1:
        raise SupplyConflict(
            f"supply.mode: parents are supplied {' and '.join(restricted)}; neither mode carries the "
            "other's obligations, so no sample can keep both; sample them apart"
        )
    mode = restricted[0] if restricted else "open"
    result["mode"] = mode
    if len(set(modes)) > 1:
        notes.append(f"mode: {mode} (the restricted mode of the parents; open adds no terms)")
    in_mode = [index for index, value in enumerate(modes) if value == mode]
    for name in _IDENTITY_FIELDS[mode]:
        values = {getattr(supplies[index], name) for index in in_mode}
        if len(values) > 1:
            raise SupplyConflict(
                f"supply.{name}: the {mode} parents differ "
                f"({', '.join(_label(labels, i) for i in in_mode)}); "
                "one sample cannot be under two sets of terms; sample them apart"
            )
        value = values.pop()
        if value is not None:
            result[name] = value
    party = _PARTY_FIELDS.get(mode)
    if party is not None:
        lists = [getattr(supplies[index], party) for index in in_mode if getattr(supplies[index], party)]
        if lists:
            common = [item for item in lists[0] if all(item in other for other in lists[1:])]
            if not common:
                raise SupplyConflict(
                    f"supply.{party}: no party is named by every {mode} parent; sample them apart"
                )
            result[party] = common
            if any(set(other) != set(common) for other in lists):
                notes.append(f"{party}: those named by every parent")

    uses = [block.permitted_uses for block in supplies if block.permitted_uses]
    if uses:
        common_uses = [use for use in uses[0] if all(use in other for other in uses[1:])]
        if not common_uses:
            raise SupplyConflict(
                "supply.permitted_uses: no use is permitted by every parent that lists uses; "
                "sample them apart"
            )
        result["permitted_uses"] = common_uses
        if any(set(other) != set(common_uses) for other in uses) or len(uses) != len(supplies):
            notes.append("permitted_uses: those every parent that lists uses permits")
    commercial = [block.commercial for block in supplies]
    if all(commercial):
        if any(block.commercial_use for block in supplies):
            result["commercial_use"] = True  # a parent may grant it by the flag alone
    else:
        if "commercial" in result.get("permitted_uses", []):
            result["permitted_uses"].remove("commercial")  # listed by some, not granted by all
            if not result["permitted_uses"]:
                raise SupplyConflict(
                    "supply.permitted_uses: commercial use is the only use listed and not every parent "
                    "permits it; sample them apart"
                )
        if any(block.commercial_use is not None for block in supplies):
            result["commercial_use"] = False
        if any(commercial):
            notes.append("commercial_use: not permitted (not every parent permits it)")

    starts = [block.valid_from for block in supplies if block.valid_from is not None]
    ends = [block.valid_until for block in supplies if block.valid_until is not None]
    if starts:
        result["valid_from"] = max(starts)
    if ends:
        result["valid_until"] = min(ends)
        if len(set(ends)) > 1 or len(ends) != len(supplies):
            notes.append("valid_until: the earliest of the parents'")
    if starts and ends and max(starts) > min(ends):
        raise SupplyConflict(
            "supply.valid_from: the parents' supply periods do not overlap; sample them apart"
        )

    classification, classification_notes = _narrow_classification(supplies)
    if classification is not None:
        result["classification"] = classification
    notes.extend(classification_notes)
    registrations = [block.registration for block in supplies]
    if registrations[0] is not None and all(item == registrations[0] for item in registrations):
        result["registration"] = registrations[0].model_dump(mode="json")
    elif any(item is not None for item in registrations):
        notes.append("registration: dropped (the parents' registrations differ; register the sample)")

    extras: dict[str, Any] = {}
    for index, block in enumerate(supplies):
        for key, value in (block.model_extra or {}).items():
            if key in extras and extras[key] != value:
                raise SupplyConflict(
                    f"supply.{key}: the parents differ (first at {_label(labels, index)}); "
                    "sample them apart or give them the same value"
                )
            extras[key] = value
    result.update(extras)
    return Supply.model_validate(result), notes


def _narrow_classification(supplies: list[Supply]) -> tuple[dict[str, Any] | None, list[str]]:
    """The classification of the union: highest grade, united sensitive PI, weakest consent."""
    items = [block.classification for block in supplies]
    if all(item is None for item in items):
        return None, []
    notes: list[str] = []
    out: dict[str, Any] = {}
    grades = [item.grade if item is not None else None for item in items]
    graded: list[str] = [grade for grade in grades if grade is not None]
    top = max(graded, key=_GRADE_ORDER.__getitem__) if graded else None
    if None in grades and top != "core":
        top = None  # a missing grade counts as important (就高从严): it stays missing
    if top is not None:
        out["grade"] = top
    if len(set(grades)) > 1:
        notes.append("classification.grade: the highest of the parents' (a missing one counts as important)")
    if top == "general":
        levels = [item.general_level for item in items if item is not None and item.general_level is not None]
        if levels:
            out["general_level"] = max(levels)
    for name in ("industry", "basis"):
        values = {getattr(item, name) if item is not None else None for item in items}
        if len(values) == 1 and (value := values.pop()) is not None:
            out[name] = value
        elif len(values) > 1:
            notes.append(f"classification.{name}: dropped (the parents' differ)")
    pis = [item.pi if item is not None else None for item in items]
    if any(pi is not None for pi in pis):
        contains_values = [pi.contains if pi is not None else None for pi in pis]
        sensitive = sorted({category for pi in pis if pi is not None for category in pi.sensitive})
        pi_out: dict[str, Any] = {}
        if any(value is True for value in contains_values) or sensitive:
            pi_out["contains"] = True
        elif all(value is False for value in contains_values):
            pi_out["contains"] = False
        if sensitive:
            pi_out["sensitive"] = sensitive
        # consent of the parents that may hold personal information (not those declaring none)
        consents = [
            pi.consent if pi is not None else None
            for pi in pis
            if pi is None or pi.contains is not False or pi.sensitive
        ]
        if consents:
            weakest = min(consents, key=lambda value: _CONSENT_ORDER[value])
            if weakest is not None:
                pi_out["consent"] = weakest
            if len(set(consents)) > 1:
                notes.append("classification.pi.consent: the weakest of the parents' that may hold PI")
        out["pi"] = pi_out
    return out, notes


# -- the dataset card ---------------------------------------------------------------------------------

_CARD = (
    "A {{ tokens|num }}-token sample ({{ rows|num }} rows, target {{ target|num }}, seed {{ seed }}) "
    "counted with {{ tokenizer|md }}, drawn from:\n\n"
    "| parent | version | manifest sha256 | rows drawn | tokens drawn |\n|---|---|---|---:|---:|\n"
    "{% for parent in parents %}| {{ parent.name|md }} | {{ parent.version|md }} | "
    "`{{ parent.manifest_sha256[:16] }}…` | {{ parent.drawn_rows|num }} | {{ parent.drawn_tokens|num }} |\n"
    "{% endfor %}\n\n"
    "{% if by %}Token shares by {{ by }}: {% for key, share in shares %}{{ key|md }} {{ share }}"
    "{{ ', ' if not loop.last }}{% endfor %}.\n\n{% endif %}"
    "Supply terms: {{ supply|md }}."
)


def sample_card_section(record: SampleRecord) -> tuple[str, str]:
    """The card's "Sample" section: the parents, the draw and how the supply block came about."""
    from corpus_kit.catalog.card import render_card_fragment

    shares = [
        (
            key,
            f"{record.achieved.get(key, 0.0):.1%} (asked {record.weights[key]:.1%})"
            if key in record.weights
            else f"{record.achieved.get(key, 0.0):.1%}",
        )
        for key in sorted(set(record.weights) | set(record.achieved))
    ]
    supply = {
        "none": "none declared by the parents",
        "identical": "as every parent declares them (identical blocks)",
        "narrowed": "narrowed from those of the parents (" + "; ".join(record.supply_notes) + ")",
    }[record.supply]
    body = render_card_fragment(
        _CARD,
        tokens=record.tokens,
        rows=record.rows,
        target=record.target_tokens,
        seed=record.seed,
        tokenizer=f"{record.tokenizer.name} ({record.tokenizer.library})",
        parents=record.parents,
        by=record.by,
        shares=shares,
        supply=supply,
    )
    return "Sample", body
