"""Run corpus-kit in a child process with bounded memory and time, and measure what it used."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ChildRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float  # of the child and every process it waited for


_WRAPPER = """
import resource, subprocess, sys
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
code = subprocess.call(sys.argv[3:])
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
open(sys.argv[1], "w").write(str(peak_kib))
sys.exit(code)
"""


def run_bounded(
    args: list[str | Path], cwd: Path, timeout: float = 120, address_space_gb: float = 6
) -> ChildRun:
    """``python -m corpus_kit ARGS`` under an address-space cap (a bomb fails fast instead of
    taking the machine) and a wall-clock timeout; the peak RSS of it and its workers."""
    limit = int(address_space_gb * 1024**3)
    peak_file = cwd / f".peak-{os.getpid()}-{time.monotonic_ns()}"
    command = [sys.executable, "-c", _WRAPPER, str(peak_file), str(limit), sys.executable, "-m", "corpus_kit"]
    command += [str(arg) for arg in args]
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the wrapper, corpus-kit and its workers
        process.communicate()
        raise AssertionError(f"corpus-kit {args[:2]} did not finish in {timeout} s") from None
    seconds = time.monotonic() - started
    peak = int(peak_file.read_text()) / 1024 if peak_file.exists() else float("nan")
    peak_file.unlink(missing_ok=True)
    return ChildRun(process.returncode, stdout, stderr, seconds, peak)


def alias_bomb(levels: int = 9, width: int = 9, indent: str = "") -> str:
    """A "billion laughs" YAML mapping: ``width ** levels`` strings from a few hundred bytes."""
    laughs = ", ".join(['"lol"'] * width)
    lines = [f"{indent}l0: &l0 [{laughs}]"]
    for level in range(1, levels + 1):
        references = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"{indent}l{level}: &l{level} [{references}]")
    return "\n".join(lines) + "\n"
