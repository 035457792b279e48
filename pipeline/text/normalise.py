"""Text normalisation shared by the duplicate detectors (lines in a page, pages in a batch).

Spam mirrors and scrapers alter text in ways that must not hide a repeat: junk symbols inside
words ("rec✱eption"), glued words, case, width variants, curly quotes, diacritics. One
normalisation (`normalise`: NFKC, case-folded, symbols removed) in the shapes the detectors need:

- `words`: its tokens, for one text; `tokenise`: the same for a whole chunk at once, URLs left out
  (in-page repeats shingle these words: `stages.repeats`);
- `fold`: it without diacritics or spaces, for one text; `fold_all`: the same for a chunk (the
  same-story signatures shingle these characters, so glued and split words still match).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.text import charclasses
from pipeline.text.urls import URL, strip_urls

JUNK = re.compile(r"[^\w\s]+")
"""Symbols and punctuation, including junk inside words (removed, joining what they split)."""
_WORD = re.compile(r"\w+")
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_UNDECOMPOSABLE = (("đ", "d"), ("ø", "o"), ("ł", "l"), ("ħ", "h"), ("ı", "i"), (" ", ""))
"""Letters without a decomposition, folded by hand; and the spaces, removed last."""
_ASCII_JUNK = bytes(c for c in range(128) if not (chr(c).isalnum() or chr(c) == "_" or chr(c).isspace()))
"""The ASCII characters `normalise` removes (neither word characters nor spaces)."""
_SEPARATOR = "\x1e"
"""Joins the texts of a chunk while they are folded together (a space to every step of `fold`)."""


def normalise(text: str) -> str:
    """NFKC, case-folded, symbols removed (joining the word they split), spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(JUNK.sub("", text).split())


def words(text: str) -> list[str]:
    """Tokens of `normalise(text)`."""
    return _WORD.findall(normalise(text))


def shingles(tokens: list[str], k: int) -> list[str]:
    """Word k-shingles of `tokens` joined by a space (the whole text when shorter than k)."""
    if len(tokens) < k:
        return [" ".join(tokens)] if tokens else []
    return [" ".join(tokens[i : i + k]) for i in range(len(tokens) - k + 1)]


def fold(text: str) -> str:
    """`normalise(text)` without diacritics or spaces: the text that is shingled."""
    text = normalise(text)
    if text.isascii():  # the common case
        return text.replace(" ", "")
    return _strip_marks(text)


def _strip_marks(text: str) -> str:
    """The non-ASCII end of `fold`: diacritics and spaces removed from normalised text."""
    text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    for letter, plain in _UNDECOMPOSABLE:  # str.replace is far faster than str.translate
        text = text.replace(letter, plain)
    return text


def fold_all(texts: list[object]) -> list[str]:
    """`fold` of every text ("" for a missing one), a chunk at a time: ASCII texts through a
    byte-level deletion, the others through one pass of each step over all of them."""
    texts = [t if isinstance(t, str) else "" for t in texts]
    out = [
        "".join(t.encode("ascii").lower().translate(None, _ASCII_JUNK).decode("ascii").split())
        if t.isascii()
        else None
        for t in texts
    ]
    other = [i for i, t in enumerate(texts) if out[i] is None]
    if not other:
        return out  # type: ignore[return-value]
    normalised = [
        t if unicodedata.is_normalized("NFKC", t) else unicodedata.normalize("NFKC", t)
        for t in (texts[i] for i in other)
    ]
    joined = _SEPARATOR.join(normalised)
    parts = _without_junk(joined.casefold()).split(_SEPARATOR)
    if joined.count(_SEPARATOR) != len(other) - 1 or len(parts) != len(other):
        for i in other:  # a text holding the separator (or casefolding into it)
            out[i] = fold(texts[i])
        return out  # type: ignore[return-value]
    spaced = [" ".join(part.split()) for part in parts]  # as `normalise`
    marked = [k for k, part in enumerate(spaced) if not part.isascii()]
    for k, part in enumerate(spaced):
        out[other[k]] = part.replace(" ", "")
    stripped = _strip_marks(_SEPARATOR.join(spaced[k] for k in marked)).split(_SEPARATOR) if marked else []
    if len(stripped) != len(marked):
        stripped = [_strip_marks(spaced[k]) for k in marked]
    for k, folded in zip(marked, stripped, strict=True):
        out[other[k]] = folded
    return out  # type: ignore[return-value]


# A chunk's folding runs over millions of characters: `JUNK`'s deletion is done there by a lookup
# table over the code points (numpy: 0.045 s for 5 M characters against 0.10 s for the regex).


@cache
def _junk_table() -> np.ndarray:
    """The code points `JUNK` removes: neither `re`'s word characters nor its white space."""
    return ~charclasses.code_point_table(charclasses.word_ranges(), charclasses.space_ranges())


def _code_points(text: str) -> np.ndarray:
    # surrogatepass: a lone surrogate is a code point like any other (JUNK removes it)
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _from_code_points(points: np.ndarray) -> str:
    return points.tobytes().decode("utf-32-le", "surrogatepass")


def _without_junk(text: str) -> str:
    """``JUNK.sub("", text)``."""
    points = _code_points(text)
    return _from_code_points(points[~_junk_table()[points]])


def tokenise(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """`words` of every text, URLs left out, in one pass over the whole chunk.

    Returns
    -------
    (tokens, line), each shape (n_tokens,): the tokens laid end to end (object array of str)
    and the index in `texts` of the text each comes from (non-decreasing).
    """
    codes, vocabulary, line = token_codes(texts)
    return vocabulary[codes], line


def token_codes(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tokens of `tokenise` as codes into a vocabulary of distinct tokens.

    Symbols only ever glue the word they split ("rec✱eption"), never split or join
    whitespace-separated pieces, so the tokens are the whitespace-separated pieces of the
    normalised text with their symbols removed (empty ones dropped): the text is split once,
    and the symbol regex runs only on the distinct pieces that hold a symbol.

    Returns
    -------
    (codes, vocabulary, line): codes and line shape (n_tokens,), int64; vocabulary shape
    (n_distinct,), object array of str.
    """
    joined = "\n".join(texts)
    breaks = max(len(texts) - 1, 0)
    norm = _nfkc_lines(strip_urls(joined)).casefold()
    if norm.count("\n") != breaks or joined.count("\n") != breaks or _BREAK in norm:
        # A text holding a line break (not from segment) or normalising into one: per text.
        per_text = [words(URL.sub(" ", t)) for t in texts]
        lengths = [len(w) for w in per_text]
        codes, vocabulary = pd.factorize(np.array([w for ws in per_text for w in ws], dtype=object))
        return codes.astype(np.int64), vocabulary, np.repeat(np.arange(len(texts)), lengths)
    # The pieces of ``norm.split()`` (runs of what str.isspace calls no space), distinct ones
    # found by Arrow's hashing (str.split and pd.factorize of a chunk's 550,000 pieces: 1.6x).
    runs, is_space, _ = charclasses.class_runs(norm, _space_table())
    pieces = runs.filter(pa.array(~is_space)).dictionary_encode()
    piece_codes = pieces.indices.to_numpy().astype(np.int64)
    piece_vocabulary = pieces.dictionary.to_numpy(zero_copy_only=False)
    cleaned = np.array(
        [p if p.isalnum() else JUNK.sub("", p) for p in piece_vocabulary], dtype=object
    )  # str.isalnum: no symbol (an underscore is a word character and makes it False only)
    token_codes, vocabulary = pd.factorize(cleaned)
    keep = (cleaned != "")[piece_codes]
    # a piece's line: the line breaks in the runs of spaces before it
    breaks_before = np.cumsum(pc.count_substring(runs, "\n").to_numpy())[~is_space]
    line = breaks_before[keep].astype(np.int64)
    return token_codes[piece_codes[keep]].astype(np.int64), np.asarray(vocabulary, dtype=object), line


@cache
def _space_table() -> np.ndarray:
    """`re`'s white space (``\\s``, `str.isspace`: what ``str.split()`` splits on) over every code point."""
    return charclasses.code_point_table(charclasses.space_ranges())


_BREAK = "\x01"
"""Stood for a line break while the chunk was split by ``str.split``; a chunk holding it still
takes the per-text path, so that the tokens stay those of the earlier versions."""


def _nfkc_lines(text: str) -> str:
    """NFKC of a text of lines, normalising only the lines that need it (a line break
    composes with nothing, so lines normalise independently)."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    return "\n".join(
        line if unicodedata.is_normalized("NFKC", line) else unicodedata.normalize("NFKC", line)
        for line in text.split("\n")
    )
