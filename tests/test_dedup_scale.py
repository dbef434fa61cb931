"""Memory per document of the LSH bucket phase, measured on 10 million synthetic signatures (slow).

The state files are written by one subprocess; a second one loads nothing but the bucket step and
runs one band task and the exact-key task, reporting its peak RSS above its own baseline.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DOCUMENTS = 10_000_000
TASKS = 4
BUDGET_BYTES_PER_DOC = 100

_MAKE_STATE = """
import numpy as np, sys
from corpus_kit.stages.dedup.state import DedupState
state = DedupState(sys.argv[1]); documents, tasks = int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
per_task = documents // tasks
for task in range(tasks):
    keys = rng.integers(0, 2**63, size=per_task, dtype=np.uint64)
    keys[::50] = keys[1::50][: keys[::50].size]  # 2% planted duplicate pairs
    state.band(0, task).parent.mkdir(parents=True, exist_ok=True)
    keys.tofile(state.band(0, task))
    state.docs(task).parent.mkdir(parents=True, exist_ok=True)
    np.savez(state.docs(task), kind=np.zeros(per_task, np.uint8), exact_lo=keys, exact_hi=keys)
"""

_MEASURE = """
import json, resource, sys
from corpus_kit.stages.dedup.buckets import DedupBuckets
from corpus_kit.stages.dedup.config import DedupConfig
import numpy as np
def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
config = DedupConfig(bands=1, rows=6)
step = DedupBuckets(sys.argv[1], config)
baseline = rss_kib()
for task in (0, 1):  # band 0, then the exact-key task
    list(step.run(None, rank=task, world_size=2))  # the step writes files and yields nothing
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
edges = np.load(sys.argv[1] + "/edges/band-000.npy").shape[0]
print(json.dumps({"baseline_kib": baseline, "peak_kib": peak, "edges": int(edges)}))
"""


@pytest.mark.slow
def test_bucket_phase_stays_under_100_bytes_per_document(tmp_path: Path) -> None:
    state = tmp_path / "dedup"
    subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_MAKE_STATE), str(state), str(DOCUMENTS), str(TASKS)],
        check=True,
    )
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_MEASURE), str(state)],
        check=True,
        capture_output=True,
        text=True,
    )
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    per_document = (measured["peak_kib"] - measured["baseline_kib"]) * 1024 / DOCUMENTS
    print(f"\nLSH bucket phase: {per_document:.1f} bytes/document over {DOCUMENTS:,} signatures")
    assert measured["edges"] == DOCUMENTS // 50  # every planted pair found, nothing else
    assert per_document <= BUDGET_BYTES_PER_DOC
