"""Exact semantics at the threshold: a labelled near-duplicate set whose copies' exact shingle Jaccard
spreads across the threshold, deduplicated with ``verify: exact`` and ``verify: estimate`` in the same
run (same machine load), reporting recall of copies at >= threshold, removals below threshold - 0.02,
and MB/s of each.

    python benchmarks/bench_dedup_threshold.py --work /tmp/thr --originals 6000

Text: random Chinese characters (3,000 of the commonest block) and random English words; each
original gets one copy with 2-12 % of its characters (zh) or words (en) substituted, inserted or
deleted, so the copies' Jaccard (corpus-kit's own shingles, after normalisation) runs ~0.6-0.95.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from corpus_kit.stages.dedup import minhash  # noqa: E402


def _zh(rng: random.Random, chars: int) -> str:
    return "".join(chr(0x4E00 + rng.randrange(3000)) for _ in range(chars))


def _en(rng: random.Random, words: int) -> str:
    return " ".join("".join(rng.choice("abcdefghij") for _ in range(rng.randint(2, 6))) for _ in range(words))


def _edit(rng: random.Random, tokens: list[str], share: float, fresh: callable) -> list[str]:
    out = list(tokens)
    for _ in range(max(1, int(len(out) * share))):
        at = rng.randrange(len(out))
        action = rng.random()
        if action < 0.5:
            out[at] = fresh()
        elif action < 0.75:
            out.insert(at, fresh())
        else:
            del out[at]
    return out


def _set(text: str) -> set[int]:
    values, _ = minhash.shingle_hashes([minhash.normalize_text(text, True)], 2, 2, 1)
    return set(values.tolist())


def make(folder: Path, originals: int, seed: int = 0) -> dict[str, float]:
    rng = random.Random(seed)
    records, labels = [], {}
    for index in range(originals):
        zh = index % 5 < 3
        share = rng.uniform(0.02, 0.12)
        if zh:
            text = _zh(rng, rng.randint(300, 1500))
            copy = "".join(_edit(rng, list(text), share, lambda: chr(0x4E00 + rng.randrange(3000))))
        else:
            text = _en(rng, rng.randint(150, 700))
            copy = " ".join(_edit(rng, text.split(), share, lambda: _en(rng, 1)))
        a, b = _set(text), _set(copy)
        labels[f"c{index:06d}"] = len(a & b) / len(a | b)
        records += [{"id": f"o{index:06d}", "text": text}, {"id": f"c{index:06d}", "text": copy}]
    rng.shuffle(records)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "part-0.jsonl", "wb") as handle:
        for record in records:
            handle.write(orjson.dumps(record) + b"\n")
    (folder.parent / "labels.json").write_text(json.dumps(labels))
    return labels


def run(data: Path, out: Path, verify: str, threshold: float, workers: int) -> tuple[set[str], float]:
    import pyarrow.parquet as pq

    started = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "corpus_kit",
        "dedup",
        str(data),
        "-o",
        str(out),
        "--quiet",
        "--mode",
        "near",
        "--verify",
        verify,
        "--threshold",
        str(threshold),
        "--workers",
        str(workers),
    ]
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - started
    kept = set(pq.read_table(sorted(out.glob("data/*.parquet")), columns=["id"]).column("id").to_pylist())
    return kept, seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--originals", type=int, default=6000)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    labels = make(args.work / "in", args.originals)
    size = (args.work / "in" / "part-0.jsonl").stat().st_size
    values = list(labels.values())
    report = {"mb": size / 1e6, "pairs": len(labels),
              "pairs_at_or_above": sum(value >= args.threshold for value in values),
              "pairs_within_0.05": sum(abs(value - args.threshold) < 0.05 for value in values)}  # fmt: skip
    for round_, verify in enumerate(
        ("estimate", "exact", "estimate", "exact")
    ):  # interleaved: shared machine
        kept, seconds = run(
            args.work / "in", args.work / f"out-{verify}-{round_}", verify, args.threshold, args.workers
        )
        removed = {copy for copy in labels if copy not in kept or copy.replace("c", "o", 1) not in kept}
        above = [copy for copy, value in labels.items() if value >= args.threshold]
        below = [copy for copy, value in labels.items() if value < args.threshold - 0.02]
        entry = report.setdefault(verify, {"seconds": []})
        entry["seconds"].append(round(seconds, 2))
        entry["recall_at_or_above"] = sum(copy in removed for copy in above) / max(len(above), 1)
        entry["missed_at_or_above"] = sum(copy not in removed for copy in above)
        entry["removed_below_t_minus_0.02"] = sum(copy in removed for copy in below)
        entry["removed_in_t-0.02..t"] = sum(
            copy in removed
            for copy, value in labels.items()
            if args.threshold - 0.02 <= value < args.threshold
        )
        entry["mb_per_s"] = round(report["mb"] / min(entry["seconds"]), 2)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
