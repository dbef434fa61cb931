"""Reader for folders written by ``datasets.Dataset.save_to_disk`` (or ``DatasetDict``)."""

from __future__ import annotations

from collections.abc import Iterator

from corpus_kit.io.inputs import InputUnit
from corpus_kit.io.readers.base import ReadItem
from corpus_kit.io.readers.table import TableRowsMixin, media_columns
from corpus_kit.io.rejects import Reject

_BATCH_ROWS = 1024


class HFDiskReader(TableRowsMixin):
    """Reads a ``save_to_disk`` folder through ``datasets.load_from_disk`` (memory-mapped Arrow).

    A ``DatasetDict`` is read split by split (sorted by name); each record keeps its split in
    ``metadata.source_split``.
    """

    name = "corpus-kit save_to_disk reader"

    def read_unit(self, unit: InputUnit) -> Iterator[ReadItem]:
        import datasets  # heavy import (~1 s): only when such input is present

        try:
            loaded = datasets.load_from_disk(unit.path)
        except Exception as error:  # datasets raises many types for a broken folder
            yield Reject("hf_disk.unreadable", None, detail=type(error).__name__)
            return
        if isinstance(loaded, datasets.DatasetDict):
            splits = [(name, loaded[name]) for name in sorted(loaded)]
        else:
            splits = [(None, loaded)]
        for split_name, dataset in splits:
            table = dataset.data.table
            features = dataset.features.to_dict()
            media_cols = media_columns(table.schema, features, self.options.text_field)
            locator = {"source_split": split_name} if split_name is not None else None
            try:
                batches = table.to_batches(max_chunksize=_BATCH_ROWS)
            except Exception as error:
                yield Reject("hf_disk.unreadable", None, member=split_name, detail=type(error).__name__)
                continue
            yield from self.documents_from_batches(batches, unit, media_cols, 0, locator)
