"""Write stage: paragraph and article tables and summary.json, replaced atomically.

OUT is a symlink to a versioned folder beside it (``.OUT.versions/<version>``). A run writes a
new version folder chunk by chunk, then flips the symlink with one atomic rename: at every
instant OUT is the previous complete output or the new complete one. A crash leaves at worst an
orphan version folder, removed by the next run. (An OUT that is a plain folder, not made by this
tool, is moved into the versions folder just before the first flip: the one moment without OUT.)
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from pipeline.errors import OutputError
from pipeline.files import fsync_path
from pipeline.schema import ARTICLES, PARAGRAPHS, empty_frame, to_arrow

LOCK_NAME = ".lock"
"""File in the versions folder locked by the run writing OUT: two runs never share one OUT."""


def versions_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.versions"


def stored_versions(out: Path) -> list[Path]:
    """The version folders kept beside OUT (after a committed run: exactly OUT's target)."""
    root = versions_dir(Path(out).absolute())
    return sorted(p for p in root.iterdir() if p.name != LOCK_NAME) if root.exists() else []


class OutputWriter:
    """Streams tables into a fresh version folder; `commit` makes it OUT.

    Use as a context manager: leaving the block without `commit` (an error, a bad input under
    --strict) removes the new version and leaves OUT untouched.
    """

    def __init__(self, out: str | Path):
        self.out = Path(out).absolute()
        self.version: Path | None = None
        self._writers: dict[str, pq.ParquetWriter] = {}

    def __enter__(self) -> OutputWriter:
        root = versions_dir(self.out)
        try:
            root.mkdir(parents=True, exist_ok=True)
            self._lock = open(root / LOCK_NAME, "w")  # held until __exit__
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._lock.close()
                raise OutputError(f"{self.out} is being written by another run") from None
            self.version = Path(tempfile.mkdtemp(dir=root, prefix=time.strftime("%Y%m%dT%H%M%S-")))
        except OSError as err:
            raise OutputError(f"cannot write output folder {self.out}: {err.strerror or err}") from None
        return self

    def write(self, paragraphs: pd.DataFrame, articles: pd.DataFrame) -> None:
        """Append one chunk's rows to paragraphs.parquet and articles.parquet."""
        for name, frame, schema in (("paragraphs", paragraphs, PARAGRAPHS), ("articles", articles, ARTICLES)):
            if name not in self._writers:
                self._writers[name] = pq.ParquetWriter(self._path(f"{name}.parquet"), schema)
            self._writers[name].write_table(to_arrow(frame, schema))

    def commit(self, summary: dict[str, Any]) -> Path:
        """Close the tables, write summary.json, and flip OUT to the new version."""
        if not self._writers:
            self.write(paragraphs=empty_frame(PARAGRAPHS), articles=empty_frame(ARTICLES))
        self._close()
        self._path("summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        for file in self.version.iterdir():
            fsync_path(file)
        fsync_path(self.version)
        link = versions_dir(self.out) / f".link-{os.getpid()}"  # a crash leaves it where clean-up looks
        link.unlink(missing_ok=True)
        os.symlink(os.path.relpath(self.version, self.out.parent), link)
        if self.out.exists() and not self.out.is_symlink():
            # an OUT from elsewhere (a plain folder): move it aside, then link; keep it in versions
            os.replace(self.out, versions_dir(self.out) / f"previous-{os.getpid()}")
        os.replace(link, self.out)
        fsync_path(self.out.parent)
        self._remove_stale(keep=self.version)
        committed, self.version = self.version, None
        return committed

    def __exit__(self, *exc_info: object) -> None:
        self._close()
        if self.version is not None:
            shutil.rmtree(self.version, ignore_errors=True)
        self._lock.close()  # releases the flock

    def _path(self, name: str) -> Path:
        assert self.version is not None
        return self.version / name

    def _close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def _remove_stale(self, keep: Path) -> None:
        """Remove older versions (and orphans of crashed runs) once OUT points at `keep`."""
        for version in versions_dir(self.out).iterdir():
            if version == keep or version.name == LOCK_NAME:
                continue
            if version.is_symlink() or version.is_file():
                version.unlink(missing_ok=True)
            else:
                shutil.rmtree(version, ignore_errors=True)
