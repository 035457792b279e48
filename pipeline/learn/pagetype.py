"""Page type: does a page carry a main article, or is it a listing (tag, section, search page)?

A listing page is a rhythm of item headline / one-sentence summary / date, or a run of summaries
of different events. Line by line its summaries read like an article's paragraphs, so a line
model calls them body and the page gets an article that does not exist (and a body-F1 precision
of 0 for that page). Decided once per page, from the whole page, the question is easier: how much
of the page the first pass calls body and in how long a run, whether the prose lines are about one
thing (coherence), how many date lines, headlines and list headers it has.

`page_features` aggregates a chunk's line features and first-pass role probabilities into one row
per page; `PAGE_FEATURES` names its columns. The line model (pipeline.learn.linemodel) fits a linear
classifier on them (pages with line gold and no body line are listings), gives its probability to
the second pass as a feature of every line of the page, and on pages it is sure are listings turns
the article roles (title, body, caption) into `teaser`.
"""

from __future__ import annotations

import numpy as np

PAGE_FEATURES = (
    "mean_p_body",
    "max_p_body",
    "share_body",
    "longest_body_run",
    "log_longest_body_run",
    "mean_p_teaser",
    "mean_p_title",
    "page_core_sim",
    "page_chain_sim",
    "title_core_sim",
    "log_page_lines",
    "page_prose_share",
    "log_prose_lines",
    "date_share",
    "headline_share",
    "headline_prose_turns",
    "list_headers",
)

_HEADLINE_WORDS = (4, 20)
"""Word counts of a headline-like line (with no sentence end)."""


def _longest_runs(flag: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Longest run of consecutive True rows inside each page, shape (n_pages,)."""
    n = len(flag)
    index = np.arange(n)
    # run length ending at each row: rows since the last False (or the page start)
    page_start = np.repeat(starts, ends - starts)
    last_false = np.maximum.accumulate(np.where(~flag, index, -1))
    run = np.where(flag, index - np.maximum(last_false, page_start - 1), 0)
    out = np.zeros(len(starts))
    nonempty = ends > starts
    out[nonempty] = np.maximum.reduceat(run, starts[nonempty]) if n else 0
    return out


def page_features(
    X: dict[str, np.ndarray],
    proba: np.ndarray,
    roles: tuple[str, ...],
    starts: np.ndarray,
    ends: np.ndarray,
    page_of: np.ndarray,
) -> np.ndarray:
    """One row of PAGE_FEATURES per page.

    Parameters
    ----------
    X : mapping of line-feature name (pipeline.learn.linefeatures.FEATURES) -> ndarray, shape (n_lines,).
    proba : ndarray, shape (n_lines, len(roles)), the first pass's role probabilities.
    roles : the role of each column of `proba`.
    starts, ends, page_of : page bounds (pipeline.learn.linefeatures.page_bounds).

    Returns
    -------
    ndarray, shape (n_pages, len(PAGE_FEATURES)), float32.
    """
    n_pages = len(starts)
    size = np.maximum(ends - starts, 1).astype(np.float64)

    def page_mean(values: np.ndarray) -> np.ndarray:
        return np.bincount(page_of, weights=values, minlength=n_pages) / size

    p_body = proba[:, roles.index("body")]
    is_body = p_body > 0.5
    longest = _longest_runs(is_body, starts, ends)
    words = np.expm1(X["log_words"])
    headline = (
        (words >= _HEADLINE_WORDS[0])
        & (words <= _HEADLINE_WORDS[1])
        & (X["sentence_end"] == 0)
        & (X["prose"] == 0)
    )
    prose = X["prose"] > 0
    # a turn: a headline-like line followed by a prose line, or the other way round
    turn = np.zeros(len(p_body), dtype=bool)
    turn[1:] = ((headline[1:] & prose[:-1]) | (prose[1:] & headline[:-1])) & (page_of[1:] == page_of[:-1])
    max_body = np.zeros(n_pages)
    if len(p_body):
        max_body = np.maximum.reduceat(p_body, starts) if n_pages else max_body
    first = starts
    columns = {
        "mean_p_body": page_mean(p_body),
        "max_p_body": max_body,
        "share_body": page_mean(is_body.astype(np.float64)),
        "longest_body_run": longest / size,
        "log_longest_body_run": np.log1p(longest),
        "mean_p_teaser": page_mean(proba[:, roles.index("teaser")]),
        "mean_p_title": page_mean(proba[:, roles.index("title")]),
        "page_core_sim": X["page_core_sim"][first],
        "page_chain_sim": X["page_chain_sim"][first],
        "title_core_sim": X["sim_core"][first],
        "log_page_lines": X["log_page_lines"][first],
        "page_prose_share": X["page_prose_share"][first],
        "log_prose_lines": X["log_prose_lines"][first],
        "date_share": page_mean((X["marker_date"] > 0).astype(np.float64)),
        "headline_share": page_mean(headline.astype(np.float64)),
        "headline_prose_turns": page_mean(turn.astype(np.float64)),
        "list_headers": np.log1p(np.bincount(page_of, weights=X["marker_list-header"], minlength=n_pages)),
    }
    return np.column_stack([np.asarray(columns[name], dtype=np.float32) for name in PAGE_FEATURES]).reshape(
        n_pages, len(PAGE_FEATURES)
    )


def listing_labels(
    roles: np.ndarray, partial: np.ndarray, starts: np.ndarray, page_of: np.ndarray
) -> np.ndarray:
    """1 for a page with full line gold and no body line (a listing), else 0, shape (n_pages,).

    Pages only known as body / not body (`partial`, an extraction corpus) are articles."""
    n_pages = len(starts)
    body = np.bincount(page_of, weights=(roles == "body").astype(np.float64), minlength=n_pages) > 0
    part = np.bincount(page_of, weights=partial.astype(np.float64), minlength=n_pages) > 0
    return (~body & ~part).astype(np.int64)
