"""datatrove's ``LocalPipelineExecutor`` with console logging under corpus-kit's control.

datatrove sends INFO logs of every task to stderr; a CLI that promises one progress bar and one
summary (and silence with ``--quiet`` or in CI) must keep them in the task log files instead
(``OUT/.corpus-kit/logs/logs/task_XXXXX.log``). ``verbose=True`` echoes them to stderr too.

Task logs outlive a failed or killed run in the work folder, and people paste them into issues:
they must not hold record content (issue 22, item 10). datatrove logs a failing step's exception
with ``logger.exception(e)``, and an exception's message can quote a record (a plugin's
``ValueError(doc.text)``, pyarrow's "could not convert ..."); its own loguru handlers also print
local variables in tracebacks. So every line goes through :func:`_safe_format`: an exception is
shown by its type and the code locations of its traceback only (the message of corpus-kit's own
errors, which never hold values, is kept), and no handler prints local variables. datatrove's
``executor.json`` (the steps' settings, input file names included) is not written.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import IO, Any

import datatrove.executor.base as executor_base
from datatrove.executor.local import LocalPipelineExecutor
from datatrove.utils.stats import PipelineStats
from loguru import logger

_ORIGINAL_ADD_TASK_LOGGER = executor_base.add_task_logger
_ORIGINAL_CLOSE_TASK_LOGGER = executor_base.close_task_logger


_LINE_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | "
_WITHHELD = "(message withheld: it may quote a record)"


def safe_exception_text(error: BaseException) -> str:
    """A traceback without messages (they may quote records), causes included; corpus-kit's own
    errors keep theirs, which never hold record values."""
    from corpus_kit.errors import CorpusKitError

    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(
            f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}\n'
            for frame in traceback.extract_tb(current.__traceback__)
        )
        shown = str(current) if isinstance(current, CorpusKitError) else _WITHHELD
        parts.append(f"Traceback (most recent call last):\n{frames}{type(current).__name__}: {shown}\n")
        current = current.__cause__ or current.__context__
    return "\nThe above was raised while handling:\n".join(parts)


def _safe_format(record: Any) -> str:
    """loguru format: a line per message; an exception without its message and locals."""
    exception = record["exception"]
    if exception is None or exception.value is None:
        return _LINE_FORMAT + "{message}\n"
    # datatrove logs ``logger.exception(e)``: the message is the exception's text
    record["extra"]["safe_message"] = f"{exception.type.__name__} in a pipeline step"
    record["extra"]["safe_exception"] = safe_exception_text(exception.value)
    return _LINE_FORMAT + "{extra[safe_message]}\n{extra[safe_exception]}"


class _TaskLogSink:
    """The loguru handler of a process's task logs, writing to the current task's file.

    Installed once per process, not per task: adding a loguru handler costs ~3 ms (its exception
    formatter walks every sysconfig install scheme), and a run has ~50 tasks.
    """

    def __init__(self) -> None:
        self.file: IO[str] | None = None
        self.process: int | None = None  # the process whose handlers are this sink alone
        self.echo = False  # --verbose: INFO and above to stderr too

    def installed(self) -> bool:
        return self.process == os.getpid()  # a forked child inherits the parent's handlers

    def install(self) -> None:
        logger.remove()
        logger.add(
            self.write, colorize=False, level="DEBUG", format=_safe_format, backtrace=False, diagnose=False
        )
        self.process = os.getpid()

    def write(self, message: Any) -> None:
        if self.file is not None:
            self.file.write(message)
            self.file.flush()  # as loguru does for a file sink: a killed task leaves its log
        if self.echo and message.record["level"].no >= _INFO:
            sys.stderr.write(message)


_INFO = 20
_TASK_LOGS = _TaskLogSink()


def _safe_task_logger(logging_dir: Any, rank: int, local_rank: int = 0, node_rank: int = -1) -> Any:
    logfile = logging_dir.open(f"logs/task_{rank:05d}.log", "w")
    if not _TASK_LOGS.installed():
        _TASK_LOGS.install()
    _TASK_LOGS.file = logfile
    logger.info(f"Launching pipeline for {rank=}")
    return logfile


def _safe_close(logfile: Any) -> None:
    logger.complete()
    _TASK_LOGS.file = None
    logfile.close()


def _use_safe_task_logs(echo: bool) -> None:
    """Tasks of this process log through :class:`_TaskLogSink` (files; stderr too with ``echo``)."""
    if not _TASK_LOGS.installed():
        logger.remove()
    _TASK_LOGS.echo = echo
    executor_base.add_task_logger = _safe_task_logger
    executor_base.close_task_logger = _safe_close


def silence_console_logs() -> None:
    """Route datatrove's task logs to files only, in this process."""
    _use_safe_task_logs(echo=False)


def restore_console_logs() -> None:
    executor_base.add_task_logger = _ORIGINAL_ADD_TASK_LOGGER
    executor_base.close_task_logger = _ORIGINAL_CLOSE_TASK_LOGGER
    logger.remove()
    _TASK_LOGS.process = None
    _TASK_LOGS.echo = False
    logger.add(sys.stderr, format=_safe_format, backtrace=False, diagnose=False)


class CorpusLocalExecutor(LocalPipelineExecutor):
    """Runs tasks locally; worker processes (forkserver) apply the same logging choice."""

    def __init__(self, *args: Any, verbose: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.verbose = verbose

    def save_executor_as_json(self, indent: int = 4) -> None:
        return None  # the steps' settings name every input file; nothing reads the file back

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1) -> PipelineStats:
        # verbose or not: datatrove's own task handlers would print exception messages and locals
        _use_safe_task_logs(echo=self.verbose and local_rank == 0)
        return super()._run_for_rank(rank, local_rank, node_rank)
