"""``manifest validate``: the JSON Schema plus supply-mode and accounting policy, rule by rule.

Every finding carries a rule id, a severity and a message that says what to change. Errors fail
validation; warnings fail it only with ``--strict``. Only the manifest is read (plus corpus-kit's
own rules: the licence registry and ``rules/supply_policy.yaml``).

| id | severity | rule |
|---|---|---|
| CK100 | error | the file is not JSON or does not match manifests/manifest.schema.json |
| CK101 | error | the supply mode is not one of the five modes |
| CK102 | error | no supply block |
| CK103 | error | a field the supply mode requires is missing or empty |
| CK104 | error | valid_until has passed |
| CK105 | warning | valid_until is within the warning window (30 days) |
| CK106 | error | valid_from is after valid_until |
| CK107 | error | the supply block names parties or contracts its mode may not carry (open with buyers) |
| CK108 | error | the manifest was edited after corpus-kit wrote it (seal_sha256 missing or wrong) |
| CK110 | error | open mode with a licence that is not open |
| CK111 | error | a mode that requires PII scrubbing, without a PII step |
| CK112 | error | commercial use permitted on data whose licence forbids it |
| CK113 | error | output rows but no licence resolution |
| CK114 | error | licence facts in the manifest disagree with the registry |
| CK115 | error | licence counts do not add up to the output rows |
| CK116 | warning | rows without an assessed licence (unregistered or NOASSERTION) |
| CK117 | warning | different share-alike licences mixed |
| CK118 | warning | no-derivatives licence in a processed corpus |
| CK120 | error | input != output + dropped + rejected |
| CK121 | error | pipeline step counts do not chain |
| CK122 | error | data file rows do not add up to counts.output |
| CK123 | error | source records or rejects do not add up to the counts |
| CK124 | error | dropped counts by reason differ from the steps' drops |
| CK125 | error | the record ledger's rows by fate and reason differ from the counts |
| CK130 | warning | data permitted for model training without content-safety screening (no safety block) |
| CK131 | warning | the lexicons miss clause 8.1 (>= 10,000 terms, >= 200 per A.1, >= 100 per A.2 risk) |
| CK132 | warning | technical check: pass rate below the threshold (clause 9.2: 98 %) |
| CK133 | warning | technical check: share of the records checked below the threshold (clause 9.2: 10 %) |
| CK134 | warning | no manual assessment (clause 9.2: `corpus-kit safety sample` + `review`) |
| CK135 | warning | manual assessment below 96 % on >= 4,000 items (or all rows), or for other data |
| CK136 | error | records of a blacklisted source are in the output (clause 5.1) |
| CK140 | warning | no classification grade declared: it counts as important (就高从严) |
| CK141 | error | important or core data (declared or counted) supplied open or conditional_open |
| CK142 | error | sensitive personal information, not de-identified, in a public mode |
| CK143 | error | PI neither de-identified nor under a consent basis (sensitive PI: separate consent) |
| CK144 | warning | an industry the classification policy does not list |
| CK150 | warning | a sources.yaml entry lacks the evidence its source type needs (clause 5.1) |
| CK151 | warning | a restricted mode's sources.yaml entry declares no source type |
| CK152 | error | a self-collected source did not respect robots.txt or an opt-out (clause 5.1) |
| CK160 | error | the tokens block does not add up (rows, or totals by language, source, licence, split) |

CK130-CK135 apply to data whose ``supply.permitted_uses`` include a use of
``rules/safety_policy.yaml`` ``uses_requiring_assessment`` (``model_training``); ``publish`` refuses
to publish such data while any of them is found. They cite clauses of TC260-003-2024 / GB/T
45654-2025; passing them does not make a dataset compliant.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from corpus_kit.governance.licence_registry import NOASSERTION, LicenceRegistry, default_registry
from corpus_kit.governance.manifest import Manifest, seal_problem
from corpus_kit.resources import resource_path
from corpus_kit.utils import load_yaml_file

RULES: dict[str, tuple[str, str]] = {
    "CK100": ("error", "manifest does not match the schema"),
    "CK101": ("error", "unknown supply mode"),
    "CK102": ("error", "no supply block"),
    "CK103": ("error", "supply mode field missing"),
    "CK104": ("error", "supply terms expired"),
    "CK105": ("warning", "supply terms expire soon"),
    "CK106": ("error", "supply dates in the wrong order"),
    "CK107": ("error", "supply fields the mode may not carry"),
    "CK108": ("error", "manifest edited after it was written"),
    "CK110": ("error", "open mode with a non-open licence"),
    "CK111": ("error", "PII scrubbing required by the mode is missing"),
    "CK112": ("error", "commercial use on a licence that forbids it"),
    "CK113": ("error", "no licence resolution"),
    "CK114": ("error", "licence facts disagree with the registry"),
    "CK115": ("error", "licence counts do not add up"),
    "CK116": ("warning", "rows without an assessed licence"),
    "CK117": ("warning", "different share-alike licences mixed"),
    "CK118": ("warning", "no-derivatives licence in a processed corpus"),
    "CK120": ("error", "accounting invariant broken"),
    "CK121": ("error", "step counts do not chain"),
    "CK122": ("error", "data file rows do not add up"),
    "CK123": ("error", "source counts do not add up"),
    "CK124": ("error", "dropped counts differ from the steps"),
    "CK125": ("error", "ledger rows differ from the counts"),
    "CK130": ("warning", "training data not screened for content safety"),
    "CK131": ("warning", "safety lexicon below the clause 8.1 minima"),
    "CK132": ("warning", "technical safety pass rate below the threshold"),
    "CK133": ("warning", "technical safety check covers too few records"),
    "CK134": ("warning", "no manual safety assessment"),
    "CK135": ("warning", "manual safety assessment does not pass"),
    "CK136": ("error", "blacklisted source in the output"),
    "CK140": ("warning", "no classification grade"),
    "CK141": ("error", "important or core data in a public mode"),
    "CK142": ("error", "sensitive PI not de-identified in a public mode"),
    "CK143": ("error", "PI without de-identification or consent"),
    "CK144": ("warning", "unknown industry"),
    "CK150": ("warning", "source evidence missing"),
    "CK151": ("warning", "source type not declared"),
    "CK152": ("error", "collection against the owner's opt-out"),
    "CK160": ("error", "token totals do not add up"),
}

#: Rules that together say whether data meant for model training has a passing safety assessment.
SAFETY_ASSESSMENT_RULES = frozenset({"CK130", "CK131", "CK132", "CK133", "CK134", "CK135"})


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


class ModePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str
    required: list[str]
    forbidden: list[str] = []
    require_open_licences: bool = False
    require_pii_scrubbing: bool = False
    require_source_types: bool = False


class SupplyPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    expiry_warning_days: int = 30
    evidence: dict[str, list[str]] = {}
    modes: dict[str, ModePolicy]


@lru_cache(maxsize=1)
def supply_policy() -> SupplyPolicy:
    data = load_yaml_file(resource_path("rules", "supply_policy.yaml"), "supply policy")
    return SupplyPolicy.model_validate(data)


def _finding(rule: str, field: str, message: str) -> Finding:
    return Finding(rule=rule, severity=RULES[rule][0], field=field, message=message)


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _schema_findings(error: ValidationError) -> list[Finding]:
    findings = []
    for item in error.errors():
        field = _location(tuple(item["loc"]))
        if tuple(item["loc"])[:2] == ("supply", "mode"):
            modes = ", ".join(supply_policy().modes)
            findings.append(_finding("CK101", "supply.mode", f"unknown supply mode; use one of: {modes}"))
        else:
            findings.append(
                _finding("CK100", field, f"{item['msg']}; fix the field or regenerate the manifest")
            )
    return findings


def validate_manifest_data(
    raw: bytes | str, today: date | None = None, registry: LicenceRegistry | None = None
) -> list[Finding]:
    """All findings for one manifest's JSON text (empty list: valid)."""
    try:
        # strict: like the JSON Schema, no "5" for 5; dates and enums still come as JSON strings
        manifest = Manifest.model_validate_json(raw, strict=True)
    except ValidationError as error:
        if any(item["type"] == "json_invalid" for item in error.errors()):
            return [
                _finding("CK100", "(file)", "not valid JSON; restore the file from the dataset's history")
            ]
        return _schema_findings(error)
    today = today or datetime.now(timezone.utc).date()
    registry = registry or default_registry()
    sealing = seal_problem(raw.encode() if isinstance(raw, str) else raw)
    sealed = [] if sealing is None else [_seal_finding(sealing)]
    return [
        *sealed,
        *_supply_findings(manifest, today),
        *_licence_findings(manifest, registry),
        *_accounting_findings(manifest),
        *_safety_findings(manifest),
        *_classification_findings(manifest),
        *_evidence_findings(manifest),
        *_tokens_findings(manifest),
    ]


def _tokens_findings(manifest: Manifest) -> list[Finding]:
    """The tokens block counted every output row, and each breakdown adds up to its total."""
    tokens = manifest.tokens
    if tokens is None:
        return []
    findings = []
    if tokens.rows != manifest.counts.output:
        findings.append(
            _finding(
                "CK160",
                "tokens.rows",
                f"tokens counted on {tokens.rows} rows but the output holds {manifest.counts.output}; the "
                "tokens step must be the pipeline's last: rebuild",
            )
        )
    for name in ("by_language", "by_source", "by_license", "by_split"):
        added = sum(getattr(tokens, name).values())
        if added != tokens.total:
            findings.append(
                _finding(
                    "CK160",
                    f"tokens.{name}",
                    f"tokens.{name} adds up to {added} but tokens.total is {tokens.total}; rebuild the "
                    "manifest",
                )
            )
    return findings


def _seal_finding(problem: str) -> Finding:
    return _finding(
        "CK108",
        "seal_sha256",
        f"the manifest {problem}; rebuild the dataset or restore the manifest it wrote",
    )


def _supply_findings(manifest: Manifest, today: date) -> list[Finding]:
    supply = manifest.supply
    if supply is None:
        modes = ", ".join(supply_policy().modes)
        return [
            _finding(
                "CK102",
                "supply",
                f"no supply block; declare how the data may be supplied: --supply-mode {modes}",
            )
        ]
    policy = supply_policy()
    mode = supply.mode.value
    mode_policy = policy.modes[mode]
    findings = []
    for name in mode_policy.required:
        value = getattr(supply, name, None)
        if value in (None, "", []):
            findings.append(
                _finding(
                    "CK103", f"supply.{name}", f"{mode_policy.label} requires supply.{name}; add it to supply"
                )
            )
    for name in mode_policy.forbidden:
        if getattr(supply, name, None) not in (None, "", []):
            findings.append(
                _finding(
                    "CK107",
                    f"supply.{name}",
                    f"{mode_policy.label} may not name supply.{name} (it would be published with the "
                    f"data); remove it, or declare the mode the contract really has",
                )
            )
    if supply.valid_until is not None:
        if supply.valid_until < today:
            findings.append(
                _finding(
                    "CK104",
                    "supply.valid_until",
                    f"the supply terms ended on {supply.valid_until.isoformat()}; "
                    "renew them and update valid_until",
                )
            )
        elif (supply.valid_until - today).days <= policy.expiry_warning_days:
            findings.append(
                _finding(
                    "CK105",
                    "supply.valid_until",
                    f"the supply terms end on {supply.valid_until.isoformat()}; start the renewal",
                )
            )
        if supply.valid_from is not None and supply.valid_from > supply.valid_until:
            findings.append(
                _finding("CK106", "supply.valid_from", "valid_from is after valid_until; fix the dates")
            )
    if mode_policy.require_pii_scrubbing and manifest.pii is None:
        findings.append(
            _finding(
                "CK111", "pii", f"{mode_policy.label} requires PII scrubbing; add the pii step and rebuild"
            )
        )
    return findings


def _licence_findings(manifest: Manifest, registry: LicenceRegistry) -> list[Finding]:
    licence = manifest.license
    if licence is None:
        if manifest.counts.output:
            return [
                _finding(
                    "CK113", "license", "no licence resolution; run the license step (corpus-kit license)"
                )
            ]
        return []
    findings = []
    counted = sum(entry.records for entry in licence.licences.values())
    tagged = sum(manifest.licenses.values())
    if counted != manifest.counts.output or tagged != manifest.counts.output:
        findings.append(
            _finding(
                "CK115",
                "license.licences",
                f"licence counts (license.licences {counted}, licenses {tagged}) differ from the output "
                f"rows ({manifest.counts.output}); regenerate the manifest",
            )
        )
    for key, entry in licence.licences.items():
        if not entry.registered:
            continue
        facts = registry.facts(key)
        recorded = (entry.use, entry.open, entry.attribution, entry.share_alike)
        if facts.known and recorded != (facts.use, facts.open, facts.attribution, facts.share_alike):
            findings.append(
                _finding(
                    "CK114",
                    f"license.licences.{key}",
                    f"recorded facts of {key} differ from the licence registry {registry.version}; "
                    "regenerate the manifest with this corpus-kit",
                )
            )
    supply = manifest.supply
    if supply is not None and supply.mode.value in supply_policy().modes:
        if supply_policy().modes[supply.mode.value].require_open_licences:
            closed = sorted(key for key, entry in licence.licences.items() if not entry.open)
            if closed:
                findings.append(
                    _finding(
                        "CK110",
                        "license",
                        f"open mode but {', '.join(closed)} is not an open licence; "
                        "drop those records or choose another supply mode",
                    )
                )
        if supply.commercial:
            forbidding = sorted(key for key, entry in licence.licences.items() if entry.use != "commercial")
            if forbidding:
                findings.append(
                    _finding(
                        "CK112",
                        "supply.permitted_uses",
                        f"commercial use is permitted but {', '.join(forbidding)} does not allow it; "
                        "remove commercial use or drop those records",
                    )
                )
    unassessed = sum(
        entry.records for key, entry in licence.licences.items() if key == NOASSERTION or not entry.registered
    )
    if unassessed:
        findings.append(
            _finding(
                "CK116",
                "license",
                f"{unassessed} rows have no assessed licence; "
                "map their sources in sources.yaml or use --unknown drop",
            )
        )
    if len(licence.share_alike_licences) > 1:
        findings.append(
            _finding(
                "CK117",
                "license.share_alike_licences",
                f"share-alike licences {', '.join(licence.share_alike_licences)} are mixed; "
                "have the combination reviewed",
            )
        )
    no_derivatives = sorted(key for key in licence.licences if "-ND-" in key or key.endswith("-ND"))
    if no_derivatives and any(step.dropped for step in manifest.pipeline.steps):
        findings.append(
            _finding(
                "CK118",
                "license",
                f"{', '.join(no_derivatives)} forbids derivatives and records were filtered; "
                "have it reviewed",
            )
        )
    return findings


def _accounting_findings(manifest: Manifest) -> list[Finding]:
    counts = manifest.counts
    findings = []
    if not counts.invariant_holds():
        findings.append(
            _finding(
                "CK120",
                "counts",
                f"input {counts.input} != output {counts.output} + dropped {sum(counts.dropped.values())} "
                f"+ rejected {counts.rejected}; the manifest was edited or the run was incomplete, "
                "rebuild it",
            )
        )
    steps = manifest.pipeline.steps
    if steps:
        problems = []
        if steps[0].input != counts.input:
            problems.append(f"first step input {steps[0].input} != counts.input {counts.input}")
        if steps[-1].output != counts.output:
            problems.append(f"last step output {steps[-1].output} != counts.output {counts.output}")
        for before, after in pairwise(steps):
            if before.output != after.input:
                problems.append(f"{before.name} output {before.output} != {after.name} input {after.input}")
        for step in steps[1:]:
            if step.input != step.output + sum(step.dropped.values()):
                problems.append(f"{step.name}: input {step.input} != output {step.output} + dropped")
        if problems:
            findings.append(
                _finding("CK121", "pipeline.steps", "; ".join(problems) + "; rebuild the manifest")
            )
        step_drops: dict[str, int] = {}
        for step in steps:
            for reason, count in step.dropped.items():
                step_drops[reason] = step_drops.get(reason, 0) + count
        if step_drops != {reason: count for reason, count in counts.dropped.items() if count}:
            findings.append(
                _finding(
                    "CK124",
                    "counts.dropped",
                    "dropped counts differ from the steps' drops; rebuild the manifest",
                )
            )
    rows = sum(item.rows for item in manifest.files)
    if rows != counts.output:
        findings.append(
            _finding(
                "CK122", "files", f"data files hold {rows} rows but counts.output is {counts.output}; rebuild"
            )
        )
    if manifest.sources:
        records = sum(source.records for source in manifest.sources)
        rejected = sum(source.rejected for source in manifest.sources)
        if records != counts.input or rejected != counts.rejected:
            findings.append(
                _finding(
                    "CK123",
                    "sources",
                    f"sources hold {records} records / {rejected} rejects but counts say {counts.input} / "
                    f"{counts.rejected}; rebuild the manifest",
                )
            )
    return findings + _ledger_findings(manifest)


def _ledger_findings(manifest: Manifest) -> list[Finding]:
    """CK125: the ledger's rows (as the manifest states them) are the records, by fate and reason."""
    ledger, counts = manifest.ledger, manifest.counts
    if ledger is None:
        return []  # a dataset made before corpus-kit wrote ledgers
    problems = []
    if ledger.rows != counts.input:
        problems.append(f"{ledger.rows} rows for {counts.input} input records")
    if ledger.rows != ledger.kept + sum(ledger.dropped.values()) + sum(ledger.rejected.values()):
        problems.append("rows != kept + dropped + rejected")
    if ledger.kept != counts.output:
        problems.append(f"{ledger.kept} kept for {counts.output} output rows")
    if ledger.dropped != {reason: count for reason, count in counts.dropped.items() if count}:
        problems.append("dropped rows by reason differ from counts.dropped")
    if sum(ledger.rejected.values()) != counts.rejected:
        problems.append(f"{sum(ledger.rejected.values())} rejected rows for {counts.rejected} rejects")
    folder = next((item for item in manifest.restricted if item.path == "ledger/"), None)
    listed = folder.records if folder is not None else 0
    if listed != ledger.rows:
        problems.append(f"restricted ledger/ lists {listed} rows")
    if not problems:
        return []
    return [
        _finding(
            "CK125",
            "ledger",
            "the record ledger does not add up: " + "; ".join(problems) + "; rebuild the dataset",
        )
    ]


def _safety_findings(manifest: Manifest) -> list[Finding]:
    from corpus_kit.governance.safety import data_checksum, safety_policy

    policy = safety_policy()
    safety = manifest.safety
    uses = manifest.supply.permitted_uses if manifest.supply is not None else []
    training = sorted(set(uses) & set(policy.uses_requiring_assessment))
    findings = []
    if safety is not None and safety.blacklisted_present:
        findings.append(
            _finding(
                "CK136",
                "safety.blacklisted_present",
                f"{safety.blacklisted_present} record(s) of blacklisted sources "
                f"({', '.join(safety.blacklisted_sources[:5])}) are in the output (clause 5.1: such a "
                "source is not used); rebuild with the safety step's action drop",
            )
        )
    if not training:
        return findings
    purpose = f"permitted_uses includes {', '.join(training)}"
    if safety is None:
        findings.append(
            _finding(
                "CK130",
                "safety",
                f"{purpose} but the data was not screened for content safety; add the safety step "
                "(TC260-003 / GB/T 45654) with your lexicon and rebuild",
            )
        )
        return findings
    coverage = safety.coverage
    if not coverage.meets_minima:
        short = [code for code in coverage.shortfall if code != "total"]
        detail = f"{coverage.terms:,} terms (minimum {coverage.minimum_terms:,})"
        if short:
            detail += f"; below the per-risk minimum: {', '.join(short)}"
        findings.append(
            _finding(
                "CK131",
                "safety.coverage",
                f"the lexicons miss the clause 8.1 minima: {detail}; extend the keyword library "
                "(corpus-kit safety lexicon-check --strict) and rebuild",
            )
        )
    technical = safety.technical
    if technical.pass_rate < policy.technical_pass_rate:
        findings.append(
            _finding(
                "CK132",
                "safety.technical.pass_rate",
                f"technical pass rate {technical.pass_rate:.2%} is below {policy.technical_pass_rate:.0%} "
                "(clause 9.2); rebuild with action drop, or remove the flagged records' sources",
            )
        )
    if technical.checked_share < policy.technical_checked_share:
        findings.append(
            _finding(
                "CK133",
                "safety.technical.checked_share",
                f"only {technical.checked_share:.1%} of the records were checked, below "
                f"{policy.technical_checked_share:.0%} (clause 9.2); screen the records' text (captions "
                "of media records count) or drop what cannot be screened",
            )
        )
    manual = safety.manual
    if manual is None:
        findings.append(
            _finding(
                "CK134",
                "safety.manual",
                "no manual assessment (clause 9.2); draw a sample with corpus-kit safety sample, have it "
                "reviewed, and record it with corpus-kit safety review",
            )
        )
        return findings
    needed = min(policy.manual_sample, manifest.counts.output)
    problems = []
    if manual.data_sha256 != data_checksum([item.sha256 for item in manifest.files]):
        problems.append("it was made on other data files than these")
    if manual.sample_size < needed or manual.reviewed < needed:
        problems.append(f"{manual.reviewed:,} item(s) reviewed, {needed:,} needed")
    if manual.pass_rate < policy.manual_pass_rate:
        problems.append(f"pass rate {manual.pass_rate:.1%} is below {policy.manual_pass_rate:.0%}")
    if problems:
        findings.append(
            _finding(
                "CK135",
                "safety.manual",
                f"the manual assessment does not pass (clause 9.2): {'; '.join(problems)}; remove the "
                "failing content, rebuild, and review a new sample",
            )
        )
    return findings


def _classification_findings(manifest: Manifest) -> list[Finding]:
    """Grade and personal-information gates (GB/T 43697-2024, PIPL art. 28-29, GB/T 45574-2025)."""
    from corpus_kit.governance.classification import (
        classification_policy,
        effective_grade,
        personal_information,
    )

    supply = manifest.supply
    if supply is None:
        return []  # CK102 says what to do
    policy = classification_policy()
    classification = supply.classification
    grade, declared = effective_grade(classification)
    mode = supply.mode.value
    public = mode in policy.public_modes
    found = manifest.personal_information or personal_information(manifest.pii, classification)
    findings = []
    if not declared:
        findings.append(
            _finding(
                "CK140",
                "supply.classification.grade",
                f"no grade declared, so the data counts as {grade} (就高从严); declare classification: "
                "{grade: general|important|core, basis: ...} in the supply block",
            )
        )
    if public and grade in policy.restricted_grades:
        findings.append(
            _finding(
                "CK141",
                "supply.mode",
                f"{grade} data{'' if declared else ' (no grade declared)'} may not be supplied {mode}; "
                "use authorised, targeted_trade or cooperation, or declare the grade with its basis if it "
                "is general data",
            )
        )
    declared_pi = classification.pi if classification is not None else None
    sensitive = sorted(set(found.declared_sensitive) | set(found.sensitive))
    if public and sensitive and not found.deidentified:
        findings.append(
            _finding(
                "CK142",
                "supply.classification.pi",
                f"sensitive personal information ({', '.join(sensitive)}) that was not de-identified may not "
                f"be supplied {mode}; run the pii step or choose a restricted mode",
            )
        )
    holds_pi = bool(declared_pi and (declared_pi.contains or declared_pi.sensitive))
    consent = declared_pi.consent if declared_pi is not None else None
    if holds_pi and not found.deidentified:
        if consent not in policy.consent_bases:
            findings.append(
                _finding(
                    "CK143",
                    "supply.classification.pi.consent",
                    "the data holds personal information that was neither de-identified nor processed under "
                    "a consent basis; run the pii step, or declare consent: separate|other_basis",
                )
            )
        elif sensitive and consent != "separate":
            findings.append(
                _finding(
                    "CK143",
                    "supply.classification.pi.consent",
                    f"sensitive personal information ({', '.join(sensitive)}) needs separate consent (PIPL "
                    "art. 29) when it is not de-identified; declare consent: separate or run the pii step",
                )
            )
    industry = classification.industry if classification is not None else None
    if industry is not None and industry not in policy.industries:
        findings.append(
            _finding(
                "CK144",
                "supply.classification.industry",
                f"industry {industry[:40]!r} is not one of {', '.join(policy.industries)}; use one of them "
                "(rules/classification_policy.yaml) so that catalogues can file it",
            )
        )
    return findings


def _evidence_findings(manifest: Manifest) -> list[Finding]:
    """Evidence per sources.yaml entry (TC260-003 clause 5.1): what its source type needs."""
    policy = supply_policy()
    mode = manifest.supply.mode.value if manifest.supply is not None else None
    need_types = mode is not None and mode in policy.modes and policy.modes[mode].require_source_types
    findings = []
    for index, entry in enumerate(manifest.provenance):
        field = f"provenance.{index}"
        if entry.source_type is None:
            if need_types and entry.records:
                findings.append(
                    _finding(
                        "CK151",
                        f"{field}.source_type",
                        f"{entry.match} licensed {entry.records} record(s) but declares no type; give it "
                        "type: open_source|self_collected|commercial|user_input|public_data in sources.yaml",
                    )
                )
            continue
        if entry.robots_txt is False:
            findings.append(
                _finding(
                    "CK152",
                    f"{field}.robots_txt",
                    f"{entry.match} was collected against robots.txt or an opt-out; remove its records "
                    "(content its owner refused to have collected must not be used)",
                )
            )
        missing = [
            name for name in policy.evidence.get(entry.source_type, []) if getattr(entry, name) in (None, "")
        ]
        if missing:
            keys = ", ".join(_EVIDENCE_KEYS.get(name, name) for name in missing)
            findings.append(
                _finding(
                    "CK150",
                    field,
                    f"{entry.match} ({entry.source_type}) has no {', '.join(missing)}; add {keys} to its "
                    "sources.yaml entry",
                )
            )
    return findings


#: The sources.yaml key that gives each manifest evidence field.
_EVIDENCE_KEYS = {"contract_sha256": "contract_id (kept as a sha256 commitment)"}


def manifest_path_for(path: str | Path) -> Path:
    """A dataset folder's manifest.json, or the path itself."""
    path = Path(path)
    return path / "manifest.json" if path.is_dir() else path
