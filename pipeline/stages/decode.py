"""Bytes to text: the codec of a page, guessed without ever raising.

Decoding: a BOM decides first (UTF-8, UTF-16 LE/BE, UTF-32) and never reaches the text; then strict
UTF-8; then UTF-8 with a few undecodable bytes replaced by U+FFFD (a warning); then
charset-normalizer's guess, preferring cp1252 when it decodes the bytes as well as the best guess
(short Western pages are otherwise often taken for Baltic or Central-European code pages). The
codec is recorded in the pages frame's ``encoding`` column. Undecodable bytes never raise. Lone
UTF-16 surrogates (``"\\ud800"`` in JSON, undecodable file names) become U+FFFD so that every
string can be written to Parquet.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import NamedTuple

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
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 27))
_SURROGATES = re.compile("[\ud800-\udfff]")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


class Decoded(NamedTuple):
    text: str
    encoding: str  # Python codec name, e.g. "utf-8", "utf-16-le", "cp1252"
    replaced: int  # undecodable bytes (or byte sequences) replaced by U+FFFD


def printable(text: str, limit: int = 2000) -> str:
    """`text` on one line: control characters, line separators and surrogates escaped."""
    text = _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode(), text)
    return text if len(text) <= limit else text[:limit] + "…"


def valid_str(text: str) -> str:
    """`text` with lone surrogates replaced by U+FFFD (they cannot be encoded as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", text)
    return text


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
