"""Text normalisation shared by the duplicate detectors (lines in a page, pages in a batch).

Spam mirrors and scrapers alter text in ways that must not hide a repeat: junk symbols inside
words ("rec✱eption"), glued words, case, width variants, curly quotes. `words` maps a text to the
tokens the detectors shingle; two texts that differ only in such noise get the same tokens.
"""

from __future__ import annotations

import re
import unicodedata

JUNK = re.compile(r"[^\w\s]+")
"""Symbols and punctuation, including junk inside words (removed, joining what they split)."""
_WORD = re.compile(r"\w+")


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
