"""datatrove's ``LocalPipelineExecutor`` with console logging under corpus-kit's control.

datatrove sends INFO logs of every task to stderr; a CLI that promises one progress bar and one
summary (and silence with ``--quiet`` or in CI) must keep them in the task log files instead
(``OUT/.corpus-kit/logs/logs/task_XXXXX.log``). ``verbose=True`` restores datatrove's behaviour.
"""

from __future__ import annotations

import os
import sys
from typing import IO

import datatrove.executor.base as executor_base
from datatrove.executor.local import LocalPipelineExecutor
from datatrove.utils.stats import PipelineStats
from loguru import logger

_ORIGINAL_ADD_TASK_LOGGER = executor_base.add_task_logger
_ORIGINAL_CLOSE_TASK_LOGGER = executor_base.close_task_logger


class _TaskLogSink:
    """The loguru handler of a process's task logs, writing to the current task's file.

    Installed once per process, not per task: adding a loguru handler costs ~3 ms (its exception
    formatter walks every sysconfig install scheme), and a run has ~50 tasks.
    """

    def __init__(self) -> None:
        self.file: IO[str] | None = None
        self.process: int | None = None  # the process whose handlers are this sink alone

    def installed(self) -> bool:
        return self.process == os.getpid()  # a forked child inherits the parent's handlers

    def install(self) -> None:
        logger.remove()
        # diagnose=False: loguru would otherwise print local variables (record text) in tracebacks
        logger.add(
            self.write,
            colorize=False,
            level="DEBUG",
            format="{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {message}",
            backtrace=False,
            diagnose=False,
        )
        self.process = os.getpid()

    def write(self, message: str) -> None:
        if self.file is not None:
            self.file.write(message)
            self.file.flush()  # as loguru does for a file sink: a killed task leaves its log


_TASK_LOGS = _TaskLogSink()


def _file_only_task_logger(logging_dir, rank: int, local_rank: int = 0, node_rank: int = -1):
    logfile = logging_dir.open(f"logs/task_{rank:05d}.log", "w")
    if not _TASK_LOGS.installed():
        _TASK_LOGS.install()
    _TASK_LOGS.file = logfile
    logger.info(f"Launching pipeline for {rank=}")
    return logfile


def _file_only_close(logfile) -> None:
    logger.complete()
    _TASK_LOGS.file = None
    logfile.close()


def silence_console_logs() -> None:
    """Route datatrove's task logs to files only, in this process."""
    if not _TASK_LOGS.installed():
        logger.remove()
    executor_base.add_task_logger = _file_only_task_logger
    executor_base.close_task_logger = _file_only_close


def restore_console_logs() -> None:
    executor_base.add_task_logger = _ORIGINAL_ADD_TASK_LOGGER
    executor_base.close_task_logger = _ORIGINAL_CLOSE_TASK_LOGGER
    logger.remove()
    _TASK_LOGS.process = None
    logger.add(sys.stderr)


class CorpusLocalExecutor(LocalPipelineExecutor):
    """Runs tasks locally; worker processes (forkserver) apply the same logging choice."""

    def __init__(self, *args, verbose: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.verbose = verbose

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1) -> PipelineStats:
        if not self.verbose:
            silence_console_logs()
        return super()._run_for_rank(rank, local_rank, node_rank)
