"""Articles stage: labelled lines -> one article row per page, in one vectorised pass per chunk."""

from __future__ import annotations

import numpy as np
import pandas as pd

PARAGRAPH_SEPARATOR = "\n\n"


def article_counts(articles: pd.DataFrame) -> dict[str, int]:
    """Pages, and pages without a single line: this stage's statistics."""
    return {"pages": len(articles), "empty_pages": int((articles["n_lines"] == 0).sum())}


def assemble_articles(pages: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """One row per page of `pages`: the core article rebuilt from its labelled `lines`.

    `body` holds the page's body lines that are not repeats (dup_of null), in page order, joined
    by a blank line; `on_topic_body` only those whose topic is on. `p_on` is the page-level
    probability: the length-weighted mean p_on of the kept body (of every content line when the
    page has no body; 0 for a page without content). `title` is the record's title, else the
    page's first title line.

    Returns
    -------
    DataFrame, shape (n_pages, 8): every column of schema ARTICLES but the same-story ones.
    """
    n_pages = len(pages)
    page = lines["page"].to_numpy(dtype=np.int64)
    role = lines["role"].to_numpy(dtype=object, na_value=None)
    text = lines["text"].to_numpy(dtype=object, na_value="")
    kept = (role == "body") & lines["dup_of"].isna().to_numpy()
    on_topic = kept & (lines["topic"] == "on").to_numpy(dtype=bool, na_value=False)
    content = role != "boilerplate"

    def joined(mask: np.ndarray) -> np.ndarray:
        # each page's rows in their order, joined page by page (a pandas groupby would first copy
        # the texts into an Arrow array and then iterate it item by item)
        out = np.full(n_pages, "", dtype=object)
        rows = np.flatnonzero(mask)
        if len(rows):
            rows = rows[np.argsort(page[rows], kind="stable")]
            of_page = page[rows]
            starts = np.flatnonzero(np.r_[True, of_page[1:] != of_page[:-1]])
            texts = text[rows].tolist()
            bounds = zip(starts.tolist(), [*starts[1:].tolist(), len(rows)], strict=True)
            out[of_page[starts]] = [PARAGRAPH_SEPARATOR.join(texts[a:b]) for a, b in bounds]
        return out

    length = lines["text"].str.len().to_numpy(dtype=float, na_value=0.0)
    weighted_p = length * lines["p_on"].to_numpy(dtype=float, na_value=0.0)

    def sums(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.bincount(page[mask], weights=length[mask], minlength=n_pages),
            np.bincount(page[mask], weights=weighted_p[mask], minlength=n_pages),
        )

    body_weight, body_p = sums(kept)
    content_weight, content_p = sums(content)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_page = np.where(
            body_weight > 0,
            body_p / body_weight,
            np.where(content_weight > 0, content_p / content_weight, 0.0),
        )

    first_title = np.full(n_pages, None, dtype=object)
    is_title = role == "title"
    title_pages, first = np.unique(page[is_title], return_index=True)
    first_title[title_pages] = text[is_title][first]
    record_title = pages["title"].to_numpy(dtype=object, na_value=None)
    return pd.DataFrame(
        {
            "doc_id": pages["doc_id"].to_numpy(dtype=object),
            "url": pages["url"].to_numpy(dtype=object, na_value=None),
            "title": np.where(pd.notna(record_title), record_title, first_title),
            "body": joined(kept),
            "on_topic_body": joined(on_topic),
            "p_on": p_page,
            "n_lines": np.bincount(page, minlength=n_pages),
            "n_teasers": np.bincount(page[role == "teaser"], minlength=n_pages),
        }
    )
