"""Cheap plain-text features of every line of a chunk of pages, in one vectorised pass.

Everything is computed with pandas string kernels (pyarrow) and numpy over the whole chunk; the
only per-line Python is a substring test against the page's first line. Feature groups:

- the line itself: length, words, stopword density (English stopwords, as data below), word
  length, punctuation, final punctuation, capitalisation, digits, dates, urls, marker kinds
  (pipeline.text.markers);
- its place in the page: position, lines before / after, page length;
- the page's prose block: a line is "prose" when it reads like running text (enough words,
  stopwords and a sentence end); where the line sits relative to the page's prose lines (share of
  prose before / after, inside the first..last prose span, density of prose around it). This is
  the context smoothing behind jusText and boilerpipe, learned instead of hand-set;
- its neighbours: the same basic features of the lines 1 and 2 before and after;
- lists and markers: lines since the last list header ("See more", "Related"...), whether the
  prose block has ended, repeats of the line inside the page;
- the title: containment between the line and the page's first line (a headline repeated,
  a headline glued to its caption).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.learn.coherence import COHERENCE_FEATURES, alnum_words, coherence_features
from pipeline.text.markers import MARKER_KINDS, match_markers, regex_hits

_STOPWORD_TEXT = """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours ourselves out over own said same
    she should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())
_STOP_ARRAY = pa.array(sorted(STOPWORDS))
"""English stopwords (NLTK's list, trimmed): running text is dense in them, menus are not."""

_SENTENCE_END = r"[.!?…:;。！？][\"'”’)\]」』]*\s*$"
_BULLET = r"^\s*(?:[-–—•·*►▶»›>|]|\d{1,2}[.)])\s"
_URL_LIKE = r"(?:https?://|www\.|\.com\b|\.html?\b|@[a-z0-9-]+\.)"
"""A line that mentions a URL, a domain or an e-mail (a feature; `text.urls` finds URL tokens)."""

MAX_CHARS = 2000
"""Lines are cut to this many characters for features (a huge line is prose either way)."""

NEIGHBOUR_FEATURES = ("log_words", "stop_share", "sentence_end", "prose", "marker_list-header")
NEIGHBOUR_OFFSETS = (-2, -1, 1, 2)
WINDOWS = (2, 5, 15)
"""Half-widths of the centred windows over which the prose share around a line is averaged."""

FAR = 50.0
"""Stand-in distance when there is no previous marker / prose line on the page."""

BASE_FEATURES = (
    "log_chars",
    "log_words",
    "mean_word_len",
    "stop_share",
    "log_stops",
    "punct_share",
    "comma_share",
    "sentence_end",
    "ends_colon",
    "ends_ellipsis",
    "bullet",
    "pipes",
    "upper_share",
    "capital_word_share",
    "all_caps",
    "digit_share",
    "starts_lower",
    "starts_quote",
    "url",
    "non_ascii_share",
    "cjk_share",
    *(f"marker_{kind}" for kind in MARKER_KINDS),
    "prose",
)

FEATURES: tuple[str, ...] = (
    *BASE_FEATURES,
    "rel_pos",
    "log_pos",
    "log_after",
    "log_page_lines",
    "first",
    "prose_before",
    "prose_after",
    "in_prose_span",
    "log_prose_lines",
    "page_prose_share",
    *(f"prose_window_{w}" for w in WINDOWS),
    "log_dist_prose",
    "log_since_header",
    "log_since_marker",
    "header_seen",
    "header_rel_pos",
    "log_prose_since_header",
    "prose_ended",
    "log_repeats",
    "later_repeat",
    "title_in_line",
    "line_in_title",
    "title_len_ratio",
    *COHERENCE_FEATURES,
    *(f"{name}@{offset:+d}" for offset in NEIGHBOUR_OFFSETS for name in NEIGHBOUR_FEATURES),
)
"""Feature columns, in the order the model sees them."""


def _has(values: pa.Array, pattern: str) -> np.ndarray:
    return regex_hits(values, pattern).astype(np.float32)


# character classes, one bit each, looked up per code point (a numpy table instead of a regex
# pass per class: counting \p{L} with a regex costs 10x more than all the classes together)
_LETTER, _UPPER, _LOWER, _DIGIT, _PUNCT, _SPACE, _CJK_BIT, _QUOTE, _COMMA, _PIPE = (1 << i for i in range(10))
_CJK_RANGES = (
    (0x0E00, 0x0E7F),  # Thai
    (0x1100, 0x11FF),  # Hangul jamo
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3130, 0x318F),  # Hangul compatibility jamo
    (0x31F0, 0x31FF),  # Katakana extensions
    (0x3400, 0x4DBF),  # Han extension A
    (0x4E00, 0x9FFF),  # Han
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # Han compatibility
    (0xFF66, 0xFF9D),  # half-width Katakana
)
"""Scripts written without spaces between words: two characters count as one word."""


@cache
def _class_table() -> np.ndarray:
    """Class bits of every code point of the Basic Multilingual Plane, shape (65536,), uint16."""
    import unicodedata

    table = np.zeros(0x10000, dtype=np.uint16)
    for cp in range(0x10000):
        char = chr(cp)
        cat = unicodedata.category(char)
        bits = 0
        if cat[0] == "L":
            bits |= _LETTER
        if cat == "Lu":
            bits |= _UPPER
        elif cat == "Ll":
            bits |= _LOWER
        if cat[0] in "PS":
            bits |= _PUNCT
        if char.isspace():
            bits |= _SPACE
        table[cp] = bits
    table[ord("0") : ord("9") + 1] |= _DIGIT
    for lo, hi in _CJK_RANGES:
        table[lo : hi + 1] |= _CJK_BIT
    for char in "\"'“‘(":
        table[ord(char)] |= _QUOTE
    table[ord(",")] |= _COMMA
    table[ord("|")] |= _PIPE
    table[ord("/")] |= _PIPE
    return table


def _char_counts(stripped: list[str]) -> dict[str, np.ndarray]:
    """Per-line counts of character classes, words and capitalised words, shape (n,) each."""
    n = len(stripped)
    lengths = np.fromiter(map(len, stripped), dtype=np.int64, count=n)
    # a space before every line (so its first character starts a word) and one at the end
    codes = np.frombuffer((" " + " ".join(stripped) + " ").encode("utf-32-le"), dtype=np.uint32)
    starts = np.cumsum(lengths + 1) - lengths
    bits = _class_table()[np.minimum(codes, 0xFFFF)]
    astral = codes > 0xFFFF
    if astral.any():  # outside the BMP: emoji and symbols (punctuation-like), rare Han (letters)
        han = astral & (codes >= 0x20000) & (codes < 0x40000)
        bits[astral] = _PUNCT
        bits[han] = _LETTER | _CJK_BIT
    empty = lengths == 0

    def per_line(flag: np.ndarray) -> np.ndarray:
        # segments starts[i]..starts[i+1]-1 hold line i and the space after it (never counted)
        counts = np.add.reduceat(flag.view(np.uint8), starts, dtype=np.int64).astype(np.float32)
        counts[empty] = 0
        return counts

    space = (bits & _SPACE) > 0
    word_start = np.zeros(len(bits), dtype=bool)
    word_start[1:] = ~space[1:] & space[:-1]
    upper = (bits & _UPPER) > 0
    quoted_upper = np.zeros(len(bits), dtype=bool)
    quoted_upper[:-1] = ((bits[:-1] & _QUOTE) > 0) & upper[1:]
    capital_start = word_start & (upper | quoted_upper)
    first = np.where(empty, 0, bits[starts])
    second = np.where(lengths > 1, bits[starts + 1], 0)
    return {
        "chars": lengths.astype(np.float32),
        "words": per_line(word_start),
        "capital_words": per_line(capital_start),
        "letters": per_line((bits & _LETTER) > 0),
        "upper": per_line(upper),
        "digits": per_line((bits & _DIGIT) > 0),
        "punct": per_line((bits & _PUNCT) > 0),
        "commas": per_line((bits & _COMMA) > 0),
        "pipes": per_line((bits & _PIPE) > 0),
        "non_ascii": per_line(codes > 0x7F),
        "cjk": per_line((bits & _CJK_BIT) > 0),
        "starts_lower": (((first & _LOWER) > 0) | (((first & _QUOTE) > 0) & ((second & _LOWER) > 0))).astype(
            np.float32
        ),
    }


_TRIM = "\"'“”‘’()[]{}<>«»,.;:!?…-–—*"
"""Punctuation trimmed off a word before the stopword test ("the," is "the")."""


def _stop_counts(lower: pa.Array) -> np.ndarray:
    """English stopwords per line, shape (n,): whitespace-split words, punctuation trimmed."""
    words = pc.utf8_split_whitespace(lower)
    flat = pc.utf8_trim(pc.list_flatten(words), characters=_TRIM)
    hit = pc.is_in(flat, value_set=_STOP_ARRAY).to_numpy(zero_copy_only=False).astype(np.float32)
    parent = pc.list_parent_indices(words).to_numpy()
    return np.bincount(parent, weights=hit, minlength=len(lower)).astype(np.float32)


def base_features(text: pd.Series) -> pd.DataFrame:
    """Features of each line on its own.

    Computed once per distinct text (menus and footers recur across the pages of a site) and
    mapped back.

    Parameters
    ----------
    text : Series of str, shape (n_lines,)

    Returns
    -------
    DataFrame, shape (n_lines, len(BASE_FEATURES)), float32.
    """
    codes, uniques = pd.factorize(text.astype("string").fillna(""), sort=False)
    return pd.DataFrame(_base_array(codes, uniques), columns=list(BASE_FEATURES), index=text.index)


def _base_array(codes: np.ndarray, uniques) -> np.ndarray:
    """`base_features` of the lines whose texts are uniques[codes], shape (n_lines, n_base)."""
    if not len(codes):
        return np.zeros((0, len(BASE_FEATURES)), np.float32)
    return _unique_base_features(list(uniques))[codes]


def _unique_base_features(texts: list[str]) -> np.ndarray:
    """`base_features` of distinct texts, shape (len(texts), len(BASE_FEATURES)), float32."""
    stripped_list = [t[:MAX_CHARS].strip() for t in texts]
    c = _char_counts(stripped_list)
    stripped = pa.array(stripped_list, type=pa.large_string())
    lower = pc.utf8_lower(stripped)
    chars, cjk, letters, upper = c["chars"], c["cjk"], c["letters"], c["upper"]
    safe_chars = np.maximum(chars, 1)
    words = c["words"] + cjk / 2
    safe_words = np.maximum(words, 1)
    stops = _stop_counts(lower)
    kinds, _ = match_markers(pd.Series(texts))
    f = {
        "log_chars": np.log1p(chars),
        "log_words": np.log1p(words),
        "mean_word_len": (chars - words + 1) / safe_words,
        "stop_share": stops / safe_words,
        "log_stops": np.log1p(stops),
        "punct_share": c["punct"] / safe_chars,
        "comma_share": c["commas"] / safe_words,
        "sentence_end": _has(stripped, _SENTENCE_END),
        "ends_colon": _has(stripped, r":\s*$"),
        "ends_ellipsis": _has(stripped, r"(?:\.\.\.|…)\s*$"),
        "bullet": _has(pa.array([t[:MAX_CHARS] for t in texts], type=pa.large_string()), _BULLET),
        "pipes": c["pipes"] / safe_words,
        "upper_share": upper / np.maximum(letters, 1),
        "capital_word_share": c["capital_words"] / safe_words,
        "all_caps": ((upper == letters) & (letters >= 2)).astype(np.float32),
        "digit_share": c["digits"] / safe_chars,
        "starts_lower": c["starts_lower"],
        "starts_quote": _has(stripped, r"^[\"'“‘«]"),
        "url": _has(lower, _URL_LIKE),
        "non_ascii_share": c["non_ascii"] / safe_chars,
        "cjk_share": cjk / safe_chars,
    }
    for column in kinds.columns:
        f[column] = kinds[column].to_numpy(dtype=np.float32)
    # running text: enough words, some stopwords, a sentence end
    # (no stopword test for scripts without spaces: the English list says nothing about them)
    wordy = (f["stop_share"] >= 0.12) | (f["cjk_share"] >= 0.3)
    f["prose"] = ((words >= 8) & wordy & ((f["sentence_end"] > 0) | (words >= 25))).astype(np.float32)
    return np.column_stack([np.asarray(f[name], dtype=np.float32) for name in BASE_FEATURES]).reshape(
        len(texts), len(BASE_FEATURES)
    )


def _page_cumsum(values: np.ndarray, starts: np.ndarray, page_of: np.ndarray) -> np.ndarray:
    """Inclusive cumulative sum of `values` restarting at every page."""
    total = np.cumsum(values, dtype=np.float64)
    offset = np.concatenate([[0.0], total])[starts][page_of]
    return total - offset


def _window_mean(
    values: np.ndarray,
    half: int,
    starts: np.ndarray,
    ends: np.ndarray,
    page_of: np.ndarray,
    index: np.ndarray,
) -> np.ndarray:
    """Mean of `values` over the centred window of half-width `half`, clipped to the page."""
    cum = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    lo = np.maximum(index - half, starts[page_of])
    hi = np.minimum(index + half + 1, ends[page_of])
    return (cum[hi] - cum[lo]) / (hi - lo)


def _since_last(flag: np.ndarray, starts: np.ndarray, page_of: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Lines since the last flagged line at or before each line on its page (FAR when none)."""
    last = np.where(flag, index, -1)
    last = np.maximum.accumulate(last)
    seen = last >= starts[page_of]
    return np.where(seen, index - last, FAR).astype(np.float32)


def page_bounds(lines: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row ranges of the pages of `lines` (whole pages, each a contiguous run in pos order).

    Returns
    -------
    starts, ends : ndarray of int, shape (n_pages,), first row and one past the last of each page.
    page_of : ndarray of int, shape (n_lines,), the page (0..n_pages-1) of each row.
    """
    page = lines["page"].to_numpy()
    n = len(page)
    new_page = lines["pos"].to_numpy() == 0
    new_page[1:] |= page[1:] != page[:-1]
    if n:
        new_page[0] = True
    starts = np.flatnonzero(new_page)
    ends = np.append(starts[1:], n).astype(np.int64)
    return starts, ends, np.cumsum(new_page) - 1


def line_features(lines: pd.DataFrame) -> pd.DataFrame:
    """Features of every line of a chunk (columns of segment.LINE_COLUMNS, in page then pos order).

    Returns
    -------
    DataFrame, shape (n_lines, len(FEATURES)), float32, in the order of FEATURES, indexed as
    `lines`. Depends only on each line's own page, so it does not depend on the chunk's make-up.
    """
    n = len(lines)
    # per distinct text: menus, footers and their normalised forms recur across a site's pages
    codes, uniques = pd.factorize(lines["text"].astype("string").fillna(""), sort=False)
    base = _base_array(codes, uniques)
    f: dict[str, np.ndarray] = {name: base[:, j] for j, name in enumerate(BASE_FEATURES)}
    page = lines["page"].to_numpy()
    pos = lines["pos"].to_numpy().astype(np.float32)
    count = lines["n_page_lines"].to_numpy().astype(np.float32)
    index = np.arange(n)
    starts, ends, page_of = page_bounds(lines)

    f["rel_pos"] = pos / np.maximum(count - 1, 1)
    f["log_pos"] = np.log1p(pos)
    f["log_after"] = np.log1p(count - 1 - pos)
    f["log_page_lines"] = np.log1p(count)
    f["first"] = (pos == 0).astype(np.float32)

    prose = f["prose"].astype(np.float64)
    cum = _page_cumsum(prose, starts, page_of)
    total = cum[ends - 1][page_of]
    before = cum - prose
    after = total - cum
    f["prose_before"] = (before / np.maximum(total, 1)).astype(np.float32)
    f["prose_after"] = (after / np.maximum(total, 1)).astype(np.float32)
    f["in_prose_span"] = ((before > 0) & (after > 0) | (prose > 0)).astype(np.float32)
    f["log_prose_lines"] = np.log1p(total).astype(np.float32)
    f["page_prose_share"] = (total / np.maximum(count, 1)).astype(np.float32)
    for w in WINDOWS:
        f[f"prose_window_{w}"] = _window_mean(prose, w, starts, ends, page_of, index).astype(np.float32)
    # distance to the nearest prose line, either side
    since = _since_last(prose > 0, starts, page_of, index)
    rev_starts = n - ends  # the page's first row in reversed order
    rev_page = page_of[::-1]
    until = _since_last((prose > 0)[::-1], rev_starts, rev_page, index)[::-1]
    f["log_dist_prose"] = np.log1p(np.minimum(since, until))

    header = f["marker_list-header"] > 0
    any_marker = np.zeros(n, dtype=bool)
    for kind in MARKER_KINDS:
        any_marker |= f[f"marker_{kind}"] > 0
    f["log_since_header"] = np.log1p(_since_last(header, starts, page_of, index))
    f["log_since_marker"] = np.log1p(_since_last(any_marker, starts, page_of, index))
    since_header = _since_last(header, starts, page_of, index)
    f["header_seen"] = (since_header < FAR).astype(np.float32)
    # a header at the very top is navigation ("Latest News" above the headline), one after the
    # prose is a related list; prose lines since the header tell the two apart
    seen = since_header < FAR
    last_header = np.where(seen, index - since_header.astype(np.int64), index)
    f["header_rel_pos"] = np.where(seen, f["rel_pos"][last_header], -1.0).astype(np.float32)
    f["log_prose_since_header"] = np.where(seen, np.log1p(cum - cum[last_header]), -1.0).astype(np.float32)
    f["prose_ended"] = ((after == 0) & (total > 0) & (prose == 0)).astype(np.float32)
    unique_words = alnum_words(pa.array(uniques, type=pa.large_string()))
    f.update(coherence_features(codes, unique_words, prose, starts, ends, page_of, _STOP_ARRAY))

    # repeats inside the page: same normalised text (normalised once per distinct line)
    unique_norm = pc.utf8_trim_whitespace(unique_words).to_pylist()
    norm_codes = pd.factorize(np.asarray(unique_norm, dtype=object))[0][codes] if n else codes
    key = pd.DataFrame({"page": page, "norm": norm_codes})
    f["log_repeats"] = np.log1p(
        key.groupby(["page", "norm"], sort=False)["norm"].transform("size").to_numpy() - 1
    ).astype(np.float32)
    f["later_repeat"] = key.duplicated(["page", "norm"], keep="first").to_numpy(dtype=np.float32)

    # the title: containment between the line and the page's first line
    # (substring tests only where the lengths allow one: a few lines per page)
    unique_len = np.fromiter(map(len, unique_norm), dtype=np.int64, count=len(unique_norm))
    line_code = codes
    title_code = codes[starts[page_of]] if n else codes
    line_len, title_len = unique_len[line_code], unique_len[title_code]
    f["title_in_line"] = np.zeros(n, dtype=np.float32)
    f["line_in_title"] = np.zeros(n, dtype=np.float32)
    for name, inner, outer in (
        ("title_in_line", title_code, line_code),
        ("line_in_title", line_code, title_code),
    ):
        rows = np.flatnonzero((unique_len[inner] >= 10) & (unique_len[inner] <= unique_len[outer]))
        f[name][rows] = [unique_norm[inner[r]] in unique_norm[outer[r]] for r in rows]
    f["title_len_ratio"] = (np.log1p(line_len) - np.log1p(title_len)).astype(np.float32)

    for offset in NEIGHBOUR_OFFSETS:
        source = index + offset
        inside = (source >= starts[page_of]) & (source < ends[page_of])
        source = np.clip(source, 0, max(n - 1, 0))
        for name in NEIGHBOUR_FEATURES:
            values = f[name][source] if n else f[name]
            f[f"{name}@{offset:+d}"] = np.where(inside, values, -1.0).astype(np.float32)
    # one feature per row of a (n_features, n_lines) array: contiguous writes, and pandas keeps
    # it as the frame's block without the copy (a third of this function's time) it makes of a
    # row-major matrix
    by_feature = np.empty((len(FEATURES), n), dtype=np.float32)
    for j, name in enumerate(FEATURES):
        by_feature[j] = f[name]
    return pd.DataFrame(by_feature.T, columns=list(FEATURES), index=lines.index, copy=False)
