"""Read stage: input paths -> pages, one record per page, with the bad ones reported.

Formats: ``*.txt`` (one page per file, doc_id = file name without .txt), ``*.jsonl`` and
``*.jsonl.gz`` (one page per line: id, text, optional url and title), ``*.csv`` and ``*.parquet``
(the same columns). A folder is searched recursively; hidden files and folders (a name starting
with ".", e.g. an output's ``.OUT.versions``) are not inputs. Pages come in sorted path order, then
record order: that order is what "earlier" and "first seen" mean downstream.

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

Decoding: a BOM decides first (UTF-8, UTF-16 LE/BE, UTF-32) and never reaches the text; then strict
UTF-8; then UTF-8 with a few undecodable bytes replaced by U+FFFD (a warning); then
charset-normalizer's guess, preferring cp1252 when it decodes the bytes as well as the best guess
(short Western pages are otherwise often taken for Baltic or Central-European code pages). The
codec is recorded in the pages frame's ``encoding`` column. Undecodable bytes never raise. Lone
UTF-16 surrogates (``"\\ud800"`` in JSON, undecodable file names) become U+FFFD so that every
string can be written to Parquet.

Duplicate ids: the first page with an id keeps it; a later page with an id already seen in the
batch is kept as ``<id>#2`` (then ``#3``...; the first free one) and reported as a warning (not a
skip). The rule only depends on input order, so it is deterministic.

Ids are data: they are never used to build a path.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from pipeline import config
from pipeline.errors import InputError
from pipeline.schema import PAGES, conform

SUFFIXES = (".txt", ".jsonl", ".jsonl.gz", ".csv", ".parquet")

SNIFF_BYTES = 8192
"""Head of a file looked at to tell text from binary data."""

DETECT_BYTES = 200_000
"""Head of a non-UTF-8 page given to charset-normalizer (its guess is then applied to the whole)."""

BINARY_SIGNATURES = (
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"%PDF",
    b"PK\x03\x04",  # zip, docx, xlsx
    b"\x1f\x8b",  # gzip (outside a .gz suffix)
    b"\x7fELF",
    b"RIFF",  # webp, wav, avi
)

MAX_SHOWN = 80
"""Longest id or path quoted in a warning (a 10 kB id would drown the message)."""

_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 27))
_SURROGATES = re.compile("[\ud800-\udfff]")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
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


class Decoded(NamedTuple):
    text: str
    encoding: str  # Python codec name, e.g. "utf-8", "utf-16-le", "cp1252"
    replaced: int  # undecodable bytes (or byte sequences) replaced by U+FFFD


def printable(text: str, limit: int = 2000) -> str:
    """`text` on one line: control characters, line separators and surrogates escaped."""
    text = _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode(), text)
    return text if len(text) <= limit else text[:limit] + "…"


def shown(value: str) -> str:
    """A value quoted for a message, cut to MAX_SHOWN characters."""
    quoted = repr(value)
    return quoted if len(quoted) <= MAX_SHOWN else quoted[: MAX_SHOWN - 1] + "…"


def valid_str(text: str) -> str:
    """`text` with lone surrogates replaced by U+FFFD (they cannot be encoded as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", text)
    return text


def _src(path: Path) -> str:
    """A path as a page's `source`: undecodable bytes of its name shown as U+FFFD."""
    return valid_str(str(path))


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


# --- decoding -------------------------------------------------------------------------------


def bom_codec(head: bytes) -> tuple[str, int] | None:
    """(codec, BOM length) when `head` starts with a byte-order mark. UTF-32 is tested first:
    its little-endian BOM starts with UTF-16's."""
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if head.startswith(bom):
            return codec, len(bom)
    return None


def looks_binary(raw: bytes) -> bool:
    """A known binary signature, or control bytes (NUL included) in over 5% of the head.

    Random binary data has about 10% such bytes; text has almost none, so a stray NUL in a page
    does not make it binary. Call only on data without a BOM (UTF-16 text is half NULs).
    """
    head = raw[:SNIFF_BYTES]
    if not head:
        return False
    if head.startswith(BINARY_SIGNATURES):
        return True
    control = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return control > 0.05 * len(head)


def decode(raw: bytes) -> Decoded:
    """Decode page bytes (see the module docstring). Raises ValueError for binary data."""
    bom = bom_codec(raw[:4])
    if bom is not None:
        codec, skip = bom
        return _decode_as(raw[skip:], codec)
    if looks_binary(raw):
        raise ValueError("binary data, not text: skipped")
    try:
        return Decoded(raw.decode("utf-8").lstrip("\ufeff"), "utf-8", 0)
    except UnicodeDecodeError:
        pass
    mostly = _decode_as(raw, "utf-8")
    text = mostly.text
    non_ascii = len(text) - len(text.encode("ascii", "ignore")) - text.count("\ufffd")
    if mostly.replaced * 10 < non_ascii:  # valid multi-byte UTF-8 dominates: a few bad bytes
        return mostly
    return _decode_as(raw, guess_codec(raw[:DETECT_BYTES]))


def _decode_as(raw: bytes, codec: str) -> Decoded:
    text = raw.decode(codec, errors="replace")
    replaced = text.count("\ufffd") - _count_encoded_replacement(raw, codec)
    return Decoded(text.lstrip("\ufeff"), codecs.lookup(codec).name, max(replaced, 0))


def _count_encoded_replacement(raw: bytes, codec: str) -> int:
    """U+FFFD characters genuinely present in `raw` (not produced by the decoder)."""
    try:
        return raw.count("\ufffd".encode(codec))
    except UnicodeEncodeError:
        return 0


def guess_codec(head: bytes) -> str:
    """charset-normalizer's codec for non-UTF-8 bytes; cp1252 when it does as well as the best."""
    from charset_normalizer import from_bytes  # lazy: only non-UTF-8 pages need it

    matches = list(from_bytes(head))
    if not matches:
        return "cp1252"
    best = min(m.chaos for m in matches)
    if any("cp1252" in m.could_be_from_charset for m in matches if m.chaos <= best + 0.1):
        return "cp1252"
    try:
        return codecs.lookup(matches[0].encoding).name
    except LookupError:
        return "cp1252"


def sniff_codec(path: Path) -> tuple[str, int]:
    """(codec, BOM length) of a text file from its head, for streamed formats (CSV).

    Raises ValueError for binary data.
    """
    with open(path, "rb") as stream:
        head = stream.read(DETECT_BYTES)
    bom = bom_codec(head[:4])
    if bom is not None:
        return bom
    if looks_binary(head):
        raise ValueError("binary data, not text: skipped")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < DETECT_BYTES)
        return "utf-8", 0
    except UnicodeDecodeError:
        return guess_codec(head), 0


# --- limits ---------------------------------------------------------------------------------


def over_limits(text: str) -> str | None:
    """Why `text` is too large a page (MAX_PAGE_BYTES, MAX_PAGE_LINES), or None."""
    max_bytes, max_lines = config.max_page_bytes(), config.max_page_lines()
    if len(text) > max_bytes or (
        len(text) * 4 > max_bytes and len(text.encode("utf-8", "surrogatepass")) > max_bytes
    ):
        return f"page too large (over {max_bytes} bytes; limit ARTICLE_PIPELINE_MAX_PAGE_BYTES)"
    breaks = sum(text.count(b) for b in _LINE_BREAKS)  # C-speed scans, no list of lines
    if breaks + 1 > max_lines:
        lines = sum(1 for line in text.splitlines() if line and not line.isspace())
        if lines > max_lines:
            return f"page has {lines} lines (over {max_lines}; limit ARTICLE_PIPELINE_MAX_PAGE_LINES)"
    return None


# --- readers --------------------------------------------------------------------------------


def read_text_file(path: Path) -> Iterator[Page | Problem]:
    size = path.stat().st_size
    max_bytes = config.max_page_bytes()
    if size > max_bytes:
        reason = f"page too large ({size} bytes, over {max_bytes}; "
        yield Problem(_src(path), reason + "limit ARTICLE_PIPELINE_MAX_PAGE_BYTES)")
        return
    try:
        decoded = decode(path.read_bytes())
    except ValueError as err:
        yield Problem(_src(path), str(err))
        return
    too_large = over_limits(decoded.text)
    if too_large:
        yield Problem(_src(path), too_large)
        return
    if decoded.replaced:
        reason = f"{decoded.replaced} undecodable byte(s) replaced by U+FFFD ({decoded.encoding})"
        yield Problem(_src(path), reason, skipped=False)
    # the file name is bytes on disk: undecodable ones come back with surrogates
    doc_id = valid_str(path.name[: -len(".txt")])
    yield Page(doc_id=doc_id, text=decoded.text, source=_src(path), encoding=decoded.encoding)


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
                source = f"{_src(path)}:{line_no}"
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
        where = f"{_src(path)}:{line_no + 1}"
        yield Problem(where, f"truncated or corrupt gzip ({err}); the {line_no} lines before kept")


def read_csv(path: Path) -> Iterator[Page | Problem]:
    """Rows of a CSV with a header naming ``id`` and ``text`` (``url``, ``title`` optional)."""
    try:
        codec, bom = sniff_codec(path)
    except ValueError as err:
        yield Problem(_src(path), str(err))
        return
    csv.field_size_limit(max(3 * config.max_page_bytes(), 1 << 20))
    with open(path, "rb") as raw_stream:
        raw_stream.seek(bom)
        stream = io.TextIOWrapper(raw_stream, encoding=codec, errors="replace", newline="")
        reader = csv.reader(stream)
        try:
            header = [name.strip().lstrip("\ufeff") for name in next(reader, [])]
        except csv.Error as err:
            yield Problem(f"{_src(path)}:1", f"malformed CSV header ({err})")
            return
        missing = [name for name in ("id", "text") if name not in header]
        if missing:
            yield Problem(_src(path), f"CSV header has no {' / '.join(missing)} column: file skipped")
            return
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                yield Problem(f"{_src(path)}:{start}", f"malformed CSV ({err})")
                if reader.line_num < start:  # no progress: give up on the file
                    return
                continue
            if not row:
                continue
            source = f"{_src(path)}:{start}"
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
        yield Problem(_src(path), f"unreadable Parquet ({type(err).__name__})")
        return
    missing = [name for name in ("id", "text") if name not in names]
    if missing:
        yield Problem(_src(path), f"Parquet file has no {' / '.join(missing)} column: file skipped")
        return
    columns = [name for name in ("id", "text", "url", "title") if name in names]
    row_no = 0
    for batch in parquet.iter_batches(batch_size=256, columns=columns):
        for record in batch.to_pylist():
            row_no += 1
            yield record_to_page(record, f"{_src(path)}:{row_no}")


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
            yield Problem(_src(path), f"unreadable ({err.strerror or err})")
            return
        except (ValueError, pa.ArrowException) as err:
            yield Problem(_src(path), f"unreadable ({type(err).__name__}: {err})")
            return
        yield item


def iter_pages(files: Iterable[Path]) -> Iterator[Page | Problem]:
    """Pages and problems of `files`, in order, streamed (one page in memory at a time for
    JSONL / CSV / Parquet). Duplicate doc_ids are renamed as the module docstring says."""
    seen: dict[str, int] = {}
    for path in files:
        suffix = suffix_of(path)
        if suffix is None:
            yield Problem(_src(path), "unsupported file type (.txt, .jsonl, .jsonl.gz, .csv, .parquet)")
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
