"""Assemble stage: labelled lines -> one article row per page."""

from __future__ import annotations

import numpy as np
import pandas as pd

PARAGRAPH_SEPARATOR = "\n\n"


def assemble_articles(pages: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """One row per page of `pages`: the core article rebuilt from its labelled `lines`.

    `body` holds the page's body lines that are not repeats (dup_of null), in page order, joined
    by a blank line; `on_topic_body` only those whose topic is on. `p_on` is the page-level
    probability: the length-weighted mean p_on of the body (of every content line when the
    page has no body). `title` is the record's title, else the first title line.

    Returns
    -------
    DataFrame, shape (n_pages, 8): every column of schema ARTICLES but the same-story ones.
    """
    by_page = {page: group for page, group in lines.groupby("page", sort=True)}
    rows = []
    for page, (doc_id, url, record_title) in enumerate(
        zip(pages["doc_id"], pages["url"], pages["title"], strict=True)
    ):
        group = by_page.get(page)
        if group is None:
            rows.append((doc_id, url, record_title, "", "", 0.0, 0, 0))
            continue
        kept_body = group[(group["role"] == "body") & group["dup_of"].isna()]
        on_body = kept_body[kept_body["topic"] == "on"]
        titles = group.loc[group["role"] == "title", "text"]
        title = record_title if isinstance(record_title, str) else (titles.iloc[0] if len(titles) else None)
        weighted = kept_body if len(kept_body) else group[group["role"] != "boilerplate"]
        rows.append(
            (
                doc_id,
                url,
                title,
                PARAGRAPH_SEPARATOR.join(kept_body["text"]),
                PARAGRAPH_SEPARATOR.join(on_body["text"]),
                page_probability(weighted),
                len(group),
                int((group["role"] == "teaser").sum()),
            )
        )
    columns = ["doc_id", "url", "title", "body", "on_topic_body", "p_on", "n_lines", "n_teasers"]
    return pd.DataFrame(rows, columns=columns)


def page_probability(lines: pd.DataFrame) -> float:
    """Mean p_on of `lines`, weighted by text length (a one-word line says little)."""
    if not len(lines):
        return 0.0
    weights = lines["text"].str.len().to_numpy(dtype=float)
    return float(np.average(lines["p_on"].to_numpy(dtype=float), weights=weights))
