"""Readers: one datatrove step per input format, plus :class:`MixedReader` for mixed inputs."""

from __future__ import annotations

from collections.abc import Iterator

from corpus_kit.io.inputs import InputUnit
from corpus_kit.io.readers.base import CorpusReader, ReadItem, ReadOptions, TaskFolders
from corpus_kit.io.readers.hf_disk import HFDiskReader
from corpus_kit.io.readers.jsonl import JsonlReader
from corpus_kit.io.readers.parquet import ParquetReader
from corpus_kit.io.readers.webdataset import WebDatasetReader

READER_CLASSES: dict[str, type[CorpusReader]] = {
    "jsonl": JsonlReader,
    "parquet": ParquetReader,
    "webdataset": WebDatasetReader,
    "hf_disk": HFDiskReader,
}


class MixedReader(CorpusReader):
    """Reads any mix of supported formats, dispatching each unit to its format's reader."""

    name = "corpus-kit reader"

    def __init__(self, units: list[InputUnit], options: ReadOptions, folders: TaskFolders):
        super().__init__(units, options, folders)
        self._delegates: dict[str, CorpusReader] = {}

    def read_unit(self, unit: InputUnit) -> Iterator[ReadItem]:
        delegate = self._delegates.get(unit.format)
        if delegate is None:
            delegate = READER_CLASSES[unit.format]([], self.options, self.folders)
            delegate.report_position = self.report_position  # type: ignore[method-assign]
            self._delegates[unit.format] = delegate
        return delegate.read_unit(unit)


__all__ = [
    "READER_CLASSES",
    "CorpusReader",
    "HFDiskReader",
    "JsonlReader",
    "MixedReader",
    "ParquetReader",
    "ReadOptions",
    "TaskFolders",
    "WebDatasetReader",
]
