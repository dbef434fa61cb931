"""Errors that the CLI turns into one-line messages and exit codes (docs/architecture.md §4)."""

from __future__ import annotations


class CorpusKitError(Exception):
    """Base error: ``str(error)`` is a complete one-line message naming the file and the fix."""

    exit_code = 1


class UsageError(CorpusKitError):
    """Bad arguments or configuration: exit code 2."""

    exit_code = 2


class CheckFailed(CorpusKitError):
    """A check failed (too many rejects, invalid manifest, checksum mismatch): exit code 1."""

    exit_code = 1
