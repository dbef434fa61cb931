"""Parquet reader: row group by row group in bounded batches, so a bomb is refused before it expands.

Before a row group is decompressed its page headers are read (:mod:`.parquet_pages`): a page
expanding beyond ``--max-record-size`` makes its rows ``record.too_large`` rejects, unread, and the
batch size is chosen so that no batch can expand beyond a fixed budget (a dictionary page of one
value can otherwise stand for millions of rows). An unreadable row group costs only its own rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from corpus_kit.io.inputs import InputUnit
from corpus_kit.io.readers.base import ReadItem
from corpus_kit.io.readers.parquet_pages import PageHeaderError, RowGroupPlan, plan_row_group
from corpus_kit.io.readers.table import TableRowsMixin, hf_features_from_schema, media_columns
from corpus_kit.io.rejects import Reject

_BATCH_ROWS = 1024
# what one batch of rows may expand to in Arrow (Python objects roughly double it)
BATCH_BUDGET = 128 * 1024 * 1024


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
        max_bytes = self.options.max_record_bytes
        first_row = 0
        with parquet, open(unit.path, "rb") as pages:
            for group in range(metadata.num_row_groups):
                group_rows = metadata.row_group(group).num_rows
                try:
                    plan = plan_row_group(
                        pages.fileno(), parquet, group, max_bytes, BATCH_BUDGET, _BATCH_ROWS
                    )
                except (PageHeaderError, OSError) as error:
                    # without its page headers nothing bounds what the row group expands to
                    plan = RowGroupPlan(0, None)
                    detail = f"row group {group} ({group_rows} rows): page headers unreadable ({error})"
                    yield Reject(
                        "parquet.unreadable_row_group", None, row=first_row, records=group_rows, detail=detail
                    )
                if plan.too_large is not None:
                    yield Reject(
                        "record.too_large",
                        None,
                        row=first_row,
                        records=group_rows,
                        detail=f"row group {group} ({group_rows} row(s), rows {first_row}-"
                        f"{first_row + group_rows - 1}): {plan.too_large}",
                    )
                elif plan.batch_rows:
                    yield from self._read_group(parquet, group, plan.batch_rows, unit, media_cols, first_row)
                first_row += group_rows
                self.report_position(int(unit.size * (group + 1) / max(metadata.num_row_groups, 1)))

    def _read_group(
        self,
        parquet: pq.ParquetFile,
        group: int,
        batch_rows: int,
        unit: InputUnit,
        media_cols: dict[str, str | None],
        first_row: int,
    ) -> Iterator[ReadItem]:
        group_rows = parquet.metadata.row_group(group).num_rows
        done = 0  # rows passed on: a decoding error mid-way costs only the rest
        batches = parquet.iter_batches(batch_size=batch_rows, row_groups=[group], use_threads=False)
        while True:
            try:
                batch = next(batches, None)
            except (pa.ArrowException, OSError) as error:
                rest = group_rows - done
                yield Reject(
                    "parquet.unreadable_row_group",
                    None,
                    row=first_row + done,
                    records=rest,
                    detail=f"row group {group} ({rest} of its {group_rows} rows): {type(error).__name__}",
                )
                return
            if batch is None:
                return
            yield from self.documents_from_batches([batch], unit, media_cols, first_row + done)
            done += batch.num_rows
