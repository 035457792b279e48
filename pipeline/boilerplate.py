"""Boilerplate stage (placeholder, to be replaced by the learned line model): role per line."""

from __future__ import annotations

import re

import pandas as pd

MARKERS = re.compile(r"^\s*(see more|related( news| articles)?|read more|latest( news)?|tags?:?)\s*$", re.I)


def assign_roles(lines: pd.DataFrame, model: object | None = None) -> pd.DataFrame:
    """Add `role` and `reason` to `lines` (columns of segment.LINE_COLUMNS)."""
    roles, reasons = [], []
    in_teasers = False
    for pos, text in zip(lines["pos"], lines["text"], strict=True):
        if pos == 0:
            in_teasers = False
            roles.append("title")
            reasons.append("position:first")
            continue
        if MARKERS.match(text):
            in_teasers = True
            roles.append("boilerplate")
            reasons.append("marker")
        elif in_teasers:
            roles.append("teaser")
            reasons.append("after-marker")
        elif len(text.split()) < 4:
            roles.append("boilerplate")
            reasons.append("short")
        else:
            roles.append("body")
            reasons.append("default")
    return lines.assign(role=pd.array(roles, dtype="string"), reason=pd.array(reasons, dtype="string"))
