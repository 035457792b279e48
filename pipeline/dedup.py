"""Near-duplicate stage (placeholder: exact repeats only): link repeated lines inside a page."""

from __future__ import annotations

import pandas as pd


def link_repeats(lines: pd.DataFrame) -> pd.DataFrame:
    """Add `dup_of` (line_no of the kept copy), `dup_score` and extend `reason`."""
    dup_of: list[int | None] = [None] * len(lines)
    first: dict[tuple[int, str], int] = {}
    for i, (page, line_no, text) in enumerate(
        zip(lines["page"], lines["line_no"], lines["text"], strict=True)
    ):
        key = (page, " ".join(text.lower().split()))
        if key in first:
            dup_of[i] = first[key]
        else:
            first[key] = int(line_no)
    dup = pd.array(dup_of, dtype="Int32")
    score = pd.array([1.0 if d is not None else None for d in dup_of], dtype="Float32")
    return lines.assign(dup_of=dup, dup_score=score)
