"""The input formats: one reader per kind of file, each yielding pages and problems.

``*.txt`` (one page per file, doc_id = file name without .txt), ``*.jsonl`` and ``*.jsonl.gz``
(one page per line: id, text, optional url and title), ``*.csv`` and ``*.parquet`` (the same
columns). Every reader streams: one page in memory at a time.

A bad page never stops the batch: it becomes a `Problem` ("FILE[:LINE]: reason", one line) and is
skipped. What counts as bad:

- a file that is not text (an image renamed .txt, NUL- or control-byte-heavy data), a file that
  cannot be read, an unsupported suffix given explicitly;
- a page over the limits of `pipeline.config`: more than MAX_PAGE_BYTES bytes, or more than
  MAX_PAGE_LINES non-empty lines (counted cheaply: line breaks first, exact count only when that
  bound is over the limit);
- a JSONL line that is not a JSON object, a CSV row with the wrong number of fields, a record
  without an ``id`` or ``text``, with a ``text`` that is not a string, or an id that is not a
  string or an integer; a CSV / Parquet file without ``id`` and ``text`` columns;
- the unread tail of a truncated or corrupt ``.jsonl.gz`` (its complete records are kept).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline import config
from pipeline.stages.decode import decode, printable, sniff_codec, valid_str

MAX_SHOWN = 80
"""Longest id or path quoted in a warning (a 10 kB id would drown the message)."""
# every character str.splitlines() breaks on, for the cheap line-count bound
_LINE_BREAKS = ("\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


@dataclass(frozen=True)
class Problem:
    """A page or record that was skipped (or altered), and why."""

    source: str
    reason: str
    skipped: bool = True  # False for a warning about a page that was kept (a renamed id)

    def __str__(self) -> str:
        return f"{printable(self.source)}: {printable(self.reason)}"


@dataclass(frozen=True)
class Page:
    doc_id: str
    text: str
    source: str
    encoding: str
    url: str | None = None
    title: str | None = None


def shown(value: str) -> str:
    """A value quoted for a message, cut to MAX_SHOWN characters."""
    quoted = repr(value)
    return quoted if len(quoted) <= MAX_SHOWN else quoted[: MAX_SHOWN - 1] + "…"


def source_of(path: Path) -> str:
    """A path as a page's `source`: undecodable bytes of its name shown as U+FFFD."""
    return valid_str(str(path))


def over_limits(text: str) -> str | None:
    """Why `text` is too large a page (MAX_PAGE_BYTES, MAX_PAGE_LINES), or None."""
    max_bytes, max_lines = config.max_page_bytes(), config.max_page_lines()
    if len(text) > max_bytes or (
        len(text) * 4 > max_bytes and len(text.encode("utf-8", "surrogatepass")) > max_bytes
    ):
        return f"page too large (over {max_bytes} bytes; limit ARTICLE_PIPELINE_MAX_PAGE_BYTES)"
    # a text has at most one line break per character: a shorter one cannot have too many lines
    if len(text) >= max_lines and sum(text.count(b) for b in _LINE_BREAKS) + 1 > max_lines:
        lines = sum(1 for line in text.splitlines() if line and not line.isspace())
        if lines > max_lines:
            return f"page has {lines} lines (over {max_lines}; limit ARTICLE_PIPELINE_MAX_PAGE_LINES)"
    return None


def read_text_file(path: Path) -> Iterator[Page | Problem]:
    size = path.stat().st_size
    max_bytes = config.max_page_bytes()
    if size > max_bytes:
        reason = f"page too large ({size} bytes, over {max_bytes}; "
        yield Problem(source_of(path), reason + "limit ARTICLE_PIPELINE_MAX_PAGE_BYTES)")
        return
    try:
        decoded = decode(path.read_bytes())
    except ValueError as err:
        yield Problem(source_of(path), str(err))
        return
    too_large = over_limits(decoded.text)
    if too_large:
        yield Problem(source_of(path), too_large)
        return
    if decoded.replaced:
        reason = f"{decoded.replaced} undecodable byte(s) replaced by U+FFFD ({decoded.encoding})"
        yield Problem(source_of(path), reason, skipped=False)
    # the file name is bytes on disk: undecodable ones come back with surrogates
    doc_id = valid_str(path.name[: -len(".txt")])
    yield Page(doc_id=doc_id, text=decoded.text, source=source_of(path), encoding=decoded.encoding)


def record_to_page(record: object, source: str, encoding: str = "utf-8") -> Page | Problem:
    """A JSONL / CSV / Parquet record -> Page, or a Problem saying what is wrong with it."""
    if not isinstance(record, dict):
        return Problem(source, f"record is a JSON {type(record).__name__}, not an object")
    doc_id, text = record.get("id"), record.get("text")
    if doc_id is None or (isinstance(doc_id, float) and doc_id != doc_id) or doc_id == "":
        return Problem(source, "record has no id")
    if isinstance(doc_id, bool) or not isinstance(doc_id, str | int):
        return Problem(source, f"id is a {type(doc_id).__name__}, not a string")
    if not isinstance(text, str):
        what = "no text" if text is None else f"a text of type {type(text).__name__}, not a string"
        return Problem(source, f"record has {what}")
    too_large = over_limits(text)
    if too_large:
        return Problem(source, too_large)
    optional = {}
    for key in ("url", "title"):
        value = record.get(key)
        optional[key] = valid_str(value) if isinstance(value, str) and value else None
    return Page(
        doc_id=valid_str(str(doc_id)),
        text=valid_str(text).lstrip("\ufeff"),
        source=source,
        encoding=encoding,
        **optional,
    )


def read_jsonl(path: Path) -> Iterator[Page | Problem]:
    """One record per line; a line longer than the page limit allows is skipped unparsed."""
    # JSON escapes can triple a text's size (a non-BMP character is 12 bytes as "\\ud83d\\ude00")
    max_line = 3 * config.max_page_bytes() + 4096
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    line_no = 0
    try:
        with opener(path, "rb") as stream:
            while True:
                raw = stream.readline(max_line + 1)
                if not raw:
                    break
                line_no += 1
                source = f"{source_of(path)}:{line_no}"
                if len(raw) > max_line and not raw.endswith(b"\n"):
                    while raw and not raw.endswith(b"\n"):  # skip the rest of the line, bounded
                        raw = stream.readline(1 << 20)
                    yield Problem(source, f"record too large (over {max_line} bytes)")
                    continue
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw.decode("utf-8", errors="replace").lstrip("\ufeff"))
                except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError
                    message = getattr(err, "msg", None) or type(err).__name__
                    yield Problem(source, f"malformed JSON ({message})")
                    continue
                yield record_to_page(record, source)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        where = f"{source_of(path)}:{line_no + 1}"
        yield Problem(where, f"truncated or corrupt gzip ({err}); the {line_no} lines before kept")


def read_csv(path: Path) -> Iterator[Page | Problem]:
    """Rows of a CSV with a header naming ``id`` and ``text`` (``url``, ``title`` optional)."""
    try:
        codec, bom = sniff_codec(path)
    except ValueError as err:
        yield Problem(source_of(path), str(err))
        return
    csv.field_size_limit(max(3 * config.max_page_bytes(), 1 << 20))
    with open(path, "rb") as raw_stream:
        raw_stream.seek(bom)
        stream = io.TextIOWrapper(raw_stream, encoding=codec, errors="replace", newline="")
        reader = csv.reader(stream)
        try:
            header = [name.strip().lstrip("\ufeff") for name in next(reader, [])]
        except csv.Error as err:
            yield Problem(f"{source_of(path)}:1", f"malformed CSV header ({err})")
            return
        missing = [name for name in ("id", "text") if name not in header]
        if missing:
            yield Problem(source_of(path), f"CSV header has no {' / '.join(missing)} column: file skipped")
            return
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                yield Problem(f"{source_of(path)}:{start}", f"malformed CSV ({err})")
                if reader.line_num < start:  # no progress: give up on the file
                    return
                continue
            if not row:
                continue
            source = f"{source_of(path)}:{start}"
            if len(row) != len(header):
                yield Problem(source, f"wrong number of fields ({len(row)}, header has {len(header)})")
                continue
            yield record_to_page(dict(zip(header, row, strict=True)), source, codecs.lookup(codec).name)


def read_parquet(path: Path) -> Iterator[Page | Problem]:
    """Rows of a Parquet file with ``id`` and ``text`` columns, streamed in batches."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        names = parquet.schema_arrow.names
    except (OSError, ValueError, pa.ArrowException) as err:
        yield Problem(source_of(path), f"unreadable Parquet ({type(err).__name__})")
        return
    missing = [name for name in ("id", "text") if name not in names]
    if missing:
        yield Problem(source_of(path), f"Parquet file has no {' / '.join(missing)} column: file skipped")
        return
    columns = [name for name in ("id", "text", "url", "title") if name in names]
    row_no = 0
    for batch in parquet.iter_batches(batch_size=256, columns=columns):
        for record in batch.to_pylist():
            row_no += 1
            yield record_to_page(record, f"{source_of(path)}:{row_no}")


READERS = {
    ".txt": read_text_file,
    ".jsonl": read_jsonl,
    ".jsonl.gz": read_jsonl,
    ".csv": read_csv,
    ".parquet": read_parquet,
}


def guarded(path: Path, items: Iterator[Page | Problem]) -> Iterator[Page | Problem]:
    """`items`, ending with a Problem instead of an exception when the file fails mid-way
    (vanished, unreadable, an I/O error): the pages read before it are kept."""
    import pyarrow as pa

    while True:
        try:
            item = next(items)
        except StopIteration:
            return
        except OSError as err:
            yield Problem(source_of(path), f"unreadable ({err.strerror or err})")
            return
        except (ValueError, pa.ArrowException) as err:
            yield Problem(source_of(path), f"unreadable ({type(err).__name__}: {err})")
            return
        yield item
