"""A corpus-kit pipeline next to the I/O floor and datatrove's native blocks, in the same run.

    python benchmarks/bench_standard.py --mb 200                    # pipelines/standard.yaml
    python benchmarks/bench_standard.py --pipeline pipelines/demo.yaml --json /tmp/standard.json
    python benchmarks/bench_standard.py --input /data/intake --repeat 3
    python benchmarks/bench_standard.py --tools corpus-kit --memory-check     # + 100 MB vs 1 GB peak RSS

The corpus is made by ``make_corpus.py`` (mixed zh/en JSONL, ~5% exact and ~10% near duplicates,
~3% with PII) and cached in the temporary folder, keyed by size, file count and seed; ``--input DIR``
measures an existing folder of ``*.jsonl`` / ``*.jsonl.gz`` files instead. The tools, each run as a
separate process on the same files with a warm page cache, ``CI=1`` and the same worker count:

* ``floor``: ``floor.py``, orjson parse + pyarrow Parquet (zstd) write of ``{id, text}``;
* ``datatrove``: datatrove's own ``JsonlReader -> GopherQualityFilter -> PIIFormatter -> ParquetWriter``
  on ``LocalPipelineExecutor`` (tasks = input files), Gopher with its default English tokenizer;
* ``datatrove-zh``: the same with ``language="cmn_Hani"``, i.e. spaCy-zh with the jieba segmenter
  (``pip install jieba``; ``"zh"`` would silently give spaCy's multilingual ``xx`` tokenizer);
* ``corpus-kit``: ``corpus-kit run PIPELINE -i CORPUS -o OUT --workers N --quiet --overwrite``.

Every number is the wall time of a whole process (interpreter start, imports and writing the output
included); the tables give the median of ``--repeat`` runs (the floor, which takes about a second,
runs at least 3 times). MB/s = input bytes on disk / wall; docs/s =
input records / wall. Peak RSS is the largest sum over the process tree (the tool and all of its
workers), sampled every 0.2 s with psutil when it is installed, else from ``/proc`` (which also gives
PSS, which does not count copy-on-write pages shared by forked workers twice). PSS is read on every
5th sample only: reading it walks a process's page tables under its memory lock, and doing so five
times a second slowed a 9 s corpus-kit run by ~0.4 s. corpus-kit's seconds per
stage come from ``OUT/manifest.json`` (``pipeline.steps[].seconds``, summed over tasks).

``--memory-check`` also runs the corpus-kit pipeline on a 100 MB and a 1 GB corpus (``--memory-sizes``)
and checks that the larger run's peak RSS is within 1.5x of the smaller one's (exit status 1 if not).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib.util
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MB = 1_000_000
DEFAULT_PIPELINE = Path("pipelines/standard.yaml")
SAMPLE_INTERVAL = 0.2
# PSS walks the process's page tables under its memory lock (~3 ms a process here, stalling its page
# faults): taken on every 5th sample only; RSS, from statm, on every sample
PSS_EVERY = 5
MEMORY_LIMIT_RATIO = 1.5
FLOOR_RUNS = 3
TOOLS = ("floor", "datatrove", "datatrove-zh", "corpus-kit")
LABELS = {
    "floor": "floor: orjson + pyarrow write",
    "datatrove": "datatrove native: Gopher (eng) + PII + Parquet",
    "datatrove-zh": "datatrove native: Gopher (cmn_Hani, jieba) + PII + Parquet",
    "corpus-kit": "corpus-kit run {pipeline}",
}
DATATROVE_LANGUAGE = {"datatrove": "eng", "datatrove-zh": "cmn_Hani"}


# ---------------------------------------------------------------------------------------------
# Peak memory of a process tree
# ---------------------------------------------------------------------------------------------


def _proc_table() -> tuple[dict[int, list[int]], dict[int, float]]:
    """Parent pid -> child pids, and pid -> CPU-seconds used so far (user + system), from /proc/*/stat."""
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()  # the command name may hold spaces
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    return children, cpu


def _proc_memory(pid: int, with_pss: bool = True) -> tuple[int, int]:
    """(RSS, PSS) of one process in bytes: RSS from /proc/PID/statm, PSS from smaps_rollup (0 when not
    asked for or not readable); (0, 0) once the process has gone."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            rss = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0, 0
    pss = 0
    if with_pss:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
                for line in handle:
                    if line.startswith(b"Pss:"):
                        pss = int(line.split()[1]) * 1024
        except OSError:
            pss = rss
    return rss, pss


class TreeSampler(threading.Thread):
    """Samples the summed RSS (and PSS where available) of a process and its descendants.

    It also keeps the last CPU time seen of every process in the tree: their sum is the tree's CPU
    use, less what a process used after the last sample (at most one interval each).
    """

    def __init__(self, root: int, interval: float = SAMPLE_INTERVAL) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.peak_rss = 0
        self.peak_pss: int | None = 0
        self.peak_processes = 0
        self.samples = 0
        self.pss_readable = True
        self.cpu: dict[int, float] = {}
        self._done = threading.Event()
        try:
            import psutil  # noqa: F401

            self.method = "psutil"
        except ImportError:
            self.method = "/proc" if os.path.exists("/proc/self/stat") else "none"

    def _sample_proc(self, with_pss: bool) -> tuple[int, int | None, int]:
        children, cpu = _proc_table()
        pids, stack = [], [self.root]
        while stack:
            pid = stack.pop()
            pids.append(pid)
            stack.extend(children.get(pid, ()))
        rss = pss = 0
        for pid in pids:
            if pid in cpu:
                self.cpu[pid] = cpu[pid]
            one_rss, one_pss = _proc_memory(pid, with_pss)
            rss += one_rss
            pss += one_pss
        return rss, (pss if with_pss else None), len(pids)

    def _sample_psutil(self, with_pss: bool) -> tuple[int, int | None, int]:
        import psutil

        try:
            root = psutil.Process(self.root)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0, 0, 0
        rss = pss = 0
        has_pss = with_pss
        for proc in procs:
            try:
                info = proc.memory_full_info() if has_pss else proc.memory_info()
            except psutil.AccessDenied:  # PSS needs smaps, which may be closed to us
                has_pss = self.pss_readable = False
                info = proc.memory_info()
            except psutil.Error:  # the process has gone
                continue
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                self.cpu[proc.pid] = times.user + times.system
            rss += info.rss
            has_pss = has_pss and hasattr(info, "pss")
            pss += getattr(info, "pss", 0)
        return rss, (pss if has_pss else None), len(procs)

    def sample(self) -> None:
        if self.method == "none":
            return
        with_pss = self.pss_readable and self.samples % PSS_EVERY == 0
        if self.method == "psutil":
            rss, pss, count = self._sample_psutil(with_pss)
        else:
            rss, pss, count = self._sample_proc(with_pss)
        self.samples += 1
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_processes = max(self.peak_processes, count)
        if not self.pss_readable:
            self.peak_pss = None
        elif pss is not None and self.peak_pss is not None:
            self.peak_pss = max(self.peak_pss, pss)

    def run(self) -> None:
        while not self._done.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._done.set()
        self.join()


def busy_cpu_seconds() -> float | None:
    """CPU-seconds the whole machine has been busy (user, nice, system, irq, softirq), from /proc/stat."""
    try:
        with open("/proc/stat", "rb") as handle:
            fields = handle.readline().split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def settle(seconds: float, limit: float = 120.0) -> float:
    """Wait (at most ``limit`` s) until the machine has been nearly idle for ``seconds``; the wait."""
    started = time.perf_counter()
    if seconds <= 0 or busy_cpu_seconds() is None:
        return 0.0
    quiet = 0.0
    while quiet < seconds and time.perf_counter() - started < limit:
        before = busy_cpu_seconds() or 0.0
        time.sleep(0.5)
        quiet = quiet + 0.5 if (busy_cpu_seconds() or 0.0) - before < 0.1 else 0.0
    return time.perf_counter() - started


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Measured:
    wall_s: float
    returncode: int
    peak_rss_mb: float
    peak_pss_mb: float | None
    memory_method: str
    peak_processes: int
    cpu_s: float
    foreign_cpu_s: float | None
    stdout: str


def run_measured(command: list[str], log: Path, cwd: Path = REPO) -> Measured:
    """Run ``command`` as a process: its wall time, its tree's peak memory and CPU, and other CPU use.

    ``foreign_cpu_s`` is the machine's busy CPU time during the run less the tool's and this
    script's own: anything well above zero means something else competed for the cores.
    """
    env = {**os.environ, "CI": "1"}
    busy0, children0, own0 = busy_cpu_seconds(), _children_cpu_seconds(), time.process_time()
    with open(log, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, cwd=cwd, env=env)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        stdout = proc.stdout.read() if proc.stdout else b""
        if sampler.method == "none":  # no /proc: the largest single process, from the kernel
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            scale = 1 if sys.platform == "darwin" else 1024
            sampler.peak_rss = usage.ru_maxrss * scale
            sampler.peak_pss = None
        else:
            proc.wait()
        wall = time.perf_counter() - started
        sampler.stop()
    # waited-for children report their CPU at exit; forkserver workers are not waited for by the
    # tool's main process, so take the sampled sum when it is larger
    cpu = max(_children_cpu_seconds() - children0, sum(sampler.cpu.values()))
    busy1 = busy_cpu_seconds()
    foreign = None
    if busy0 is not None and busy1 is not None:
        foreign = busy1 - busy0 - cpu - (time.process_time() - own0)
    method = sampler.method if sampler.method != "none" else "ru_maxrss (largest single process)"
    return Measured(
        wall_s=wall,
        returncode=proc.returncode,
        peak_rss_mb=sampler.peak_rss / 2**20,
        peak_pss_mb=None if sampler.peak_pss is None else sampler.peak_pss / 2**20,
        memory_method=method,
        peak_processes=sampler.peak_processes,
        cpu_s=cpu,
        foreign_cpu_s=foreign,
        stdout=stdout.decode("utf-8", "replace"),
    )


# ---------------------------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------------------------


def corpus_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith((".jsonl", ".jsonl.gz")))


def ensure_corpus(mb: float, files: int, seed: int, cache: Path) -> Path:
    """A make_corpus.py corpus, generated once per (size, files, seed) and cached under ``cache``."""
    folder = cache / f"ck-bench-corpus-{mb:g}mb-{files}f-seed{seed}"
    done = cache / f"{folder.name}.done.json"
    if done.exists() and folder.is_dir():
        return folder
    partial = cache / f"{folder.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    print(f"generating a {mb:g} MB corpus ({files} files, seed {seed}) in {folder} ...", flush=True)
    started = time.perf_counter()
    command = [
        sys.executable, str(HERE / "make_corpus.py"), "-o", str(partial), "--mb", f"{mb:g}",
        "--files", str(files), "--seed", str(seed),
    ]  # fmt: skip
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    summary = {"mb": mb, "files": files, "seed": seed, "make_corpus": result.stdout.strip()}
    done.write_text(json.dumps(summary, indent=2) + "\n")
    made = result.stdout.strip().replace(str(partial), str(folder))
    print(f"  {made} ({time.perf_counter() - started:.1f} s)", flush=True)
    return folder


def describe_corpus(folder: Path) -> dict[str, Any]:
    """Bytes on disk and records of the input files; reading them also warms the page cache."""
    files = corpus_files(folder)
    if not files:
        raise SystemExit(f"no *.jsonl or *.jsonl.gz files in {folder}")
    docs = 0
    for path in files:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as handle:
            docs += sum(chunk.count(b"\n") for chunk in iter(lambda h=handle: h.read(1 << 24), b""))
    return {
        "path": str(folder),
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
        "docs": docs,
        "compressed": any(p.name.endswith(".gz") for p in files),
    }


# ---------------------------------------------------------------------------------------------
# datatrove's native blocks (run in a child process: `bench_standard.py _datatrove ...`)
# ---------------------------------------------------------------------------------------------


def datatrove_native(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench_standard.py _datatrove")
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("logs", type=Path)
    parser.add_argument("--language", default="eng")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tasks", type=int, required=True)
    parser.add_argument("--glob", default="*.jsonl")
    args = parser.parse_args(argv)

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.filters import GopherQualityFilter
    from datatrove.pipeline.formatters import PIIFormatter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import ParquetWriter

    LocalPipelineExecutor(
        [
            JsonlReader(str(args.input), glob_pattern=args.glob),
            GopherQualityFilter(language=args.language),
            PIIFormatter(),
            ParquetWriter(str(args.output), compression="zstd"),
        ],
        tasks=args.tasks,
        workers=args.workers,
        logging_dir=str(args.logs),
    ).run()


def datatrove_stats(logs: Path) -> dict[str, Any]:
    """Per-step task-seconds and documents written, from datatrove's logs/stats.json."""
    try:
        steps = json.loads((logs / "stats.json").read_text())
    except (OSError, ValueError):
        return {}
    out: dict[str, Any] = {"steps": []}
    for step in steps:
        stats = step.get("stats", {})
        out["steps"].append(
            {
                "name": " ".join(step.get("name", "").encode("ascii", "ignore").decode().split()).strip(
                    " -:"
                ),
                "seconds": round(step.get("time_stats", {}).get("total", 0.0), 3),
                "dropped": {k: v for k, v in stats.items() if k.startswith("dropped")},
            }
        )
        if "WRITER" in step.get("name", ""):
            out["docs_out"] = stats.get("total", 0)
    return out


# ---------------------------------------------------------------------------------------------
# The comparison
# ---------------------------------------------------------------------------------------------


@dataclass
class ToolRuns:
    name: str
    label: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def corpus_kit_command() -> list[str]:
    exe = Path(sys.executable).with_name("corpus-kit")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "corpus_kit"]


def command_for(
    tool: str, corpus: dict[str, Any], out: Path, logs: Path, args: argparse.Namespace
) -> list[str]:
    workers = str(args.workers)
    if tool == "floor":
        return [sys.executable, str(HERE / "floor.py"), corpus["path"], str(out), "--procs", workers]
    if tool in DATATROVE_LANGUAGE:
        return [
            sys.executable, str(Path(__file__).resolve()), "_datatrove", corpus["path"], str(out), str(logs),
            "--language", DATATROVE_LANGUAGE[tool], "--workers", workers, "--tasks", str(corpus["files"]),
            "--glob", "*.jsonl*" if corpus["compressed"] else "*.jsonl",
        ]  # fmt: skip
    return [
        *corpus_kit_command(), "run", str(args.pipeline), "-i", corpus["path"], "-o", str(out),
        "--workers", workers, "--quiet", "--overwrite",
    ]  # fmt: skip


def run_tool(tool: str, corpus: dict[str, Any], scratch: Path, args: argparse.Namespace) -> dict[str, Any]:
    out, logs = scratch / f"{tool}-out", scratch / f"{tool}-logs"
    for path in (out, logs):
        shutil.rmtree(path, ignore_errors=True)
    logs.mkdir(parents=True)
    waited = settle(args.settle)
    measured = run_measured(command_for(tool, corpus, out, logs, args), logs / "stderr.log")
    run: dict[str, Any] = {
        "wall_s": round(measured.wall_s, 3),
        "mb_per_s": round(corpus["bytes"] / measured.wall_s / MB, 3),
        "docs_per_s": round(corpus["docs"] / measured.wall_s, 1),
        "peak_rss_mb": round(measured.peak_rss_mb, 1),
        "peak_pss_mb": None if measured.peak_pss_mb is None else round(measured.peak_pss_mb, 1),
        "peak_processes": measured.peak_processes,
        "cpu_s": round(measured.cpu_s, 2),
        "foreign_cpu_s": None if measured.foreign_cpu_s is None else round(measured.foreign_cpu_s, 2),
        "memory_method": measured.memory_method,
        "returncode": measured.returncode,
        "settle_wait_s": round(waited, 1),
    }
    if measured.returncode != 0:
        tail = (logs / "stderr.log").read_text(errors="replace")[-3000:]
        run["error"] = f"exit status {measured.returncode}:\n{tail}"
    elif tool == "floor":
        run["docs_out"] = int(measured.stdout.split()[-1])
    elif tool in DATATROVE_LANGUAGE:
        run.update(datatrove_stats(logs))
    else:
        manifest = json.loads((out / "manifest.json").read_text())
        pipeline = manifest["pipeline"]
        run["docs_out"] = manifest["counts"]["output"]
        run["counts"] = manifest["counts"]
        run["pipeline_wall_s"] = pipeline["wall_seconds"]
        run["steps"] = [
            {k: step.get(k) for k in ("name", "input", "output", "dropped", "seconds")}
            for step in pipeline["steps"]
        ]
    shutil.rmtree(out, ignore_errors=True)
    return run


def progress_line(run: dict[str, Any]) -> str:
    line = (
        f"{run['wall_s']:.2f} s, {run['mb_per_s']:.2f} MB/s, peak RSS {run['peak_rss_mb']:,.0f} MB, "
        f"{run['cpu_s']:.1f} CPU-s"
    )
    foreign = run["foreign_cpu_s"]
    if foreign is not None and foreign > max(2.0, 0.05 * run["wall_s"]):
        line += f" (warning: {foreign:.1f} CPU-s used by other processes meanwhile)"
    return line


def summarize(tool: ToolRuns) -> dict[str, Any]:
    """The median run (by wall time) with the median wall, all walls, and the largest peak RSS."""
    ok = [r for r in tool.runs if "error" not in r]
    if not ok:
        return {}
    walls = [r["wall_s"] for r in ok]
    chosen = sorted(ok, key=lambda r: r["wall_s"])[(len(ok) - 1) // 2]
    wall = statistics.median(walls)
    summary = {**chosen, "wall_s": round(wall, 3), "runs_s": walls}
    summary["mb_per_s"] = round(chosen["mb_per_s"] * chosen["wall_s"] / wall, 3)
    summary["docs_per_s"] = round(chosen["docs_per_s"] * chosen["wall_s"] / wall, 1)
    summary["peak_rss_mb"] = max(r["peak_rss_mb"] for r in ok)
    pss = [r["peak_pss_mb"] for r in ok if r["peak_pss_mb"] is not None]
    summary["peak_pss_mb"] = max(pss) if pss else None
    return summary


def _num(value: float, digits: int = 2) -> str:
    return f"{value:,.{digits}f}"


def print_tables(results: dict[str, dict[str, Any]], labels: dict[str, str]) -> None:
    base = results.get("datatrove", {}).get("mb_per_s")
    floor = results.get("floor", {}).get("mb_per_s")
    print(
        "\n| tool | wall s (median) | runs | MB/s | docs/s | peak RSS MB | peak PSS MB | docs out "
        "| x datatrove-native (default Gopher) | x floor |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, row in results.items():
        if "wall_s" not in row:
            reason = (row.get("error") or "failed").splitlines()[0]
            print(f"| {labels[name]} | {reason} | | | | | | | | |")
            continue
        pss = "-" if row["peak_pss_mb"] is None else f"{row['peak_pss_mb']:,.0f}"
        x_base = f"{row['mb_per_s'] / base:.2f}x" if base else "-"
        x_floor = f"{row['mb_per_s'] / floor:.3f}x" if floor else "-"
        print(
            f"| {labels[name]} | {_num(row['wall_s'])} | {len(row['runs_s'])} | {_num(row['mb_per_s'])} "
            f"| {row['docs_per_s']:,.0f} "
            f"| {row['peak_rss_mb']:,.0f} | {pss} | {row.get('docs_out', 0):,} | {x_base} | {x_floor} |"
        )
    ck = results.get("corpus-kit")
    if ck and ck.get("steps"):
        total = sum(step["seconds"] or 0.0 for step in ck["steps"]) or 1.0
        print("\ncorpus-kit seconds per stage (manifest `pipeline.steps[].seconds`, summed over tasks):\n")
        print("| stage | input | output | dropped | seconds | share |")
        print("|---|---:|---:|---|---:|---:|")
        for step in ck["steps"]:
            dropped = step["dropped"] or {}
            dropped_text = ", ".join(f"{k} {v:,}" for k, v in dropped.items()) or "0"
            print(
                f"| {step['name']} | {step['input']:,} | {step['output']:,} | {dropped_text} "
                f"| {step['seconds']:.3f} | {step['seconds'] / total:.1%} |"
            )
        print(
            f"| **pipeline wall** (manifest) | | | | {ck['pipeline_wall_s']:.3f} | |\n"
            f"| **process wall** (start-up, imports, finalising included) | | | | {ck['wall_s']:.3f} | |"
        )
    for name in DATATROVE_LANGUAGE:
        row = results.get(name)
        if row and row.get("steps"):
            parts = ", ".join(f"{s['name']} {s['seconds']:.1f}" for s in row["steps"])
            print(f"\n{labels[name]}: task-seconds per step: {parts}")


# ---------------------------------------------------------------------------------------------
# Memory check
# ---------------------------------------------------------------------------------------------


def memory_check(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    small_mb, large_mb = args.memory_sizes
    rows = []
    for mb in (small_mb, large_mb):
        folder = ensure_corpus(mb, args.files, args.seed, args.cache)
        corpus = describe_corpus(folder)
        run = run_tool("corpus-kit", corpus, scratch, args)
        if "error" in run:
            print(f"corpus-kit failed on {mb:g} MB: {run['error']}", file=sys.stderr)
            return {"passed": False, "error": run["error"]}
        print(f"  corpus-kit on {mb:g} MB: {progress_line(run)}", flush=True)
        rows.append({"mb": mb, "corpus": corpus, **run})
    ratio = rows[1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
    pss = [r["peak_pss_mb"] for r in rows]
    pss_ratio = pss[1] / pss[0] if None not in pss else None
    passed = ratio <= MEMORY_LIMIT_RATIO
    shown = args.pipeline.relative_to(REPO) if args.pipeline.is_relative_to(REPO) else args.pipeline
    print(f"\nmemory check: `corpus-kit run {shown}`, {args.workers} workers\n")
    print("| corpus | docs | wall s | MB/s | peak RSS MB | peak PSS MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        pss_text = "-" if row["peak_pss_mb"] is None else f"{row['peak_pss_mb']:,.0f}"
        print(
            f"| {row['corpus']['bytes'] / MB:,.0f} MB | {row['corpus']['docs']:,} | {_num(row['wall_s'])} "
            f"| {_num(row['mb_per_s'])} | {row['peak_rss_mb']:,.0f} | {pss_text} |"
        )
    pss_text = f", PSS {pss_ratio:.2f}x" if pss_ratio is not None else ""
    verdict = "PASS" if passed else "FAIL"
    print(
        f"\npeak RSS {large_mb:g} MB / {small_mb:g} MB = {ratio:.2f}x{pss_text} "
        f"(limit {MEMORY_LIMIT_RATIO}x): {verdict}"
    )
    return {
        "runs": rows,
        "rss_ratio": round(ratio, 3),
        "pss_ratio": None if pss_ratio is None else round(pss_ratio, 3),
        "limit": MEMORY_LIMIT_RATIO,
        "passed": passed,
    }


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="A corpus-kit pipeline vs the I/O floor and datatrove's native blocks",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--mb", type=float, default=200, help="size of the generated corpus (10^6 bytes)")
    parser.add_argument("--input", type=Path, help="measure this folder of JSONL files instead of generating")
    parser.add_argument("--files", type=int, default=5, help="files in a generated corpus")
    parser.add_argument("--seed", type=int, default=0, help="seed of a generated corpus")
    parser.add_argument("--pipeline", type=Path, default=DEFAULT_PIPELINE, help="corpus-kit pipeline YAML")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of every tool")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool (the median is reported)")
    parser.add_argument(
        "--tools",
        default=",".join(TOOLS),
        help=f"comma list of the tools to run, from {', '.join(TOOLS)}; 'none' for none",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=3.0,
        help="before each run, wait (at most 120 s) for this many seconds of idle CPU; 0 to skip",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--memory-check", action="store_true", help="also compare 100 MB and 1 GB peak RSS")
    parser.add_argument(
        "--memory-sizes",
        type=float,
        nargs=2,
        default=(100, 1000),
        metavar=("SMALL_MB", "LARGE_MB"),
        help="corpus sizes of --memory-check",
    )
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()), help="corpus cache folder")
    args = parser.parse_args(argv)
    tools = [t.strip() for t in args.tools.split(",") if t.strip() and t.strip() != "none"]
    unknown = sorted(set(tools) - set(TOOLS))
    if unknown:
        parser.error(f"unknown tool(s) {', '.join(unknown)}; choose from {', '.join(TOOLS)}")
    args.tools = [t for t in TOOLS if t in tools]
    if args.mb <= 0 or args.files < 1 or args.workers < 1 or args.repeat < 1:
        parser.error("--mb must be > 0 and --files, --workers, --repeat >= 1")
    if args.input is not None and not args.input.is_dir():
        parser.error(f"--input {args.input} is not a folder")
    if "corpus-kit" in args.tools or args.memory_check:
        pipeline = args.pipeline if args.pipeline.is_absolute() else Path.cwd() / args.pipeline
        if not pipeline.exists() and not args.pipeline.is_absolute() and (REPO / args.pipeline).exists():
            pipeline = REPO / args.pipeline
        if not pipeline.exists():
            hint = ""
            if args.pipeline == DEFAULT_PIPELINE:
                hint = (
                    " (the standard pipeline has not landed yet: pass --pipeline pipelines/demo.yaml, "
                    "or leave corpus-kit out with --tools floor,datatrove,datatrove-zh)"
                )
            parser.error(f"pipeline {args.pipeline} not found{hint}")
        args.pipeline = pipeline.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    labels = dict(LABELS)
    if "corpus-kit" in args.tools or args.memory_check:
        shown = args.pipeline.relative_to(REPO) if args.pipeline.is_relative_to(REPO) else args.pipeline
        labels["corpus-kit"] = LABELS["corpus-kit"].format(pipeline=f"`{shown}`")
    scratch = Path(tempfile.mkdtemp(prefix="ck-bench-standard-"))
    payload: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        },
        "workers": args.workers,
        "repeat": args.repeat,
        "pipeline": str(args.pipeline),
    }
    failed = False
    try:
        if args.tools:
            folder = args.input or ensure_corpus(args.mb, args.files, args.seed, args.cache)
            corpus = describe_corpus(folder)
            payload["corpus"] = corpus
            print(
                f"corpus: {corpus['path']} · {corpus['files']} files · {corpus['bytes'] / MB:,.1f} MB · "
                f"{corpus['docs']:,} docs · workers {args.workers} · repeat {args.repeat}",
                flush=True,
            )
            runs = {tool: ToolRuns(tool, labels[tool]) for tool in args.tools}
            if "datatrove-zh" in runs and importlib.util.find_spec("jieba") is None:
                runs["datatrove-zh"].error = "skipped: needs jieba (pip install jieba)"
                print("skipping datatrove-zh: it needs jieba (pip install jieba)", file=sys.stderr)
            # the floor takes about a second, so it runs at least FLOOR_RUNS times (a single run is
            # at the mercy of a cold start); the tools take turns so that drift hits each alike
            reps = {name: max(args.repeat, FLOOR_RUNS) if name == "floor" else args.repeat for name in runs}
            for rep in range(max(reps.values(), default=0)):
                for tool in runs.values():
                    if tool.error or rep >= reps[tool.name]:
                        continue
                    run = run_tool(tool.name, corpus, scratch, args)
                    tool.runs.append(run)
                    if "error" in run:
                        tool.error = run["error"]
                        failed = True
                        print(f"{tool.name} failed, {run['error']}", file=sys.stderr, flush=True)
                        continue
                    print(f"  [{rep + 1}/{reps[tool.name]}] {tool.name}: {progress_line(run)}", flush=True)
            results = {name: summarize(tool) or {"error": tool.error} for name, tool in runs.items()}
            print_tables(results, labels)
            payload["results"] = results
            payload["errors"] = {name: tool.error for name, tool in runs.items() if tool.error}
        if args.memory_check:
            check = memory_check(args, scratch)
            payload["memory_check"] = check
            failed = failed or not check["passed"]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    payload["benchmark_wall_s"] = round(time.perf_counter() - started, 1)
    print(f"\nwhole benchmark: {payload['benchmark_wall_s']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_datatrove":
        datatrove_native(sys.argv[2:])
    else:
        sys.exit(main())
