"""A collected batch (`ReportCollector`) and its summary -> the template's context: numbers,
chart specs and rows as plain JSON-able values, no HTML (the templates do all the markup)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from pipeline.report import charts
from pipeline.report.collect import ReportCollector, same_story_clusters
from pipeline.schema import ROLES

MAX_TABLE_PAGES = 20_000
"""Rows of the searchable pages table (input order); a bigger batch lists its first pages only."""
MAX_LISTED = 200
"""Rows of the topic list, the clusters table and the skipped-input list."""


def _num(value: Any, digits: int = 3) -> float | None:
    """A float rounded for display and JSON, None for missing (so the bytes never carry NaN)."""
    if value is None or pd.isna(value):
        return None
    return round(float(value), digits)


def _text(value: Any) -> str:
    return "" if value is None or pd.isna(value) else str(value)


def line_rows(lines: pd.DataFrame) -> list[list]:
    """Each line as [n, text, role, dup_of, dup_score, topic, p_on, reason] (+ the gold role when
    `lines` has gold_role), None where missing: JSON for the page view's script, which draws the
    rows with textContent (tens of thousands of rows as template markup would cost seconds and
    triple the file)."""
    columns = [
        lines["line_no"].astype(int).tolist(),
        _strings(lines["text"]),
        _strings(lines["role"]),
        _optional(lines["dup_of"], 0),
        _optional(lines["dup_score"], 2),
        _strings(lines["topic"]),
        _optional(lines["p_on"], 3),
        _strings(lines["reason"]),
    ]
    if "gold_role" in lines:
        columns.append(_strings(lines["gold_role"]))
    return [list(row) for row in zip(*columns, strict=True)]


def _strings(series: pd.Series) -> list[str | None]:
    return series.astype(object).where(series.notna(), None).tolist()


def _optional(series: pd.Series, digits: int) -> list[float | int | None]:
    values = series.to_numpy(dtype=float, na_value=np.nan).round(digits).tolist()
    return [None if math.isnan(v) else (int(v) if digits == 0 else v) for v in values]


def page_view(view: int, page: dict[str, Any], rows: list[list], views: dict[str, int]) -> dict:
    """One page's view: its header fields, and its line rows (`line_rows`) in page order."""
    original = _text(page.get("dup_of_doc"))
    return {
        "view": view,
        "doc_id": _text(page["doc_id"]),
        "title": _text(page.get("title")),
        "url": _text(page.get("url")),
        "p_on": _num(page.get("p_on")),
        "share_kept": _share(page),
        "dup_of_doc": original,
        "dup_of_view": views.get(original),
        "doc_dup_score": _num(page.get("doc_dup_score"), 2),
        "extra": page.get("extra", {}),
        "gold": bool(rows) and len(rows[0]) > 8,
        "n_lines": len(rows),
        "rows": rows,
    }


def _share(page: dict[str, Any]) -> float | None:
    return round(page["kept"] / page["chars"], 3) if page.get("chars") else None


def page_views(collector: ReportCollector, pages: pd.DataFrame) -> tuple[list[dict], dict[str, int]]:
    """The sampled pages' views in input order, and doc_id -> view number."""
    lines = collector.sampled_lines()
    sampled = pages[pages["doc_id"].isin(set(lines["doc_id"]))].sort_values("order")
    views = {str(doc): i for i, doc in enumerate(sampled["doc_id"])}
    view_of_line = lines["doc_id"].astype(str).map(views).to_numpy()
    order = np.lexsort((lines["line_no"].to_numpy(dtype=np.int64), view_of_line))
    rows = line_rows(lines.iloc[order])
    starts = np.searchsorted(view_of_line[order], np.arange(len(views) + 1))
    built = [
        page_view(i, page, rows[starts[i] : starts[i + 1]], views)
        for i, page in enumerate(sampled.to_dict("records"))
    ]
    return built, views


def build_context(collector: ReportCollector, summary: dict[str, Any], name: str) -> dict[str, Any]:
    """Everything report.html.j2 shows (see pipeline.report's docstring for the sections)."""
    pages = collector.pages()
    views, view_of = page_views(collector, pages)
    threshold = (summary.get("models") or {}).get("topic", {}).get("threshold")
    # the stages' own counts (summary.json), not counted again here
    roles = {r: int(summary["roles"].get(r, 0)) for r in ROLES}
    total_chars = sum(collector.chars.values())
    chars_rows = [
        {"what": what, "role": "repeat" if what == "body repeats" else what.split()[0], "chars": n}
        for what, n in [
            ("body (kept)", collector.chars["body (kept)"]),
            ("body repeats", collector.chars["body repeats"]),
        ]
        + [(r, collector.chars[r]) for r in ROLES if r != "body"]
    ]
    duplicates = {k: int(v) for k, v in sorted(summary["duplicates"].items()) if k != "same_story_pages"}
    stages = {k: v for k, v in (summary.get("seconds") or {}).items() if k != "total"}
    clusters = same_story_clusters(pages)
    sizes = pd.Series([len(c) for c in clusters], dtype=int).value_counts().sort_index()
    # a dict, not the frame: the listed clusters can hold thousands of pages (doc_ids are unique)
    title_of = dict(zip(pages["doc_id"].astype(str), pages["title"], strict=True))
    chart_specs = {
        "roles": charts.roles_chart(roles),
        "chars": charts.chars_chart(chars_rows),
        "p_on": charts.p_on_chart(collector.p_on_bins(), threshold),
    }
    if duplicates:
        chart_specs["duplicates"] = charts.counts_chart(duplicates, "kind", "lines", charts.REPEAT_COLOUR)
    if stages:
        chart_specs["seconds"] = charts.counts_chart(stages, "stage", "seconds", charts.ROLE_COLOURS["title"])
    if clusters:
        chart_specs["clusters"] = charts.cluster_sizes_chart({int(k): int(v) for k, v in sizes.items()})
    return {
        "name": name,
        "summary": summary,
        "numbers": {
            "pages": len(pages),
            "lines": summary["lines"],
            "files": summary.get("files"),
            "empty_pages": summary.get("empty_pages"),
            "chars": total_chars,
            "kept_share": round(collector.chars["body (kept)"] / total_chars, 3) if total_chars else None,
            "same_story_pages": int(pages["dup_of_doc"].notna().sum()),
            "clusters": len(clusters),
            "seconds": (summary.get("seconds") or {}).get("total"),
            "threshold": _num(threshold),
            "skipped": len(summary.get("skipped") or []),
            "on_topic": int((pages["p_on"].astype(float) >= (0.5 if threshold is None else threshold)).sum()),
        },
        "models": {
            kind: {"sha256": card.get("sha256") or "", "threshold": _num(card.get("threshold"))}
            for kind, card in sorted((summary.get("models") or {}).items())
        },
        "versions": dict(sorted((summary.get("versions") or {}).items())),
        "roles": roles,
        "duplicates": duplicates,
        "charts": chart_specs,
        "clusters": [
            [
                {
                    "doc_id": doc,
                    "title": _text(title_of[doc]) if doc in title_of else None,
                    "view": view_of.get(doc),
                }
                for doc in cluster
            ]
            for cluster in clusters[:MAX_LISTED]
        ],
        "skipped": (summary.get("skipped") or [])[:MAX_LISTED],
        "warnings": (summary.get("warnings") or [])[:MAX_LISTED],
        "on_topic": _topic_rows(pages, threshold, view_of),
        "table": _table_rows(pages, view_of),
        "views": views,
    }


def _topic_rows(pages: pd.DataFrame, threshold: float | None, view_of: dict[str, int]) -> list[dict]:
    cut = 0.5 if threshold is None else float(threshold)
    ranked = pages[pages["p_on"].astype(float) >= cut].sort_values(["p_on", "order"], ascending=[False, True])
    return [
        {
            "doc_id": str(p["doc_id"]),
            "title": _text(p["title"]),
            "p_on": _num(p["p_on"]),
            "view": view_of.get(str(p["doc_id"])),
        }
        for p in ranked.head(MAX_LISTED).to_dict("records")
    ]


def _table_rows(pages: pd.DataFrame, view_of: dict[str, int]) -> list[list]:
    """[doc_id, title, n_lines, n_teasers, share kept, p_on, dup_of_doc, view or -1] per page."""
    return [
        [
            str(p["doc_id"]),
            _text(p["title"]),
            int(p["n_lines"]),
            int(p["n_teasers"]),
            _share(p),
            _num(p["p_on"]),
            _text(p["dup_of_doc"]),
            view_of.get(str(p["doc_id"]), -1),
        ]
        for p in pages.head(MAX_TABLE_PAGES).to_dict("records")
    ]
