"""Deduplication benchmark: corpus-kit and datatrove's MinHash pipeline on the same labelled set, same run.

    pip install ".[bench]"                                   # Django: the set's text comes from it
    python benchmarks/bench_dedup.py --mb 100 --workers 2 --json dedup.json
    python benchmarks/bench_dedup.py --input /tmp/dedup_set  # reuse a make_dedup_set.py folder
    python benchmarks/bench_dedup.py --mb 10 --keep /tmp/dedup_set --tools datatrove

The set (``make_dedup_set.py``: distinct zh/en originals, exact and near copies, hard negatives that
share boilerplate with an original and must be kept) is made first, unless ``--input`` names one. Then,
in the same run, with a warm page cache and ``CI=1``, each tool runs as one whole process (interpreter
start, imports and writing the survivors included):

* corpus-kit: ``corpus-kit dedup 'DIR/part-*.jsonl' -o OUT --mode both --threshold 0.8 --workers 2
  --quiet`` (the ``corpus-kit`` next to ``sys.executable``; the glob keeps stray files in DIR out);
  survivors = the ``id`` column of ``OUT/data/*.parquet``.
* datatrove: its 4-stage MinHash pipeline with the default ``MinhashConfig`` (word 5-grams, 14 buckets x
  8 hashes, 64-bit xxhash) and the default word tokenizer (``Languages.english``: spaCy's blank English
  tokenizer, no model download; Chinese runs between punctuation become single "words"):
  JsonlReader -> MinhashDedupSignature (tasks = files) -> MinhashDedupBuckets (tasks = 14) ->
  MinhashDedupCluster (1 task) -> JsonlReader -> MinhashDedupFilter -> ParquetWriter (zstd, tasks =
  files), LocalPipelineExecutor with ``--workers``; survivors = the ``id`` column of its Parquet output.

Accuracy, from ``labels.json``: a duplicate cluster is an original with its exact and near copies
(k >= 2 members). A removal is correct when the document belongs to such a cluster and is not its last
surviving member, at most k - 1 per cluster. Recall = correct removals / sum of (k - 1); precision =
correct removals / all removals. "Clusters wiped out" have no survivor. Recall by kind credits each
removed copy to its kind; when a tool removes the original and keeps a copy, the credit goes to the
first surviving copy. MB/s = input bytes on disk / wall seconds; docs/s = input documents / wall.
Peak RSS: the largest single process (``wait4``) and the sum over the process tree (sampled every
0.2 s from ``/proc``; Linux only). The same sampling adds up the CPU time that other processes used
during each run: on a 2-core machine anything above a few seconds means the timing is not clean.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

MB = 1_000_000
TOOLS = ("corpus-kit", "datatrove")


# ---------------------------------------------------------------------------------------------
# datatrove (runs in a child process: ``--datatrove-child INPUT WORK``)
# ---------------------------------------------------------------------------------------------


def run_datatrove(input_dir: Path, work: Path, workers: int, language: str) -> dict[str, float]:
    """datatrove's 4 MinHash stages, one after the other; returns each stage's wall seconds."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import ParquetWriter

    config = MinhashConfig()
    files = len(sorted(input_dir.glob("part-*.jsonl")))

    def reader() -> JsonlReader:
        return JsonlReader(str(input_dir), glob_pattern="part-*.jsonl")

    stages = {
        "signatures": LocalPipelineExecutor(
            pipeline=[reader(), MinhashDedupSignature(str(work / "sigs"), config=config, language=language)],
            tasks=files,
            workers=workers,
            logging_dir=str(work / "logs/signatures"),
        ),
        "buckets": LocalPipelineExecutor(
            pipeline=[MinhashDedupBuckets(str(work / "sigs"), str(work / "buckets"), config=config)],
            tasks=config.num_buckets,
            workers=workers,
            logging_dir=str(work / "logs/buckets"),
        ),
        "cluster": LocalPipelineExecutor(
            pipeline=[MinhashDedupCluster(str(work / "buckets"), str(work / "remove_ids"), config=config)],
            tasks=1,
            logging_dir=str(work / "logs/cluster"),
        ),
        "filter": LocalPipelineExecutor(
            pipeline=[
                reader(),
                MinhashDedupFilter(str(work / "remove_ids")),
                ParquetWriter(str(work / "output"), compression="zstd"),
            ],
            tasks=files,
            workers=workers,
            logging_dir=str(work / "logs/filter"),
        ),
    }
    times: dict[str, float] = {}
    for name, executor in stages.items():  # sequential .run(): `depends=` polls every 2 minutes
        start = time.perf_counter()
        executor.run()
        times[name] = round(time.perf_counter() - start, 3)
    return times


# ---------------------------------------------------------------------------------------------
# Running a tool as a whole process
# ---------------------------------------------------------------------------------------------


class TreeMonitor:
    """Samples /proc (Linux) while a process runs: the summed RSS of its process tree, and the CPU time
    that processes outside the tree (and outside this script) used meanwhile, to spot a busy machine."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.foreign_ticks = 0
        self._before: dict[int, int] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._hz = os.sysconf("SC_CLK_TCK")

    @property
    def foreign_cpu_s(self) -> float:
        return self.foreign_ticks / self._hz

    def __enter__(self) -> TreeMonitor:
        if Path("/proc/self/stat").exists():
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _sample(self) -> None:
        children: dict[int, list[int]] = {}
        rss: dict[int, int] = {}
        ticks: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as handle:
                    fields = handle.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            pid = int(entry.name)
            children.setdefault(int(fields[1]), []).append(pid)
            rss[pid] = int(fields[21]) * self._page
            ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime
        tree: set[int] = set()
        total, stack = 0, [self.pid]
        while stack:
            pid = stack.pop()
            tree.add(pid)
            total += rss.get(pid, 0)
            stack.extend(children.get(pid, []))
        self.peak = max(self.peak, total)
        if self._before is not None:
            for pid, value in ticks.items():
                if pid not in tree and pid != os.getpid():
                    self.foreign_ticks += max(0, value - self._before.get(pid, 0))
        self._before = ticks

    def _loop(self) -> None:
        self._sample()
        while not self._stop.wait(self.interval):
            self._sample()


@dataclass
class Run:
    """One tool's run: timings, memory, survivors and accuracy."""

    tool: str
    status: str = "ok"  # ok | unavailable | failed
    message: str = ""
    command: str = ""
    wall_s: float = 0.0
    mb_per_s: float = 0.0
    docs_per_s: float = 0.0
    peak_rss_largest_mb: float = 0.0
    peak_rss_tree_mb: float = 0.0
    foreign_cpu_s: float = 0.0  # CPU seconds other processes used during the run (0 on a quiet machine)
    stages_s: dict[str, float] = field(default_factory=dict)
    accuracy: dict[str, Any] = field(default_factory=dict)


def run_process(cmd: list[str], log: Path, env: dict[str, str]) -> tuple[int, float, float, TreeMonitor, str]:
    """(exit status, wall s, largest-process peak RSS MB, tree monitor, stdout) of one command."""
    with open(log, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env)
        with TreeMonitor(proc.pid) as monitor:
            out_chunks: list[bytes] = []
            reader = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True)  # type: ignore[union-attr]
            reader.start()
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            reader.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    largest = usage.ru_maxrss / 1024  # KiB on Linux
    stdout = b"".join(out_chunks).decode(errors="replace")
    return proc.returncode, wall, largest, monitor, stdout


def read_ids(folder: Path) -> list[str]:
    import pyarrow.parquet as pq

    ids: list[str] = []
    for path in sorted(folder.rglob("*.parquet")):
        ids.extend(str(x) for x in pq.read_table(path, columns=["id"]).column("id").to_pylist())
    return ids


def corpus_kit_command() -> Path:
    return Path(sys.executable).parent / "corpus-kit"


def corpus_kit_missing(env: dict[str, str]) -> str | None:
    """Why ``corpus-kit dedup`` cannot run here, or None when it can."""
    cli = corpus_kit_command()
    if not cli.exists():
        return f"{cli} not found (pip install . in this environment)"
    probe = subprocess.run([str(cli), "dedup", "--help"], capture_output=True, text=True, env=env)
    if probe.returncode != 0:
        tail = (probe.stderr or probe.stdout).strip().splitlines()[-3:]
        return "`corpus-kit dedup` is not available in this version: " + " ".join(t.strip("│ ") for t in tail)
    return None


def datatrove_missing(env: dict[str, str]) -> str | None:
    """Why datatrove's MinHash steps cannot run here, or None when they can."""
    code = (
        "import datatrove.pipeline.dedup.minhash, datatrove.pipeline.writers\n"
        "from datatrove.utils.hashes.xxhash import xxhash64\n"
        "xxhash64('a')\n"
    )
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        return (
            f"{last}. datatrove's dedup needs packages of its 'processing' extra that corpus-kit does not "
            "install: tokenizers, and xxhash<4 (xxhash 4 refuses str); put them aside with "
            "`pip install --no-deps --target DIR tokenizers 'xxhash<4'` and pass --datatrove-pythonpath DIR"
        )
    return None


# ---------------------------------------------------------------------------------------------
# Accuracy
# ---------------------------------------------------------------------------------------------


def evaluate(labels: dict[str, dict[str, Any]], order: list[str], survivors: list[str]) -> dict[str, Any]:
    """Recall, precision and error breakdown of a set of surviving ids against labels.json."""
    alive = set(survivors)
    removed = [i for i in order if i not in alive]
    members: dict[str, list[str]] = {}
    for doc_id in order:  # input order: the original first, its copies later
        members.setdefault(labels[doc_id]["cluster"], []).append(doc_id)
    credit: Counter[tuple[str, str]] = Counter()
    copies: Counter[tuple[str, str]] = Counter()
    correct = wiped = needed = 0
    for cluster, ids in members.items():
        if len(ids) < 2:
            continue
        lang = labels[cluster]["lang"]
        needed += len(ids) - 1
        for doc_id in ids[1:]:
            copies[(labels[doc_id]["kind"], lang)] += 1
        gone = [i for i in ids if i not in alive]
        correct += min(len(gone), len(ids) - 1)
        if len(gone) == len(ids):
            wiped += 1
            credited = ids[1:]
        else:
            credited = [i for i in gone if i != cluster]
            if cluster in gone:  # the original went, a copy stands in for it
                credited.append(next(i for i in ids[1:] if i in alive))
        for doc_id in credited:
            credit[(labels[doc_id]["kind"], lang)] += 1
    in_cluster = {c for c, ids in members.items() if len(ids) >= 2}
    wrong: Counter[str] = Counter()
    for doc_id in removed:
        kind = labels[doc_id]["kind"]
        if kind == "hard_negative":
            wrong["hard_negative"] += 1
        elif kind == "original" and doc_id not in in_cluster:
            wrong["unique_original"] += 1

    def ratio(a: float, b: float) -> float | None:
        return round(a / b, 4) if b else None

    out: dict[str, Any] = {
        "docs_in": len(order),
        "docs_out": len(alive),
        "unknown_ids_out": len(alive - set(order)),
        "duplicate_ids_out": len(survivors) - len(alive),
        "removed": len(removed),
        "correct_removals": correct,
        "removals_needed": needed,
        "recall": ratio(correct, needed),
        "precision": ratio(correct, len(removed)),
        "clusters": len(in_cluster),
        "clusters_wiped_out": wiped,
        "hard_negatives_removed": wrong["hard_negative"],
        "hard_negatives": sum(1 for lab in labels.values() if lab["kind"] == "hard_negative"),
        "unique_originals_removed": wrong["unique_original"],
    }
    for kind in ("exact_dup", "near_dup"):
        out[f"recall_{kind}"] = ratio(
            sum(credit[(kind, g)] for g in ("zh", "en")), sum(copies[(kind, g)] for g in ("zh", "en"))
        )
        for lang in ("zh", "en"):
            out[f"recall_{kind}_{lang}"] = ratio(credit[(kind, lang)], copies[(kind, lang)])
    for lang in ("zh", "en"):
        out[f"recall_{lang}"] = ratio(
            sum(credit[(k, lang)] for k in ("exact_dup", "near_dup")),
            sum(copies[(k, lang)] for k in ("exact_dup", "near_dup")),
        )
    return out


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


ROWS: list[tuple[str, str, str]] = [  # (label, key, format)
    ("wall s", "wall_s", "{:.2f}"),
    ("MB/s", "mb_per_s", "{:.2f}"),
    ("docs/s", "docs_per_s", "{:,.0f}"),
    ("peak RSS, largest process (MB)", "peak_rss_largest_mb", "{:,.0f}"),
    ("peak RSS, process tree (MB)", "peak_rss_tree_mb", "{:,.0f}"),
    ("CPU s used by other processes meanwhile", "foreign_cpu_s", "{:.1f}"),
    ("documents removed", "removed", "{:,}"),
    ("correct removals / needed", "correct", "{}"),
    ("**recall**", "recall", "**{:.4f}**"),
    ("**precision**", "precision", "**{:.4f}**"),
    ("recall, exact copies (zh / en)", "recall_exact", "{}"),
    ("recall, near copies (zh / en)", "recall_near", "{}"),
    ("recall, zh / en", "recall_lang", "{}"),
    ("clusters wiped out", "clusters_wiped_out", "{:,}"),
    ("hard negatives removed", "hard_negatives_removed", "{}"),
    ("unique originals removed", "unique_originals_removed", "{:,}"),
]


def cell(run: Run, key: str, fmt: str) -> str:
    if run.status != "ok":
        return f"({run.status})" if key == "wall_s" else ""
    a = run.accuracy

    def f(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.4f}"

    if key == "correct":
        return f"{a['correct_removals']:,} / {a['removals_needed']:,}"
    if key == "recall_exact":
        return f"{f(a['recall_exact_dup'])} ({f(a['recall_exact_dup_zh'])} / {f(a['recall_exact_dup_en'])})"
    if key == "recall_near":
        return f"{f(a['recall_near_dup'])} ({f(a['recall_near_dup_zh'])} / {f(a['recall_near_dup_en'])})"
    if key == "recall_lang":
        return f"{f(a['recall_zh'])} / {f(a['recall_en'])}"
    if key == "hard_negatives_removed":
        return f"{a['hard_negatives_removed']} of {a['hard_negatives']:,}"
    value = a[key] if key in a else getattr(run, key)
    return "n/a" if value is None else fmt.format(value)


def markdown(runs: list[Run], title: str) -> str:
    lines = [f"| {title} | " + " | ".join(r.tool for r in runs) + " |", "|---|" + "---:|" * len(runs)]
    lines += [
        f"| {label} | " + " | ".join(cell(r, key, fmt) for r in runs) + " |" for label, key, fmt in ROWS
    ]
    ok = {r.tool: r for r in runs if r.status == "ok"}
    if "corpus-kit" in ok and "datatrove" in ok and ok["datatrove"].mb_per_s:
        ratio = ok["corpus-kit"].mb_per_s / ok["datatrove"].mb_per_s
        lines.append(f"| speed, corpus-kit / datatrove | **{ratio:.1f}x** |" + " |" * (len(runs) - 1))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mb", type=float, default=100.0, help="size of the set to make, MB (default 100)")
    parser.add_argument("--files", type=int, default=5, help="JSONL files in the set (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--input", type=Path, help="use this make_dedup_set.py folder instead of making one")
    parser.add_argument("--keep", type=Path, help="make the set in this folder and keep it")
    parser.add_argument(
        "--work", type=Path, help="keep the tools' outputs and logs here (default: temporary)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threshold", type=float, default=0.8, help="corpus-kit --threshold (default 0.8)")
    parser.add_argument(
        "--tools", default=",".join(TOOLS), help="comma-separated subset of: " + ", ".join(TOOLS)
    )
    parser.add_argument(
        "--datatrove-language",
        default="eng",
        help="language of datatrove's word tokenizer (default eng, its default; cmn_Hani needs jieba)",
    )
    parser.add_argument(
        "--datatrove-pythonpath",
        type=Path,
        help="folder put first on datatrove's PYTHONPATH only (for tokenizers and xxhash<4)",
    )
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument("--datatrove-child", nargs=2, metavar=("INPUT", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.datatrove_child:
        times = run_datatrove(Path(args.datatrove_child[0]), Path(args.datatrove_child[1]), args.workers,
                              args.datatrove_language)  # fmt: skip
        print(json.dumps({"stages_s": times}))
        return

    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    if unknown := set(tools) - set(TOOLS):
        parser.error(f"unknown tool(s): {', '.join(sorted(unknown))}")
    temp = Path(tempfile.mkdtemp(prefix="bench_dedup_"))
    work = args.work or temp / "work"
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.input:
            data = args.input
            if not (data / "labels.json").exists():
                sys.exit(f"{data}: no labels.json (make it with benchmarks/make_dedup_set.py)")
        else:
            from make_dedup_set import generate

            data = args.keep or temp / "set"
            start = time.perf_counter()
            stats = generate(data, args.mb, args.files, args.seed)
            elapsed = time.perf_counter() - start
            print(f"made {data}: {stats.bytes / MB:.1f} MB, {stats.docs:,} docs in {elapsed:.1f} s")
        results = bench(data, work, tools, args)
        print()
        print(markdown(results["runs"], f"{results['input_mb']:.1f} MB, {results['docs']:,} docs"))
        if args.json:
            args.json.write_text(
                json.dumps({**results, "runs": [asdict(r) for r in results["runs"]]}, indent=2)
            )
            print(f"\nresults: {args.json}")
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def bench(data: Path, work: Path, tools: list[str], args: argparse.Namespace) -> dict[str, Any]:
    import orjson

    files = sorted(data.glob("part-*.jsonl"))
    if not files:
        sys.exit(f"{data}: no part-*.jsonl files")
    input_bytes = sum(p.stat().st_size for p in files)
    if others := sorted(p.name for p in data.iterdir() if p not in files and p.name != "labels.json"):
        print(f"note: {data} also holds {', '.join(others[:5])}: the tools read only part-*.jsonl")
    order: list[str] = []
    for path in files:  # also warms the page cache
        with open(path, "rb") as handle:
            order.extend(orjson.loads(line)["id"] for line in handle)
    labels = orjson.loads((data / "labels.json").read_bytes())
    env = {**os.environ, "CI": "1"}
    runs: list[Run] = []
    print(f"input: {data}, {len(files)} files, {input_bytes:,} bytes, {len(order):,} docs")
    for tool in tools:
        run = Run(tool)
        tool_env = dict(env)
        out = work / tool
        shutil.rmtree(out, ignore_errors=True)
        if tool == "corpus-kit":
            cmd = [str(corpus_kit_command()), "dedup", str(data / "part-*.jsonl"), "-o", str(out / "dataset"),
                   "--mode", "both", "--threshold", str(args.threshold), "--workers", str(args.workers),
                   "--quiet"]  # fmt: skip
            why = corpus_kit_missing(tool_env)
            survivors_dir = out / "dataset" / "data"
        else:
            cmd = [sys.executable, str(Path(__file__).resolve()), "--datatrove-child", str(data),
                   str(out), "--workers", str(args.workers),
                   "--datatrove-language", args.datatrove_language]  # fmt: skip
            if args.datatrove_pythonpath:
                extra = str(args.datatrove_pythonpath.resolve())
                tool_env["PYTHONPATH"] = os.pathsep.join(filter(None, [extra, env.get("PYTHONPATH")]))
            why = datatrove_missing(tool_env)
            survivors_dir = out / "output"
        run.command = " ".join(cmd)
        if why:
            run.status, run.message = "unavailable", why
            print(f"{tool}: skipped — {why}")
            runs.append(run)
            continue
        out.mkdir(parents=True, exist_ok=True)
        print(f"{tool}: {run.command}", flush=True)
        rc, wall, largest, monitor, stdout = run_process(cmd, out.parent / f"{tool}.log", tool_env)
        if rc != 0:
            log = (out.parent / f"{tool}.log").read_text(errors="replace").strip().splitlines()
            run.status, run.message = "failed", f"exit {rc}: " + " / ".join(log[-5:])
            print(f"{tool}: FAILED ({run.message})")
            runs.append(run)
            continue
        if tool == "datatrove":
            run.stages_s = json.loads(stdout.strip().splitlines()[-1])["stages_s"]
        run.wall_s, run.peak_rss_largest_mb = round(wall, 3), round(largest)
        run.peak_rss_tree_mb, run.foreign_cpu_s = round(monitor.peak / 2**20), round(monitor.foreign_cpu_s, 1)
        run.mb_per_s = round(input_bytes / MB / wall, 3)
        run.docs_per_s = round(len(order) / wall, 1)
        run.accuracy = evaluate(labels, order, read_ids(survivors_dir))
        a = run.accuracy
        print(f"{tool}: {wall:.2f} s, {run.mb_per_s:.2f} MB/s, removed {a['removed']:,}, "
              f"recall {a['recall']}, precision {a['precision']}, other processes' CPU {run.foreign_cpu_s} s"
              + (f", stages {run.stages_s}" if run.stages_s else ""))  # fmt: skip
        runs.append(run)
    return {
        "input": str(data),
        "input_bytes": input_bytes,
        "input_mb": input_bytes / MB,
        "docs": len(order),
        "workers": args.workers,
        "threshold": args.threshold,
        "datatrove_language": args.datatrove_language,
        "datatrove_pythonpath": str(args.datatrove_pythonpath or ""),
        "python": sys.version.split()[0],
        "runs": runs,
    }


if __name__ == "__main__":
    main()
