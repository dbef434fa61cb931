"""Process settings for the pipeline's parent and the workers it forks: memory and garbage collection.

**malloc** (:func:`keep_freed_memory`): freed memory is kept for reuse.

The stages allocate and free NumPy arrays of 0.1-10 MB per batch of records. glibc serves every
allocation above its mmap threshold (128 KiB, raised dynamically up to 32 MiB) with a fresh
``mmap`` and returns it with ``munmap`` when freed, so each batch faults its pages in again: ~800,000
minor page faults and ~1.9 s of kernel time for 100 MB through ``standard.yaml`` on 2 workers.
With a fixed 64 MiB mmap threshold and a 256 MiB trim threshold, freed blocks stay in the heap
and are reused: ~175,000 faults, ~1.0 s of kernel time, ~0.6 s less wall time, and the same peak
RSS within 3% (``benchmarks/README.md``). Workers forked after :func:`keep_freed_memory` inherit
the settings. ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` in the environment win.

**Garbage collection** (:func:`shared_with_workers`): the parent's objects (presidio, models, tables) are
moved out of the collector's reach before workers are forked, so that a worker's collections do not
write to (and copy) the pages they share with the parent, as the ``gc.freeze`` documentation
advises; and the youngest generation is collected every 50,000 allocations instead of 700, since a
worker allocates a few objects per record and frees them with the record (reference counting).
"""

from __future__ import annotations

import ctypes
import gc
import os
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 64 * 1024 * 1024  # allocations above this still get their own mapping
TRIM_THRESHOLD = 256 * 1024 * 1024  # free memory at the top of the heap kept up to this much
_applied = False


def keep_freed_memory() -> bool:
    """Apply the settings in this process (glibc only, once); True when they are in effect."""
    global _applied
    if _applied:
        return True
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False  # the user tuned malloc: leave it alone
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    # mallopt returns 1 on success
    _applied = (
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
        and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    )
    return _applied


GC_THRESHOLDS = (50_000, 20, 20)


@contextmanager
def shared_with_workers() -> Iterator[None]:
    """Around forking workers: this process's objects frozen, the workers' collection thresholds set.

    Undone on exit, in this process only (a program that calls the runner keeps its own settings);
    the workers forked inside keep them."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
