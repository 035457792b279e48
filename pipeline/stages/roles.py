"""Roles stage: the role of every line (title, body, caption, boilerplate, teaser, comment).

The learned line model (pipeline.learn.linemodel, shipped as models/lines.joblib) labels a whole chunk of
pages in one vectorised pass. `reason` says why: ``marker:<name>`` when the line is one of the
marker lines of pipeline.text.markers ("See more", "VNA", a date line...) labelled boilerplate, else
``model:<role>`` (a teaser with a photo credit is ``model:teaser``). Without a line model a few
plain rules stand in (``rule:<why>``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.schema import string_column, value_counts
from pipeline.text.markers import match_markers


def assign_roles(lines: pd.DataFrame, model: object | None = None) -> pd.DataFrame:
    """Add `role` and `reason` (string dtype) to `lines` (columns of segment.LINE_COLUMNS).

    Returns
    -------
    DataFrame, shape (n_lines, n_columns + 2): `lines` with the two columns added.
    """
    if not len(lines):
        empty = pd.array([], dtype="string")
        return lines.assign(role=empty, reason=empty)
    if model is None:
        roles, reasons = rule_roles(lines, match_markers(lines["text"])[1])
    else:
        roles = np.asarray(model.predict(lines), dtype=object)
        codes, labels = pd.factorize(roles, use_na_sentinel=False)  # six roles: each reason made once
        reasons = np.array([f"model:{role}" for role in labels], dtype=object)[codes]
        # marker names only for the boilerplate lines, each distinct text once (the model has
        # matched markers already; matching again on those few texts, a site's menus and footers
        # recurring on every page, is cheaper than carrying names through it)
        rows = np.flatnonzero(roles == "boilerplate")
        text_codes, texts = pd.factorize(lines["text"].iloc[rows], use_na_sentinel=False)
        marker = match_markers(pd.Series(texts, dtype="string"))[1][text_codes]
        named = marker != ""
        reasons[rows[named]] = np.char.add("marker:", marker[named].astype(str))
    return lines.assign(role=string_column(roles), reason=string_column(reasons))


def role_counts(lines: pd.DataFrame) -> dict[str, int]:
    """Lines per role (this stage's statistics for summary.json)."""
    return value_counts(lines["role"])


def rule_roles(lines: pd.DataFrame, marker: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stand-in roles when no line model is available: first line title, list headers and other
    markers boilerplate, lines after a list header teasers, short lines boilerplate, else body."""
    from pipeline.learn.linefeatures import base_features, page_bounds

    base = base_features(lines["text"])
    starts, _, page_of = page_bounds(lines)
    index = np.arange(len(lines))
    header = base["marker_list-header"].to_numpy() > 0
    last = np.maximum.accumulate(np.where(header, index, -1))
    after_header = (last >= starts[page_of]) & ~header
    words = np.expm1(base["log_words"].to_numpy())
    roles = np.where(words < 4, "boilerplate", "body").astype(object)
    reasons = np.where(words < 4, "rule:short", "rule:default").astype(object)
    roles[after_header], reasons[after_header] = "teaser", "rule:after-header"
    is_marker = marker != ""
    roles[is_marker] = "boilerplate"
    reasons[is_marker] = np.char.add("marker:", marker[is_marker].astype(str))
    first = lines["pos"].to_numpy() == 0
    roles[first], reasons[first] = "title", "rule:first-line"
    return roles, reasons
