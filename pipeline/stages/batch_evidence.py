"""Batch evidence stage: what the other pages of a chunk say about a page's line roles.

The line model decides each page alone; a batch knows more. Two pieces of evidence, applied after
the line roles over a chunk of pages (the unit `run.process_chunk` works on):

*Another page's headline is a teaser* (`teasers_from_batch_titles`). The stories a page links to
("Related", "See more", a listing page's items) are often pages of the same batch, and then a
teaser headline is, word for word, another page's title. Every title, body or caption line whose
text is the title of *another* page of the chunk (its predicted first title line, or the title
field its record came with) becomes a teaser, reason ``batch:title-of-another-page``. Left alone:
a page's own first title line (two copies of one story both keep their headline); any line whose
text is also its own page's title (a headline repeated on its page); lines of under
TITLE_MIN_WORDS words ("World news": section names are no evidence).

*Copies of one story share their body* (`body_from_copies`). Batches hold mirror copies of a
story (republished, fetched twice, a spam mirror), and now and then the line model calls one
copy's paragraphs teasers (a short excerpt with no headline reads like a listing of summaries)
while the other copy keeps them as body. Two pages are copies when they share at least
MIN_SHARED long lines (COPY_MIN_WORDS words or more) making up at least MIN_SHARE of the long
lines of the shorter one; a line of one copy that the other calls body becomes body too, reason
``batch:body-of-a-copy``. A teaser that repeats another page's lede shares one line with it, not
a run of paragraphs, so it is no copy; a long line on more than MAX_PAGES pages is template text
and counts for nothing.

Texts are compared with case, punctuation and spacing folded (`fold`). A page with no other page
of its story in the chunk keeps its single-page roles. Decisions depend on the chunk's other
pages, so the run fixes the chunks (input order, run.CHUNK_PAGES pages) to keep the output the
same for any number of jobs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

TITLE_MIN_WORDS = 4
"""Shortest headline, in words, taken as evidence."""

TITLE_REASON = "batch:title-of-another-page"

COPY_MIN_WORDS = 8
"""Words in a line for it to count as evidence (a paragraph, not a menu item)."""

MIN_SHARED = 3
"""Long lines two pages must share to be copies of one story."""

MIN_SHARE = 0.5
"""Share of the shorter page's long lines that must be shared."""

MAX_PAGES = 10
"""A long line on more pages than this is template text."""

COPY_REASON = "batch:body-of-a-copy"


def fold(text: pd.Series | np.ndarray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Each text's lower-case words joined by single spaces (punctuation and spacing differences
    ignored), and its number of words: two arrays of shape (n,), object and int."""
    codes, keys, words = fold_codes(text)
    return np.asarray(keys.to_numpy(zero_copy_only=False), dtype=object)[codes], words[codes]


def fold_codes(text: pd.Series | np.ndarray | pa.Array) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    """`fold` as codes: (code of each text, shape (n,); the folded keys, an Arrow array, and
    their numbers of words, shape (n_keys,) each). Texts that fold alike get one code."""
    values = text if isinstance(text, pa.Array) else pa.array(np.asarray(text, dtype=object))
    values = values.cast(pa.large_string())
    if values.null_count:  # a missing text folds to a missing key
        keys = _fold_each(values)
        return np.arange(len(values)), keys, _words(keys)
    # Each distinct text once: a chunk repeats its menus, bylines and copied paragraphs, and the
    # regex replacement is the cost.
    distinct = values.dictionary_encode()
    folded = _fold_each(distinct.dictionary).dictionary_encode()
    codes = folded.indices.to_numpy()[distinct.indices.to_numpy()]
    return codes, folded.dictionary, _words(folded.dictionary)


def _fold_each(values: pa.Array) -> pa.Array:
    """Lower-cased, every run of characters other than letters and digits made one space, trimmed."""
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(pc.utf8_lower(values), r"[^\p{L}\p{N}]+", " "))


def _words(folded: pa.Array) -> np.ndarray:
    """Words of each folded text (0 for ""), shape (n,)."""
    words = pc.add(pc.count_substring(folded, " "), 1).to_numpy(zero_copy_only=False)
    return np.where(pc.equal(folded, "").to_numpy(zero_copy_only=False), 0, words)


def _arrow_texts(column: pd.Series, rows: np.ndarray) -> pa.Array:
    """The texts of `column` at the positional `rows`, "" for a missing one, without making a
    Python string of every line (an Arrow-backed column stays in Arrow)."""
    taken = pa.array(column.iloc[rows], from_pandas=True)
    if isinstance(taken, pa.ChunkedArray):
        taken = taken.combine_chunks()
    return pc.fill_null(taken.cast(pa.large_string()), "")


def teasers_from_batch_titles(lines: pd.DataFrame, pages: pd.DataFrame) -> pd.DataFrame:
    """`lines` (with `role`, `reason`) where lines that are other pages' titles become teasers.

    Parameters
    ----------
    lines : DataFrame, one row per line of the chunk's pages (segment + roles), with `page`.
    pages : DataFrame, the chunk's pages (schema PAGES; its optional `title` is used).

    Returns
    -------
    DataFrame, shape of `lines`: `role` and `reason` changed on the lines described above.
    """
    if not len(lines):
        return lines
    role = lines["role"].to_numpy(dtype=object, na_value="")
    page = lines["page"].to_numpy(dtype=np.int64)

    def text(rows: np.ndarray) -> np.ndarray:
        # only the rows asked for become Python strings (a chunk's 85,000 texts cost 10 ms)
        return lines["text"].iloc[rows].fillna("").to_numpy(dtype=object)

    is_title = role == "title"
    first_title = np.zeros(len(lines), dtype=bool)
    title_rows = np.flatnonzero(is_title)
    _, first = np.unique(page[title_rows], return_index=True)
    first_title[title_rows[first]] = True

    # every (title key, page) of the chunk: predicted first titles and records' own titles
    title_text = [text(np.flatnonzero(first_title))]
    title_page = [page[first_title]]
    if "title" in pages:
        record_titles = pages["title"].to_numpy(dtype=object, na_value=None)
        given = np.flatnonzero(pd.notna(record_titles))
        title_text.append(record_titles[given])
        title_page.append(given)
    all_titles = np.concatenate(title_text)
    titles = pd.DataFrame({"key": fold(all_titles)[0], "page": np.concatenate(title_page)})
    titles = titles[titles["key"] != ""]
    if titles.empty:
        return lines
    own = set(zip(titles["key"], titles["page"], strict=True))

    # only lines short enough to be a title are keyed (body paragraphs are not: the cost stays
    # a small share of the stage's lines)
    longest = max(map(len, all_titles)) if len(all_titles) else 0
    length = lines["text"].str.len().to_numpy(dtype=np.int64, na_value=0)
    candidate = np.isin(role, ("title", "body", "caption")) & ~first_title & (length <= 2 * longest + 10)
    rows = np.flatnonzero(candidate)
    key, words = fold(_arrow_texts(lines["text"], rows))
    title_keys = set(titles["key"])
    # some page has it as its title, and that page is not this one
    hits = [
        r
        for r, k, w in zip(rows, key, words, strict=True)
        if w >= TITLE_MIN_WORDS and k in title_keys and (k, page[r]) not in own
    ]
    return relabel(lines, hits, "teaser", TITLE_REASON)


def relabel(lines: pd.DataFrame, rows, role: str, reason: str) -> pd.DataFrame:
    """A copy of `lines` with `role` and `reason` set on the positional `rows` (`lines` itself
    when there are none)."""
    if not len(rows):
        return lines
    out = lines.copy()
    at = out.index[np.asarray(rows)]
    out.loc[at, "role"] = role
    out.loc[at, "reason"] = reason
    return out


def body_from_copies(lines: pd.DataFrame) -> pd.DataFrame:
    """`lines` (with `role`, `reason`, `page`) where lines that a copy of their page calls body
    become body.

    Returns
    -------
    DataFrame, shape of `lines`.
    """
    if not len(lines):
        return lines
    role = lines["role"].to_numpy(dtype=object, na_value="")
    length = lines["text"].str.len().to_numpy(dtype=np.int64, na_value=0)
    rows = np.flatnonzero(length >= 5 * COPY_MIN_WORDS)  # a cheap bound before folding the text
    if not len(rows):
        return lines
    # integer keys: the joins below compare ints, and no folded paragraph becomes a Python string
    codes, _, key_words = fold_codes(_arrow_texts(lines["text"], rows))
    key, words = codes.astype(np.int64), key_words[codes]
    keep = words >= COPY_MIN_WORDS
    long = pd.DataFrame(
        {
            "key": key[keep],
            "page": lines["page"].to_numpy(dtype=np.int64)[rows[keep]],
            "row": rows[keep],
            "body": role[rows[keep]] == "body",
        }
    )
    per_page = long.drop_duplicates(["key", "page"])
    n_long = per_page.groupby("page").size()
    spread = per_page.groupby("key")["page"].transform("size")
    shared = per_page[(spread > 1) & (spread <= MAX_PAGES)][["key", "page"]]
    if shared.empty:
        return lines
    pairs = shared.merge(shared, on="key", suffixes=("_a", "_b"))
    pairs = pairs[pairs["page_a"] != pairs["page_b"]]
    counts = pairs.groupby(["page_a", "page_b"]).size().rename("shared").reset_index()
    smaller = np.minimum(n_long[counts["page_a"]].to_numpy(), n_long[counts["page_b"]].to_numpy())
    copies = counts[(counts["shared"] >= MIN_SHARED) & (counts["shared"] >= MIN_SHARE * smaller)]
    if copies.empty:
        return lines
    # lines of page b whose text is a body line of its copy a
    body_keys = long.loc[long["body"], ["key", "page"]].drop_duplicates().rename(columns={"page": "page_a"})
    targets = long[~long["body"]].rename(columns={"page": "page_b"})
    found = targets.merge(copies[["page_a", "page_b"]], on="page_b").merge(body_keys, on=["key", "page_a"])
    hits = np.unique(found["row"].to_numpy())
    hits = hits[role[hits] != "title"]  # a headline stays a headline
    return relabel(lines, hits, "body", COPY_REASON)
