"""Batch evidence for roles: a line that is another page's headline is a teaser of that story.

In a real batch the stories a page links to ("Related", "See more", a listing page's items) are
often pages of the same batch, and then a teaser headline is, word for word, another page's
title. The line model sees one page at a time and cannot know it; the batch can. This step runs
after the line roles, over a chunk of pages (the unit `run.process_chunk` works on), and turns
into `teaser` every title, body or caption line whose text is the title of *another* page of the
chunk (its predicted title line, or the title field its record came with), reason
``batch:title-of-another-page``. It leaves alone:

- a page's own first title line (two copies of one story both keep their headline);
- any line whose text is also its own page's title (a headline repeated on its own page);
- lines of under MIN_WORDS words ("World", "Sport": section names are no evidence).

On a page with no other page of its story in the chunk, nothing changes: the single-page result
stands. Decisions depend on the chunk's other pages, so the run fixes the chunks (input order,
run.CHUNK_PAGES pages) to keep the output the same for any number of jobs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

MIN_WORDS = 4
"""Shortest headline, in words, taken as evidence."""

REASON = "batch:title-of-another-page"


def _keys(text: pd.Series | np.ndarray) -> np.ndarray:
    """Lower-case words joined by single spaces (punctuation and spacing differences ignored)."""
    values = pa.array(np.asarray(text, dtype=object), type=pa.large_string())
    folded = pc.utf8_trim_whitespace(
        pc.replace_substring_regex(pc.utf8_lower(values), r"[^\p{L}\p{N}]+", " ")
    )
    return np.asarray(folded.to_numpy(zero_copy_only=False), dtype=object)


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
    text = lines["text"].fillna("").to_numpy(dtype=object)

    is_title = role == "title"
    first_title = np.zeros(len(lines), dtype=bool)
    title_rows = np.flatnonzero(is_title)
    _, first = np.unique(page[title_rows], return_index=True)
    first_title[title_rows[first]] = True

    # every (title key, page) of the chunk: predicted first titles and records' own titles
    title_text = [text[first_title]]
    title_page = [page[first_title]]
    if "title" in pages:
        record_titles = pages["title"].to_numpy(dtype=object, na_value=None)
        given = np.flatnonzero(pd.notna(record_titles))
        title_text.append(record_titles[given])
        title_page.append(given)
    all_titles = np.concatenate(title_text)
    titles = pd.DataFrame({"key": _keys(all_titles), "page": np.concatenate(title_page)})
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
    key = _keys(text[rows])
    words = np.char.count(key.astype(str), " ") + 1
    title_keys = set(titles["key"])
    # some page has it as its title, and that page is not this one
    hits = [
        r
        for r, k, w in zip(rows, key, words, strict=True)
        if w >= MIN_WORDS and k in title_keys and (k, page[r]) not in own
    ]
    if not hits:
        return lines
    out = lines.copy()
    at = out.index[hits]
    out.loc[at, "role"] = "teaser"
    out.loc[at, "reason"] = REASON
    return out
