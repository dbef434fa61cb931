"""Token counting: the counter's speed per core, its cost inside pipelines/standard.yaml, and its totals
checked against an independent count.

    python benchmarks/bench_tokens.py --mb 100                 # all three parts
    python benchmarks/bench_tokens.py --mb 200 --repeat 3 --json /tmp/tokens.json

1. **Per core**: one process counts the corpus's texts with the bundled ``o200k_base`` of
   ``bpe-openai`` (``count``, what the tokens stage calls, and ``encode``), next to ``tiktoken``'s
   ``encode_ordinary`` with the same vocabulary (the library datatrove's and most peers' token
   counters use) and ``cl100k_base``. MB/s, docs/s and tokens/s.
2. **Cost inside standard.yaml**: ``corpus-kit run pipelines/standard.yaml`` and the same pipeline
   without its ``tokens`` step, alternated (with, without, with, ...) ``--repeat`` times each on the
   same corpus, 2 workers; the ratio of the median wall times is the cost (the issue's bound: 1.15).
3. **Totals**: the tokens column of the output rows recounted with tiktoken (another library, same
   vocabulary) and added up by language, compared with the manifest's ``tokens`` block.

The corpus is ``make_corpus.py``'s (cached by bench_standard.py's ``ensure_corpus``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from bench_standard import corpus_kit_command, ensure_corpus, run_measured  # noqa: E402

MB = 1_000_000
STANDARD = REPO / "pipelines" / "standard.yaml"
TOKENS_LINE = "  - tokens: {tokenizer: o200k_base}"


def read_texts(folder: Path, limit_mb: float) -> list[str]:
    texts: list[str] = []
    size = 0
    for path in sorted(folder.glob("*.jsonl")):
        with open(path, "rb") as handle:
            for line in handle:
                text = orjson.loads(line).get("text")
                if isinstance(text, str):
                    texts.append(text)
                    size += len(text.encode())
                if size >= limit_mb * MB:
                    return texts
    return texts


def tiktoken_o200k() -> Any:
    import tiktoken
    from bpe_openai import registry

    spec = registry.o200k_base()
    return tiktoken.Encoding(
        name="o200k_base", pat_str=spec["pat_str"], mergeable_ranks=spec["mergeable_ranks"], special_tokens={}
    )


def per_core(texts: list[str]) -> list[dict[str, Any]]:
    from bpe_openai import _bindings

    size = sum(len(text.encode()) for text in texts) / MB
    o200k = _bindings.tokenizer_for_encoding("o200k_base")
    cl100k = _bindings.tokenizer_for_encoding("cl100k_base")
    reference = tiktoken_o200k()
    counters = [
        ("bpe-openai o200k_base count (corpus-kit)", o200k.count),
        ("bpe-openai o200k_base encode", lambda text: len(o200k.encode(text))),
        ("bpe-openai cl100k_base count", cl100k.count),
        (
            "tiktoken o200k_base encode_ordinary (peer route)",
            lambda text: len(reference.encode_ordinary(text)),
        ),
    ]
    rows = []
    for name, count in counters:
        started = time.perf_counter()
        tokens = sum(count(text) for text in texts)
        seconds = time.perf_counter() - started
        rows.append(
            {
                "counter": name,
                "seconds": seconds,
                "mb_s": size / seconds,
                "docs_s": len(texts) / seconds,
                "tokens_s": tokens / seconds,
                "tokens": tokens,
            }
        )
    return rows


def without_tokens_pipeline() -> Path:
    """standard.yaml without its tokens step, next to it (its relative paths stay valid)."""
    lines = STANDARD.read_text().splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(TOKENS_LINE)]
    if len(kept) != len(lines) - 1:
        raise SystemExit(f"{STANDARD}: expected one line starting with {TOKENS_LINE!r}")
    path = STANDARD.with_name(".bench-standard-without-tokens.yaml")
    path.write_text("".join(kept))
    return path


def in_pipeline(corpus: Path, repeat: int, workers: int, scratch: Path) -> dict[str, Any]:
    plain = without_tokens_pipeline()
    walls: dict[str, list[float]] = {"with tokens": [], "without tokens": []}
    foreign: list[float] = []
    try:
        for round_index in range(repeat):
            for label, pipeline in (("with tokens", STANDARD), ("without tokens", plain)):
                out = scratch / label.replace(" ", "-")
                command = [
                    *corpus_kit_command(), "run", str(pipeline), "-i", str(corpus), "-o", str(out),
                    "--workers", str(workers), "--quiet", "--overwrite",
                ]  # fmt: skip
                measured = run_measured(command, scratch / f"{label.replace(' ', '-')}-{round_index}.log")
                if measured.returncode != 0:
                    raise SystemExit(f"{label}: corpus-kit exited {measured.returncode}; see {scratch}")
                walls[label].append(measured.wall_s)
                if measured.foreign_cpu_s is not None:
                    foreign.append(measured.foreign_cpu_s)
                print(f"  {label:15} run {round_index + 1}: {measured.wall_s:6.2f} s", flush=True)
    finally:
        plain.unlink(missing_ok=True)
    medians = {label: statistics.median(values) for label, values in walls.items()}
    return {
        "walls": walls,
        "median_with": medians["with tokens"],
        "median_without": medians["without tokens"],
        "ratio": medians["with tokens"] / medians["without tokens"],
        "max_foreign_cpu_s": max(foreign) if foreign else None,
    }


def check_totals(out: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq

    manifest = json.loads((out / "manifest.json").read_text())
    block = manifest["tokens"]
    encoding = tiktoken_o200k()
    by_language: dict[str, int] = {}
    rows = mismatched = 0
    for path in sorted((out / "data").glob("*.parquet")):
        table = pq.read_table(path, columns=["text", "language", "tokens"]).to_pylist()
        for row in table:
            recount = len(encoding.encode_ordinary(row["text"]))
            rows += 1
            mismatched += recount != row["tokens"]
            language = row["language"] or "(none)"
            by_language[language] = by_language.get(language, 0) + recount
    total = sum(by_language.values())
    return {
        "rows": rows,
        "rows_in_manifest": block["rows"],
        "rows_with_a_different_count": mismatched,
        "total_recounted": total,
        "total_in_manifest": block["total"],
        "by_language_equal": by_language == block["by_language"],
        "equal": mismatched == 0 and total == block["total"] and by_language == block["by_language"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=100, help="size of the generated corpus (10^6 bytes)")
    parser.add_argument("--files", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-core-mb", type=float, default=50, help="text counted in part 1")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each pipeline variant")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-pipeline", action="store_true", help="part 1 only")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    corpus = ensure_corpus(args.mb, args.files, args.seed, args.cache)
    texts = read_texts(corpus, args.per_core_mb)
    print(
        f"1. per core, {sum(len(t.encode()) for t in texts) / MB:.1f} MB of {len(texts):,} texts, one process"
    )
    results: dict[str, Any] = {"corpus": str(corpus), "cpus": os.cpu_count(), "per_core": per_core(texts)}
    print(f"   {'counter':52} {'MB/s':>7} {'docs/s':>9} {'tokens/s':>12}")
    for row in results["per_core"]:
        print(f"   {row['counter']:52} {row['mb_s']:7.1f} {row['docs_s']:9,.0f} {row['tokens_s']:12,.0f}")
    if not args.skip_pipeline:
        print(f"2. standard.yaml with and without the tokens step, {args.mb:g} MB, {args.workers} workers")
        with tempfile.TemporaryDirectory(prefix="ck-bench-tokens-") as scratch:
            cost = in_pipeline(corpus, args.repeat, args.workers, Path(scratch))
            input_mb = sum(path.stat().st_size for path in corpus.glob("*.jsonl")) / MB
            cost["mb_s_with"] = input_mb / cost["median_with"]
            cost["mb_s_without"] = input_mb / cost["median_without"]
            print(
                f"   median {cost['median_with']:.2f} s ({cost['mb_s_with']:.2f} MB/s) with tokens, "
                f"{cost['median_without']:.2f} s ({cost['mb_s_without']:.2f} MB/s) without: "
                f"ratio {cost['ratio']:.3f} (bound 1.15)"
            )
            if cost["max_foreign_cpu_s"] is not None and cost["max_foreign_cpu_s"] > 5:
                print(f"   warning: up to {cost['max_foreign_cpu_s']:.0f} CPU-s of other work ran meanwhile")
            results["standard"] = cost
            print("3. totals of the last run with tokens, recounted with tiktoken")
            totals = check_totals(Path(scratch) / "with-tokens")
            results["totals"] = totals
            print(
                f"   {totals['rows']:,} rows, {totals['total_recounted']:,} tokens recounted vs "
                f"{totals['total_in_manifest']:,} in the manifest; rows that differ: "
                f"{totals['rows_with_a_different_count']}; by language equal: {totals['by_language_equal']}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    failed = "standard" in results and (results["standard"]["ratio"] > 1.15 or not results["totals"]["equal"])
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
