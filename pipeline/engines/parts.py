"""Part files: each partition's rows written by its worker into OUT's new version folder.

With the dask engine a table is a folder of Parquet files, ``OUT/paragraphs.parquet/part-00000.parquet``
..., one per partition, in input order by name (one row group per chunk, as the local engine's
single file). ``pandas.read_parquet(OUT / "paragraphs.parquet")`` and ``pyarrow.parquet.read_table``
read the file (local engine) or the folder (dask engine) alike, rows in input order; DuckDB reads
``OUT/paragraphs.parquet/*.parquet`` (dask) or ``OUT/paragraphs.parquet`` (local).

A part is written to a hidden temporary name, fsynced, then renamed: a worker killed mid-write
leaves only a hidden file (which dataset readers skip and `PartsWriter.commit` removes), and a task
Dask retries rewrites its part whole. OUT flips (`pipeline.write.OutputWriter.commit`) only after
every part is in place.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from pipeline.files import fsync_path
from pipeline.schema import ARTICLES, PARAGRAPHS, empty_frame, pandas_type, to_arrow
from pipeline.stages.write import OutputWriter

TABLES = {"paragraphs": PARAGRAPHS, "articles": ARTICLES}
STAGING = ".staging"
"""Folder of the version holding work files (articles before same-story links); removed at commit."""


def part_name(number: int) -> str:
    return f"part-{number:05d}.parquet"


def write_part(path: Path, frames: list[pd.DataFrame], table: str) -> None:
    """Write `frames` (one row group each) as the Parquet file `path`, atomically."""
    schema = TABLES[table]
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with pq.ParquetWriter(temporary, schema) as writer:
        for frame in frames or [empty_frame(schema)]:
            writer.write_table(to_arrow(frame, schema))
    fsync_path(temporary)
    os.replace(temporary, path)


def read_part(path: Path) -> list[pd.DataFrame]:
    """The row groups of a part file as frames (nullable dtypes, as `write_part` took them)."""
    parquet = pq.ParquetFile(path)
    return [
        parquet.read_row_group(i).to_pandas(types_mapper=pandas_type) for i in range(parquet.num_row_groups)
    ]


class PartsWriter(OutputWriter):
    """`OutputWriter` whose tables are folders of part files written by the workers.

    The version folder, the lock, the atomic flip and the clean-up on failure are
    `OutputWriter`'s; only the tables' layout differs.
    """

    def table_dir(self, table: str) -> Path:
        return self._path(f"{table}.parquet")

    def staging_dir(self) -> Path:
        return self._path(STAGING)

    def write(self, paragraphs: pd.DataFrame, articles: pd.DataFrame) -> None:
        """Nothing to stream from the client: the workers write the parts."""

    def commit(self, summary: dict[str, Any]) -> Path:
        """Check every table has a part, drop work files, then flip OUT (see OutputWriter)."""
        shutil.rmtree(self.staging_dir(), ignore_errors=True)
        for table in TABLES:
            folder = self.table_dir(table)
            if not folder.exists() or not any(folder.iterdir()):
                write_part(folder / part_name(0), [], table)
            for leftover in folder.glob(".*"):  # a killed worker's temporary file
                leftover.unlink(missing_ok=True)
            fsync_path(folder)
        return super().commit(summary)
