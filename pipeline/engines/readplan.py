"""Which pages each partition reads, decided without one process reading every page.

Two passes over the input files, both in the workers:

1. `scan_files` (one task per run of files, `SCAN_TASKS_PER_WORKER` tasks a worker): the number of
   pages of each file, each page's raw doc_id and record number, and the problems met with their
   place among the pages. No text leaves the worker.
2. `read_partition` (one task per partition): the pages ``[start, stop)`` of the batch, read from
   the files that hold them (a file may be split between partitions).

Between them the client (`plan_batch`) numbers the pages in input order (sorted path order, then
record order, bad records left out: exactly the stream `pipeline.read.iter_pages` gives the local
engine), cuts it into the local engine's chunks (``chunk_pages`` pages each) and groups whole chunks
into partitions, so every chunk, and with it the batch evidence, is the local engine's.

Duplicate doc_ids are renamed as `iter_pages` renames them (``id#2``...). Only pages whose id
repeats in the batch or contains ``#`` can take part in a rename (a unique id without ``#`` is
never renamed and never collides with a ``X#k`` name), so the client replays the rule on those
pages only, in input order: the one sequential step of reading, over ids only.

A file is parsed from its start by every partition that reads part of it: a file much larger than
a partition is read several times (split large dumps into files of about a partition or less).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.errors import InputError
from pipeline.stages.decode import valid_str
from pipeline.stages.formats import READERS, Page, Problem, guarded, shown
from pipeline.stages.read import iter_pages, suffix_of, unique_id


@dataclass(frozen=True)
class FileScan:
    """What pass 1 learns of one file: pages' raw ids, record numbers, problems."""

    ids: list[str]
    record_no: np.ndarray  # int64 per page: the N of "path:N" in its source, 0 for a .txt page
    problems: list[tuple[int, Problem]]  # (pages of the file before it, problem)


@dataclass(frozen=True)
class Partition:
    """Pages ``[start, stop)`` of the batch (whole chunks) and where to read them."""

    number: int
    start: int
    stop: int
    files: tuple[tuple[str, int], ...]  # (path, global index of the file's first page)
    renames: dict[int, str]  # global page index -> the doc_id it is kept as


@dataclass(frozen=True)
class BatchPlan:
    files: list[Path]
    pages: int
    problems: list[Problem]  # in the order the local engine reports them
    partitions: list[Partition]


def raw_items(path: Path) -> Iterator[Page | Problem]:
    """The pages and problems of one file, ids as read (no renaming)."""
    suffix = suffix_of(path)
    if suffix is None:
        return iter_pages([path])  # its one "unsupported file type" problem
    return guarded(path, READERS[suffix](path))


SCAN_TASKS_PER_WORKER = 8
"""Scan tasks per worker: whole runs of files per task (a task per small file costs more in
scheduling than reading it), still enough tasks to balance."""


def scan_groups(files: list[Path], workers: int) -> list[list[str]]:
    """`files` in consecutive runs, about SCAN_TASKS_PER_WORKER runs per worker."""
    size = max(1, -(-len(files) // (SCAN_TASKS_PER_WORKER * max(workers, 1))))
    return [[str(f) for f in files[k : k + size]] for k in range(0, len(files), size)]


def scan_files(paths: list[str]) -> list[FileScan]:
    """Pass 1 over a run of files (runs in a worker)."""
    return [scan_file(path) for path in paths]


def scan_file(path: str) -> FileScan:
    """Pass 1 over one file (runs in a worker)."""
    file = Path(path)
    prefix = len(valid_str(str(file)))
    ids: list[str] = []
    record_no: list[int] = []
    problems: list[tuple[int, Problem]] = []
    for item in raw_items(file):
        if isinstance(item, Problem):
            problems.append((len(ids), item))
            continue
        ids.append(item.doc_id)
        record_no.append(int(item.source[prefix + 1 :]) if len(item.source) > prefix else 0)
    return FileScan(ids=ids, record_no=np.array(record_no, dtype=np.int64), problems=problems)


def plan_batch(
    files: list[Path], scans: list[FileScan], chunk_pages: int, partition_chunks: int
) -> BatchPlan:
    """Number the pages, replay the duplicate-id rule, and cut whole chunks into partitions."""
    counts = np.array([len(s.ids) for s in scans], dtype=np.int64)
    first = np.r_[0, np.cumsum(counts)].astype(np.int64)
    renames, rename_problems = _renames(files, scans, first)
    problems = _ordered_problems(scans, rename_problems)
    total = int(first[-1])
    size = chunk_pages * partition_chunks
    partitions = []
    for number, start in enumerate(range(0, total, size)):
        stop = min(start + size, total)
        lo = int(np.searchsorted(first, start, side="right")) - 1
        hi = int(np.searchsorted(first, stop, side="left"))
        held = tuple((str(files[f]), int(first[f])) for f in range(lo, hi) if counts[f])
        mine = {g: name for g, name in renames.items() if start <= g < stop}
        partitions.append(Partition(number, start, stop, held, mine))
    return BatchPlan(files=files, pages=total, problems=problems, partitions=partitions)


def _renames(
    files: list[Path], scans: list[FileScan], first: np.ndarray
) -> tuple[dict[int, str], dict[int, list[tuple[int, Problem]]]]:
    ids = pd.Series([i for s in scans for i in s.ids], dtype=object)
    if ids.empty:
        return {}, {}
    relevant = np.flatnonzero((ids.duplicated(keep=False) | ids.str.contains("#", regex=False)).to_numpy())
    seen: dict[str, int] = {}
    renames: dict[int, str] = {}
    problems: dict[int, list[tuple[int, Problem]]] = {}
    for g in relevant.tolist():
        doc_id = ids.iat[g]
        if doc_id in seen:
            renamed = unique_id(doc_id, seen)
            file = int(np.searchsorted(first, g, side="right")) - 1
            position = g - int(first[file])
            record = int(scans[file].record_no[position])
            source = valid_str(str(files[file])) + (f":{record}" if record else "")
            reason = f"duplicate id {shown(doc_id)} kept as {shown(renamed)}"
            problems.setdefault(file, []).append((position, Problem(source, reason, skipped=False)))
            renames[g] = doc_id = renamed
        seen[doc_id] = 1
    return renames, problems


def _ordered_problems(scans: list[FileScan], renamed: dict[int, list[tuple[int, Problem]]]) -> list[Problem]:
    """Problems in `iter_pages` order: a reader's problem comes after the pages before it, a
    rename warning just before its page (so after the reader's problems at that place)."""
    ordered: list[Problem] = []
    for file, scan in enumerate(scans):
        events = [(pos, 0, k, p) for k, (pos, p) in enumerate(scan.problems)]
        events += [(pos, 1, k, p) for k, (pos, p) in enumerate(renamed.get(file, []))]
        ordered.extend(p for *_, p in sorted(events, key=lambda e: e[:3]))
    return ordered


def read_partition(partition: Partition) -> list[Page]:
    """Pass 2 (runs in a worker): the partition's pages, renamed, in input order.

    Raises
    ------
    InputError
        A file no longer holds the pages pass 1 counted (it changed during the run).
    """
    pages: list[Page] = []
    for path, file_first in partition.files:
        g = file_first
        for item in raw_items(Path(path)):
            if not isinstance(item, Page):
                continue
            if g >= partition.stop:
                break
            if g >= partition.start:
                name = partition.renames.get(g)
                pages.append(item if name is None else _renamed(item, name))
            g += 1
    if len(pages) != partition.stop - partition.start:
        raise InputError(f"input changed while the run read it: {shown(partition.files[-1][0])}")
    return pages


def _renamed(page: Page, doc_id: str) -> Page:
    from dataclasses import replace

    return replace(page, doc_id=doc_id)
