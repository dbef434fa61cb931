"""Dedup settings: ``rules/dedup.yaml`` defaults, overridden by step parameters or CLI options."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from corpus_kit.errors import UsageError
from corpus_kit.resources import resource_path
from corpus_kit.utils import load_yaml_file, parse_size

DedupMode = Literal["exact", "near", "both"]
MODES = ("exact", "near", "both")
KeepPolicy = Literal["first", "longest", "best_media", "source_priority"]
KEEP_POLICIES = ("first", "longest", "best_media", "source_priority")
VerifyMode = Literal["exact", "estimate"]
VERIFY_MODES = ("exact", "estimate")


def estimate_slack(num_perm: int) -> float:
    """How far below the threshold a candidate's MinHash estimate may be and still be verified exactly.

    Seven times the estimate's largest standard deviation (0.5 / sqrt(num_perm), at Jaccard 0.5):
    0.22 with 256 bins, where a pair at a 0.8 threshold scores that low with probability ~1e-13
    (binomial tail; docs/dedup.md). Candidates further below are not read back.
    """
    return 3.5 / num_perm**0.5


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """Probability that a pair with this Jaccard similarity shares at least one LSH band."""
    return 1.0 - (1.0 - similarity**rows) ** bands


def derive_bands_rows(threshold: float, num_perm: int, recall: float, margin: float) -> tuple[int, int]:
    """Most rows (fewest chance candidates) whose S-curve still catches ``threshold - margin``.

    "Catches" means with probability ``recall`` (rules/dedup.yaml: 0.995 at 0.05 below the threshold).
    """
    target = max(threshold - margin, 0.01)
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if candidate_probability(target, bands, rows) >= recall:
            best = (bands, rows)
    return best


# Two images whose pHashes differ in at most this many of the 64 bits are the same picture.
# Measured on the synthetic set of tests/test_media_hash.py (40 pictures, each published as a q95
# JPEG, with 9 copies: PNG, JPEG q30, 50 % / 75 % / 130 % resizes, +-10 % brightness, WebP q60,
# double recompression): copies are 0-4 bits from their original (mean 0.4) and 2-3 % crops up
# to 6; different pictures are 16-44 bits apart (mean 31; the minimum is 12 over 400 pictures).
# pHash sets exactly 32 bits, so distances are even. 10 sits in the gap with margin both ways and
# is the usual pHash near-duplicate cut-off for real photographs, whose copies drift further
# (crops, overlays, colour grading). The price is false matches at scale: two unrelated hashes
# fall within 10 bits with probability ~1e-7 if independent (more for similar photos), i.e.
# about 100 false pairs per 100 000 images; a stricter run can pass a lower threshold.
DEFAULT_IMAGE_HAMMING: int = 10


@dataclass(frozen=True)
class DedupConfig:
    mode: DedupMode = "both"
    threshold: float = 0.8
    num_perm: int = 256
    bands: int = 51
    rows: int = 5
    ngram_unspaced: int = 2
    ngram_spaced: int = 2
    seed: int = 1
    media: bool = True
    image_hamming: int = DEFAULT_IMAGE_HAMMING
    batch_bytes: int = 1024 * 1024
    fold_script: bool = True
    verify: VerifyMode = "exact"
    keep: KeepPolicy = "first"
    source_priority: tuple[str, ...] = ()
    against: tuple[str, ...] = ()

    def survivor_rule(self) -> str:
        """The survivor policy in words, for the manifest (``dedup.survivor``)."""
        rule = {
            "first": "first in input order",
            "longest": "longest text (normalised characters), then first in input order",
            "best_media": "most decoded pixels, then most bytes of media, then first in input order",
            "source_priority": "source earliest in source_priority ("
            + ", ".join(self.source_priority)
            + "; others after), then first in input order",
        }[self.keep]
        return f"keep: {self.keep} - {rule}"

    def key_parameters(self) -> dict[str, Any]:
        """What an index's keys depend on: an index made with other values cannot be matched."""
        return {
            "num_perm": self.num_perm,
            "bands": self.bands,
            "rows": self.rows,
            "ngram_unspaced": self.ngram_unspaced,
            "ngram_spaced": self.ngram_spaced,
            "seed": self.seed,
            "fold_script": self.fold_script,
        }

    @property
    def near(self) -> bool:
        return self.mode in ("near", "both")

    @property
    def exact(self) -> bool:
        return self.mode in ("exact", "both")

    def as_record(self) -> dict[str, Any]:
        """Parameters as the manifest records them."""
        return asdict(self)


_KNOWN = {item.name for item in fields(DedupConfig)} | {
    "candidate_recall",
    "candidate_margin",
    "version",
    "rules",
    "index_out",
}


def load_dedup_config(params: dict[str, Any]) -> DedupConfig:
    """Defaults from rules/dedup.yaml (or ``params['rules']``), then ``params``."""
    unknown = sorted(set(params) - _KNOWN)
    if unknown:
        raise UsageError(
            f"dedup: unknown parameter {unknown[0]!r}; known: {', '.join(sorted(_KNOWN - {'version'}))}"
        )
    source = params.get("rules") or resource_path("rules", "dedup.yaml")
    defaults = load_yaml_file(source, "dedup rules") or {}
    merged = {**defaults, **{key: value for key, value in params.items() if value is not None}}
    merged.pop("version", None)
    merged.pop("rules", None)
    recall = float(merged.pop("candidate_recall", 0.995))
    margin = float(merged.pop("candidate_margin", 0.10))
    try:
        mode = str(merged.get("mode", "both"))
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        threshold = float(merged.get("threshold", 0.8))
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        num_perm = int(merged.get("num_perm", 256))
        if num_perm & (num_perm - 1) or not 8 <= num_perm <= 1024:
            raise ValueError(f"num_perm must be a power of two between 8 and 1024, got {num_perm}")
        bands, rows = merged.get("bands"), merged.get("rows")
        if bands is None or rows is None:
            bands, rows = derive_bands_rows(threshold, num_perm, recall, margin)
        bands, rows = int(bands), int(rows)
        if bands < 1 or rows < 1 or bands * rows > num_perm:
            raise ValueError(
                f"bands x rows ({bands} x {rows}) must be at least 1 and at most num_perm {num_perm}"
            )
        hamming = merged.get("image_hamming")
        hamming = DEFAULT_IMAGE_HAMMING if hamming is None else int(hamming)
        if not 0 <= hamming <= 20:
            raise ValueError(f"image_hamming must be between 0 and 20, got {hamming}")
        batch = merged.get("batch_bytes", 1024 * 1024)
        keep = str(merged.get("keep", "first"))
        if keep not in KEEP_POLICIES:
            raise ValueError(f"keep must be one of {', '.join(KEEP_POLICIES)}, got {keep!r}")
        priority = merged.get("source_priority") or []
        if isinstance(priority, str):
            priority = [part.strip() for part in priority.split(",") if part.strip()]
        if keep == "source_priority" and not priority:
            raise ValueError("keep: source_priority needs source_priority: [source names, first wins]")
        verify = str(merged.get("verify", "exact"))
        if verify not in VERIFY_MODES:
            raise ValueError(f"verify must be one of {', '.join(VERIFY_MODES)}, got {verify!r}")
        against = merged.get("against") or []
        if isinstance(against, str):
            against = [part.strip() for part in against.split(",") if part.strip()]
        config = DedupConfig(
            mode=mode,  # type: ignore[arg-type]
            threshold=threshold,
            num_perm=num_perm,
            bands=bands,
            rows=rows,
            ngram_unspaced=int(merged.get("ngram_unspaced", 2)),
            ngram_spaced=int(merged.get("ngram_spaced", 2)),
            seed=int(merged.get("seed", 1)),
            media=bool(merged.get("media", True)),
            image_hamming=hamming,
            batch_bytes=parse_size(batch) if isinstance(batch, str) else int(batch),
            fold_script=bool(merged.get("fold_script", True)),
            verify=verify,  # type: ignore[arg-type]
            keep=keep,  # type: ignore[arg-type]
            source_priority=tuple(str(name) for name in priority),
            against=tuple(str(path) for path in against),
        )
    except (TypeError, ValueError) as error:
        raise UsageError(f"dedup: {error}") from error
    if not 1 <= config.ngram_unspaced <= 16 or not 1 <= config.ngram_spaced <= 16:
        raise UsageError("dedup: ngram_unspaced and ngram_spaced must be between 1 and 16")
    return config
