"""Dataset cards: the Hub ``README.md`` (YAML front matter + body), written from the manifest.

Built with ``huggingface_hub``'s ``DatasetCardData`` / ``DatasetCard``. Everything in the card
comes from the manifest and the Parquet schema, so no section is left at "[More Information
Needed]"; a section with nothing to say is left out. Confidential supply fields (buyers, contract,
agreement and authorisation ids, partners) appear only as a short sha256 commitment.

The body (the Markdown after the front matter) is rendered from the Jinja2 template
``templates/card.md.j2``. The Hub renders HTML inside Markdown, so every value is escaped for
Markdown on its way into the card (:func:`md`): HTML-escaped (``< > & " '``), with ``\\``, ``|``
and backquotes backslash-escaped, so that no value can open a tag, split a table or start a code
span. Only :class:`~markupsafe.Markup` (fragments this module or a stage built) passes as it is.

``corpus-kit card --card-template FILE`` replaces the body template with the user's own. It is
rendered in Jinja2's immutable sandbox (templates may come from anyone: no access to Python
internals, files or the manifest object, only the plain values below) with the same escaping, and
any error becomes one ``UsageError`` line naming the file and line. Variables (see
``docs/card-template.md``):

* ``dataset``: ``name``, ``version``, ``description``, ``created`` (ISO 8601);
* ``rows``, ``files``, ``bytes``: output rows, Parquet files, their bytes;
* ``corpus_kit_version``; ``pipeline``: ``name``, ``config_sha256``;
* ``counts``: ``input``, ``output``, ``dropped`` (total), ``rejected``, ``dropped_by_reason``;
* ``steps``: ``name``, ``input``, ``output``, ``dropped`` (reason -> count), ``dropped_summary``;
* ``supply``: ``None`` or ``mode``, ``terms`` ((field, value) pairs, confidential fields as
  commitments, without the mode), ``permitted_uses``;
* ``licence``: ``None`` or ``expression``, ``use``, ``obligations``, ``attribution``,
  ``share_alike``, ``share_alike_licences``, ``registry_version``, ``hub_id``, ``hub_name``,
  ``licences`` (``licence``, ``records``, ``use``, ``open``, ``attribution``, ``share_alike``, ``hub``,
  ``registered``);
* ``out_of_scope``: why commercial use is out of scope, or ``""``;
* ``sources``: ``uri``, ``format``, ``records``, ``rejected``, ``sha256``, ``sha256_short``;
* ``provenance``: ``match``, ``license``, ``source_type``, ``evidence``, ``records``;
* ``languages``: ``code``, ``rows``, ``share`` (0-1), ``percent``;
* ``pii_ran``: whether a PII step ran; ``stage_sections``: ``title``, ``body`` (what the stages add);
* ``manifest_name``; ``default_body``: the built-in body, rendered (custom templates only).

Filters ``md`` (escape, e.g. before ``join``), ``code`` (a code span), ``num`` (``1,234``) and
``pct`` (``12.5%``), and the function ``table(header, rows, columns=None, code=())`` (a Markdown
table; rows are sequences, or mappings read by ``columns``; integers get thousands separators).
"""

from __future__ import annotations

import functools
import hashlib
import re
import signal
import threading
import traceback
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from jinja2 import (
    Environment,
    FunctionLoader,
    PackageLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
)
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from corpus_kit.errors import UsageError
from corpus_kit.governance.manifest import (
    MANIFEST_NAME,
    Manifest,
    PiiSummary,
    SourceRuleRecord,
    Supply,
    read_dataset_manifest,
)

CARD_NAME = "README.md"
LICENCE_NOTE_NAME = "LICENSE.md"
CARD_TEMPLATE = "card.md.j2"
LICENCE_TEMPLATE = "licence.md.j2"
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


def evidence_held(entry: SourceRuleRecord) -> str:
    """The evidence a sources.yaml entry carries, as the card shows it (contracts as commitments)."""
    held = []
    if entry.licence_sha256:
        held.append(f"licence document sha256:{entry.licence_sha256[:16]}")
    if entry.contract_sha256:
        held.append(f"contract commitment sha256:{entry.contract_sha256[:16]}")
    if entry.supplier_guarantee:
        held.append("supplier guarantee")
    if entry.collected_at or entry.collection_method:
        when = entry.collected_at.isoformat() if entry.collected_at else "date not given"
        held.append(
            f"collected {when}" + (f" ({entry.collection_method})" if entry.collection_method else "")
        )
    if entry.robots_txt is not None:
        held.append("robots.txt respected" if entry.robots_txt else "robots.txt NOT respected")
    return "; ".join(held) or "none recorded"


def public_supply_terms(supply: Supply | None) -> list[tuple[str, str]]:
    """The supply block as (field, shown value) pairs, with confidential fields committed."""
    if supply is None:
        return []
    shown = []
    for field, value in supply.model_dump(exclude_none=True, mode="json").items():
        if value in ([], ""):
            continue
        if field in ("classification", "registration"):
            continue  # their own card section
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
        # the Hub renders the prompt as Markdown: the conditions are escaped like the body
        extra["extra_gated_prompt"] = f"Access is conditional: {md(supply.conditions or 'see the card')}"
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


# --------------------------------------------------------------------------- Markdown escaping

_MD_BACKSLASHED = str.maketrans(
    {"\\": "\\\\", "|": "\\|", "`": "\\`", "*": "\\*", "[": "\\[", "]": "\\]", "~": "\\~"}
)
#: Characters that a backquoted code span cannot hold safely (or that need escaping in a table).
_NOT_FOR_CODE_SPAN = re.compile(r"[<>&\"'`|\r\n\v\f\x85\u2028\u2029]")
#: Line breaks (Markdown's, and the Unicode ones an editor may show as such): a value stays on its line.
_NEWLINES = re.compile(r"\r\n|[\r\n\v\f\x85\u2028\u2029]")
#: ``_`` that can open or close emphasis (not between two letters or digits, as in ``CN_ID_CARD``).
_EMPHASIS_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
#: What makes a line a heading, list item, quote or rule when a value begins it.
_BLOCK_START = re.compile(r"^([ \t]*)(#|[-+=]|\d+(?=[.)]))")


def md(value: object) -> Markup:
    """``value`` as Markdown text on one line: HTML-escaped; ``\\``, ``|``, backquotes, ``*``,
    ``[``, ``]``, ``~`` and emphasis ``_`` backslash-escaped; line breaks made spaces (a file name
    with a newline cannot start a ``## License`` section); a leading ``#``, ``-``, ``+``, ``=`` or
    ``1.`` escaped (the value cannot make its line a heading or a list item).

    Markup (a fragment built by a template or a stage) is trusted and returned as it is.
    """
    if hasattr(value, "__html__"):
        return Markup(value.__html__())
    text = _NEWLINES.sub(" ", str(escape(value)).translate(_MD_BACKSLASHED))
    text = _EMPHASIS_UNDERSCORE.sub(r"\\_", text)
    return Markup(_BLOCK_START.sub(_escape_block_start, text, count=1))


def _escape_block_start(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    return f"{indent}{marker}\\" if marker[0].isdigit() else f"{indent}\\{marker}"


def md_code(value: object) -> Markup:
    """A code span: backquotes when the value is plain, else ``<code>`` around the escaped value
    (in a backquoted span nothing can be escaped, so a backquote or pipe would break out)."""
    text = str(value)
    if text and not _NOT_FOR_CODE_SPAN.search(text):
        return Markup(f"`{text}`")
    return Markup("<code>") + md(_NEWLINES.sub(" ", text)) + Markup("</code>")


def _cell(value: object) -> Markup:
    if value is None:
        value = ""
    elif isinstance(value, int) and not isinstance(value, bool):
        value = f"{value:,}"
    return Markup(_NEWLINES.sub(" ", md(value)))


def md_table(
    header: Sequence[object],
    rows: Iterable[Sequence[object] | Mapping[str, object]],
    columns: Sequence[str] | None = None,
    code: Sequence[str | int] = (),
) -> Markup:
    """A Markdown table with every cell escaped (``|`` too) and kept on one line.

    Rows are sequences, or mappings read in the order of ``columns``. Integers get thousands
    separators, ``None`` is an empty cell; columns named (or numbered) in ``code`` are code spans.
    """
    lines = [
        "| " + " | ".join(_cell(cell) for cell in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for row in rows:
        if isinstance(row, Mapping):
            keys: Sequence[str | int] = list(columns) if columns is not None else list(row)
            cells = [row[key] for key in keys]  # type: ignore[index]
        else:
            cells = list(row)
            keys = columns if columns is not None else list(range(len(cells)))
        shown = [
            md_code(cell) if key in code else _cell(cell) for key, cell in zip(keys, cells, strict=False)
        ]
        lines.append("| " + " | ".join(shown) + " |")
    return Markup("\n".join(lines))


def _num(value: int | float) -> str:
    return f"{value:,}"


def _pct(value: float) -> str:
    return f"{value:.1%}"


_OPTIONS: dict[str, Any] = {
    "autoescape": True,
    "undefined": StrictUndefined,
    "finalize": md,  # every {{ value }}: escaped for Markdown (Markup passes)
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": True,
}


def _equip(env: Environment) -> Environment:
    env.filters.update(md=md, code=md_code, num=_num, pct=_pct)
    env.globals["table"] = md_table
    return env


@functools.cache
def card_environment() -> Environment:
    """The environment of the built-in card templates: Markdown escaping, undefined names fail."""
    return _equip(Environment(loader=PackageLoader("corpus_kit.catalog", "templates"), **_OPTIONS))


@functools.lru_cache(maxsize=32)
def _fragment_template(source: str) -> Template:
    return card_environment().from_string(source)


def render_card_fragment(template_source: str, **values: Any) -> Markup:
    """Render a Jinja2 string template with the card's escaping: Markdown a stage can put in a section."""
    return Markup(_fragment_template(template_source).render(**values))


# --------------------------------------------------------------------------- template variables


def _licence_context(manifest: Manifest) -> dict[str, Any] | None:
    licence = manifest.license
    if licence is None:
        return None
    obligations = [_USE_WORDS[licence.use]]
    if licence.attribution:
        obligations.append("attribution required")
    if licence.share_alike:
        obligations.append("share-alike: " + ", ".join(licence.share_alike_licences))
    return {
        "expression": licence.expression,
        "use": licence.use,
        "use_words": _USE_WORDS[licence.use],
        "obligations": "; ".join(obligations),
        "attribution": licence.attribution,
        "share_alike": licence.share_alike,
        "share_alike_licences": list(licence.share_alike_licences),
        "registry_version": licence.registry_version,
        "hub_id": licence.hub_id,
        "hub_name": licence.hub_name,
        "licences": [
            {
                "licence": key,
                "records": entry.records,
                "use": entry.use,
                "open": entry.open,
                "attribution": entry.attribution,
                "share_alike": entry.share_alike,
                "hub": entry.hub,
                "registered": entry.registered,
            }
            for key, entry in licence.licences.items()
        ],
    }


def _out_of_scope(manifest: Manifest) -> str:
    licence, supply = manifest.license, manifest.supply
    if licence is not None and licence.use != "commercial":
        return f"commercial use ({_USE_WORDS[licence.use]} under the licences above)"
    if supply is not None and not supply.commercial:
        # as the Croissant offer reads it: commercial use is out unless the terms grant it
        how = "excluded by" if supply.commercial_use is False else "not granted by"
        return f"commercial use ({how} the supply terms)"
    return ""


def _stage_sections(sections: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    shown = []
    for title, body in sections:
        # a str body is text (escaped); Markup from the stage is Markdown, used as it is
        shown.append({"title": title, "body": body.rstrip()})
    return shown


def card_context(
    manifest: Manifest, stage_sections: Sequence[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """The template variables: plain values only (no model objects, no confidential supply fields)."""
    counts = manifest.counts
    supply = manifest.supply
    total_languages = sum(manifest.languages.values()) or 1
    sections = stage_card_sections(manifest) if stage_sections is None else stage_sections
    sections = [*sections, classification_card_section(manifest)]
    return {
        "dataset": {
            "name": manifest.dataset.name,
            "version": manifest.dataset.version,
            "description": manifest.dataset.description,
            "created": manifest.dataset.created_at.isoformat(),
        },
        "rows": counts.output,
        "files": len(manifest.files),
        "bytes": sum(f.bytes for f in manifest.files),
        "corpus_kit_version": manifest.pipeline.versions.get("corpus-kit", "?"),
        "pipeline": {"name": manifest.pipeline.name, "config_sha256": manifest.pipeline.config_sha256},
        "counts": {
            "input": counts.input,
            "output": counts.output,
            "dropped": sum(counts.dropped.values()),
            "rejected": counts.rejected,
            "dropped_by_reason": dict(counts.dropped),
        },
        "steps": [
            {
                "name": step.name,
                "input": step.input,
                "output": step.output,
                "dropped": dict(step.dropped),
                "dropped_summary": ", ".join(f"{k}: {v:,}" for k, v in step.dropped.items()),
            }
            for step in manifest.pipeline.steps
        ],
        "supply": None
        if supply is None
        else {
            "mode": supply.mode.value,
            "terms": [(k, v) for k, v in public_supply_terms(supply) if k != "mode"],
            "permitted_uses": list(supply.permitted_uses),
        },
        "licence": _licence_context(manifest),
        "out_of_scope": _out_of_scope(manifest),
        "sources": [
            {
                "uri": s.uri,
                "format": s.format,
                "records": s.records,
                "rejected": s.rejected,
                "sha256": s.sha256,
                "sha256_short": f"{s.sha256[:16]}…",
            }
            for s in manifest.sources
        ],
        "provenance": [
            {
                "match": p.match,
                "license": p.license,
                "source_type": p.source_type,
                "evidence": p.evidence,
                "held": evidence_held(p),
                "records": p.records,
            }
            for p in manifest.provenance
        ],
        "languages": [
            {"code": k, "rows": v, "share": v / total_languages, "percent": f"{v / total_languages:.1%}"}
            for k, v in manifest.languages.items()
        ],
        "pii_ran": manifest.pii is not None,
        "stage_sections": _stage_sections(sections),
        "manifest_name": MANIFEST_NAME,
    }


# --------------------------------------------------------------------------- stage sections

_PII_CARD = (
    "Scrubbed with the {{ operator|code }} operator in {{ documents|num }} document(s): "
    "{% for entity, count in entities %}{{ entity }} {{ count|num }}{{ ', ' if not loop.last }}"
    "{% else %}none found{% endfor %}. "
    "Checked: {{ checked|map('md')|join(', ') }} (rules {{ rules_version }}).\n\n"
    "{% if inherited %}These rows were scrubbed by the pii steps of {{ inherited|map('md')|join(', ') }} "
    "(a sample: entities were not counted again).\n\n{% endif %}"
    "{{ pictures|md }}\n\n"
    "Not detected automatically: person names, postal addresses{{ ', text inside pictures' if not "
    "pictures_screened }}, and personal data in audio."
)


def pii_card_section(pii: PiiSummary, manifest: Manifest) -> tuple[str, str]:
    """The PII stage's card section: how personal data was scrubbed, and what is not detected."""
    from corpus_kit.stages.pii.sections import pictures_sentence

    body = render_card_fragment(
        _PII_CARD,
        operator=pii.operator,
        documents=pii.documents,
        entities=list(pii.entities.items()),
        checked=list(pii.checked),
        rules_version=pii.rules_version,
        inherited=list(pii.inherited_from),
        pictures=pictures_sentence(pii.images),
        pictures_screened=pii.images is not None and pii.images.mode != "off" and pii.images.screened > 0,
    )
    return "Personal and Sensitive Information", body


_CLASSIFICATION_CARD = (
    "Grade (GB/T 43697-2024): {% if grade_declared %}**{{ grade }}**{% if level %}, general level "
    "{{ level }}{% endif %}{% else %}not declared: treated as **{{ grade }}** (就高从严){% endif %}"
    "{% if industry %}; industry {{ industry|md }}{% endif %}"
    "{% if basis %}; basis: {{ basis|md }}{% endif %}.\n\n"
    "{% if registration %}Registration: {{ registration.code|md }} ({{ registration.registry|md }}, "
    "{{ registration.date }}).\n\n{% endif %}"
    "Personal information: {% if screened %}scanned and {{ 'de-identified' if deidentified else "
    "'not de-identified' }}; found {% for kind, count in entities %}{{ kind }} {{ count|num }}"
    "{{ ', ' if not loop.last }}{% else %}none{% endfor %}{% else %}not scanned{% endif %}. "
    "Sensitive categories: declared {{ declared|join(', ') if declared else 'none' }}; found "
    "{% for category, count in sensitive %}{{ category }} {{ count|num }}{{ ', ' if not loop.last }}"
    "{% else %}none{% endfor %}. Consent basis: {{ consent or 'not declared' }}. Pictures and audio "
    "{{ 'were' if media_screened else 'were not' }} screened for personal data."
)


def classification_card_section(manifest: Manifest) -> tuple[str, str]:
    """Grade, registration and personal-information status: what a filing reviewer asks first."""
    from corpus_kit.governance.classification import effective_grade, personal_information

    supply = manifest.supply
    classification = supply.classification if supply is not None else None
    grade, declared = effective_grade(classification)
    found = manifest.personal_information or personal_information(manifest.pii, classification)
    body = render_card_fragment(
        _CLASSIFICATION_CARD,
        grade=grade,
        grade_declared=declared,
        level=classification.general_level if classification else None,
        industry=classification.industry if classification else None,
        basis=classification.basis if classification else None,
        registration=supply.registration if supply is not None else None,
        screened=found.screened,
        deidentified=found.deidentified,
        entities=list(found.entities.items()),
        sensitive=list(found.sensitive.items()),
        declared=found.declared_sensitive,
        consent=classification.pi.consent if classification and classification.pi else None,
        media_screened=found.media_screened,
    )
    return "Classification and Personal Information", body


def stage_card_sections(manifest: Manifest) -> list[tuple[str, str]]:
    """The sections the manifest's stages add (each stage's ``card_section``), in pipeline order.

    Stages are looked up in the registry by step name; a plugin that is not installed here adds
    nothing (its section stays in the manifest as data).
    """
    from corpus_kit.governance.assemble import manifest_sections

    rendered = (stage.card_section(section, manifest) for _, stage, section in manifest_sections(manifest))
    sections = [section for section in rendered if section is not None]
    if manifest.sample is not None:  # written by corpus-kit sample, whose step is not a pipeline stage
        from corpus_kit.governance.draw import sample_card_section

        sections.insert(0, sample_card_section(manifest.sample))
    return sections


# --------------------------------------------------------------------------- rendering


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _template_line(error: BaseException, filename: str) -> int | None:
    """The template line an error was raised at: Jinja puts template frames in the traceback."""
    if isinstance(error, TemplateSyntaxError) and error.lineno:
        return error.lineno
    lines = [
        frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == filename
    ]
    return lines[-1] if lines else None


#: Bounds on a user's card template: its size, the card it renders, the time it may take, and the
#: size of a value one ``*`` may build (``{{ 'x' * 10**10 }}``).
MAX_TEMPLATE_BYTES = 1024 * 1024
MAX_CARD_CHARS = 16 * 1024 * 1024
TEMPLATE_SECONDS = 10.0
_MAX_PRODUCT = 1024 * 1024


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's sandbox, whose ``range`` is already capped, with ``*`` and ``**`` bounded too."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64:
            raise SecurityError(f"exponent {right} is too large in a card template")
        if operator == "*":
            for value, times in ((left, right), (right, left)):
                repeated = isinstance(value, (str, list, tuple)) and isinstance(times, int)
                if repeated and len(value) * times > _MAX_PRODUCT:
                    raise SecurityError("a value repeated with * would be too large in a card template")
        return super().call_binop(context, operator, left, right)


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (SIGALRM: the main thread on Unix; elsewhere no limit)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"rendering took more than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _render_bounded(template: Template, context: Mapping[str, Any]) -> str:
    parts: list[str] = []
    size = 0
    with _time_limit(TEMPLATE_SECONDS):
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_CARD_CHARS:
                raise SecurityError(f"the card would be larger than {MAX_CARD_CHARS:,} characters")
            parts.append(chunk)
    return "".join(parts)


def render_card_template(path: str | Path, context: Mapping[str, Any]) -> str:
    """Render a user's card template in the sandbox, bounded in size and time; any problem is one
    ``UsageError`` line."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_TEMPLATE_BYTES:
            raise UsageError(f"{path}: a card template may hold at most {MAX_TEMPLATE_BYTES:,} bytes")
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: the card template is not UTF-8 text") from None
    except OSError as error:
        raise UsageError(f"{path}: cannot read the card template ({error.strerror or error})") from None
    filename = str(path)
    name = path.name
    # only this one template: {% include %} / {% extends %} of anything else is "not found"
    loader = FunctionLoader(lambda wanted: (source, filename, lambda: True) if wanted == name else None)
    env = _equip(_BoundedSandbox(loader=loader, **_OPTIONS))
    try:
        return _render_bounded(env.get_template(name), context)
    except Exception as error:  # the template is user code: whatever it raises is its error
        line = _template_line(error, filename)
        where = f"{path}:{line}" if line else f"{path}"
        if isinstance(error, TemplateNotFound):
            message = f"{error.name} not found (a card template cannot include or extend other files)"
        elif isinstance(error, TemplateError):
            message = str(error.message or error)
        else:
            message = f"{type(error).__name__}: {error}"
        raise UsageError(f"{where}: card template error: {_one_line(message)}") from None


def card_body(
    manifest: Manifest,
    stage_sections: Sequence[tuple[str, str]] | None = None,
    template: str | Path | None = None,
) -> str:
    """The Markdown body, from the manifest only.

    ``stage_sections`` ((title, Markdown body) pairs) go after the processing section; ``None``
    means :func:`stage_card_sections`. ``template``: a user's template file instead of the
    built-in one, rendered in the sandbox (it also gets ``default_body``).
    """
    context = card_context(manifest, stage_sections)
    default_body = card_environment().get_template(CARD_TEMPLATE).render(context)
    if template is None:
        return default_body
    return render_card_template(template, {**context, "default_body": Markup(default_body)})


def licence_note(manifest: Manifest) -> str:
    """``LICENSE.md`` for cards whose Hub licence is ``other``: every licence and what it requires."""
    return (
        card_environment()
        .get_template(LICENCE_TEMPLATE)
        .render(dataset={"name": manifest.dataset.name}, licence=_licence_context(manifest))
    )


def write_card(
    dataset_dir: str | Path,
    languages: list[str] | None = None,
    task_categories: list[str] | None = None,
    stage_sections: Sequence[tuple[str, str]] | None = None,
    template: str | Path | None = None,
) -> list[Path]:
    """Write ``README.md`` (and ``LICENSE.md`` when the Hub licence is ``other``); returns the paths.

    ``stage_sections=None`` uses :func:`stage_card_sections`; a sequence (even empty) replaces
    them. ``template`` is a user's body template (see the module docstring).
    """
    from huggingface_hub import DatasetCard

    from corpus_kit.utils import atomic_write_bytes

    dataset_dir = Path(dataset_dir)
    manifest = read_dataset_manifest(dataset_dir)
    body = card_body(manifest, stage_sections, template)  # before anything is written
    data = build_card_data(dataset_dir, manifest, languages, task_categories)
    card = DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{body}")
    written = [dataset_dir / CARD_NAME]
    atomic_write_bytes(written[0], str(card).encode())
    if manifest.license is not None and manifest.license.hub_id == "other":
        written.append(dataset_dir / LICENCE_NOTE_NAME)
        atomic_write_bytes(written[1], licence_note(manifest).encode())
    return written
