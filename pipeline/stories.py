"""Same-story stage (placeholder): pages that repeat an earlier page's article."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


class StoryIndex:
    """Signatures of the articles seen so far (this batch and, when loaded, earlier ones)."""

    def link(self, articles: pd.DataFrame) -> pd.DataFrame:
        """Add `dup_of_doc` and `doc_dup_score` to `articles`, and remember them."""
        return articles.assign(
            dup_of_doc=pd.array([None] * len(articles), dtype="string"),
            doc_dup_score=pd.array([None] * len(articles), dtype="Float32"),
        )

    @classmethod
    def load(cls, path: str | Path) -> StoryIndex:
        return cls()

    def save(self, path: str | Path) -> None:
        Path(path).touch()

    def params(self) -> dict[str, object]:
        return {}
