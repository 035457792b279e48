"""Segment stage: pages -> lines, one row per non-empty line, with its provenance.

Lines are numbered from 1 as ``str.splitlines()`` splits the page (blank lines count); a line is
non-empty when it has at least one non-space character. The text is kept exactly as given.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.schema import string_column

LINE_COLUMNS = ("doc_id", "line_no", "text", "page", "pos", "n_page_lines")
"""Columns of a lines frame after segmentation. `page` is the page's index in its batch chunk,
`pos` the line's 0-based index among the page's non-empty lines, `n_page_lines` their count."""


def segment(pages: pd.DataFrame) -> pd.DataFrame:
    """Split every page of `pages` (schema PAGES) into its non-empty lines.

    Returns
    -------
    DataFrame, shape (n_non_empty_lines, 6), columns LINE_COLUMNS, in page then line order.
    """
    texts: list[str] = []
    numbers: list[int] = []  # 0-based index of each kept line among the page's lines
    counts: list[int] = []
    for text in pages["text"]:
        lines = text.splitlines()
        kept = [n for n, line in enumerate(lines) if line and not line.isspace()]
        texts.extend([lines[n] for n in kept])
        numbers.extend(kept)
        counts.append(len(kept))
    # the per-line columns of the page come from numpy, not from a Python list per column
    per_page = np.asarray(counts, dtype=np.int64)
    page = np.repeat(np.arange(len(per_page)), per_page)
    first = np.cumsum(per_page) - per_page
    doc_ids = pages["doc_id"].to_numpy(dtype=object)[page]
    return pd.DataFrame(
        {
            "doc_id": string_column(doc_ids),
            "line_no": pd.array(np.asarray(numbers, dtype=np.int64) + 1, dtype="int32"),
            "text": string_column(texts),
            "page": pd.array(page, dtype="int32"),
            "pos": pd.array(np.arange(len(page)) - first[page], dtype="int32"),
            "n_page_lines": pd.array(per_page[page], dtype="int32"),
        }
    )
