"""One writer per folder (a run's -o, a catalog): an exclusive lock from the first check to the last write.

Two runs on one ``-o`` would share the work folder: the second would "resume" into the first's
live tasks and the first could finish with a wrong dataset that still verifies. The lock is a
``flock`` on ``OUT/.corpus-kit.lock``; the kernel drops it when its process ends, however it
ends, so a killed run never leaves a stale lock behind. The file names its holder (pid, host,
start time) so that the refused run can say who holds the folder. It is removed on release; a
run that opened the old file just before that notices (another inode now, or none) and tries
again, so two runs never both believe they hold it.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path

from corpus_kit.errors import UsageError

LOCK_NAME = ".corpus-kit.lock"
_HOLDER_BYTES = 512


class OutputBusy(UsageError):
    """Another corpus-kit run writes to the same output folder."""


def _holder(handle: int) -> str:
    try:
        text = os.pread(handle, _HOLDER_BYTES, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "another corpus-kit run"


@contextmanager
def folder_lock(output: Path, activity: str = "run", read_only_ok: bool = False) -> Iterator[None]:
    """Hold ``OUT/.corpus-kit.lock`` exclusively (creating ``OUT`` when missing), else ``OutputBusy``.

    ``activity`` names what holds it (``run``, ``publication``) in the message a refused one prints.
    ``read_only_ok``: a folder where the lock file cannot be created (read-only media, no
    permission) is used without it, since no corpus-kit run can write there either.
    """
    if sys.platform == "win32":  # no flock: one run per folder is then the user's to ensure
        yield
        return
    import fcntl

    if output.exists() and not output.is_dir():
        raise UsageError(f"{output}: exists and is not a folder; choose another -o")
    advice = (
        "choose a writable -o or fix the folder's permissions"
        if activity == "run"
        else ("fix the folder's permissions")
    )
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"{output}: cannot create the folder ({error.strerror}); {advice}") from None
    path = output / LOCK_NAME
    while True:
        try:
            handle = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as error:
            if read_only_ok and error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                yield
                return
            raise UsageError(f"{output}: cannot write in it ({error.strerror}); {advice}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(handle)
            os.close(handle)
            wait = "wait for it to finish" + (" or choose another -o" if activity == "run" else "")
            raise OutputBusy(f"{output}: {holder} is writing to this folder; {wait}") from None
        except OSError as error:  # a file system without locks: say so rather than run unguarded
            os.close(handle)
            raise UsageError(f"{path}: cannot lock the folder ({error.strerror}); "
                             "use a folder on a file system that supports locks") from None  # fmt: skip
        try:
            same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(handle).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(handle)  # the holder removed this file as we opened it: take the new one
    try:
        started = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        holder = f"corpus-kit {activity} (pid {os.getpid()} on {socket.gethostname()}, started {started})"
        os.ftruncate(handle, 0)
        os.pwrite(handle, holder.encode()[:_HOLDER_BYTES], 0)
        yield
    finally:
        with suppress(OSError):
            os.unlink(path)  # while still held, so that no one takes the old inode for the lock
        os.close(handle)
