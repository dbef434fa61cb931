"""Rules and validators of the PII recognizers, configured from ``rules/pii/*.yaml``.

The presidio recognizers built from them live in :mod:`corpus_kit.stages.pii.presidio`, which
imports presidio (~0.8 s): this module does not, so that validating a pipeline stays fast.

presidio has no Chinese recognizers and its regexes anchor on ``\\b``, which never fires between a
Chinese character and a digit. Ours use look-arounds, validate checksums (GB 11643 ID cards,
GB 32100 credit codes, Luhn, HKID, Taiwan ID, IBAN mod 97), score context words found in the raw
characters before a match (no NLP model needed: presidio's NoOp engine has no lemmas), and drop
matches preceded by words that mean "not PII" (``version 10.2.3.4``).

Patterns of a rule file are compiled by :func:`compile_rule_pattern`: the bundled ones on ``re``
(each is bounded and reviewed), any other one on RE2 when its syntax allows (no backtracking:
linear whatever the text), else on ``regex`` under a time bound, after :func:`pattern_problem`
refused the shapes that backtrack catastrophically (``(\\d+)+$``). Every match found is spent
from the document's :class:`ScanBudget`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

try:  # the parser behind ``re``, to inspect a pattern's repetitions before it ever runs
    from re import _parser as _sre_parse  # type: ignore[attr-defined]  # Python >= 3.11
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre_parse

from corpus_kit.resources import resource_path
from corpus_kit.utils import load_yaml_file

# --- validators: True = valid (score 1.0), False = drop, None = keep the pattern's score --------
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# province-level codes, incl. 71 (Taiwan) and 81-83 (HK/MO/TW residence permits)
_PROVINCES = frozenset(
    {
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
    }
    | {
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
        "83",
        "91",
    }
)
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_TW_CODES = (
    10,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    34,
    18,
    19,
    20,
    21,
    22,
    35,
    23,
    24,
    25,
    26,
    27,
    28,
    29,
    32,
    30,
    31,
    33,
)
_TW_LETTERS = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", _TW_CODES, strict=True))
_NOT_DIGIT = re.compile(r"\D")
_OCTET = re.compile(r"25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]")
# 19 digits and a separator between each two: anything longer is no card (and a user pattern can
# match megabytes: the validators below never walk such a value character by character)
_MAX_CARD_CHARS = 40


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= date.today()


def looks_like_id18(digits: str) -> bool:
    """18 characters with a province code and a real birth date: ID-card shaped (checksum aside)."""
    return (
        len(digits) == 18
        and digits[:17].isdigit()
        and digits[:2] in _PROVINCES
        and _real_date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    )


def cn_id_card(value: str, has_context: bool) -> bool:
    value = value.upper()
    if len(value) == 18:
        if not looks_like_id18(value):
            return False
        total = sum(int(char) * weight for char, weight in zip(value[:17], _ID_WEIGHTS, strict=True))
        return _ID_CHECK[total % 11] == value[17]
    if len(value) == 15 and value.isdigit():
        return value[:2] in _PROVINCES and _real_date(
            1900 + int(value[6:8]), int(value[8:10]), int(value[10:12])
        )
    return False


def _org_code_valid(code: str) -> bool:
    values = [int(char) if char.isdigit() else ord(char) - 55 for char in code[:8]]
    check = (11 - sum(v * w for v, w in zip(values, _ORG_WEIGHTS, strict=True)) % 11) % 11
    return ("X" if check == 10 else str(check)) == code[8]


def cn_uscc(value: str, has_context: bool) -> bool:
    value = value.upper()
    if len(value) != 18 or any(char not in _USCC_ALPHABET for char in value):
        return False
    total = sum(
        _USCC_ALPHABET.index(char) * weight for char, weight in zip(value[:17], _USCC_WEIGHTS, strict=True)
    )
    if _USCC_ALPHABET[(31 - total % 31) % 31] != value[17]:
        return False
    if value[:17].isdigit():
        # a digit string passes mod 31 by chance 1 time in 31 (ID numbers ending in X, order
        # numbers): require the embedded organisation code too, and context for ID-card-shaped ones
        return _org_code_valid(value[8:17]) and (has_context or not looks_like_id18(value))
    return True


def luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        number = int(char)
        if index % 2:
            number = number * 2 - 9 if number > 4 else number * 2
        total += number
    return total % 10 == 0


def _card_digits(value: str) -> str:
    return _NOT_DIGIT.sub("", value)


def _card_grouping_ok(value: str) -> bool:
    """Separators, if any, are used consistently (1234 5678 ..., not 12-345 67)."""
    separators = {char for char in value if not char.isdigit()}
    return len(separators) <= 1


def credit_card(value: str, has_context: bool) -> bool:
    if len(value) > _MAX_CARD_CHARS:
        return False
    digits = _card_digits(value)
    if not 12 <= len(digits) <= 19 or not _card_grouping_ok(value) or not luhn(digits):
        return False
    if not card_brands().issued(digits):
        return False
    return has_context or not looks_like_id18(digits)


def bank_card(value: str, has_context: bool) -> bool | None:
    if len(value) > _MAX_CARD_CHARS:
        return False
    digits = _card_digits(value)
    if not 16 <= len(digits) <= 19 or not _card_grouping_ok(value) or not luhn(digits):
        return False
    if has_context:
        return True
    if looks_like_id18(digits):
        return False
    # UnionPay (62) and domestic (9) cards are scrubbed without context; other numbers need it
    return True if digits[0] == "9" or digits[:2] == "62" else None


def hk_id(value: str, has_context: bool) -> bool:
    compact = re.sub(r"[\s()（）]", "", value).upper()
    prefix, body, check = compact[:-7], compact[-7:-1], compact[-1]
    if not (1 <= len(prefix) <= 2 and prefix.isalpha() and body.isdigit()):
        return False
    padded = prefix.rjust(2)
    values = [36 if char == " " else ord(char) - 55 for char in padded] + [int(d) for d in body]
    remainder = sum(v * w for v, w in zip(values, (9, 8, 7, 6, 5, 4, 3, 2), strict=True)) % 11
    expected = "0" if remainder == 0 else "A" if remainder == 1 else str(11 - remainder)
    return check == expected


def tw_id(value: str, has_context: bool) -> bool:
    value = value.upper()
    code = _TW_LETTERS.get(value[0])
    if code is None or not value[1:].isdigit() or len(value) != 10:
        return False
    digits = [int(d) for d in value[1:]]
    total = (
        code // 10 + (code % 10) * 9 + sum(d * w for d, w in zip(digits[:8], range(8, 0, -1), strict=True))
    )
    return (total + digits[8]) % 10 == 0


def iban(value: str, has_context: bool) -> bool:
    compact = value.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(char, 36)) for char in rearranged)
    return int(number) % 97 == 1


def phone(value: str, has_context: bool) -> bool | None:
    digits = _card_digits(value)
    if value.lstrip().startswith(("+86", "0086")):
        digits = digits[2:] if digits.startswith("86") else digits[4:]
    if len(digits) == 11 and digits[0] == "1":
        return digits[1] in "3456789" or None
    return 7 <= len(digits) <= 15 or False


def email(value: str, has_context: bool) -> bool:
    local, _, domain = value.rpartition("@")
    return bool(local) and ".." not in value and not domain.startswith("-")


def ip_address(value: str, has_context: bool) -> bool:
    parts = value.split(".")
    if len(parts) == 4 and all(_OCTET.fullmatch(part) for part in parts):
        return True  # what ipaddress would say, at a fraction of its cost (logs hold thousands)
    try:
        parsed = ipaddress.ip_address(value)
    except ValueError:
        return False
    if parsed.version == 6:
        # "::", "1::" and the like are text, not addresses
        return sum(1 for group in value.split(":") if group) >= 2
    return True


# --- payment card brands: IIN ranges and lengths, from rules/pii/card_brands.yaml ----------------
class CardBrandConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    iin: list[str] = Field(min_length=1, max_length=100)
    lengths: list[int | str] = Field(min_length=1, max_length=20)


class CardBrandRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    brands: list[CardBrandConfig] = Field(max_length=500)


_IIN = re.compile(r"(\d{1,8})(?:-(\d{1,8}))?")
_LENGTHS = re.compile(r"(\d{1,2})(?:-(\d{1,2}))?")


class CardBrands:
    """Which card numbers a scheme issues: ``(prefix width, lowest, highest, lengths)`` ranges."""

    def __init__(self, rules: CardBrandRules, source: str):
        self.version = rules.version
        self.names = [brand.name for brand in rules.brands]
        self.ranges: list[tuple[int, int, int, frozenset[int]]] = []
        for brand in rules.brands:
            lengths: set[int] = set()
            for item in brand.lengths:
                found = _LENGTHS.fullmatch(str(item))
                low, high = (int(found.group(1)), int(found.group(2) or found.group(1))) if found else (0, 0)
                if not 12 <= low <= high <= 19:
                    raise ValueError(
                        f"{source}: {brand.name}: length {item!r} is not 12-19 or a range of them"
                    )
                lengths.update(range(low, high + 1))
            for item in brand.iin:
                found = _IIN.fullmatch(item)
                if found is None or (found.group(2) and len(found.group(2)) != len(found.group(1))):
                    raise ValueError(
                        f"{source}: {brand.name}: IIN {item!r} is not a prefix or a range of prefixes"
                    )
                low, high = int(found.group(1)), int(found.group(2) or found.group(1))
                if low > high:
                    raise ValueError(f"{source}: {brand.name}: IIN range {item!r} runs backwards")
                self.ranges.append((len(found.group(1)), low, high, frozenset(lengths)))

    def issued(self, digits: str) -> bool:
        """True when some brand issues numbers of this length starting with these digits."""
        length = len(digits)
        return any(
            length in lengths and low <= int(digits[:width]) <= high
            for width, low, high, lengths in self.ranges
        )


@lru_cache(maxsize=1)
def card_brands() -> CardBrands:
    """The bundled card brands (``rules/pii/card_brands.yaml``), read once per process."""
    path = resource_path("rules", "pii", "card_brands.yaml")
    return CardBrands(CardBrandRules.model_validate(load_yaml_file(path, "card brand rules")), str(path))


VALIDATORS: dict[str, Callable[[str, bool], bool | None]] = {
    "cn_id_card": cn_id_card,
    "cn_uscc": cn_uscc,
    "credit_card": credit_card,
    "bank_card": bank_card,
    "hk_id": hk_id,
    "tw_id": tw_id,
    "iban": iban,
    "phone": phone,
    "email": email,
    "ip_address": ip_address,
}


VALIDATOR_ENTRY_POINT_GROUP = "corpus_kit.pii_validators"
Validator = Callable[[str, bool], bool | None]


def register_pii_validator(name: str, function: Validator, *, replace: bool = False) -> None:
    """Make ``validator: NAME`` usable in PII rule files.

    ``function(value, has_context) -> True`` (a real value), ``False`` (a look-alike: not PII) or
    ``None`` (undecided: kept only with a context word). Installed packages can offer validators
    through the ``corpus_kit.pii_validators`` entry-point group instead.
    """
    if name in VALIDATORS and not replace:
        raise ValueError(f"PII validator {name!r} exists; pass replace=True to override it")
    VALIDATORS[name] = function


def _validator_entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {entry.name: entry for entry in entry_points(group=VALIDATOR_ENTRY_POINT_GROUP)}


def validator_function(name: str) -> Validator | None:
    """The validator called ``name``: built-in, registered, or from an installed entry point."""
    function = VALIDATORS.get(name)
    if function is None:
        entry = _validator_entry_points().get(name)
        if entry is None:
            return None
        function = VALIDATORS[name] = entry.load()
    return function


# --- configuration --------------------------------------------------------------------------------
class PatternConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    regex: str
    score: float = Field(ge=0, le=1)


class EntityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    priority: int = 0
    validator: str | None = None
    context: list[str] = Field(default_factory=list)
    exclude_context: list[str] = Field(default_factory=list)
    exclude_context_after: list[str] = Field(default_factory=list)
    context_boost: float = Field(0.35, ge=0, le=1)
    patterns: list[PatternConfig]


class PiiRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    score_threshold: float = Field(0.5, ge=0, le=1)
    context_window: int = Field(24, ge=0, le=200)
    entities: dict[str, EntityConfig]


# A rule file is data a user may take from anywhere: its size bounds the work of every match
# (patterns are tried on every window, context words looked up around every match).
MAX_PATTERNS = 256
MAX_PATTERN_CHARS = 1024
MAX_WORDS = 256
MAX_WORD_CHARS = 64
# nested repetition, bounded, explored by backtracking: beyond this many steps per position it is
# refused (the bundled e-mail pattern, the largest, has 8 x 63)
_MAX_NESTED_STEPS = 1000
# a value longer than this is no personal data any validator knows: not handed to validators
MAX_VALIDATED_CHARS = 1024
# the time bound of a pattern that runs on the backtracking engine: per call, on top of a second
# per million characters of text (a linear pattern scans tens of MB/s)
_FALLBACK_SECONDS = 0.5
_FALLBACK_SECONDS_PER_CHAR = 1e-6


class ScanBudgetExceeded(Exception):
    """A document's scan went over its budget; ``reason`` is the drop reason (no text, no value)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ScanBudget:
    """What one document's scan may still spend: candidate matches, shared by every recognizer."""

    def __init__(self) -> None:
        self.matches = 0

    def reset(self, matches: int) -> None:
        self.matches = matches

    def spend(self) -> None:
        self.matches -= 1
        if self.matches < 0:
            raise ScanBudgetExceeded(TOO_DENSE)


TOO_DENSE = "pii.too_dense"
TIMEOUT = "pii.timeout"


class MatchLike(Protocol):
    def span(self) -> tuple[int, int]: ...

    def group(self) -> str: ...


class RulePattern:
    """A compiled rule pattern; ``engine`` is ``re`` (bundled), ``re2`` or ``regex`` (time bound)."""

    def __init__(self, regex: str, engine: str, compiled: Any):
        self.regex = regex
        self.engine = engine
        self._compiled = compiled
        # the compiled pattern's own method where no bound is needed: it is called per pattern and
        # per text, and a wrapper showed in the profile of normal text
        self.finditer: Callable[[str], Iterator[MatchLike]] = (
            self._bounded if engine == "regex" else compiled.finditer
        )

    def _bounded(self, text: str) -> Iterator[MatchLike]:
        # ``regex`` checks its timeout while it backtracks, from the first call on: the time the
        # caller spends between two matches counts too, which only makes the bound stricter
        timeout = _FALLBACK_SECONDS + _FALLBACK_SECONDS_PER_CHAR * len(text)
        try:
            yield from self._compiled.finditer(text, timeout=timeout)
        except TimeoutError:
            raise ScanBudgetExceeded(TIMEOUT) from None


def _re2_options() -> Any:
    import re2  # type: ignore[import-not-found,unused-ignore]

    options = re2.Options()
    options.log_errors = False  # RE2 writes to stderr otherwise: a refused pattern is normal here
    return options


def _compile_re2(regex: str) -> Any | None:
    """The pattern on RE2, or ``None`` when RE2 is not installed or lacks its syntax (look-arounds,
    back-references)."""
    try:
        import re2  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    try:
        return re2.compile(regex, _re2_options())
    except re2.error:
        return None


def _repeats(tree: Any) -> Iterator[tuple[int, int, Any]]:
    """Every repetition in a parsed pattern, outermost first: ``(min, max, body)``."""
    for op, argument in tree:
        name = str(op)
        if name in {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}:
            low, high, body = argument
            yield low, high, body
            yield from _repeats(body)
        elif name == "SUBPATTERN":
            yield from _repeats(argument[-1])
        elif name == "BRANCH":
            for alternative in argument[1]:
                yield from _repeats(alternative)
        elif name in {"ASSERT", "ASSERT_NOT"}:
            yield from _repeats(argument[1])
        elif name == "ATOMIC_GROUP":
            yield from _repeats(argument)
        elif name == "GROUPREF_EXISTS":
            for branch in argument[1:]:
                if branch is not None:
                    yield from _repeats(branch)


def _has_variable_branch(tree: Any) -> bool:
    for op, argument in tree:
        name = str(op)
        if name == "BRANCH" and len({alternative.getwidth() for alternative in argument[1]}) > 1:
            return True
        if name == "SUBPATTERN" and _has_variable_branch(argument[-1]):
            return True
    return False


def pattern_problem(regex: str) -> str | None:
    """Why ``regex`` could backtrack catastrophically on a backtracking engine, or ``None``.

    Refused: a repetition inside a repetition where the inner one can match more than one width
    and either is unbounded (``(\\d+)+``, ``(a*)*``, ``(\\d{1,3})+``) or their bounds multiply past
    a thousand; an unbounded repetition over alternatives of different widths (``(a|aa)+``).
    """
    unbounded = _sre_parse.MAXREPEAT
    for _low, high, body in _repeats(_sre_parse.parse(regex)):
        for inner_low, inner_high, _ in _repeats(body):
            if inner_low == inner_high:
                continue
            if high == unbounded or inner_high == unbounded or high * inner_high > _MAX_NESTED_STEPS:
                return "a variable repetition inside another repetition can backtrack without end"
        if high == unbounded and _has_variable_branch(body):
            return "an unbounded repetition of alternatives of different widths can backtrack without end"
    return None


def compile_rule_pattern(regex: str, bundled: bool) -> RulePattern:
    """``regex`` on the engine it is safe on (see the module's notes); ``ValueError`` when none is."""
    if len(regex) > MAX_PATTERN_CHARS:
        raise ValueError(f"the regex has {len(regex)} characters; at most {MAX_PATTERN_CHARS}")
    try:
        compiled = re.compile(regex)
    except (re.error, RecursionError, OverflowError) as error:
        raise ValueError(f"invalid regex ({error})") from None
    if bundled:
        return RulePattern(regex, "re", compiled)
    on_re2 = _compile_re2(regex)
    if on_re2 is not None:
        return RulePattern(regex, "re2", on_re2)
    try:
        problem = pattern_problem(regex)
    except RecursionError:
        problem = "groups nested too deeply to check"
    if problem is not None:
        raise ValueError(f"{problem}; bound it ({{1,20}} rather than +) or drop the look-arounds for RE2")
    import regex as regex_engine

    return RulePattern(regex, "regex", regex_engine.compile(regex))


@lru_cache(maxsize=1)
def bundled_patterns() -> frozenset[str]:
    """The regexes of the bundled rule file: reviewed, run on ``re`` as they are."""
    path = resource_path("rules", "pii", "default.yaml")
    rules = PiiRules.model_validate(load_yaml_file(path, "PII rules"))
    return frozenset(pattern.regex for entity in rules.entities.values() for pattern in entity.patterns)


def _check_sizes(rules: PiiRules, source: str) -> None:
    patterns = sum(len(entity.patterns) for entity in rules.entities.values())
    if patterns > MAX_PATTERNS:
        raise ValueError(f"{source}: {patterns} patterns; at most {MAX_PATTERNS}")
    for name, entity in rules.entities.items():
        for field in ("context", "exclude_context", "exclude_context_after"):
            words = getattr(entity, field)
            if len(words) > MAX_WORDS:
                raise ValueError(f"{source}: {name}.{field} has {len(words)} words; at most {MAX_WORDS}")
            if any(len(word) > MAX_WORD_CHARS for word in words):
                raise ValueError(
                    f"{source}: {name}.{field}: a word is longer than {MAX_WORD_CHARS} characters"
                )


def load_pii_rules(path: str | Path | None = None) -> PiiRules:
    """Read a PII rule file (default ``rules/pii/default.yaml``) and check its validators and regexes."""
    path = Path(path) if path else resource_path("rules", "pii", "default.yaml")
    rules = PiiRules.model_validate(load_yaml_file(path, "PII rules"))
    _check_sizes(rules, str(path))
    bundled = bundled_patterns()
    for entity, config in rules.entities.items():
        if config.validator is not None and validator_function(config.validator) is None:
            known = sorted({*VALIDATORS, *_validator_entry_points()})
            raise ValueError(f"{path}: {entity}.validator {config.validator!r} is not one of {known}")
        for pattern in config.patterns:
            try:
                compile_rule_pattern(pattern.regex, pattern.regex in bundled)
            except ValueError as error:
                raise ValueError(f"{path}: {entity}.{pattern.name}: {error}") from None
    return rules


@lru_cache(maxsize=4)
def cached_pii_rules(path: str | None) -> PiiRules:
    """:func:`load_pii_rules`, once per process and path."""
    return load_pii_rules(path)


def prescan_covers(rules: PiiRules) -> bool:
    """True when every pattern of ``rules`` is one of the bundled rules' patterns, which the PII
    stage's pre-scan is built for; a rule file with other patterns is analysed on whole texts."""
    bundled = {
        pattern.regex for entity in cached_pii_rules(None).entities.values() for pattern in entity.patterns
    }
    return all(pattern.regex in bundled for entity in rules.entities.values() for pattern in entity.patterns)


def exclusion_regex(words: list[str]) -> re.Pattern[str] | None:
    """Matches when the text just before a value ends with one of ``words`` (whole ASCII words)."""
    if not words:
        return None
    parts = [(r"(?<![A-Za-z])" if word[:1].isascii() else "") + re.escape(word.lower()) for word in words]
    return re.compile(r"(?:" + "|".join(parts) + r")\s*[:：]?\s*$")
