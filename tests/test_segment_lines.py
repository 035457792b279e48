"""Segment: one row per non-empty line, numbered as str.splitlines numbers them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.schema import PAGES, conform
from pipeline.stages.segment import LINE_COLUMNS, segment


def _pages(doc_ids: list[str], texts: list[str]) -> pd.DataFrame:
    other = {name: [None] * len(texts) for name in PAGES.names if name not in ("doc_id", "text")}
    return conform(pd.DataFrame({"doc_id": doc_ids, "text": texts, **other}), PAGES)


def test_lines_numbered_as_splitlines_with_empty_pages_between():
    texts = ["Title\r\n\r\n  \nBody one\x0bBody\u2028two", "", "   \n\t", "only line"]
    pages = _pages(["a", "b", "c", "d"], texts)
    lines = segment(pages)
    expected = [
        (doc, n, line, page)
        for page, (doc, text) in enumerate(zip(["a", "b", "c", "d"], texts, strict=True))
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    assert list(lines.columns) == list(LINE_COLUMNS)
    found = list(zip(lines["doc_id"], lines["line_no"], lines["text"], lines["page"], strict=True))
    assert found == expected
    assert list(lines["pos"]) == [0, 1, 2, 3, 0]
    assert list(lines["n_page_lines"]) == [4, 4, 4, 4, 1]
    dtypes = [str(lines[c].dtype) for c in LINE_COLUMNS]
    assert dtypes == ["string", "int32", "string", "int32", "int32", "int32"]


def test_no_pages_no_lines():
    lines = segment(_pages([], []))
    assert len(lines) == 0 and list(lines.columns) == list(LINE_COLUMNS)


@pytest.mark.parametrize(
    "values",
    [[], ["a", "b", "a"], ["x", None, "ü\u2028 z", ""], np.array(["model:body", None], dtype=object)],
)
def test_string_column_is_what_pandas_makes(values):
    from pipeline.schema import string_column

    made, expected = string_column(values), pd.array(values, dtype="string")
    assert made.dtype == expected.dtype
    assert pd.Series(made).equals(pd.Series(expected))
