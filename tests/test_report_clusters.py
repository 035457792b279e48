"""The report's same-story clusters list each page with its title (pipeline.report.context)."""

from __future__ import annotations

import pandas as pd

from pipeline.report.collect import ARTICLE_COLUMNS, LINE_COLUMNS, ReportCollector
from pipeline.report.context import build_context


def test_listed_clusters_carry_titles_and_none_for_an_original_outside_the_batch():
    docs = ["a", "b", "c", "d", "e"]
    articles = pd.DataFrame(
        {
            "doc_id": docs,
            "url": [None] * 5,
            "title": pd.array(
                ["Flood in Hue", None, "Flood in Hue!", "Other", "Copy of old"], dtype="string"
            ),
            "n_lines": [1] * 5,
            "n_teasers": [0] * 5,
            "p_on": [0.9, 0.8, 0.7, 0.1, 0.5],
            "dup_of_doc": pd.array([None, "a", "b", None, "earlier-batch"], dtype="string"),
            "doc_dup_score": [None, 0.9, 0.9, None, 0.95],
        }
    )[ARTICLE_COLUMNS]
    lines = pd.DataFrame(
        {
            "doc_id": docs,
            "line_no": [0] * 5,
            "text": pd.array(["x"] * 5, dtype="string"),
            "role": pd.array(["body"] * 5, dtype="string"),
            "dup_of": pd.array([None] * 5, dtype="Int32"),
            "dup_score": pd.array([None] * 5, dtype="Float32"),
            "topic": pd.array(["on"] * 5, dtype="string"),
            "p_on": [0.5] * 5,
            "reason": pd.array(["model"] * 5, dtype="string"),
        }
    )[LINE_COLUMNS]
    collector = ReportCollector()
    collector.add(lines, articles)
    summary = {"roles": {}, "duplicates": {}, "lines": 5}
    clusters = build_context(collector, summary, "OUT")["clusters"]
    titles = [[(page["doc_id"], page["title"]) for page in cluster] for cluster in clusters]
    assert titles == [
        [("a", "Flood in Hue"), ("b", ""), ("c", "Flood in Hue!")],
        [("earlier-batch", None), ("e", "Copy of old")],
    ]
