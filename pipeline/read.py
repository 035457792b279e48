"""Read stage: input paths -> pages, one record per page, with the bad ones reported.

Formats: ``*.txt`` (one page per file, doc_id = file name without .txt), ``*.jsonl`` and
``*.jsonl.gz`` (one page per line: id, text, optional url and title), ``*.csv`` and ``*.parquet``
(the same columns). A folder is searched recursively. Pages come in sorted path order, then record
order: that order is what "earlier" and "first seen" mean downstream.

A bad page never stops the batch: it becomes a `Problem` ("FILE[:LINE]: reason") and is skipped.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import config
from .schema import PAGES, conform

SUFFIXES = (".txt", ".jsonl", ".jsonl.gz", ".csv", ".parquet")


class InputError(Exception):
    """The run cannot proceed (missing path, nothing readable): one short line for the user."""


@dataclass(frozen=True)
class Problem:
    """A page or record that was skipped (or altered), and why."""

    source: str
    reason: str
    skipped: bool = True  # False for a warning about a page that was kept (a renamed id)

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


@dataclass(frozen=True)
class Page:
    doc_id: str
    text: str
    source: str
    encoding: str
    url: str | None = None
    title: str | None = None


def suffix_of(path: Path) -> str | None:
    name = path.name.lower()
    return next((s for s in SUFFIXES if name.endswith(s)), None)


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Input files under `paths`, in sorted path order. Raises InputError for a missing path."""
    found: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.update(p for p in path.rglob("*") if p.is_file() and suffix_of(p))
        elif path.is_file():
            found.add(path)
        else:
            raise InputError(f"input not found: {raw}")
    return sorted(found, key=lambda p: p.as_posix())


def decode(raw: bytes) -> tuple[str, str]:
    """Decode page bytes; returns (text, encoding). Raises ValueError for binary data.

    BOMs decide first (and never leak into the text), then strict UTF-8, then charset-normalizer's
    guess; undecodable bytes become U+FFFD rather than an error.
    """
    if raw.startswith(codecs.BOM_UTF8):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace"), "utf-16"
    if looks_binary(raw):
        raise ValueError("binary data, not text")
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # lazy: only undecodable-as-UTF-8 pages need it

    best = from_bytes(raw[:200_000]).best()
    encoding = best.encoding if best is not None else "cp1252"
    try:
        return raw.decode(encoding, errors="replace"), encoding
    except LookupError:
        return raw.decode("utf-8", errors="replace"), "utf-8-replace"


def looks_binary(raw: bytes) -> bool:
    """NUL bytes or a high share of control bytes in the head: an image or archive named .txt."""
    head = raw[:8192]
    if not head:
        return False
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 11, 12, 13, 27))
    return control / len(head) > 0.05


def read_text_file(path: Path) -> Iterator[Page | Problem]:
    size = path.stat().st_size
    if size > config.MAX_PAGE_BYTES:
        yield Problem(str(path), f"page too large ({size} bytes > {config.MAX_PAGE_BYTES})")
        return
    try:
        text, encoding = decode(path.read_bytes())
    except ValueError as err:
        yield Problem(str(path), str(err))
        return
    yield Page(doc_id=path.name[: -len(".txt")], text=text, source=str(path), encoding=encoding)


def record_to_page(record: object, source: str) -> Page | Problem:
    """A JSONL / CSV / Parquet record -> Page, or a Problem saying what is wrong with it."""
    if not isinstance(record, dict):
        return Problem(source, "record is not an object")
    doc_id, text = record.get("id"), record.get("text")
    if doc_id is None or (isinstance(doc_id, float) and doc_id != doc_id) or doc_id == "":
        return Problem(source, "record has no id")
    if isinstance(doc_id, bool) or not isinstance(doc_id, str | int):
        return Problem(source, f"id is a {type(doc_id).__name__}, not a string")
    if not isinstance(text, str):
        what = "no text" if text is None else f"text is a {type(text).__name__}, not a string"
        return Problem(source, f"record has {what}")
    if len(text.encode("utf-8", errors="replace")) > config.MAX_PAGE_BYTES:
        return Problem(source, f"page too large (> {config.MAX_PAGE_BYTES} bytes)")
    optional = {k: record.get(k) if isinstance(record.get(k), str) else None for k in ("url", "title")}
    return Page(doc_id=str(doc_id), text=text.lstrip("\ufeff"), source=source, encoding="utf-8", **optional)


def read_jsonl(path: Path) -> Iterator[Page | Problem]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    line_no = 0
    try:
        with opener(path, "rb") as stream:
            for line_no, raw in enumerate(stream, start=1):
                if not raw.strip():
                    continue
                source = f"{path}:{line_no}"
                try:
                    record = json.loads(raw.decode("utf-8-sig", errors="replace"))
                except json.JSONDecodeError as err:
                    yield Problem(source, f"malformed JSON ({err.msg})")
                    continue
                yield record_to_page(record, source)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        yield Problem(f"{path}:{line_no + 1}", f"truncated or corrupt gzip ({err}); earlier records kept")


def read_csv(path: Path) -> Iterator[Page | Problem]:
    csv.field_size_limit(max(config.MAX_PAGE_BYTES * 2, 1 << 20))
    raw = path.read_bytes()
    try:
        text, _ = decode(raw)
    except ValueError as err:
        yield Problem(str(path), str(err))
        return
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        for record in reader:
            source = f"{path}:{reader.line_num}"
            if None in record or any(v is None for v in record.values()):
                yield Problem(source, "wrong number of fields")
                continue
            yield record_to_page(record, source)
    except csv.Error as err:
        yield Problem(f"{path}:{reader.line_num}", f"malformed CSV ({err})")


def read_parquet(path: Path) -> Iterator[Page | Problem]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as err:
        yield Problem(str(path), f"unreadable Parquet ({type(err).__name__})")
        return
    for row_no, record in enumerate(table.to_pylist(), start=1):
        yield record_to_page(record, f"{path}:{row_no}")


READERS = {
    ".txt": read_text_file,
    ".jsonl": read_jsonl,
    ".jsonl.gz": read_jsonl,
    ".csv": read_csv,
    ".parquet": read_parquet,
}


def iter_pages(files: Iterable[Path]) -> Iterator[Page | Problem]:
    """Pages and problems of `files`, in order. Duplicate doc_ids get a deterministic suffix.

    A later page whose id was already seen in the batch is kept as ``<id>#2``, ``<id>#3``...
    (reported as a problem so the user sees it): both copies stay, and the same-story stage
    links the second to the first.
    """
    seen: dict[str, int] = {}
    for path in files:
        suffix = suffix_of(path)
        if suffix is None:
            yield Problem(str(path), "unsupported file type")
            continue
        try:
            items = list(READERS[suffix](path))
        except OSError as err:
            items = [Problem(str(path), f"unreadable ({err.strerror or err})")]
        for item in items:
            if isinstance(item, Page):
                if item.doc_id in seen:
                    renamed = unique_id(item.doc_id, seen)
                    reason = f"duplicate id {item.doc_id!r} kept as {renamed!r}"
                    yield Problem(item.source, reason, skipped=False)
                    item = Page(**{**item.__dict__, "doc_id": renamed})
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
