"""The referees' metrics (shared/tools/score_gold.py, score_extraction.py), computed in-process.

`score_gold` and `extraction_f1` must give the referees' numbers on the same run; a test checks
that they do. Conventions follow the referees exactly: body F1 is the Zyte benchmark's word
4-gram shingle F1 with per-page normalised counts averaged over pages; duplicate links count when
their two lines are connected in the other side's graph; same-story pairs are compared as
transitive closures.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from itertools import combinations

import numpy as np
import pandas as pd

from pipeline.schema import ROLES

_TOKEN = re.compile(r"\w+", re.UNICODE)


def _shingles(text: str, n: int = 4) -> Counter:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n])


def _page_counts(true: str, pred: str) -> tuple[float, float, float]:
    a, b = _shingles(true), _shingles(pred)
    tp = fp = fn = 0.0
    for key in set(a) | set(b):
        x, y = a.get(key, 0), b.get(key, 0)
        tp, fp, fn = tp + min(x, y), fp + max(0, y - x), fn + max(0, x - y)
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def extraction_f1(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """Benchmark F1 of (true body, predicted body) pairs: {"f1", "precision", "recall"}."""
    rows = [_page_counts(t, p) for t, p in pairs]

    def precision(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (0.0 if tp == fp == 0 else tp / (tp + fp))

    def recall(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (0.0 if tp == fn == 0 else tp / (tp + fn))

    ps = [precision(*r) for r in rows if r[0] + r[1] > 0]
    rs = [recall(*r) for r in rows if r[0] + r[2] > 0]
    p = statistics.mean(ps) if ps else 0.0
    r = statistics.mean(rs) if rs else 0.0
    return {"f1": 2 * p * r / (p + r) if p + r else 0.0, "precision": p, "recall": r}


def f1_counts(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """(F1, precision, recall) with the referee's conventions for empty denominators."""
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return (2 * p * r / (p + r) if p + r else 0.0), p, r


def gold_body(lines: pd.DataFrame) -> str:
    """Gold article body of one page: body lines in order, each repeated paragraph once."""
    by_n = {
        int(n): (role, text)
        for n, role, text in zip(lines["line_no"], lines["gold_role"], lines["text"], strict=True)
    }
    drop = set()
    for n, dup in zip(lines["line_no"], lines["gold_dup_of"], strict=True):
        if not pd.isna(dup) and int(dup) in by_n:
            (role_a, text_a), (role_b, text_b) = by_n[int(n)], by_n[int(dup)]
            if role_a == role_b == "body":
                drop.add(int(n) if len(text_a) <= len(text_b) else int(dup))
    return "\n\n".join(text for n, (role, text) in by_n.items() if role == "body" and n not in drop)


def score_gold(
    gold: pd.DataFrame, clusters: list[set[str]], paragraphs: pd.DataFrame, articles: pd.DataFrame
) -> dict:
    """score_gold.py's metrics of a run (paragraphs, articles) against gold lines and clusters.

    `gold` has the columns of pipeline.scoring.corpora.GOLD_COLUMNS. Pages missing from the run count as
    all-missed, as in the referee.
    """
    predicted = paragraphs.set_index(["doc_id", "line_no"])[["role", "dup_of", "topic", "p_on"]]
    predicted = predicted[~predicted.index.duplicated()]
    joined = gold.join(predicted, on=["doc_id", "line_no"])
    role = joined["role"].astype(object).where(joined["role"].notna(), None)
    bodies = dict(zip(articles["doc_id"].astype(str), articles["body"].fillna(""), strict=True))

    out: dict[str, float] = {"docs": int(gold["doc_id"].nunique()), "lines": len(gold)}
    pairs = [(gold_body(page), bodies.get(doc, "")) for doc, page in gold.groupby("doc_id", sort=True)]
    body = extraction_f1(pairs)
    out["body_f1"], out["body_p"], out["body_r"] = body["f1"], body["precision"], body["recall"]
    out["role_acc"] = float((role == joined["gold_role"]).sum() / len(gold)) if len(gold) else 0.0
    for name, key in (("teaser", "teaser_f1"), ("boilerplate", "boiler_f1")):
        g, p = (joined["gold_role"] == name).to_numpy(), (role == name).to_numpy()
        out[key] = f1_counts(int((g & p).sum()), int((p & ~g).sum()), int((g & ~p).sum()))[0]
    out["dup_p"], out["dup_r"] = _link_scores(joined)

    content = joined[joined["gold_topic"].notna()]
    y_true = (content["gold_topic"] == "on").to_numpy()
    y_pred = (content["topic"].astype(object) == "on").to_numpy()
    y_score = content["p_on"].astype(float).fillna(0.0).to_numpy()
    out["topic_f1"] = f1_counts(
        int((y_true & y_pred).sum()), int((y_pred & ~y_true).sum()), int((y_true & ~y_pred).sum())
    )[0]
    out["topic_auc"] = _auc(y_true, y_score)
    out["doc_p"], out["doc_r"] = _story_scores(clusters, articles, set(gold["doc_id"].astype(str)))
    return out


def role_confusion(gold: pd.DataFrame, paragraphs: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Lines by gold role (outer key) and predicted role (inner key; "missing" for a gold line
    the run has no row for), every role of `ROLES` present, zeros included."""
    predicted = paragraphs.drop_duplicates(["doc_id", "line_no"]).set_index(["doc_id", "line_no"])["role"]
    role = gold.join(predicted, on=["doc_id", "line_no"])["role"].astype(object).fillna("missing")
    table = pd.crosstab(gold["gold_role"].astype(object).to_numpy(), role.to_numpy())
    columns = [*ROLES, *(["missing"] if "missing" in table.columns else [])]
    table = table.reindex(index=list(ROLES), columns=columns, fill_value=0)
    return {g: {p: int(table.loc[g, p]) for p in columns} for g in ROLES}


def format_confusion(confusion: dict[str, dict[str, int]]) -> list[str]:
    """Printable lines of a role confusion matrix (rows: gold, columns: predicted)."""
    columns = list(next(iter(confusion.values())))
    width = max(len(c) for c in [*columns, *confusion]) + 1
    lines = ["gold \\ predicted".ljust(width + 2) + "".join(c[:width].rjust(width) for c in columns)]
    for gold, row in confusion.items():
        lines.append(gold.ljust(width + 2) + "".join(str(row[c]).rjust(width) for c in columns))
    return lines


def _link_scores(joined: pd.DataFrame) -> tuple[float, float]:
    hit = fp = fn = 0
    for _, page in joined.groupby("doc_id", sort=True):
        gold = {
            frozenset((int(n), int(d)))
            for n, d in zip(page["line_no"], page["gold_dup_of"], strict=True)
            if not pd.isna(d)
        }
        pred = {
            frozenset((int(n), int(d)))
            for n, d in zip(page["line_no"], page["dup_of"], strict=True)
            if not pd.isna(d)
        }
        gold = {e for e in gold if len(e) == 2}
        pred = {e for e in pred if len(e) == 2}
        found = _edges_connected(pred, gold)
        hit += found
        fp += len(pred) - found
        fn += len(gold) - _edges_connected(gold, pred)
    _, p, r = f1_counts(hit, fp, fn)
    return p, r


def _auc(y_true, y_score) -> float:
    if len(set(y_true.tolist())) < 2:
        return math.nan
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y_true, y_score))


def _story_scores(clusters: list[set[str]], articles: pd.DataFrame, docs: set[str]) -> tuple[float, float]:
    gold_pairs = {frozenset(p) for c in clusters for p in combinations(sorted(c), 2)}
    pred = set()
    if "dup_of_doc" in articles:
        for doc, other in zip(articles["doc_id"].astype(str), articles["dup_of_doc"], strict=True):
            if not pd.isna(other) and doc in docs and str(other) in docs:
                pred.add(frozenset((doc, str(other))))
    pred_pairs = {
        frozenset(p) for g in _components(q for q in pred if len(q) == 2) for p in combinations(sorted(g), 2)
    }
    _, p, r = f1_counts(
        len(gold_pairs & pred_pairs), len(pred_pairs - gold_pairs), len(gold_pairs - pred_pairs)
    )
    return p, r


def _edges_connected(edges: set[frozenset], graph: set[frozenset]) -> int:
    component = {}
    for i, group in enumerate(_components(graph)):
        for node in group:
            component[node] = i
    return sum(1 for e in edges if len({component.get(x, ("alone", x)) for x in e}) == 1)


def _components(pairs) -> list[set]:
    parent: dict = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in pairs:
        a, b = tuple(pair)
        parent[find(a)] = find(b)
    groups: dict = {}
    for x in parent:
        groups.setdefault(find(x), set()).add(x)
    return list(groups.values())


def topic_metrics(y_true, p_on, on=None, threshold: float | None = None) -> dict:
    """Precision, recall, F1 of "on", ROC-AUC and Brier score of p_on, and the confusion matrix.

    Parameters
    ----------
    y_true : array-like (n,), 0/1 or bool (1 = on)
    p_on : array-like (n,), predicted probability of on (NaN counts as 0, as in the referee)
    on : array-like (n,) of bool, optional
        The predicted labels (e.g. null topic for boilerplate counts as not on); default
        ``p_on >= threshold``.
    threshold : float, optional (default 0.5 when `on` is not given)

    Returns
    -------
    dict: n, n_on, precision, recall, f1, roc_auc (NaN with one class only), brier,
    confusion {tn, fp, fn, tp}, and threshold when given.
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y_true).astype(bool)
    p = np.nan_to_num(np.asarray(p_on, dtype=float), nan=0.0)
    pred = np.asarray(on, dtype=bool) if on is not None else p >= (0.5 if threshold is None else threshold)
    tp, fp = int((y & pred).sum()), int((~y & pred).sum())
    fn, tn = int((y & ~pred).sum()), int((~y & ~pred).sum())
    f1, precision, recall = f1_counts(tp, fp, fn)
    out = {
        "n": len(y),
        "n_on": int(y.sum()),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else math.nan,
        "brier": float(np.mean((p - y) ** 2)) if len(y) else math.nan,
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }
    if threshold is not None:
        out["threshold"] = float(threshold)
    return out
