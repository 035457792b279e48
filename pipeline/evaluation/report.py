"""The eval report: ``make eval``'s run folders (OUT/<corpus>/) shown against their gold.

Per corpus: the scores of eval.json, the role confusion matrix (gold rows, predicted columns), the
precision-recall curve of p_on over the gold topic lines with the pipeline's own on/off decisions
marked, and the pages with the worst body F1, each with its page view (gold role beside the
predicted one, mismatches outlined): the errors to look at next. Written as OUT/report.html.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.files import atomic_write_text
from pipeline.report import charts
from pipeline.report.collect import ReportCollector
from pipeline.report.context import line_rows, page_view
from pipeline.report.render import REPORT_NAME, render
from pipeline.schema import ROLES
from pipeline.scoring.corpora import load_gold_lines
from pipeline.scoring.metrics import extraction_f1, gold_body

WORST_PAGES = 10
PR_POINTS = 200
"""Points kept of a precision-recall curve: enough for its shape, a few kB in the report."""


def confusion_cells(gold: pd.Series, predicted: pd.Series) -> list[dict[str, Any]]:
    """Lines per (gold role, predicted role), with each cell's share of its gold row."""
    table = pd.crosstab(gold.astype(str), predicted.fillna("(none)").astype(str))
    table = table.reindex(index=list(ROLES), columns=list(ROLES), fill_value=0)
    totals = table.sum(axis=1).replace(0, 1)
    return [
        {
            "gold": g,
            "predicted": p,
            "lines": int(table.at[g, p]),
            "share": round(table.at[g, p] / totals[g], 4),
        }
        for g in ROLES
        for p in ROLES
    ]


def pr_points(y_true: np.ndarray, p_on: np.ndarray) -> list[dict[str, float]]:
    """The precision-recall curve of p_on, thinned to at most PR_POINTS points."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(y_true, p_on)
    keep = np.unique(np.linspace(0, len(recall) - 1, min(PR_POINTS, len(recall))).round().astype(int))
    return [{"recall": round(float(recall[i]), 4), "precision": round(float(precision[i]), 4)} for i in keep]


def operating_point(y_true: np.ndarray, on: np.ndarray) -> dict[str, float]:
    """Precision and recall of the pipeline's own "on" decisions."""
    tp = float((y_true & on).sum())
    return {
        "recall": round(tp / max(float(y_true.sum()), 1.0), 4),
        "precision": round(tp / max(float(on.sum()), 1.0), 4),
    }


def page_f1(corpus, articles: pd.DataFrame, gold: pd.DataFrame | None) -> pd.DataFrame:
    """Body F1, P, R of every page with a body in the gold or the output (doc_id, f1, precision,
    recall), worst first."""
    bodies = dict(zip(articles["doc_id"].astype(str), articles["body"].fillna(""), strict=True))
    if gold is not None:
        truth = {doc: gold_body(page) for doc, page in gold.groupby("doc_id", sort=True)}
    else:
        records = json.loads((corpus.path / "ground-truth.json").read_text(encoding="utf-8"))
        truth = {doc: record["articleBody"] for doc, record in records.items()}
    # a page with no body in the gold and none predicted is right, not an F1 of 0: left out
    rows = [
        {"doc_id": doc, **extraction_f1([(body, bodies.get(doc, ""))])}
        for doc, body in sorted(truth.items())
        if body.strip() or bodies.get(doc, "").strip()
    ]
    if not rows:
        return pd.DataFrame(columns=["doc_id", "f1", "precision", "recall"])
    return pd.DataFrame(rows).sort_values(["f1", "doc_id"], kind="stable").reset_index(drop=True)


def corpus_section(corpus, run_dir: Path, scores: dict[str, Any], first_view: int) -> dict[str, Any]:
    """One corpus's part of the eval report; its page views are numbered from `first_view`."""
    paragraphs = pd.read_parquet(run_dir / "paragraphs.parquet")
    articles = pd.read_parquet(run_dir / "articles.parquet")
    gold = load_gold_lines(corpus.path) if corpus.kind == "lines" else None
    section: dict[str, Any] = {"name": corpus.name, "kind": corpus.kind, "charts": {}}
    # eval.json's own names, in its order: the same words as the file an analyst greps
    section["scores"] = [(key, _shown(value)) for key, value in scores.items()]
    if gold is not None:
        joined = gold.merge(paragraphs.drop(columns="text"), on=["doc_id", "line_no"], how="left")
        section["charts"]["confusion"] = charts.confusion_chart(
            confusion_cells(joined["gold_role"], joined["role"]), list(ROLES)
        )
        topical = joined[joined["gold_topic"].notna()]
        y = (topical["gold_topic"] == "on").to_numpy(dtype=bool)
        if 0 < y.sum() < len(y):
            p = topical["p_on"].astype(float).fillna(0.0).to_numpy()
            on = (topical["topic"] == "on").to_numpy(dtype=bool, na_value=False)
            section["charts"]["pr"] = charts.pr_chart(pr_points(y, p), operating_point(y, on))
    worst = page_f1(corpus, articles, gold).head(WORST_PAGES)
    chosen = articles[articles["doc_id"].isin(set(worst["doc_id"]))]
    collector = ReportCollector(max_page_views=len(chosen))
    collector.add(paragraphs[paragraphs["doc_id"].isin(set(worst["doc_id"]))], chosen)
    lines = collector.sampled_lines()
    if gold is not None:
        lines = lines.merge(gold[["doc_id", "line_no", "gold_role"]], on=["doc_id", "line_no"], how="left")
    pages = collector.pages().set_index("doc_id", drop=False)
    by_doc = dict(tuple(lines.groupby("doc_id", sort=False)))
    section["worst"], section["views"] = [], []
    for number, row in enumerate(worst.to_dict("records"), start=first_view):
        doc = row["doc_id"]
        scores_text = f"{row['f1']:.3f} (P {row['precision']:.3f}, R {row['recall']:.3f})"
        section["worst"].append({**row, "view": number if doc in pages.index else None})
        if doc in pages.index:
            page = pages.loc[doc].to_dict() | {"extra": {"body F1": scores_text}}
            rows = line_rows(by_doc[doc].sort_values("line_no")) if doc in by_doc else []
            section["views"].append(page_view(number, page, rows, {}))
    return section


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return "–" if np.isnan(value) else f"{value:.3f}"
    return str(value)


def write_eval_report(out: str | Path, corpora: list, result: dict[str, Any]) -> Path:
    """OUT/report.html for `make eval`'s OUT (run folders OUT/<corpus>/, scores in `result`)."""
    out = Path(out)
    sections, first_view = [], 0
    for corpus in corpora:
        scores = result["corpora"][corpus.name]["ours"]
        section = corpus_section(corpus, out / corpus.name, scores, first_view)
        first_view += len(section["views"])
        sections.append(section)
    specs = {f"{s['name']}-{key}": spec for s in sections for key, spec in s["charts"].items()}
    html = render("eval.html.j2", name=out.name, mode=result.get("mode", ""), sections=sections, charts=specs)
    return atomic_write_text(out / REPORT_NAME, html)
