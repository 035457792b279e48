"""Read stage: input paths -> pages, one record per page, with the bad ones reported.

Formats: ``*.txt`` (one page per file, doc_id = file name without .txt), ``*.jsonl`` and
``*.jsonl.gz`` (one page per line: id, text, optional url and title), ``*.csv`` and ``*.parquet``
(the same columns). A folder is searched recursively; hidden files and folders (a name starting
with ".", e.g. an output's ``.OUT.versions``) are not inputs. Pages come in sorted path order, then
record order: that order is what "earlier" and "first seen" mean downstream.

A bad page never stops the batch: it becomes a `Problem` ("FILE[:LINE]: reason", one line) and is
skipped (what counts as bad: `stages.formats`; how bytes become text: `stages.decode`).

Duplicate ids: the first page with an id keeps it; a later page with an id already seen in the
batch is kept as ``<id>#2`` (then ``#3``...; the first free one) and reported as a warning (not a
skip). The rule only depends on input order, so it is deterministic.

Ids are data: they are never used to build a path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import pandas as pd

from pipeline.errors import InputError
from pipeline.schema import PAGES, conform
from pipeline.stages.decode import printable
from pipeline.stages.formats import READERS, Page, Problem, guarded, shown, source_of

__all__ = ["Page", "Problem", "discover", "iter_pages", "pages_frame", "read_pages"]

SUFFIXES = (".txt", ".jsonl", ".jsonl.gz", ".csv", ".parquet")


def suffix_of(path: Path) -> str | None:
    name = path.name.lower()
    return next((s for s in SUFFIXES if name.endswith(s)), None)


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Input files under `paths`, in sorted path order. Raises InputError for a missing path.

    A file named explicitly is always taken (an unsupported one is reported by `iter_pages`);
    inside a folder, only files with a known suffix and no hidden component below that folder.
    """
    found: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in path.rglob("*"):
                hidden = any(part.startswith(".") for part in file.relative_to(path).parts)
                if not hidden and suffix_of(file) and file.is_file():
                    found.add(file)
        elif path.is_file():
            found.add(path)
        elif path.exists():
            raise InputError(f"input is not a file or folder: {printable(str(raw))}")
        else:
            raise InputError(f"input not found: {printable(str(raw))}")
    return sorted(found, key=lambda p: p.as_posix())


def iter_pages(files: Iterable[Path]) -> Iterator[Page | Problem]:
    """Pages and problems of `files`, in order, streamed (one page in memory at a time for
    JSONL / CSV / Parquet). Duplicate doc_ids are renamed as the module docstring says."""
    seen: dict[str, int] = {}
    for path in files:
        suffix = suffix_of(path)
        if suffix is None:
            yield Problem(source_of(path), "unsupported file type (.txt, .jsonl, .jsonl.gz, .csv, .parquet)")
            continue
        for item in guarded(path, READERS[suffix](path)):
            if isinstance(item, Page):
                if item.doc_id in seen:
                    renamed = unique_id(item.doc_id, seen)
                    reason = f"duplicate id {shown(item.doc_id)} kept as {shown(renamed)}"
                    yield Problem(item.source, reason, skipped=False)
                    item = replace(item, doc_id=renamed)
                seen[item.doc_id] = 1
            yield item


def unique_id(doc_id: str, seen: dict[str, int]) -> str:
    """The first of ``doc_id#2``, ``doc_id#3``... not yet seen (and remember the count)."""
    count = seen[doc_id]
    while True:
        count += 1
        candidate = f"{doc_id}#{count}"
        if candidate not in seen:
            seen[doc_id] = count
            return candidate


def pages_frame(pages: list[Page]) -> pd.DataFrame:
    """Pages as a DataFrame of schema PAGES."""
    frame = pd.DataFrame([p.__dict__ for p in pages], columns=[f.name for f in PAGES])
    return conform(frame, PAGES)


def read_pages(paths: Iterable[str | Path]) -> tuple[pd.DataFrame, list[Problem]]:
    """All pages under `paths` as one frame (schema PAGES), and the problems met."""
    pages: list[Page] = []
    problems: list[Problem] = []
    for item in iter_pages(discover(paths)):
        (pages if isinstance(item, Page) else problems).append(item)
    return pages_frame(pages), problems
