"""Parquet reader: one row group at a time, so an unreadable row group costs only its own rows."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from corpus_kit.io.inputs import InputUnit
from corpus_kit.io.readers.base import ReadItem
from corpus_kit.io.readers.table import TableRowsMixin, hf_features_from_schema, media_columns
from corpus_kit.io.rejects import Reject

_BATCH_ROWS = 1024


class ParquetReader(TableRowsMixin):
    """Reads Parquet files, including corpus-kit's own output and ``datasets`` Parquet exports."""

    name = "corpus-kit Parquet reader"

    def read_unit(self, unit: InputUnit) -> Iterator[ReadItem]:
        try:
            parquet = pq.ParquetFile(unit.path)
            schema = parquet.schema_arrow
        except (pa.ArrowException, OSError) as error:
            yield Reject("parquet.unreadable_file", None, detail=type(error).__name__)
            return
        metadata = parquet.metadata
        media_cols = media_columns(schema, hf_features_from_schema(schema), self.options.text_field)
        first_row = 0
        with parquet:
            for group in range(metadata.num_row_groups):
                group_rows = metadata.row_group(group).num_rows
                try:
                    table = parquet.read_row_group(group)
                except (pa.ArrowException, OSError) as error:
                    yield Reject(
                        "parquet.unreadable_row_group",
                        None,
                        row=first_row,
                        records=group_rows,
                        detail=f"row group {group} ({group_rows} rows): {type(error).__name__}",
                    )
                else:
                    yield from self.documents_from_batches(
                        table.to_batches(max_chunksize=_BATCH_ROWS), unit, media_cols, first_row
                    )
                first_row += group_rows
                self.report_position(int(unit.size * (group + 1) / max(metadata.num_row_groups, 1)))
