"""Content-safety benchmark: recall per planted form, false hits, decoys, the source blacklist, speed.

    python benchmarks/bench_safety.py                         # 100 MB set, 2 workers
    python benchmarks/bench_safety.py --mb 5 --settle 0       # a quick check while developing
    python benchmarks/bench_safety.py --repeat 3 --json /tmp/safety.json

The labelled set comes from ``make_safety_set.py`` (a synthetic lexicon of 10,880 terms over all 31
Annex A codes, and a zh/en JSONL corpus from ``make_corpus.py``'s text with hits planted in six
forms, allow-context decoys, and three sources with exactly 2 %, 5 % and 8 % of their records
planted) and is cached in the temporary folder, keyed by size, file count, seed and shares.

1. ``corpus-kit safety lexicon-check LEXICON --strict`` must exit 0 (the clause 8.1 minima).
2. Accuracy: ``corpus-kit safety CORPUS -o OUT --lexicon LEXICON --action flag`` keeps every record,
   so the ``safety`` column of each is read back from ``OUT/data/*.parquet``. A planted record is
   found when its code is in the column; a clean record or a decoy must have no hit, a planted
   record no other code; the manifest must blacklist exactly ``planted-8pct`` (5 % is not more than
   the 5 % threshold). A second run with ``--action drop`` must drop the blacklisted source's
   records as ``safety.source`` and every other planted ``block`` record as ``safety.<code>``, and
   keep everything else (compared record by record).
3. Speed: the matcher alone, in this process on one core (``load_lexicon`` + ``Matcher``, then
   ``matcher.scan(text)`` over every document; MB = UTF-8 bytes of the texts; median of
   ``--matcher-repeat`` passes); and whole processes on the same files with the same worker count:
   ``floor.py`` (orjson + pyarrow, at least 3 runs), ``corpus-kit convert``, ``corpus-kit safety``
   with ``--action flag`` and ``--action drop`` (median of ``--repeat``). MB/s = input bytes on
   disk / wall; peak RSS is summed over the process tree (``bench_standard.run_measured``).

Exit status 1 when an accuracy check fails (recall below 1, a false or decoy hit, another code
on a planted record, a wrong blacklist, drop counts other than expected), the lexicon check fails,
or a command fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import make_safety_set  # noqa: E402
from bench_standard import (  # noqa: E402
    FLOOR_RUNS,
    MB,
    corpus_files,
    corpus_kit_command,
    describe_corpus,
    run_measured,
    settle,
)

TOOLS = ("floor", "convert", "safety-flag", "safety-drop")
LABELS = {
    "floor": "floor: orjson + pyarrow write",
    "convert": "corpus-kit convert",
    "safety-flag": "corpus-kit safety --action flag",
    "safety-drop": "corpus-kit safety --action drop",
}
SOURCE_THRESHOLD = 0.05
MATCHER_TARGET_MB_S = 30.0


# ---------------------------------------------------------------------------------------------
# The set
# ---------------------------------------------------------------------------------------------


def ensure_set(args: argparse.Namespace) -> Path:
    """A make_safety_set.py set, made once per parameters and cached under ``--cache``."""
    key = (
        f"ck-bench-safety-v{make_safety_set.VERSION}-{args.mb:g}mb-{args.files}f-seed{args.seed}"
        f"-p{args.planted_share:g}-d{args.decoy_rate:g}"
    )
    folder = args.cache / key
    done = args.cache / f"{key}.done.json"
    if done.exists() and folder.is_dir():
        return folder
    partial = args.cache / f"{key}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    print(f"generating a {args.mb:g} MB safety set ({args.files} files, seed {args.seed}) in {folder} ...")
    summary = make_safety_set.make_set(
        partial, args.mb, args.files, args.seed, planted_share=args.planted_share, decoy_rate=args.decoy_rate
    )
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    done.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"  {summary['docs']:,} docs, {summary['bytes'] / MB:.1f} MB ({summary['seconds']} s)", flush=True)
    return folder


def read_truth(folder: Path) -> dict[str, dict[str, Any]]:
    with open(folder / "truth.jsonl", encoding="utf-8") as handle:
        return {row["id"]: row for row in map(json.loads, handle)}


def read_corpus(corpus: Path) -> tuple[list[str], list[str], list[str]]:
    """Ids, sources (metadata.source) and texts of the corpus, in file order."""
    ids, sources, texts = [], [], []
    for path in corpus_files(corpus):
        with open(path, "rb") as handle:
            for line in handle:
                record = orjson.loads(line)
                ids.append(record["id"])
                sources.append(record["metadata"]["source"])
                texts.append(record["text"])
    return ids, sources, texts


def lexicon_check(lexicon: Path) -> dict[str, Any]:
    command = [*corpus_kit_command(), "safety", "lexicon-check", str(lexicon), "--strict", "--format", "json"]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "CI": "1"})
    try:
        report = json.loads(result.stdout)
    except ValueError:
        report = {}
    coverage = report.get("coverage", {})
    return {
        "returncode": result.returncode,
        "ok": result.returncode == 0,
        "terms": coverage.get("terms"),
        "meets_minima": coverage.get("meets_minima"),
        "min_per_code": min(coverage.get("terms_per_code", {0: 0}).values()),
        "codes": len(coverage.get("terms_per_code", {})),
        "problems": report.get("problems", [])[:5] or result.stderr[-500:],
    }


# ---------------------------------------------------------------------------------------------
# The matcher alone
# ---------------------------------------------------------------------------------------------


def matcher_speed(
    lexicon: Path, texts: list[str], repeat: int
) -> tuple[dict[str, Any], list[dict[str, int]]]:
    """Load and compile the lexicon, scan every text (first pass kept as results), time the rest."""
    from corpus_kit.stages.safety.lexicon import load_lexicon
    from corpus_kit.stages.safety.matcher import Matcher
    from corpus_kit.stages.safety.normalise import tables

    started = time.perf_counter()
    tables()
    tables_s = time.perf_counter() - started
    started = time.perf_counter()
    loaded = load_lexicon(lexicon)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    matcher = Matcher(loaded.terms)
    build_s = time.perf_counter() - started
    results = [matcher.scan(text).hits for text in texts]  # warm-up, and the in-process answers
    size = sum(len(text.encode()) for text in texts)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        for text in texts:
            matcher.scan(text)
        times.append(time.perf_counter() - started)
    seconds = statistics.median(times)
    return {
        "terms": len(loaded.terms),
        "tables_s": round(tables_s, 3),
        "load_s": round(load_s, 3),
        "build_s": round(build_s, 3),
        "bytes": size,
        "docs": len(texts),
        "passes_s": [round(t, 3) for t in times],
        "seconds": round(seconds, 3),
        "mb_per_s": round(size / seconds / MB, 2),
        "docs_per_s": round(len(texts) / seconds, 1),
        "target_mb_per_s": MATCHER_TARGET_MB_S,
    }, results


# ---------------------------------------------------------------------------------------------
# Whole commands
# ---------------------------------------------------------------------------------------------


def command_for(tool: str, corpus: Path, lexicon: Path, out: Path, workers: int) -> list[str]:
    if tool == "floor":
        return [sys.executable, str(HERE / "floor.py"), str(corpus), str(out), "--procs", str(workers)]
    common = ["-o", str(out), "--workers", str(workers), "--quiet", "--overwrite"]
    if tool == "convert":
        return [*corpus_kit_command(), "convert", str(corpus), *common]
    action = tool.removeprefix("safety-")
    return [
        *corpus_kit_command(), "safety", str(corpus), *common, "--lexicon", str(lexicon),
        "--action", action, "--source-threshold", str(SOURCE_THRESHOLD),
    ]  # fmt: skip


def run_tool(
    tool: str, corpus: dict[str, Any], lexicon: Path, scratch: Path, args: argparse.Namespace
) -> dict[str, Any]:
    out, log = scratch / f"{tool}-out", scratch / f"{tool}.stderr.log"
    shutil.rmtree(out, ignore_errors=True)
    waited = settle(args.settle)
    measured = run_measured(command_for(tool, Path(corpus["path"]), lexicon, out, args.workers), log)
    run: dict[str, Any] = {
        "wall_s": round(measured.wall_s, 3),
        "mb_per_s": round(corpus["bytes"] / measured.wall_s / MB, 3),
        "docs_per_s": round(corpus["docs"] / measured.wall_s, 1),
        "peak_rss_mb": round(measured.peak_rss_mb, 1),
        "cpu_s": round(measured.cpu_s, 2),
        "foreign_cpu_s": None if measured.foreign_cpu_s is None else round(measured.foreign_cpu_s, 2),
        "returncode": measured.returncode,
        "settle_wait_s": round(waited, 1),
        "out": str(out),
    }
    if measured.returncode != 0:
        run["error"] = f"exit status {measured.returncode}: {log.read_text(errors='replace')[-2000:]}"
    elif tool != "floor":
        manifest = json.loads((out / "manifest.json").read_text())
        run["docs_out"] = manifest["counts"]["output"]
        run["steps"] = {step["name"]: step.get("seconds") for step in manifest["pipeline"]["steps"]}
    return run


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"error": runs[-1].get("error", "failed") if runs else "not run"}
    walls = [r["wall_s"] for r in ok]
    wall = statistics.median(walls)
    chosen = sorted(ok, key=lambda r: r["wall_s"])[(len(ok) - 1) // 2]
    return {
        **chosen,
        "wall_s": round(wall, 3),
        "runs_s": walls,
        "mb_per_s": round(chosen["mb_per_s"] * chosen["wall_s"] / wall, 3),
        "docs_per_s": round(chosen["docs_per_s"] * chosen["wall_s"] / wall, 1),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in ok),
    }


# ---------------------------------------------------------------------------------------------
# Accuracy
# ---------------------------------------------------------------------------------------------


def read_output(out: Path) -> dict[str, str | None]:
    import pyarrow.parquet as pq

    column: dict[str, str | None] = {}
    for path in sorted((out / "data").glob("*.parquet")):
        table = pq.read_table(path, columns=["id", "safety"])
        column.update(zip(table.column("id").to_pylist(), table.column("safety").to_pylist(), strict=True))
    return column


def risks_of(value: str | None) -> dict[str, int]:
    return json.loads(value)["risks"] if value else {}


def evaluate_flag(
    out: Path, truth: dict[str, dict[str, Any]], docs: int, summary: dict[str, Any]
) -> dict[str, Any]:
    column = read_output(out)
    manifest = json.loads((out / "manifest.json").read_text())["safety"]
    found: dict[str, Counter[str]] = {"form": Counter(), "code": Counter(), "severity": Counter()}
    total: dict[str, Counter[str]] = {"form": Counter(), "code": Counter(), "severity": Counter()}
    missed: list[dict[str, Any]] = []
    other_codes: list[dict[str, Any]] = []
    decoy_hits: list[dict[str, Any]] = []
    decoys: Counter[str] = Counter()
    decoys_hit: Counter[str] = Counter()
    for record_id, row in truth.items():
        risks = risks_of(column.get(record_id))
        if row["kind"] == "decoy":
            decoys[row["form"]] += 1
            if risks:
                decoys_hit[row["form"]] += 1
                decoy_hits.append({**row, "got": risks})
            continue
        hit = row["code"] in risks
        for key in found:
            total[key][row[key]] += 1
            found[key][row[key]] += hit
        if not hit:
            missed.append({**row, "got": risks})
        if set(risks) - {row["code"]}:
            other_codes.append({**row, "got": risks})
    clean = [record_id for record_id in column if record_id not in truth]
    false_hits = [{"id": i, "got": risks_of(column[i])} for i in clean if risks_of(column[i])]
    planted_per_source = Counter(row["source"] for row in truth.values() if row["kind"] == "planted")
    sources = []
    for row in manifest["sources"]:
        records = summary["sources"].get(row["source"], {}).get("records", 0)
        expected_share = planted_per_source[row["source"]] / max(1, records)
        sources.append(
            {
                **row,
                "records_expected": records,
                "flagged_expected": planted_per_source[row["source"]],
                "blacklisted_expected": expected_share > SOURCE_THRESHOLD,
            }
        )
    blacklisted = sorted(manifest["blacklisted_sources"])
    checks = {
        "every record written": len(column) == docs,
        "recall 1.000 in every form": not missed,
        "no hit on clean records": not false_hits,
        "no hit on allow-context decoys": not decoy_hits,
        "no other code on planted records": not other_codes,
        "allowed_hits equals the decoys": manifest.get("allowed_hits") == sum(decoys.values()),
        "blacklist exactly planted-8pct": blacklisted == sorted(summary["blacklisted_expected"]),
        "flagged per source as planted": all(
            s["flagged"] == s["flagged_expected"] and s["documents"] == s["records_expected"] for s in sources
        ),
    }
    return {
        "records_out": len(column),
        "recall": {
            key: {name: {"found": found[key][name], "total": total[key][name]} for name in sorted(total[key])}
            for key in total
        },
        "planted": sum(total["form"].values()),
        "missed": missed[:20],
        "clean_records": len(clean),
        "false_hits": len(false_hits),
        "false_hit_examples": false_hits[:10],
        "decoys": dict(decoys),
        "decoys_hit": dict(decoys_hit),
        "decoy_hits": len(decoy_hits),
        "decoy_hit_examples": decoy_hits[:10],
        "other_codes": len(other_codes),
        "other_code_examples": other_codes[:10],
        "sources": sources,
        "blacklisted": blacklisted,
        "blacklisted_expected": summary["blacklisted_expected"],
        "manifest": {
            k: manifest.get(k)
            for k in ("screened", "flagged", "allowed_hits", "blacklisted_present", "dropped")
        },
        "allowed_hits_expected": sum(decoys.values()),
        "checks": checks,
    }


def evaluate_drop(
    out: Path, truth: dict[str, dict[str, Any]], ids: list[str], sources: list[str], blacklisted: list[str]
) -> dict[str, Any]:
    """Which records ``--action drop`` must drop, and why, against what it did."""
    column = read_output(out)
    manifest = json.loads((out / "manifest.json").read_text())["safety"]
    expected: Counter[str] = Counter()
    kept: set[str] = set()
    flagged_kept = 0
    for record_id, source in zip(ids, sources, strict=True):
        row = truth.get(record_id)
        planted = row is not None and row["kind"] == "planted"
        if source in blacklisted:
            expected["safety.source"] += 1
        elif planted and row["severity"] == "block":
            expected[f"safety.{row['code']}"] += 1
        else:
            kept.add(record_id)
            flagged_kept += planted
    got = {reason: count for reason, count in (manifest.get("dropped") or {}).items() if count}
    flagged_kept_got = sum(1 for value in column.values() if risks_of(value))
    checks = {
        "drops per reason as expected": got == dict(expected),
        "kept records as expected": set(column) == kept,
        "flag-severity records kept and flagged": flagged_kept_got == flagged_kept,
    }
    return {
        "dropped_expected": dict(sorted(expected.items())),
        "dropped": dict(sorted(got.items())),
        "kept_expected": len(kept),
        "kept": len(column),
        "kept_not_expected": sorted(set(column) - kept)[:10],
        "dropped_not_expected": sorted(kept - set(column))[:10],
        "flagged_kept_expected": flagged_kept,
        "flagged_kept": flagged_kept_got,
        "checks": checks,
    }


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def print_accuracy(flag: dict[str, Any], drop: dict[str, Any] | None, summary: dict[str, Any]) -> None:
    recall = flag["recall"]
    print("\nrecall per form (`--action flag`: the planted code is in the record's `safety` column)\n")
    print("| form | planted | found | recall |")
    print("|---|---:|---:|---:|")
    for form, row in recall["form"].items():
        print(f"| {form} | {row['total']:,} | {row['found']:,} | {row['found'] / row['total']:.3f} |")
    found = sum(r["found"] for r in recall["form"].values())
    print(f"| **all** | {flag['planted']:,} | {found:,} | **{found / max(1, flag['planted']):.3f}** |")
    codes = recall["code"]
    worst = min(codes.items(), key=lambda item: (item[1]["found"] / item[1]["total"], item[0]))
    print(
        f"\nper code: {len(codes)} of 31 codes planted ({min(r['total'] for r in codes.values())}-"
        f"{max(r['total'] for r in codes.values())} records each), lowest recall {worst[0]} "
        f"{worst[1]['found']}/{worst[1]['total']}; "
        + ", ".join(f"severity {k} {v['found']}/{v['total']}" for k, v in recall["severity"].items())
    )
    for row in flag["missed"][:5]:
        print(
            f"  missed: {row['id']} {row['code']} {row['form']} "
            f"planted as {row['planted_as']!r}, got {row['got']}"
        )
    decoys = sum(flag["decoys"].values())
    print("\n| what | records | expected | got |")
    print("|---|---:|---:|---:|")
    print(f"| clean records with a hit | {flag['clean_records']:,} | 0 | {flag['false_hits']:,} |")
    for form, count in sorted(flag["decoys"].items()):
        print(f"| decoys ({form}) with a hit | {count:,} | 0 | {flag['decoys_hit'].get(form, 0):,} |")
    print(f"| allow-context decoys with a hit | {decoys:,} | 0 | {flag['decoy_hits']:,} |")
    print(f"| planted records with another code too | {flag['planted']:,} | 0 | {flag['other_codes']:,} |")
    print(
        f"| hits suppressed by an allow context (manifest `allowed_hits`) | {decoys:,} | {decoys:,} "
        f"| {flag['manifest']['allowed_hits']:,} |"
    )
    for row in (flag["false_hit_examples"] + flag["decoy_hit_examples"] + flag["other_code_examples"])[:5]:
        print(f"  unexpected: {row}")
    print(f"\nsources (threshold {SOURCE_THRESHOLD}: blacklisted when the flagged share is more than it)\n")
    print("| source | records | flagged (planted) | share | blacklisted | expected |")
    print("|---|---:|---:|---:|---|---|")
    for row in flag["sources"]:
        print(
            f"| {row['source']} | {row['documents']:,} | {row['flagged']:,} ({row['flagged_expected']:,}) "
            f"| {row['share']:.4f} | {'yes' if row['blacklisted'] else 'no'} "
            f"| {'yes' if row['blacklisted_expected'] else 'no'} |"
        )
    print(f"\nblacklisted_sources: {flag['blacklisted']} (expected {flag['blacklisted_expected']})")
    if drop:
        print("\n`--action drop`: records dropped per reason\n")
        print("| reason | expected | got |")
        print("|---|---:|---:|")
        for reason in sorted(set(drop["dropped_expected"]) | set(drop["dropped"])):
            print(
                f"| {reason} | {drop['dropped_expected'].get(reason, 0):,} "
                f"| {drop['dropped'].get(reason, 0):,} |"
            )
        print(
            f"| **kept** | {drop['kept_expected']:,} | {drop['kept']:,} |\n"
            f"| kept with a `flag`-severity hit | {drop['flagged_kept_expected']:,} "
            f"| {drop['flagged_kept']:,} |"
        )


def print_speed(matcher: dict[str, Any], results: dict[str, dict[str, Any]], workers: int) -> None:
    print(
        f"\nmatcher alone, 1 core, in process: {matcher['terms']:,} terms, "
        f"tables {matcher['tables_s']:.2f} s, "
        f"lexicon load {matcher['load_s']:.2f} s, automaton build {matcher['build_s']:.2f} s; "
        f"scan of {matcher['docs']:,} docs ({matcher['bytes'] / MB:,.1f} MB of UTF-8 text), median of "
        f"{len(matcher['passes_s'])}: {matcher['seconds']:.2f} s, **{matcher['mb_per_s']:.1f} MB/s**, "
        f"{matcher['docs_per_s']:,.0f} docs/s (target >= {matcher['target_mb_per_s']:g} MB/s per core)"
    )
    floor = results.get("floor", {}).get("mb_per_s")
    convert = results.get("convert", {}).get("mb_per_s")
    print(f"\nwhole processes, {workers} workers, same files\n")
    print("| tool | wall s (median) | runs | MB/s | docs/s | peak RSS MB | docs out | x floor | x convert |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, row in results.items():
        if "wall_s" not in row:
            print(f"| {LABELS[name]} | {(row.get('error') or 'failed').splitlines()[0]} | | | | | | | |")
            continue
        x_floor = f"{row['mb_per_s'] / floor:.3f}x" if floor else "-"
        x_convert = f"{row['mb_per_s'] / convert:.2f}x" if convert else "-"
        docs_out = f"{row['docs_out']:,}" if "docs_out" in row else "-"
        print(
            f"| {LABELS[name]} | {row['wall_s']:.2f} | {len(row['runs_s'])} | {row['mb_per_s']:.2f} "
            f"| {row['docs_per_s']:,.0f} | {row['peak_rss_mb']:,.0f} | {docs_out} | {x_floor} | {x_convert} |"
        )
    for name in ("safety-flag", "safety-drop"):
        steps = results.get(name, {}).get("steps")
        if steps:
            parts = ", ".join(f"{k} {v:.2f}" for k, v in steps.items() if v is not None)
            print(f"{LABELS[name]}: task-seconds per step (manifest): {parts}")


def progress_line(name: str, run: dict[str, Any]) -> str:
    if "error" in run:
        return f"{name}: FAILED ({run['error'].splitlines()[0]})"
    line = f"{name}: {run['wall_s']:.2f} s, {run['mb_per_s']:.2f} MB/s, peak RSS {run['peak_rss_mb']:,.0f} MB"
    foreign = run["foreign_cpu_s"]
    if foreign is not None and foreign > max(2.0, 0.05 * run["wall_s"]):
        line += f" (warning: {foreign:.1f} CPU-s used by other processes meanwhile)"
    return line


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--mb", type=float, default=100, help="size of the generated corpus (10^6 bytes)")
    parser.add_argument("--files", type=int, default=5, help="JSONL files in the corpus")
    parser.add_argument("--seed", type=int, default=0, help="seed of the lexicon and the corpus")
    parser.add_argument("--planted-share", type=float, default=0.75, help="records in the 3 planted sources")
    parser.add_argument("--decoy-rate", type=float, default=0.02, help="records with an allow-context decoy")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of every command")
    parser.add_argument("--repeat", type=int, default=1, help="runs per command (median; the floor >= 3)")
    parser.add_argument(
        "--matcher-repeat", type=int, default=3, help="timed passes of the in-process matcher"
    )
    parser.add_argument(
        "--compare",
        default="floor,convert",
        help="commands to time beside corpus-kit safety: floor, convert (comma list), or none",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=3.0,
        help="before each command, wait for this many s of idle CPU; 0 skips",
    )
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()), help="set cache folder")
    parser.add_argument("--keep", type=Path, help="keep the two safety outputs under this folder")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    compare = [t.strip() for t in args.compare.split(",") if t.strip() and t.strip() != "none"]
    unknown = sorted(set(compare) - {"floor", "convert"})
    if unknown:
        parser.error(f"--compare: unknown {', '.join(unknown)} (floor, convert)")
    args.tools = [t for t in TOOLS if t in compare or t.startswith("safety-")]
    if args.mb <= 0 or args.files < 1 or args.workers < 1 or args.repeat < 1 or args.matcher_repeat < 1:
        parser.error("--mb must be > 0 and --files, --workers, --repeat, --matcher-repeat >= 1")
    if not 0 < args.planted_share <= 1 or not 0 <= args.decoy_rate < 1:
        parser.error("--planted-share must be in (0, 1] and --decoy-rate in [0, 1)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    folder = ensure_set(args)
    summary = json.loads((folder / "summary.json").read_text())
    lexicon, corpus_dir = folder / "lexicon.yaml", folder / "corpus"
    corpus = describe_corpus(corpus_dir)
    truth = read_truth(folder)
    print(
        f"set: {folder} · {corpus['files']} files · {corpus['bytes'] / MB:,.1f} MB · "
        f"{corpus['docs']:,} docs · "
        f"{summary['planted']:,} planted · {summary['decoys']:,} decoys · workers {args.workers}",
        flush=True,
    )
    lex = summary["lexicon"]
    check = lexicon_check(lexicon)
    print(
        f"lexicon: {lex['terms']:,} terms over {len(lex['per_code'])} codes ({min(lex['per_code'].values())}-"
        f"{max(lex['per_code'].values())} per code; {lex['cjk']:,} Chinese from "
        f"{lex['pool_characters']} rare characters, {lex['latin']:,} English nonsense; "
        f"{lex['gap']:,} with gap, {lex['allow']:,} with allow "
        f"contexts, {lex['severity_flag']:,} severity flag); `corpus-kit safety lexicon-check --strict`: "
        f"exit {check['returncode']}, {check['terms'] or 0:,} terms, meets minima: {check['meets_minima']}",
        flush=True,
    )
    if not check["ok"]:
        print(f"lexicon-check problems: {check['problems']}", file=sys.stderr)
    payload: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        },
        "workers": args.workers,
        "repeat": args.repeat,
        "set": summary,
        "corpus": corpus,
        "lexicon_check": check,
    }

    ids, sources, texts = read_corpus(corpus_dir)
    matcher, in_process = matcher_speed(lexicon, texts, args.matcher_repeat)
    del texts
    payload["matcher"] = matcher
    print(f"matcher alone: {matcher['mb_per_s']:.1f} MB/s, {matcher['docs_per_s']:,.0f} docs/s", flush=True)

    scratch = Path(tempfile.mkdtemp(prefix="ck-bench-safety-"))
    failed: list[str] = [] if check["ok"] else ["lexicon-check --strict"]
    try:
        runs: dict[str, list[dict[str, Any]]] = {tool: [] for tool in args.tools}
        reps = {tool: max(args.repeat, FLOOR_RUNS) if tool == "floor" else args.repeat for tool in runs}
        for rep in range(max(reps.values())):
            for tool in runs:
                if rep >= reps[tool] or (runs[tool] and "error" in runs[tool][-1]):
                    continue
                run = run_tool(tool, corpus, lexicon, scratch, args)
                runs[tool].append(run)
                if not tool.startswith("safety-"):
                    shutil.rmtree(run["out"], ignore_errors=True)
                print(f"  [{rep + 1}/{reps[tool]}] {progress_line(tool, run)}", flush=True)
        results = {tool: summarize(tool_runs) for tool, tool_runs in runs.items()}
        payload["commands"] = results
        failed += [f"{tool} failed" for tool, row in results.items() if "error" in row]

        flag = drop = None
        if "error" not in results["safety-flag"]:
            flag_out = Path(results["safety-flag"]["out"])
            flag = evaluate_flag(flag_out, truth, corpus["docs"], summary)
            column = read_output(flag_out)
            differ = sum(
                set(hits) != set(risks_of(column.get(record_id)))
                for record_id, hits in zip(ids, in_process, strict=True)
            )
            flag["in_process_vs_command_differ"] = differ
            flag["checks"]["in-process matcher agrees with the command"] = differ == 0
            failed += [name for name, ok in flag["checks"].items() if not ok]
        if "error" not in results["safety-drop"]:
            drop = evaluate_drop(
                Path(results["safety-drop"]["out"]), truth, ids, sources, summary["blacklisted_expected"]
            )
            failed += [name for name, ok in drop["checks"].items() if not ok]
        payload["accuracy"] = {"flag": flag, "drop": drop}
        if flag:
            print_accuracy(flag, drop, summary)
        print_speed(matcher, results, args.workers)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for tool in ("safety-flag", "safety-drop"):
                if "out" in results[tool]:
                    shutil.rmtree(args.keep / tool, ignore_errors=True)
                    shutil.move(results[tool]["out"], args.keep / tool)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    checks = {**(flag or {}).get("checks", {}), **(drop or {}).get("checks", {})}
    print("\nchecks: " + "; ".join(f"{name}: {'PASS' if ok else 'FAIL'}" for name, ok in checks.items()))
    payload["failed"] = failed
    payload["benchmark_wall_s"] = round(time.perf_counter() - started, 1)
    print(
        f"whole benchmark: {payload['benchmark_wall_s']:.0f} s; "
        + (f"FAILED: {', '.join(failed)}" if failed else "all accuracy checks pass")
    )
    if args.json:
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=list) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
