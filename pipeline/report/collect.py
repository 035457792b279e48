"""What a report shows beyond summary.json, gathered chunk by chunk from a run's line and article
tables (the counts per role and duplicate kind are the stages' own, in summary.json).

`ReportCollector.add` takes one chunk of ``paragraphs`` and ``articles`` rows (the run calls it
after every chunk, a rebuild from OUT once per block of pages), keeps running counts and a bounded
sample of whole pages, and forgets the rest: memory stays flat however large the batch. Which pages
are sampled for page views does not depend on how the pages were chunked: the first
`max_page_views` pages in the order (priority, sha1 of doc_id), where priority 0 marks pages that
an analyst checks first (same-story copies, pages with dropped body-like lines).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.schema import ROLES

P_ON_BINS = 40
BODY_LIKE_CHARS = 150
"""A line this long (about 25 words) that the article leaves out is "body-like": prose that may be
a lost paragraph."""

ARTICLE_COLUMNS = ["doc_id", "url", "title", "n_lines", "n_teasers", "p_on", "dup_of_doc", "doc_dup_score"]
LINE_COLUMNS = ["doc_id", "line_no", "text", "role", "dup_of", "dup_score", "topic", "p_on", "reason"]


@dataclass
class ReportCollector:
    """Characters per role, the p_on histogram, per-page figures and the lines of the sampled
    pages of a batch (see the module docstring)."""

    max_page_views: int = 200
    chars: Counter = field(default_factory=Counter)
    p_on_counts: np.ndarray = field(default_factory=lambda: np.zeros(P_ON_BINS, dtype=np.int64))
    _pages: list[pd.DataFrame] = field(default_factory=list)
    _sample_keys: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["doc_id", "key"]))
    _sample_lines: pd.DataFrame | None = None

    def add(self, lines: pd.DataFrame, articles: pd.DataFrame) -> None:
        """Count one chunk: `lines` (PARAGRAPHS columns) and `articles` (ARTICLES) of the same pages."""
        lines = lines[[c for c in LINE_COLUMNS if c in lines.columns]].reset_index(drop=True)
        # integer codes and numpy arrays: string comparisons over a chunk's 85k lines cost 10x more
        role = _role_codes(lines["role"])
        body = role == ROLES.index("body")
        text_len = lines["text"].str.len().fillna(0).to_numpy(dtype=np.int64)
        repeat = lines["dup_of"].notna().to_numpy()
        kept = body & ~repeat
        chars_per_role = np.bincount(role[role >= 0], weights=text_len[role >= 0], minlength=len(ROLES))
        self.chars.update(
            {name: int(n) for name, n in zip(ROLES, chars_per_role, strict=True) if name != "body"}
        )
        self.chars["body (kept)"] += int(text_len[kept].sum())
        self.chars["body repeats"] += int(text_len[body & repeat].sum())
        body_p = lines["p_on"].to_numpy(dtype=float, na_value=np.nan)[body]
        self.p_on_counts += np.histogram(body_p[~np.isnan(body_p)], bins=P_ON_BINS, range=(0.0, 1.0))[0]

        pages = articles[ARTICLE_COLUMNS].reset_index(drop=True)
        page = _page_of_lines(pages["doc_id"], lines["doc_id"])
        body_like = ~kept & (role != ROLES.index("title")) & (text_len >= BODY_LIKE_CHARS)
        pages["chars"] = np.bincount(page, weights=text_len, minlength=len(pages)).astype(np.int64)
        pages["kept"] = np.bincount(page[kept], weights=text_len[kept], minlength=len(pages)).astype(np.int64)
        pages["body_like"] = np.bincount(page[body_like], minlength=len(pages))
        pages["order"] = np.arange(len(pages)) + sum(len(p) for p in self._pages)
        self._pages.append(pages)
        self._sample(lines, pages)

    def _sample(self, lines: pd.DataFrame, pages: pd.DataFrame) -> None:
        pages = pages[pages["n_lines"].astype(int) > 0]  # an empty page has nothing to view
        flagged = pages["dup_of_doc"].notna().to_numpy() | (pages["body_like"].to_numpy() > 0)
        digests = [hashlib.sha1(str(d).encode()).hexdigest() for d in pages["doc_id"]]
        keys = pd.DataFrame(
            {
                "doc_id": pages["doc_id"],
                "key": [f"{0 if f else 1}{h}" for f, h in zip(flagged, digests, strict=True)],
            }
        )
        best = pd.concat([self._sample_keys, keys]).sort_values("key").head(self.max_page_views)
        self._sample_keys = best.reset_index(drop=True)
        chosen = set(best["doc_id"])
        held = [] if self._sample_lines is None else [self._sample_lines]
        fresh = lines[lines["doc_id"].isin(chosen)]
        merged = pd.concat([*held, fresh]) if held else fresh
        self._sample_lines = merged[merged["doc_id"].isin(chosen)]

    def pages(self) -> pd.DataFrame:
        """One row per page, in input order: ARTICLE_COLUMNS + chars, kept, body_like, order."""
        if not self._pages:
            return pd.DataFrame(columns=[*ARTICLE_COLUMNS, "chars", "kept", "body_like", "order"])
        return pd.concat(self._pages, ignore_index=True)

    def sampled_lines(self) -> pd.DataFrame:
        """The lines of the sampled pages (LINE_COLUMNS), page by page in input order."""
        if self._sample_lines is None:
            return pd.DataFrame(columns=LINE_COLUMNS)
        return self._sample_lines.reset_index(drop=True)

    def p_on_bins(self) -> list[dict[str, float]]:
        edges = np.linspace(0.0, 1.0, P_ON_BINS + 1)
        return [
            {"start": round(float(a), 4), "end": round(float(b), 4), "lines": int(n)}
            for a, b, n in zip(edges[:-1], edges[1:], self.p_on_counts, strict=True)
        ]


def _role_codes(roles: pd.Series) -> np.ndarray:
    """Index in ROLES of each role, -1 for a missing or unknown one, shape (n,): the distinct
    values are matched once (a chunk holds six)."""
    codes, values = pd.factorize(roles)
    index_of = np.array([ROLES.index(v) if v in ROLES else -1 for v in values] + [-1], dtype=np.int8)
    return index_of[codes]  # code -1 (missing) picks the appended -1


def _page_of_lines(page_ids: pd.Series, line_ids: pd.Series) -> np.ndarray:
    """Position in `page_ids` (distinct) of each line's page, -1 if absent, shape (n_lines,).

    The lines come page by page: only the first line of each run of one doc_id is looked up
    (looking up all 70,000 lines of a chunk cost 10x more)."""
    ids = line_ids.reset_index(drop=True)
    first = (ids != ids.shift()).to_numpy(dtype=bool, na_value=True)
    starts = np.flatnonzero(first)
    at_start = pd.Index(page_ids).get_indexer(ids.iloc[starts])
    return np.repeat(at_start, np.diff(np.r_[starts, len(ids)]))


def same_story_clusters(pages: pd.DataFrame) -> list[list[str]]:
    """Groups of pages that carry one story: each page with the page it copies (dup_of_doc), that
    one's own original when it is in the batch too, and so on. Each group starts with its original
    (which may be a page of an earlier batch, absent from `pages`); largest groups first."""
    copies = pages.loc[pages["dup_of_doc"].notna(), ["doc_id", "dup_of_doc"]]
    original_of = dict(zip(copies["doc_id"].astype(str), copies["dup_of_doc"].astype(str), strict=True))

    def root(doc: str) -> str:
        seen = {doc}
        while doc in original_of and original_of[doc] not in seen:
            doc = original_of[doc]
            seen.add(doc)
        return doc

    groups: dict[str, list[str]] = {}
    for doc in copies["doc_id"].astype(str):
        groups.setdefault(root(doc), []).append(doc)
    clusters = [[first, *members] for first, members in groups.items()]
    return sorted(clusters, key=lambda c: (-len(c), c[0]))
