"""Cheap plain-text features of every line of a chunk of pages, in one vectorised pass.

Everything is computed with pandas string kernels (pyarrow) and numpy over the whole chunk; the
only per-line Python is a substring test against the page's first line. Feature groups:

- the line itself: length, words, stopword density (English stopwords, as data below), word
  length, punctuation, final punctuation, capitalisation, digits, dates, urls, marker kinds
  (pipeline.markers);
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

import numpy as np
import pandas as pd

from .markers import KINDS, match_markers

_STOPWORD_TEXT = """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours ourselves out over own said same
    she should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())
"""English stopwords (NLTK's list, trimmed): running text is dense in them, menus are not."""

_STOP_PATTERN = r"\b(?:" + "|".join(sorted(STOPWORDS)) + r")\b"
_SENTENCE_END = r"[.!?…:;。！？][\"'”’)\]」』]*\s*$"
_CJK = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Thai}]"
"""Scripts written without spaces between words: two characters count as one word."""
_BULLET = r"^\s*(?:[-–—•·*►▶»›>|]|\d{1,2}[.)])\s"
_URL = r"(?:https?://|www\.|\.com\b|\.html?\b|@[a-z0-9-]+\.)"

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
    *(f"marker_{kind}" for kind in KINDS),
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
    *(f"{name}@{offset:+d}" for offset in NEIGHBOUR_OFFSETS for name in NEIGHBOUR_FEATURES),
)
"""Feature columns, in the order the model sees them."""


def _count(text: pd.Series, pattern: str) -> np.ndarray:
    return text.str.count(pattern).fillna(0).to_numpy(dtype=np.float32)


def _has(text: pd.Series, pattern: str) -> np.ndarray:
    return text.str.contains(pattern, regex=True).fillna(False).to_numpy(dtype=np.float32)


def base_features(text: pd.Series) -> pd.DataFrame:
    """Features of each line on its own.

    Parameters
    ----------
    text : Series of str, shape (n_lines,)

    Returns
    -------
    DataFrame, shape (n_lines, len(BASE_FEATURES)), float32.
    """
    text = text.astype("string").str.slice(0, MAX_CHARS)
    stripped = text.str.strip()
    lower = stripped.str.lower()
    chars = stripped.str.len().fillna(0).to_numpy(dtype=np.float32)
    safe_chars = np.maximum(chars, 1)
    cjk = _count(stripped, _CJK)
    words = _count(stripped, r"\S+") + cjk / 2
    safe_words = np.maximum(words, 1)
    letters = _count(stripped, r"\p{L}")
    safe_letters = np.maximum(letters, 1)
    upper = _count(stripped, r"\p{Lu}")
    stops = _count(lower, _STOP_PATTERN)
    kinds, _ = match_markers(text)
    f = {
        "log_chars": np.log1p(chars),
        "log_words": np.log1p(words),
        "mean_word_len": (chars - words + 1) / safe_words,
        "stop_share": stops / safe_words,
        "log_stops": np.log1p(stops),
        "punct_share": _count(stripped, r"[\p{P}\p{S}]") / safe_chars,
        "comma_share": _count(stripped, r",") / safe_words,
        "sentence_end": _has(stripped, _SENTENCE_END),
        "ends_colon": _has(stripped, r":\s*$"),
        "ends_ellipsis": _has(stripped, r"(?:\.\.\.|…)\s*$"),
        "bullet": _has(text, _BULLET),
        "pipes": _count(stripped, r"[|/]") / safe_words,
        "upper_share": upper / safe_letters,
        "capital_word_share": _count(stripped, r"(?:^|\s)[\"'“‘(]?\p{Lu}") / safe_words,
        "all_caps": ((upper == letters) & (letters >= 2)).astype(np.float32),
        "digit_share": _count(stripped, r"\d") / safe_chars,
        "starts_lower": _has(stripped, r"^[\"'“‘(]?\p{Ll}"),
        "starts_quote": _has(stripped, r"^[\"'“‘«]"),
        "url": _has(lower, _URL),
        "non_ascii_share": _count(stripped, r"[^\x00-\x7f]") / safe_chars,
        "cjk_share": cjk / safe_chars,
    }
    frame = pd.DataFrame(f, index=text.index)
    for column in kinds.columns:
        frame[column] = kinds[column].to_numpy(dtype=np.float32)
    # running text: enough words, some stopwords, a sentence end
    # (no stopword test for scripts without spaces: the English list says nothing about them)
    wordy = (f["stop_share"] >= 0.12) | (f["cjk_share"] >= 0.3)
    frame["prose"] = ((words >= 8) & wordy & ((f["sentence_end"] > 0) | (words >= 25))).astype(np.float32)
    return frame[list(BASE_FEATURES)]


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
    base = base_features(lines["text"])
    f: dict[str, np.ndarray] = {name: base[name].to_numpy(dtype=np.float32) for name in BASE_FEATURES}
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
    for kind in KINDS:
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

    # repeats inside the page: same normalised text
    norm = lines["text"].astype("string").str.lower().str.replace(r"[\W_]+", " ", regex=True).str.strip()
    key = pd.DataFrame({"page": page, "norm": norm.fillna("").to_numpy(dtype=object)})
    f["log_repeats"] = np.log1p(
        key.groupby(["page", "norm"], sort=False)["norm"].transform("size").to_numpy() - 1
    ).astype(np.float32)
    f["later_repeat"] = key.duplicated(["page", "norm"], keep="first").to_numpy(dtype=np.float32)

    # the title: containment between the line and the page's first line
    norm_list = norm.fillna("").tolist()
    title_list = [norm_list[s] for s in starts[page_of]] if n else []
    f["title_in_line"] = np.fromiter(
        (len(t) >= 10 and t in x for x, t in zip(norm_list, title_list, strict=True)), np.float32, n
    )
    f["line_in_title"] = np.fromiter(
        (len(x) >= 10 and x in t for x, t in zip(norm_list, title_list, strict=True)), np.float32, n
    )
    title_len = np.array([len(t) for t in title_list], dtype=np.float32)
    line_len = np.array([len(x) for x in norm_list], dtype=np.float32)
    f["title_len_ratio"] = np.log1p(line_len) - np.log1p(title_len)

    for offset in NEIGHBOUR_OFFSETS:
        source = index + offset
        inside = (source >= starts[page_of]) & (source < ends[page_of])
        source = np.clip(source, 0, max(n - 1, 0))
        for name in NEIGHBOUR_FEATURES:
            values = f[name][source] if n else f[name]
            f[f"{name}@{offset:+d}"] = np.where(inside, values, -1.0).astype(np.float32)
    return pd.DataFrame({name: np.asarray(f[name], dtype=np.float32) for name in FEATURES}, index=lines.index)
