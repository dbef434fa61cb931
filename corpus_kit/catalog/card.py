"""Dataset cards: the Hub ``README.md`` (YAML front matter + body), written from the manifest.

Built with ``huggingface_hub``'s ``DatasetCardData`` / ``DatasetCard``. Everything in the card
comes from the manifest and the Parquet schema, so no section is left at "[More Information
Needed]"; a section with nothing to say is left out. Confidential supply fields (buyers, contract,
agreement and authorisation ids, partners) appear only as a short sha256 commitment.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from corpus_kit.governance.manifest import MANIFEST_NAME, Manifest, Supply, read_dataset_manifest

CARD_NAME = "README.md"
LICENCE_NOTE_NAME = "LICENSE.md"
CONFIDENTIAL_SUPPLY_FIELDS = ("buyers", "contract_id", "agreement_id", "authorisation_id", "partners")
_SIZE_CATEGORIES = (
    (1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
    (10_000_000_000, "1B<n<10B"), (100_000_000_000, "10B<n<100B"), (1_000_000_000_000, "100B<n<1T"),
)  # fmt: skip
_USE_WORDS = {
    "commercial": "commercial use allowed",
    "unspecified": "use not specified by every licence",
    "non-commercial": "non-commercial use only",
    "academic-only": "academic research only",
}


def size_category(rows: int) -> str:
    for limit, label in _SIZE_CATEGORIES:
        if rows < limit:
            return label
    return "n>1T"


def commitment(value: Any) -> str:
    """A short public commitment to a confidential value (sha256 of its canonical text)."""
    text = ",".join(sorted(value)) if isinstance(value, list) else str(value)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def public_supply_terms(supply: Supply | None) -> list[tuple[str, str]]:
    """The supply block as (field, shown value) pairs, with confidential fields committed."""
    if supply is None:
        return []
    shown = []
    for field, value in supply.model_dump(exclude_none=True, mode="json").items():
        if value in ([], ""):
            continue
        if field in CONFIDENTIAL_SUPPLY_FIELDS:
            shown.append((field, f"{commitment(value)} (confidential; the holder can prove the value)"))
        elif isinstance(value, list):
            shown.append((field, ", ".join(str(item) for item in value)))
        else:
            shown.append((field, str(value)))
    return shown


def hub_languages(manifest: Manifest, override: list[str] | None) -> list[str]:
    if override:
        return override
    return sorted({code.split("-")[0] for code in manifest.languages if code and code != "und"})


def dataset_info(dataset_dir: Path, manifest: Manifest) -> dict[str, Any]:
    """The ``dataset_info`` block: features from the Arrow schema, split sizes from the manifest."""
    import datasets

    first = dataset_dir / manifest.files[0].path
    features = datasets.Features.from_arrow_schema(pq.read_schema(first))
    info = datasets.DatasetInfo(
        features=features,
        splits=datasets.SplitDict(
            {
                "train": datasets.SplitInfo(
                    name="train",
                    num_examples=manifest.counts.output,
                    num_bytes=sum(item.bytes for item in manifest.files),  # Parquet bytes, not Arrow
                )
            }
        ),
        download_size=sum(item.bytes for item in manifest.files),
        dataset_size=sum(item.bytes for item in manifest.files),
    )
    return info._to_yaml_dict()  # private in datasets 3-5 (pinned), the Hub's own format


def build_card_data(
    dataset_dir: Path, manifest: Manifest, languages: list[str] | None, task_categories: list[str] | None
) -> Any:
    from huggingface_hub import DatasetCardData

    licence = manifest.license
    extra: dict[str, Any] = {
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}],
        "dataset_info": dataset_info(dataset_dir, manifest),
        "tags": [
            "corpus-kit",
            f"supply-mode:{manifest.supply.mode.value}" if manifest.supply else "supply-mode:none",
        ],
    }
    if licence is not None and licence.hub_id == "other":
        extra["license_name"] = licence.hub_name or "mixed-licences"
        extra["license_link"] = LICENCE_NOTE_NAME
    supply = manifest.supply
    if supply is not None and supply.mode.value == "conditional_open":
        extra["extra_gated_prompt"] = f"Access is conditional: {supply.conditions or 'see the card'}"
        extra["extra_gated_fields"] = {
            "Organisation": "text",
            "Intended use": "text",
            "I accept the conditions": "checkbox",
        }
    return DatasetCardData(
        pretty_name=manifest.dataset.name,
        license=licence.hub_id if licence is not None else "unknown",
        language=hub_languages(manifest, languages) or None,
        size_categories=[size_category(manifest.counts.output)],
        task_categories=task_categories or None,
        **extra,
    )


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def card_body(manifest: Manifest) -> str:
    """The Markdown body, section by section, from the manifest only."""
    counts = manifest.counts
    out: list[str] = [f"# {manifest.dataset.name}", ""]
    if manifest.dataset.description:
        out += [manifest.dataset.description, ""]
    out += [
        "## Dataset Details",
        "",
        f"- **Version:** {manifest.dataset.version}",
        f"- **Created:** {manifest.dataset.created_at.isoformat()}",
        f"- **Rows:** {counts.output:,} in {len(manifest.files)} Parquet file(s), "
        f"{sum(f.bytes for f in manifest.files):,} bytes",
        f"- **Made with:** corpus-kit {manifest.pipeline.versions.get('corpus-kit', '?')} "
        f"(pipeline `{manifest.pipeline.name}`, "
        f"configuration sha256 `{manifest.pipeline.config_sha256[:16]}…`)",
        "",
    ]
    supply = manifest.supply
    out += ["## Supply Mode and Obligations", ""]
    if supply is None:
        out += ["No supply mode was declared: this dataset may not be supplied until one is.", ""]
    else:
        out += [f"Supply mode: **{supply.mode.value}**.", ""]
        terms = public_supply_terms(supply)
        out += (
            [_table(["term", "value"], [[k, v] for k, v in terms if k != "mode"]), ""]
            if len(terms) > 1
            else []
        )
    licence = manifest.license
    out += ["## Licence", ""]
    if licence is None:
        out += ["The dataset holds no rows, so no licence applies.", ""]
    else:
        obligations = [_USE_WORDS[licence.use]]
        if licence.attribution:
            obligations.append("attribution required")
        if licence.share_alike:
            obligations.append("share-alike: " + ", ".join(licence.share_alike_licences))
        out += [
            f"`{licence.expression}` — {'; '.join(obligations)} (most restrictive licence wins; "
            f"registry {licence.registry_version}).",
            "",
            _table(
                ["licence", "rows", "use", "open", "attribution", "share-alike"],
                [
                    [key, f"{e.records:,}", e.use, e.open, e.attribution, e.share_alike]
                    for key, e in licence.licences.items()
                ],
            ),
            "",
        ]
    out += ["## Uses", ""]
    if supply is not None and supply.permitted_uses:
        out += ["Permitted uses: " + ", ".join(supply.permitted_uses) + ".", ""]
    if licence is not None and licence.use != "commercial":
        out += [f"Out of scope: commercial use ({_USE_WORDS[licence.use]} under the licences above).", ""]
    elif supply is not None and not supply.commercial:
        # as the Croissant offer reads it: commercial use is out unless the terms grant it
        how = "excluded by" if supply.commercial_use is False else "not granted by"
        out += [f"Out of scope: commercial use ({how} the supply terms).", ""]
    out += ["## Source Data", "", "### Data Collection and Processing", ""]
    out += [
        _table(
            ["source", "format", "records", "rejected", "sha256"],
            [
                [s.uri, s.format, f"{s.records:,}", f"{s.rejected:,}", f"`{s.sha256[:16]}…`"]
                for s in manifest.sources
            ],
        ),
        "",
    ]
    if manifest.provenance:
        out += [
            "Licences assigned from the source map:",
            "",
            _table(
                ["source", "licence", "type", "evidence", "records"],
                [
                    [p.match, p.license, p.source_type or "", p.evidence or "", f"{p.records:,}"]
                    for p in manifest.provenance
                ],
            ),
            "",
        ]
    out += [
        f"Processing: {counts.input:,} records read = {counts.output:,} kept + "
        f"{sum(counts.dropped.values()):,} dropped + {counts.rejected:,} rejected as malformed.",
        "",
        _table(
            ["step", "in", "out", "dropped (reason: count)"],
            [
                [
                    s.name,
                    f"{s.input:,}",
                    f"{s.output:,}",
                    ", ".join(f"{k}: {v:,}" for k, v in s.dropped.items()),
                ]
                for s in manifest.pipeline.steps
            ],
        ),
        "",
    ]
    if manifest.languages:
        total = sum(manifest.languages.values()) or 1
        out += [
            "### Languages",
            "",
            _table(
                ["language", "rows", "share"],
                [[k, f"{v:,}", f"{v / total:.1%}"] for k, v in manifest.languages.items()],
            ),
            "",
        ]
    out += ["## Personal and Sensitive Information", ""]
    pii = manifest.pii
    if pii is None:
        out += ["No PII step ran on this dataset: it may contain personal data.", ""]
    else:
        found = ", ".join(f"{k} {v:,}" for k, v in pii.entities.items()) or "none found"
        out += [
            f"Scrubbed with the `{pii.operator}` operator in {pii.documents:,} document(s): {found}. "
            f"Checked: {', '.join(pii.checked)} (rules {pii.rules_version}).",
            "",
            "Not detected automatically: person names, postal addresses, and personal data inside images "
            "or audio.",
            "",
        ]
    out += [
        "## Bias, Risks, and Limitations",
        "",
        "- Records that could not be read are kept apart in `rejects/`; dropped records (with "
        "`--keep-removed`) in `removed/`. Both are restricted and never published with this card.",
        "- Quality and language filters, where listed above, are heuristic; see the drop counts per reason.",
        "",
        "## Files",
        "",
        f"Checksums of every file are in `{MANIFEST_NAME}`; `corpus-kit manifest verify` checks them.",
        "",
    ]
    return "\n".join(out)


def licence_note(manifest: Manifest) -> str:
    """``LICENSE.md`` for cards whose Hub licence is ``other``: every licence and what it requires."""
    licence = manifest.license
    lines = [f"# Licences of {manifest.dataset.name}", ""]
    if licence is None:
        return "\n".join([*lines, "No rows, no licence.", ""])
    lines += [
        f"The dataset is available under `{licence.expression}`: "
        "each row carries its own licence in the `license` column.",
        "",
    ]
    lines.append(
        _table(
            ["licence", "rows", "use", "attribution", "share-alike", "Hub id"],
            [
                [k, f"{e.records:,}", e.use, e.attribution, e.share_alike, e.hub]
                for k, e in licence.licences.items()
            ],
        )
    )
    return "\n".join([*lines, ""])


def write_card(
    dataset_dir: str | Path, languages: list[str] | None = None, task_categories: list[str] | None = None
) -> list[Path]:
    """Write ``README.md`` (and ``LICENSE.md`` when the Hub licence is ``other``); returns the paths."""
    from huggingface_hub import DatasetCard

    from corpus_kit.utils import atomic_write_bytes

    dataset_dir = Path(dataset_dir)
    manifest = read_dataset_manifest(dataset_dir)
    data = build_card_data(dataset_dir, manifest, languages, task_categories)
    card = DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{card_body(manifest)}")
    written = [dataset_dir / CARD_NAME]
    atomic_write_bytes(written[0], str(card).encode())
    if manifest.license is not None and manifest.license.hub_id == "other":
        written.append(dataset_dir / LICENCE_NOTE_NAME)
        atomic_write_bytes(written[1], licence_note(manifest).encode())
    return written
