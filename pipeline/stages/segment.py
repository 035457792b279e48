"""Segment stage: pages -> lines, one row per non-empty line, with its provenance.

Lines are numbered from 1 as ``str.splitlines()`` splits the page (blank lines count); a line is
non-empty when it has at least one non-space character. The text is kept exactly as given.
"""

from __future__ import annotations

import pandas as pd

LINE_COLUMNS = ("doc_id", "line_no", "text", "page", "pos", "n_page_lines")
"""Columns of a lines frame after segmentation. `page` is the page's index in its batch chunk,
`pos` the line's 0-based index among the page's non-empty lines, `n_page_lines` their count."""


def segment(pages: pd.DataFrame) -> pd.DataFrame:
    """Split every page of `pages` (schema PAGES) into its non-empty lines.

    Returns
    -------
    DataFrame, shape (n_non_empty_lines, 6), columns LINE_COLUMNS, in page then line order.
    """
    doc_ids, line_nos, texts, page_idx, positions, counts = [], [], [], [], [], []
    for page, (doc_id, text) in enumerate(zip(pages["doc_id"], pages["text"], strict=True)):
        kept = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line and not line.isspace()]
        doc_ids.extend([doc_id] * len(kept))
        line_nos.extend(n for n, _ in kept)
        texts.extend(line for _, line in kept)
        page_idx.extend([page] * len(kept))
        positions.extend(range(len(kept)))
        counts.extend([len(kept)] * len(kept))
    return pd.DataFrame(
        {
            "doc_id": pd.array(doc_ids, dtype="string"),
            "line_no": pd.array(line_nos, dtype="int32"),
            "text": pd.array(texts, dtype="string"),
            "page": pd.array(page_idx, dtype="int32"),
            "pos": pd.array(positions, dtype="int32"),
            "n_page_lines": pd.array(counts, dtype="int32"),
        }
    )
