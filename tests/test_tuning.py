"""Process settings of the runner: malloc keeps freed memory, workers share the parent's pages."""

from __future__ import annotations

import gc
import platform
import subprocess
import sys

import pytest

from corpus_kit.pipeline.tuning import GC_THRESHOLDS, shared_with_workers

# minor page faults of 20 rounds of allocating, filling and freeing 40 MB, in a fresh interpreter
_FAULTS = """
import resource, sys
import numpy as np
if sys.argv[1] == "tuned":
    from corpus_kit.pipeline.tuning import keep_freed_memory
    assert keep_freed_memory()
np.ones(5_000_000)  # the first round may fault either way
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    np.ones(5_000_000).sum()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True, check=True, timeout=60
    )
    return int(done.stdout.strip())


@pytest.mark.skipif(sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_freed_arrays_are_reused_instead_of_mapped_again() -> None:
    # 40 MB is above the highest mmap threshold glibc adapts to by itself (32 MiB): each round maps
    # fresh pages (hundreds of faults with NumPy's huge pages, thousands without); with the runner's
    # settings the freed block is reused
    untuned, tuned = _faults("untuned"), _faults("tuned")
    assert untuned > 20 * 100
    assert tuned < untuned / 10


def test_workers_inherit_frozen_objects_and_the_parent_gets_its_settings_back() -> None:
    thresholds = gc.get_threshold()
    with shared_with_workers():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == GC_THRESHOLDS
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == thresholds
