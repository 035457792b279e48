"""Marker lines and cue phrases, as data: section headers, share prompts, credits, bylines, dates.

Each `Marker` is a named regular expression with a *kind*. The line model sees one 0/1 feature per
kind (not per marker), plus the distance since the last list header, so adding a phrase here never
changes the feature set. Patterns run as vectorised string kernels over a whole chunk
(pandas ``str.contains``, pyarrow's RE2: no look-behind, ``\\b`` and ``\\w`` are ASCII-only), so
they are written to work on lowercased, whitespace-trimmed text.

Kinds
-----
list-header  a section header that opens a list of other articles ("See more", "Related news",
             "Latest news", "Tags"): what follows is usually teasers.
list-prefix  an inline pointer to another article ("Read: ...", "Also read: ...", "ALSO: ...").
share        share / social / print prompts and other one-word interface lines.
comments     comment-section headers and comment signatures ("Anonymous said...").
agency       an agency or outlet signature standing alone on a line ("VNA", "AFP", "Reuters").
credit       photo or video credits and caption cues ("(Photo: VNA)", "Photo by ...", "ảnh 1").
byline       author / editor lines ("By John Smith", "Reporting by ...", "Posted by ...").
date         a line that is mostly a date or time stamp ("Updated: 9:43pm, 29 Jan, 2022").
legal        copyright, cookie and subscription notices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class Marker:
    name: str  # shown in `reason`, e.g. "marker:see-more"
    kind: str  # one of MARKER_KINDS
    pattern: str  # RE2 / Python regex over the lowercased, stripped line

    @property
    def compiled(self) -> str:
        """The pattern with every group made non-capturing (str.contains warns on groups)."""
        return re.sub(r"(?<!\\)\((?!\?)", "(?:", self.pattern)


_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"  # English months, abbreviated
_DATE = (
    rf"(\d{{1,2}}(st|nd|rd|th)? {_MONTH},? \d{{2,4}}|{_MONTH} \d{{1,2}}(st|nd|rd|th)?,? \d{{2,4}}"
    r"|\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}|\d{1,2}:\d{2}( ?[ap]\.?m\.?)?)"
)
_AGENCIES = (
    "vna|vov|afp|ap|reuters|xinhua|bernama|antara|pti|ians|ani|upi|dpa|kyodo|yonhap|efe|ansa|"
    "tna|kpl|akp|pna|mna|ptv|cna|vnexpress|associated press|xinhua news|efe news|ap photo|"
    "agencies|agency|wire services|staff reporter|staff writer|news desk|web desk"
)

MARKERS: tuple[Marker, ...] = (
    # list headers: a whole line naming a list of other articles
    Marker("see-more", "list-header", r"^(see|view|show|load) more( news| stories| articles)?:?$"),
    Marker(
        "related",
        "list-header",
        r"^(related|similar)( news| articles?| stories| posts?| content| topics| coverage| reading)?:?$",
    ),
    Marker("read-more", "list-header", r"^(read|more) (more|also|next)( news| stories)?:?( ?[»›>]+)?$"),
    Marker(
        "latest",
        "list-header",
        r"^(latest|recent|popular|trending|top|most (read|popular|viewed|shared)|breaking|other|more)"
        r"( news| stories| articles| posts| headlines| videos| from [a-z ]+| in [a-z ]+| on [a-z ]+)?:?$",
    ),
    Marker(
        "recommended",
        "list-header",
        r"^(you (may|might) (also )?(like|be interested in)|recommended( for you| stories| articles)?"
        r"|editor'?s? (picks?|choice)|don'?t miss|must read|in case you missed it|also on [a-z ]+"
        r"|what to read next|further reading|around the web|from the web|sponsored( content| stories)?"
        r"|more on this( story| topic)?)[:.!]?$",
    ),
    Marker("tags", "list-header", r"^(tags?|tagged|topics?|keywords?|categories|category|filed under) ?:?$"),
    # a tag line with its tags ("Filed Under: EEE, health") closes nothing: the article may follow
    Marker(
        "tag-line", "share", r"^(tags?|tagged|topics?|keywords?|categories|category|filed under) ?[:|] ?\S"
    ),
    Marker("previous-next", "list-header", r"^(previous|next|prev|older|newer)( article| post| story)?:?$"),
    # inline pointers to another article
    Marker(
        "read-prefix", "list-prefix", r"^(read|also read|read also|read more|see also|also|related|watch)\s?:"
    ),
    Marker("arrow-prefix", "list-prefix", r"^(»|›|>>|→)"),
    # interface lines
    Marker(
        "share",
        "share",
        r"^(share|share this( article| story| post)?|share on [a-z]+|tweet|print|email|e-mail|facebook|"
        r"twitter|whatsapp|telegram|linkedin|pinterest|reddit|copy link|save|follow us( on [a-z ]+)?|"
        r"subscribe|sign in|log in|login|register|menu|search|home|close|back to top|advertisement|"
        r"skip to (main )?content|font( size)?:?|a\+?|listen|play|watch|short url)[:.!]?$",
    ),
    Marker(
        "comments",
        "comments",
        r"^(\d+ )?(comments?|responses?|replies|reply|leave a (comment|reply)|"
        r"post a comment|add (a )?comment|write a comment|join the (discussion|conversation))[:.!]?$",
    ),
    Marker("said", "comments", r"^[a-z0-9_ .'-]{1,40} (said|says|wrote)\s?(\.\.\.|…|:)$"),
    Marker("agency", "agency", rf"^[(\[-]?\s?({_AGENCIES})\s?[)\].,]?$"),
    Marker(
        "credit",
        "credit",
        r"(\((photo|image|picture|video|source|file photo|photo credit)s?\s?:|"
        r"(^|\s)(photo|image|picture|photograph) (by|credit|courtesy)|"
        r"(^|\s)(photo|image|credit|source)s?\s?:|"
        r"\((photo|image|picture|video|file photo)s? [^)]{0,60}\)$|"
        r"ảnh \d|\| ?(photo|image)|/ ?(afp|reuters|getty|ap|epa|shutterstock|vna)\)?$)",
    ),
    Marker(
        "byline",
        "byline",
        r"^(by|written by|posted by|reporting by|editing by|edited by|author|reported by|"
        r"story by|text by|compiled by|translated by)\s?:?\s",
    ),
    Marker(
        "date",
        "date",
        rf"^((updated|published|posted|last updated|modified|created|date)\s?:?\s?(on )?)?"
        rf"([a-z]+day,? )?{_DATE}",
    ),
    Marker("date-short", "date", rf"^.{{0,20}}{_DATE}.{{0,12}}$"),
    Marker(
        "copyright",
        "legal",
        r"(©|copyright|all rights reserved|cookie|privacy policy|terms of (use|service)|"
        r"newsletter|sign up|unsubscribe)",
    ),
)

MARKER_KINDS: tuple[str, ...] = (
    "list-header",
    "list-prefix",
    "share",
    "comments",
    "agency",
    "credit",
    "byline",
    "date",
    "legal",
)
"""Marker kinds, in feature order."""

MAX_MARKER_CHARS = 120
"""Only lines this short can be header, interface, agency, byline or date markers (a long line
that mentions a date is prose); credit and legal cues count on lines of any length."""

ANYWHERE_KINDS = frozenset({"credit", "legal"})


def regex_hits(values: pa.Array, pattern: str) -> np.ndarray:
    """Whether each string of `values` contains `pattern` (RE2, pyarrow), shape (n,), bool.

    pyarrow directly, not pandas ``str.contains``: pandas hands patterns with ``\\s``, ``\\b`` or
    ``\\w`` on non-ASCII text to Python's ``re``, one line at a time (10x slower)."""
    hits = pc.match_substring_regex(values, pattern)
    return pc.fill_null(hits, False).to_numpy(zero_copy_only=False).astype(bool)


def normalised(text: pd.Series | pa.Array) -> pa.Array:
    """Lowercased, stripped lines with runs of spaces collapsed: what marker patterns see."""
    values = pa.array(text.array if isinstance(text, pd.Series) else text, type=pa.large_string())
    values = pc.utf8_trim_whitespace(pc.utf8_lower(values))
    # a regex replace costs ten times a regex match: replace only in the few lines that have a
    # run of spaces or another space character (RE2's \s is ASCII: [\t\n\f\r ])
    spaced = pc.fill_null(pc.match_substring_regex(values, r"\s\s|[\t\n\f\r]"), False)
    if not pc.any(spaced).as_py():
        return values
    collapsed = pc.replace_substring_regex(pc.filter(values, spaced), r"\s+", " ")
    return pc.replace_with_mask(values, spaced, collapsed)


def _union(markers: list[Marker]) -> str:
    """One RE2 pattern that matches where any of `markers` matches."""
    return "|".join(f"(?:{marker.compiled})" for marker in markers)


_ANYWHERE_UNION = _union([m for m in MARKERS if m.kind in ANYWHERE_KINDS])
_SHORT_UNION = _union([m for m in MARKERS if m.kind not in ANYWHERE_KINDS])


def _matching_rows(values: pa.Array, rows: np.ndarray, pattern: str) -> tuple[np.ndarray, pa.Array]:
    """(the rows of `rows` whose value matches `pattern`, their values)."""
    subset = values.take(pa.array(rows))
    hits = regex_hits(subset, pattern)
    return rows[hits], subset.filter(pa.array(hits))


def match_markers(text: pd.Series) -> tuple[pd.DataFrame, np.ndarray]:
    """Marker kinds and the first matching marker's name of every line.

    Patterns of kinds outside ANYWHERE_KINDS run on the short lines only.

    Parameters
    ----------
    text : Series of str, shape (n_lines,)

    Returns
    -------
    kinds : DataFrame, shape (n_lines, len(MARKER_KINDS)), 0/1 int8 columns named ``marker_<kind>``.
    names : ndarray of object, shape (n_lines,), the first matching marker's name or "".
    """
    n = len(text)
    names = np.full(n, "", dtype=object)
    kinds = {kind: np.zeros(n, dtype=np.int8) for kind in MARKER_KINDS}
    if n:
        norm = normalised(text.astype("string").fillna(""))
        short = pc.less_equal(pc.utf8_length(norm), MAX_MARKER_CHARS).to_numpy(zero_copy_only=False)
        # one pass of all the patterns at once finds the few lines any of them can match; each
        # pattern then runs on those alone (a sixth of the short lines on generated pages)
        candidates = {
            True: _matching_rows(norm, np.arange(n), _ANYWHERE_UNION),
            False: _matching_rows(norm, np.flatnonzero(short), _SHORT_UNION),
        }
        for marker in MARKERS:
            rows, values = candidates[marker.kind in ANYWHERE_KINDS]
            rows = rows[regex_hits(values, marker.compiled)]
            kinds[marker.kind][rows] = 1
            first = rows[names[rows] == ""]
            names[first] = marker.name
    frame = pd.DataFrame({f"marker_{kind}": kinds[kind] for kind in MARKER_KINDS}, index=text.index)
    return frame, names
