"""The line-role model: title, body, caption, boilerplate, teaser or comment, from plain text.

Two gradient-boosted tree models over `pipeline.linefeatures` (cheap numeric features of a line,
its neighbours and its page), then a second pass that sees the first pass's probabilities of the
lines around it:

1. *body or not* (binary), trained on every labelled line: the line-gold corpora and the
   extraction corpus (zyte-dev, whose lines are only known as body or `linedata.NON_BODY`);
2. *which role* (multiclass), trained on the line-gold lines only; its non-body probabilities
   split the first model's "not body" mass: P(role) = (1 - P(body)) * Q(role | not body).
3. *context pass*: both models again, with the first pass's role probabilities of the lines
   around (1 and 2 lines before and after, the mean over windows of 5 and 15 lines, and the page's
   share of body) as extra features, so a role can lean on its neighbours' (a teaser block after
   a marker is contiguous; the article body is mostly one run). The first-pass probabilities
   used to train it are out-of-fold (grouped by page), as at run time.

Out-of-fold (5 grouped folds over sea-dev + seeds + zyte-dev together; body = body lines, exact
repeats dropped), shipped configuration: zyte-dev body F1 0.918 (P 0.912, R 0.924); sea-dev body
F1 0.954, role accuracy 0.854, teaser F1 0.569, boilerplate F1 0.849 (the model card has the
numbers of the shipped model's own run). Where the last list header sits (top-of-page navigation
or after the prose) and the prose lines since it: +0.012 sea-dev body F1, +0.007 zyte-dev.
The context pass is worth +0.017 on zyte-dev (0.889 without) and +0.06 body F1 on the seeds;
counting two CJK characters as a word (and 。 as a sentence end) +0.017 on zyte-dev
(Japanese pages had no "prose").

Measured and not kept: weighting lines by page length (n_page_lines ** -0.5 or -1: zyte-dev -0.01
to +0.003, sea-dev -0.01); up-weighting line-gold pages x3 against zyte-dev (sea-dev -0.007);
HistGradientBoosting settings (role models at 80 instead of 200 iterations: same scores, half the
prediction time, kept; leaves 7..31, min leaf 10..30, l2 1..5, 100..400 iterations:
all within +-0.01, i.e. noise on 103 + 61 pages). Not tried for lack of time: cross-page
repetition in a chunk (in sea-dev, same-story mirrors share body lines, so it needs care), TF-IDF
of the line, an explicit Viterbi pass (the context pass does the smoothing).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold
from threadpoolctl import threadpool_limits

from .linedata import NON_BODY, labelled_lines
from .linefeatures import FEATURES, line_features, page_bounds

ROLES = ("title", "body", "caption", "boilerplate", "teaser", "comment")
"""Roles the model predicts, in probability-column order."""

CONTEXT_OFFSETS = (-2, -1, 1, 2)
CONTEXT_WINDOWS = (2, 7)
SEED = 0


def _hgb(params: dict[str, Any]) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(random_state=SEED, early_stopping=False, **params)


class LineRoleClassifier(ClassifierMixin, BaseEstimator):
    """Role of every line of a chunk of pages.

    Parameters
    ----------
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization :
        HistGradientBoosting parameters shared by the stage models.
    context : bool
        Add the second, context pass.
    inner_folds : int
        Grouped folds for the out-of-fold first-pass probabilities the context pass trains on.
    page_weight : float
        Each line weighs n_page_lines ** -page_weight: at 1 every page counts the same (the
        referees average over pages), at 0 every line; a whole-page dump has 20x the lines of a
        page top.
    role_iter : int
        Boosting iterations of the role models (one tree per role per iteration; they learn from
        the few hundred non-body gold lines and cost most of the prediction time).
    n_threads : int or None
        OpenMP threads of the tree models (None: all cores). One by default: the pipeline runs
        one process per core (--jobs), and on a busy machine OpenMP threads spin against each
        other (a 10x slow-down measured on 2 shared cores).
    gold_weight : float
        Weight of the lines of pages with full line gold (no NON_BODY line) against pages only
        known as body / not body: the latter are whole-page dumps with many more lines.
    """

    def __init__(
        self,
        max_iter: int = 200,
        learning_rate: float = 0.08,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 10,
        l2_regularization: float = 1.0,
        context: bool = True,
        inner_folds: int = 4,
        page_weight: float = 0.0,
        gold_weight: float = 1.0,
        role_iter: int = 80,
        n_threads: int | None = 1,
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.context = context
        self.inner_folds = inner_folds
        self.page_weight = page_weight
        self.gold_weight = gold_weight
        self.role_iter = role_iter
        self.n_threads = n_threads

    # --- fitting -----------------------------------------------------------------------------

    def _params(self) -> dict[str, Any]:
        return {
            "max_iter": self.max_iter,
            "learning_rate": self.learning_rate,
            "max_leaf_nodes": self.max_leaf_nodes,
            "min_samples_leaf": self.min_samples_leaf,
            "l2_regularization": self.l2_regularization,
        }

    def _fit_pass(self, X: np.ndarray, roles: np.ndarray, weight: np.ndarray) -> tuple[Any, Any]:
        is_body = roles == "body"
        body_model = _hgb(self._params()).fit(X, is_body, sample_weight=weight)
        known = (roles != NON_BODY) & ~is_body
        params = {**self._params(), "max_iter": self.role_iter}
        role_model = _hgb(params).fit(X[known], roles[known], sample_weight=weight[known])
        return body_model, role_model

    def fit(self, lines: pd.DataFrame, roles, sample_weight=None) -> LineRoleClassifier:
        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            return self._fit(lines, roles, sample_weight)

    def _fit(self, lines: pd.DataFrame, roles, sample_weight=None) -> LineRoleClassifier:
        """Fit on `lines` (columns of segment.LINE_COLUMNS; a chunk, or several sources' pages
        concatenated) and their roles, shape (n_lines,): ROLES, or linedata.NON_BODY for a line
        only known to be outside the article body."""
        roles = np.asarray(roles, dtype=object).astype(str)
        unknown = set(roles) - set(ROLES) - {NON_BODY}
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}")
        X = self._features(lines)
        weight = lines["n_page_lines"].to_numpy(dtype=np.float64) ** -self.page_weight
        page_keys = lines["doc_id"].astype(str).to_numpy()
        partial = pd.Series(roles == NON_BODY).groupby(page_keys).transform("any").to_numpy()
        weight = np.where(partial, weight, weight * self.gold_weight)
        if sample_weight is not None:
            weight = weight * np.asarray(sample_weight, dtype=np.float64)
        weight = weight * (len(weight) / weight.sum())
        self.classes_ = np.array(ROLES, dtype=object)
        self.feature_names_ = list(FEATURES)
        self.first_ = self._fit_pass(X, roles, weight)
        if self.context:
            groups = self._page_keys(lines)
            proba = np.zeros((len(lines), len(ROLES)))
            n_splits = min(self.inner_folds, len(np.unique(groups)))
            for train, test in GroupKFold(n_splits=n_splits).split(X, groups=groups):
                proba[test] = self._combine(self._fit_pass(X[train], roles[train], weight[train]), X[test])
            self.second_ = self._fit_pass(
                self._with_context(X, proba, lines.reset_index(drop=True)), roles, weight
            )
        return self

    @staticmethod
    def _page_keys(lines: pd.DataFrame) -> np.ndarray:
        """One key per page: `group` when given (same-story pages together), else the doc_id."""
        column = "group" if "group" in lines.columns else "doc_id"
        return lines[column].astype(str).to_numpy()

    # --- prediction --------------------------------------------------------------------------

    @staticmethod
    def _features(lines: pd.DataFrame) -> np.ndarray:
        ordered = lines.reset_index(drop=True)
        return line_features(ordered).to_numpy(dtype=np.float32)

    def _combine(self, models: tuple[Any, Any], X: np.ndarray) -> np.ndarray:
        body_model, role_model = models
        p_body = body_model.predict_proba(X)[:, list(body_model.classes_).index(True)]
        q = np.zeros((len(X), len(ROLES)))
        q_known = role_model.predict_proba(X)
        for j, role in enumerate(role_model.classes_):
            q[:, ROLES.index(role)] = q_known[:, j]
        proba = q * (1.0 - p_body)[:, None]
        proba[:, ROLES.index("body")] = p_body
        return proba

    @staticmethod
    def _with_context(X: np.ndarray, proba: np.ndarray, lines: pd.DataFrame) -> np.ndarray:
        n = len(lines)
        index = np.arange(n)
        starts, ends, page_of = page_bounds(lines)
        lo_page, hi_page = starts[page_of], ends[page_of]
        extra = []
        for offset in CONTEXT_OFFSETS:
            source = index + offset
            inside = (source >= lo_page) & (source < hi_page)
            values = proba[np.clip(source, 0, max(n - 1, 0))]
            extra.append(np.where(inside[:, None], values, -1.0))
        cum = np.vstack([np.zeros((1, proba.shape[1])), np.cumsum(proba, axis=0)])
        for half in CONTEXT_WINDOWS:
            lo = np.maximum(index - half, lo_page)
            hi = np.minimum(index + half + 1, hi_page)
            extra.append((cum[hi] - cum[lo]) / (hi - lo)[:, None])
        body = proba[:, ROLES.index("body")]
        body_cum = np.concatenate([[0.0], np.cumsum(body)])
        page_body = (body_cum[ends] - body_cum[starts]) / np.maximum(ends - starts, 1)
        before = (body_cum[index] - body_cum[lo_page]) / np.maximum(
            body_cum[hi_page] - body_cum[lo_page], 1e-6
        )
        extra.append(np.column_stack([page_body[page_of], before]))
        return np.hstack([X, *extra]).astype(np.float32)

    def predict_proba(self, lines: pd.DataFrame) -> np.ndarray:
        with threadpool_limits(limits=getattr(self, "n_threads", 1), user_api="openmp"):
            return self._predict_proba(lines)

    def _predict_proba(self, lines: pd.DataFrame) -> np.ndarray:
        """Role probabilities, shape (n_lines, len(ROLES)), columns in the order of `classes_`.

        `lines` holds whole pages (page by page, in pos order), as segment.segment returns them.
        """
        if self.feature_names_ != list(FEATURES):
            raise ValueError("line model was trained with other features than this code computes: retrain it")
        X = self._features(lines)
        proba = self._combine(self.first_, X)
        if self.context:
            proba = self._combine(self.second_, self._with_context(X, proba, lines.reset_index(drop=True)))
        return proba

    def predict(self, lines: pd.DataFrame) -> np.ndarray:
        """Most likely role per line, shape (n_lines,), values of ROLES."""
        if not len(lines):
            return np.array([], dtype=object)
        return self.classes_[np.argmax(self.predict_proba(lines), axis=1)]


# --- out-of-fold measurement --------------------------------------------------------------


def kept_body(lines: pd.DataFrame, roles: np.ndarray) -> dict[str, str]:
    """articles.body of each page from predicted roles: body lines, exact repeats dropped.

    (The pipeline's dedup stage also drops near-repeats; exact ones are what matters here.)
    """
    frame = pd.DataFrame(
        {
            "doc_id": lines["doc_id"].astype(str).to_numpy(),
            "text": lines["text"].astype(str).to_numpy(),
            "body": np.asarray(roles) == "body",
        }
    )
    frame["norm"] = frame["text"].str.lower().str.split().str.join(" ")
    frame = frame[frame["body"] & ~frame.duplicated(["doc_id", "norm"])]
    return {doc: "\n\n".join(group["text"]) for doc, group in frame.groupby("doc_id", sort=False)}


def score_roles(sources: list[Path], lines: pd.DataFrame, roles: np.ndarray) -> dict[str, dict[str, float]]:
    """The referees' line-role metrics of predicted `roles` per source folder.

    Gold folders: body F1 / P / R (score_gold's gold body), role accuracy, teaser and boilerplate
    F1. Extraction folders: the benchmark's body F1 / P / R.
    """
    import json

    from .gold import load_gold_lines
    from .metrics import extraction_f1, f1_counts, gold_body

    roles = np.asarray(roles, dtype=object)
    folder_of = lines["group"].astype(str).str.split("/").str[0].to_numpy()
    scores: dict[str, dict[str, float]] = {}
    for source in map(Path, sources):
        mask = folder_of == source.name
        part, predicted = lines[mask], roles[mask]
        bodies = kept_body(part, predicted)
        if (source / "ground-truth.json").exists():
            truth = json.loads((source / "ground-truth.json").read_text(encoding="utf-8"))
            result = extraction_f1([(v["articleBody"], bodies.get(k, "")) for k, v in truth.items()])
            scores[source.name] = {
                "body_f1": result["f1"],
                "body_p": result["precision"],
                "body_r": result["recall"],
            }
            continue
        gold = load_gold_lines(source)
        pairs = [(gold_body(page), bodies.get(doc, "")) for doc, page in gold.groupby("doc_id", sort=True)]
        result = extraction_f1(pairs)
        truth_roles = part["gold_role"].astype(str).to_numpy()
        out = {"body_f1": result["f1"], "body_p": result["precision"], "body_r": result["recall"]}
        out["role_acc"] = float(np.mean(truth_roles == predicted)) if len(part) else 0.0
        for name in ("teaser", "boilerplate"):
            g, p = truth_roles == name, predicted == name
            out[f"{name}_f1"] = f1_counts(int((g & p).sum()), int((p & ~g).sum()), int((g & ~p).sum()))[0]
        out["exact_pages"] = float(
            pd.Series(truth_roles == predicted).groupby(part["doc_id"].astype(str).to_numpy()).all().mean()
        )
        scores[source.name] = out
    return scores


def out_of_fold_roles(lines: pd.DataFrame, n_folds: int = 5, **params: Any) -> np.ndarray:
    """Roles of every line predicted by a model trained without its group (page / same-story
    cluster), shape (n_lines,). `lines` as labelled_lines returns them."""
    roles = lines["gold_role"].astype(str).to_numpy()
    groups = lines["group"].astype(str).to_numpy()
    predicted = np.empty(len(lines), dtype=object)
    for train, test in GroupKFold(n_splits=n_folds).split(lines, groups=groups):
        model = LineRoleClassifier(**params).fit(lines.iloc[train], roles[train])
        predicted[test] = model.predict(lines.iloc[test])
    return predicted


def cross_validated_scores(
    sources: list[Path], n_folds: int = 5, **params: Any
) -> dict[str, dict[str, float]]:
    """Out-of-fold `score_roles` of a LineRoleClassifier(**params) on `sources`."""
    lines = labelled_lines(sources)
    return score_roles(sources, lines, out_of_fold_roles(lines, n_folds, **params))


# --- training the shipped model ------------------------------------------------------------


def data_sha256(lines: pd.DataFrame) -> str:
    """Hash of the training data: every line's doc_id, line_no, text and gold role."""
    digest = hashlib.sha256()
    for row in zip(lines["doc_id"], lines["line_no"], lines["text"], lines["gold_role"], strict=True):
        digest.update(("\x1f".join(map(str, row)) + "\x1e").encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def train_line_model(sources: list[Path], out: Path, cv_folds: int = 5) -> dict[str, Any]:
    """Fit the line model on every page of `sources`, measure it out-of-fold, save it to `out`.

    Returns the model card written beside it (pipeline.modelstore.save_model).
    """
    from .modelstore import save_model

    started = time.perf_counter()
    sources = [Path(s) for s in sources]
    data = labelled_lines(sources)
    metrics = score_roles(sources, data, out_of_fold_roles(data, cv_folds)) if cv_folds else {}
    model = LineRoleClassifier().fit(data, data["gold_role"].to_numpy())
    card = {
        "kind": "lines",
        "estimator": repr(model),
        "roles": list(ROLES),
        "features": list(FEATURES),
        "training_data": {
            "sources": [s.name for s in sources],
            "sha256": data_sha256(data),
            "lines": len(data),
            "pages": int(data["doc_id"].nunique()),
            "roles": {k: int(v) for k, v in data["gold_role"].value_counts().sort_index().items()},
        },
        "cv": {"folds": cv_folds, "grouping": "page; same-story clusters together", "metrics": metrics},
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    return save_model(model, out, card)
