"""Dedup index at scale: bytes per indexed record, and ``--against`` lookups of 1 million records
against indexes of two sizes (peak RSS, seconds).

    python benchmarks/bench_index.py --sizes 1000000 10000000 --queries 1000000 --work /tmp/idx

Keys are synthesised (building from 10 million real texts would take hours): random 128-bit exact
keys, random 51 band keys and 256-bin signatures per record, as ``DedupIndex.add`` stores them.
Queries: 1 million records of which 10 % are exact copies of indexed records and 10 % near copies
(the same signature with 8 % of the bins changed: band keys of unchanged bands kept), the rest new.
Each lookup runs in a fresh process (peak RSS of that process: ``ru_maxrss``) through the same
``lookup`` function ``dedup --against`` calls; the page cache is not dropped (say so when quoting).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from corpus_kit.stages.dedup.config import load_dedup_config  # noqa: E402
from corpus_kit.stages.dedup.index import DedupIndex, SegmentData, catalog_bytes, lookup  # noqa: E402
from corpus_kit.stages.dedup.minhash import band_hashes  # noqa: E402

CHUNK = 1_000_000


def _signatures(rng: np.random.Generator, count: int, num_perm: int) -> np.ndarray:
    return rng.integers(0, 2**32 - 1, size=(count, num_perm), dtype=np.uint32)


def build(folder: Path, records: int, seed: int = 0) -> dict[str, float]:
    config = load_dedup_config({})
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    sig16 = np.empty((records, config.num_perm), np.uint16)
    bands = np.empty((config.bands, records), np.uint64)
    for start in range(0, records, CHUNK):
        stop = min(start + CHUNK, records)
        sig = _signatures(np.random.default_rng([seed, start]), stop - start, config.num_perm)
        sig16[start:stop] = sig & 0xFFFF
        bands[:, start:stop] = band_hashes(sig, config.bands, config.rows, config.seed)
    data = SegmentData(
        ids=[f"doc-{number:09d}" for number in range(records)],
        dataset=np.zeros(records, np.int16),
        datasets=[{"name": "synthetic", "manifest_sha256": "0" * 64}],
        kind=np.zeros(records, np.uint8),
        exact_lo=rng.integers(0, 2**63, size=records, dtype=np.uint64) * np.uint64(2),
        exact_hi=rng.integers(0, 2**63, size=records, dtype=np.uint64),
        bands=lambda band: bands[band],
        sig16=sig16,
        media_sha=np.empty(0, np.uint64),
        media_row=np.empty(0, np.int64),
    )
    DedupIndex.add(folder, config, data)
    seconds = time.perf_counter() - started
    index = DedupIndex.open(folder)
    return {"records": records, "build_seconds": seconds, "bytes_per_record": catalog_bytes(index) / records}


def query(folder: Path, count: int, indexed: int, seed: int = 0) -> dict[str, float]:
    """Run in a child process: 1 million queries, 10 % exact and 10 % near copies of indexed records."""
    config = load_dedup_config({})
    rng = np.random.default_rng(seed + 1)
    exact_lo = rng.integers(0, 2**63, size=count, dtype=np.uint64) * np.uint64(2) + np.uint64(1)  # odd: new
    exact_hi = rng.integers(0, 2**63, size=count, dtype=np.uint64)
    sig = _signatures(rng, count, config.num_perm)
    index = DedupIndex.open(folder)
    segment = index.segments()[0]
    copies = rng.choice(min(indexed, CHUNK), size=count // 5, replace=False)  # rows of the first chunk
    exact, near = np.arange(0, count // 10), np.arange(count // 10, count // 5)
    rows = np.asarray(segment.arrays["exact_row"])
    lo_sorted = np.asarray(segment.arrays["exact_lo"])
    inverse = np.empty_like(rows)
    inverse[rows] = np.arange(rows.size, dtype=rows.dtype)
    exact_lo[exact] = lo_sorted[inverse[copies[: exact.size]]]
    exact_hi[exact] = np.asarray(segment.arrays["exact_hi"])[copies[: exact.size]]
    del rows, lo_sorted, inverse
    source = _signatures(np.random.default_rng([0, 0]), min(indexed, CHUNK), config.num_perm)
    changed = sig[near].copy()
    keep = rng.random(changed.shape) >= 0.08
    sig[near] = np.where(keep, source[copies[exact.size :]], changed)
    del source
    keys = band_hashes(sig, config.bands, config.rows, config.seed)
    started = time.perf_counter()
    hits = lookup([index], config, np.zeros(count, np.uint8), exact_lo, exact_hi, lambda band: keys[band],
                  lambda positions: sig[positions])  # fmt: skip
    seconds = time.perf_counter() - started
    found = np.isin(np.arange(count // 5), hits.positions).mean()
    false = np.isin(hits.positions, np.arange(count // 5, count), assume_unique=True).sum()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"queries": count, "lookup_seconds": seconds, "recall": float(found), "false_hits": int(false),
            "peak_rss_mb": rss}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--queries", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(query(Path(args.child[0]), args.queries, int(args.child[1]))))
        return
    results = []
    for size in args.sizes:
        folder = args.work / f"index-{size}"
        built = build(folder, size)
        child = subprocess.run(
            [sys.executable, __file__, "--work", str(args.work), "--queries", str(args.queries),
             "--child", str(folder), str(size)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        results.append({**built, **json.loads(child.stdout.strip().splitlines()[-1])})
        print(json.dumps(results[-1]), flush=True)


if __name__ == "__main__":
    main()
