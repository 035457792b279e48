"""Articles join each page's kept lines in row order, whatever order the pages' rows come in."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.stages.articles import PARAGRAPH_SEPARATOR, assemble_articles


def test_bodies_join_each_pages_rows_in_order_when_pages_interleave():
    page = [2, 0, 2, 1, 0, 2, 0]
    role = ["body", "body", "title", "body", "body", "body", "boilerplate"]
    text = ["c1", "a1", "C", "b1", "a2", "c2", "menu"]
    lines = pd.DataFrame(
        {
            "page": np.array(page, dtype=np.int32),
            "role": pd.array(role, dtype="string"),
            "text": pd.array(text, dtype="string"),
            "dup_of": pd.array([None, None, None, None, 1, None, None], dtype="Int32"),
            "topic": pd.array(["on", "off", "on", "on", "on", "on", None], dtype="string"),
            "p_on": pd.array([0.9, 0.2, 0.8, 0.7, 0.6, 0.9, 0.1], dtype="Float32"),
        }
    )
    pages = pd.DataFrame({"doc_id": ["a", "b", "c", "d"], "url": [None] * 4, "title": [None] * 4})
    articles = assemble_articles(pages, lines)
    assert list(articles["body"]) == ["a1", "b1", PARAGRAPH_SEPARATOR.join(["c1", "c2"]), ""]
    assert list(articles["on_topic_body"]) == ["", "b1", PARAGRAPH_SEPARATOR.join(["c1", "c2"]), ""]
    assert articles["title"][2] == "C" and articles["title"].drop(2).isna().all()
    assert list(articles["n_lines"]) == [3, 1, 3, 0]
