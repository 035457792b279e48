"""The line-role model: title, body, caption, boilerplate, teaser or comment, from plain text.

Models over `pipeline.learn.linefeatures` (cheap numeric features of a line, its neighbours and its
page) in two passes, the second seeing the first pass's probabilities of the lines around it:

1. *body or not* (binary), trained on every labelled line: the line-gold corpora and the
   extraction corpus (zyte-dev, whose lines are only known as body or `NON_BODY`);
2. *which role* (multiclass), trained on the line-gold lines only; its non-body probabilities
   split the body model's "not body" mass: P(role) = (1 - P(body)) * Q(role | not body).
3. First pass: a small gradient-boosted body model (40 trees) and a linear role model; second
   (context) pass: a boosted body model (80 trees) and role model (20 iterations) with the first
   pass's role probabilities of the lines around (1 and 2 lines before and after, the mean over
   windows of 5 and 15 lines, and the page's share of body) as extra features, so a role can
   lean on its neighbours' (a teaser block after a marker is contiguous; the article body is
   mostly one run). The first-pass probabilities used to train it are out-of-fold (grouped by
   page), as at run time.
4. Page type (`pipeline.learn.pagetype`): between the passes, a logistic regression over each page's
   aggregated first-pass probabilities and structure (longest body run, coherence, dates,
   headline/summary rhythm) gives P(listing): a page with no main article. The second pass sees
   it as a feature of every line (trained on out-of-fold P(listing)), and a page with P(listing)
   above `listing_threshold` keeps no title, body or caption: they become teasers. Lines also
   carry coherence features (`pipeline.learn.coherence`: cosine of their content words with their
   neighbours, the page's first line and the page's other prose), since a teaser is about
   another story.

What each choice measured, and the many variants measured and not kept: docs/line-model.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from pipeline.arrays import SideBySide
from pipeline.learn.binnedtrees import BinnedTrees
from pipeline.learn.linefeatures import FEATURES, line_features, page_bounds
from pipeline.learn.pagetype import listing_labels, page_features
from pipeline.learn.viterbi import viterbi
from pipeline.schema import ROLES

NON_BODY = "non-body"
"""Label of a training line known only to lie outside the article body (an extraction corpus
says *that*, not *what* it is): it trains the body model, not the split of the other roles."""

CONTEXT_OFFSETS = (-2, -1, 1, 2)
CONTEXT_WINDOWS = (2, 7)
SEED = 0


class LinearScorer(ClassifierMixin, BaseEstimator):
    """Standardised logistic regression whose prediction is one float32 matrix product.

    sklearn's pipeline converts to float64 and standardises in a separate pass; here the scaling
    is folded into the weights at fit time.

    Parameters
    ----------
    C : float
        Inverse L2 strength of the logistic regression.
    """

    def __init__(self, C: float = 1.0) -> None:
        self.C = C

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> LinearScorer:
        scaler = StandardScaler().fit(X, sample_weight=sample_weight)
        model = LogisticRegression(C=self.C, max_iter=3000).fit(
            scaler.transform(X), y, sample_weight=sample_weight
        )
        self.classes_ = model.classes_
        scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
        self.coef_ = (model.coef_ / scale).T.astype(np.float32)  # (n_features, n_outputs)
        self.intercept_ = (model.intercept_ - (model.coef_ / scale) @ scaler.mean_).astype(np.float32)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n_rows, n_classes)."""
        z = np.asarray(X, dtype=np.float32) @ self.coef_ + self.intercept_
        if len(self.classes_) == 2:
            p = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.column_stack([1.0 - p, p])
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


BLOCK_ROWS = 4096
"""Rows per tree-model prediction call: each tree walks every row, and a block of rows that stays
in the CPU cache makes prediction 2-3x faster than one pass over a chunk's 150 MB matrix."""


def walker(model: Any) -> Any:
    """What predicts `model`: its `BinnedTrees` if it is a gradient boosting model they take (the
    same numbers, its trees walked 2-5x faster on binned rows), else the model itself."""
    return BinnedTrees(model) if BinnedTrees.supports(model) else model


def _blocked_proba(predictor: Any, X: np.ndarray | SideBySide) -> np.ndarray:
    """predictor.predict_proba(X) in blocks of BLOCK_ROWS rows, shape (n_rows, n_classes)."""
    if len(X) <= BLOCK_ROWS:
        return predictor.predict_proba(X)
    return np.vstack([predictor.predict_proba(X[i : i + BLOCK_ROWS]) for i in range(0, len(X), BLOCK_ROWS)])


def _rows_of(X: np.ndarray | SideBySide, rows: np.ndarray) -> np.ndarray | SideBySide:
    """X[rows] for sorted distinct `rows`; X itself when they are all of its rows (no copy of a
    chunk's whole matrix)."""
    return X if len(rows) == len(X) else X[rows]


def _transitions(
    lines: pd.DataFrame, roles: np.ndarray, partial: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Log start and transition probabilities of the roles, shapes (k,) and (k, k), counted on
    the pages with full line gold (add-one smoothed)."""
    k = len(ROLES)
    full = ~partial
    code = np.full(len(roles), -1)
    for j, role in enumerate(ROLES):
        code[roles == role] = j
    first = (lines["pos"].to_numpy() == 0) & full
    start = np.bincount(code[first], minlength=k) + 1.0
    same_page = np.zeros(len(roles), dtype=bool)
    doc = lines["doc_id"].astype(str).to_numpy()
    same_page[1:] = (doc[1:] == doc[:-1]) & full[1:] & full[:-1]
    pairs = code[:-1][same_page[1:]] * k + code[1:][same_page[1:]]
    trans = np.bincount(pairs, minlength=k * k).reshape(k, k) + 1.0
    return np.log(start / start.sum()), np.log(trans / trans.sum(axis=1, keepdims=True))


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
    first_iter : int
        Boosting iterations of the first pass's models when there is a context pass (0: a
        linear model, a matrix product at prediction).
    smooth : float
        Weight of the role transitions in the Viterbi pass over each page's lines (0: none, each
        line takes its most probable role). The transitions are counted on the pages with full
        line gold.
    cascade : float
        With a context pass, lines the first pass calls body or not with P(body) outside
        cascade..1 - cascade keep it: the second body model runs on the unsure lines only.
    page_type : bool
        With a context pass, decide each page's type (listing or article, pipeline.learn.pagetype)
        from its first-pass probabilities: P(listing) is a feature of the second pass.
    listing_threshold : float
        Pages with P(listing) above it get no article: their title, body and caption
        probability goes to teaser (1.0: never).
    page_C : float
        Inverse L2 strength of the page-type logistic regression.
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
        max_iter: int = 80,
        learning_rate: float = 0.15,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 10,
        l2_regularization: float = 1.0,
        context: bool = True,
        inner_folds: int = 4,
        page_weight: float = 0.0,
        gold_weight: float = 1.0,
        role_iter: int = 20,
        first_iter: int = 40,
        smooth: float = 0.0,
        cascade: float = 0.03,
        page_type: bool = True,
        listing_threshold: float = 0.5,
        page_C: float = 1.0,
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
        self.first_iter = first_iter
        self.smooth = smooth
        self.cascade = cascade
        self.page_type = page_type
        self.listing_threshold = listing_threshold
        self.page_C = page_C
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

    def _fit_pass(
        self, X: np.ndarray, roles: np.ndarray, weight: np.ndarray, body_iter: int, role_iter: int
    ) -> tuple[Any, Any]:
        """The body model and the role model of one pass; 0 iterations: a linear model."""
        is_body = roles == "body"
        known = (roles != NON_BODY) & ~is_body
        models = []
        for target, rows, n_iter in ((is_body, slice(None), body_iter), (roles, known, role_iter)):
            model = _hgb({**self._params(), "max_iter": n_iter}) if n_iter else LinearScorer()
            models.append(model.fit(X[rows], target[rows], sample_weight=weight[rows]))
        return models[0], models[1]

    def fit(self, lines: pd.DataFrame, roles, sample_weight=None) -> LineRoleClassifier:
        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            return self._fit(lines, roles, sample_weight)

    def _fit(self, lines: pd.DataFrame, roles, sample_weight=None) -> LineRoleClassifier:
        """Fit on `lines` (columns of segment.LINE_COLUMNS; a chunk, or several sources' pages
        concatenated) and their roles, shape (n_lines,): ROLES, or NON_BODY for a line
        only known to be outside the article body."""
        self.__dict__.pop("_walkers", None)  # the walkers of the models this fit replaces
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
        self.log_start_, self.log_trans_ = _transitions(lines, roles, partial)
        # the first pass of a context model: a small body model, linear roles (cheap; the second
        # pass sees their probabilities around each line)
        first = (self.first_iter, 0) if self.context else (self.max_iter, self.role_iter)
        self.first_ = self._fit_pass(X, roles, weight, *first)
        if self.context:
            groups = self._page_keys(lines)
            proba = np.zeros((len(lines), len(ROLES)))
            n_splits = min(self.inner_folds, len(np.unique(groups)))
            for train, test in GroupKFold(n_splits=n_splits).split(X, groups=groups):
                inner = self._fit_pass(X[train], roles[train], weight[train], *first)
                proba[test] = self._combine(inner, X[test])
            ordered = lines.reset_index(drop=True)
            p_listing = self._fit_page_type(X, proba, ordered, roles, partial, groups, n_splits)
            self.second_ = self._fit_pass(
                self._with_context(X, proba, ordered, p_listing),
                roles,
                weight,
                self.max_iter,
                self.role_iter,
            )
        return self

    def _page_rows(self, X: np.ndarray, proba: np.ndarray, lines: pd.DataFrame):
        """(page features, shape (n_pages, len(PAGE_FEATURES)), page bounds) of a chunk."""
        starts, ends, page_of = page_bounds(lines)
        columns = {name: X[:, j] for j, name in enumerate(FEATURES)}
        return page_features(columns, proba, ROLES, starts, ends, page_of), (starts, ends, page_of)

    def _fit_page_type(
        self,
        X: np.ndarray,
        proba: np.ndarray,
        lines: pd.DataFrame,
        roles: np.ndarray,
        partial: np.ndarray,
        groups: np.ndarray,
        n_splits: int,
    ) -> np.ndarray:
        """Fit `page_` (None when off or when the data has one page type) and return each
        line's out-of-fold P(listing) for the second pass to train on, shape (n_lines,)."""
        self.page_ = None
        page_X, (starts, _, page_of) = self._page_rows(X, proba, lines)
        listing = listing_labels(roles, partial, starts, page_of)
        if not self.page_type or len(np.unique(listing)) < 2:
            return np.zeros(len(lines))
        self.page_ = LinearScorer(C=self.page_C).fit(page_X, listing)
        p_page = np.zeros(len(starts))
        for train, test in GroupKFold(n_splits=n_splits).split(page_X, groups=groups[starts]):
            if len(np.unique(listing[train])) < 2:
                p_page[test] = listing[train].mean()
                continue
            p_page[test] = (
                LinearScorer(C=self.page_C)
                .fit(page_X[train], listing[train])
                .predict_proba(page_X[test])[:, 1]
            )
        return p_page[page_of]

    def _p_listing(self, X: np.ndarray, proba: np.ndarray, lines: pd.DataFrame) -> np.ndarray:
        """P(listing) of each line's page, shape (n_lines,) (zeros without a page model)."""
        if getattr(self, "page_", None) is None:
            return np.zeros(len(lines))
        page_X, (_, _, page_of) = self._page_rows(X, proba, lines)
        return self.page_.predict_proba(page_X)[:, 1][page_of]

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

    def _combine(
        self,
        models: tuple[Any, Any],
        X: np.ndarray | SideBySide,
        skip_body: bool = False,
        first_body: np.ndarray | None = None,
    ) -> np.ndarray:
        """P(role) = P(body) for body, (1 - P(body)) * Q(role | not body) for the others.

        With `skip_body`, Q is only computed where P(body) < 0.5 (elsewhere body is the argmax
        whatever Q says; those rows get Q = 0): the role model costs most of the prediction.
        With the first pass's P(body) `first_body` and a `cascade` margin, the body model only
        runs where the first pass was unsure (P within cascade..1 - cascade).
        """
        body_model, role_model = models
        margin = getattr(self, "cascade", 0.0)
        if first_body is None or not margin:
            unsure = np.arange(len(X))
            p_body = np.zeros(len(X))
        else:
            unsure = np.flatnonzero((first_body > margin) & (first_body < 1.0 - margin))
            p_body = first_body.astype(np.float64, copy=True)
        if len(unsure):
            p_body[unsure] = _blocked_proba(self._walker(body_model), _rows_of(X, unsure))[
                :, list(body_model.classes_).index(True)
            ]
        q = np.zeros((len(X), len(ROLES)))
        rows = np.flatnonzero(p_body < 0.5) if skip_body else np.arange(len(X))
        if len(rows):
            q_known = _blocked_proba(self._walker(role_model), _rows_of(X, rows))
            for j, role in enumerate(role_model.classes_):
                q[rows, ROLES.index(role)] = q_known[:, j]
        proba = q * (1.0 - p_body)[:, None]
        proba[:, ROLES.index("body")] = p_body
        return proba

    def _walker(self, model: Any) -> Any:
        """`walker(model)`; for this classifier's own fitted models built once and kept while it
        lives (a run predicts chunk after chunk with them, and building one takes 2-4 ms), not
        pickled with it. The inner folds' models of `fit` are used once and not kept."""
        own = [*getattr(self, "first_", ()), *getattr(self, "second_", ())]
        if not any(model is m for m in own):
            return walker(model)
        walkers = self.__dict__.setdefault("_walkers", {})
        if id(model) not in walkers:  # kept with its model, whose id no other object can take
            walkers[id(model)] = (model, walker(model))
        return walkers[id(model)][1]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # scikit-learn may return the live __dict__ itself
        state.pop("_walkers", None)
        return state

    @classmethod
    def _with_context(
        cls, X: np.ndarray, proba: np.ndarray, lines: pd.DataFrame, p_listing: np.ndarray
    ) -> np.ndarray:
        """X with its `_context` columns after it, float32, shape (n_lines, n_features +
        k * (len(CONTEXT_OFFSETS) + len(CONTEXT_WINDOWS)) + 3): the second pass's features."""
        return np.hstack([X, cls._context(proba, lines, p_listing)])

    @staticmethod
    def _context(proba: np.ndarray, lines: pd.DataFrame, p_listing: np.ndarray) -> np.ndarray:
        """The context features of the first pass's probabilities (shape (n_lines, k)) and the
        page's P(listing), float32, shape (n_lines, k * (len(CONTEXT_OFFSETS) +
        len(CONTEXT_WINDOWS)) + 3)."""
        n, k = proba.shape
        index = np.arange(n)
        starts, ends, page_of = page_bounds(lines)
        lo_page, hi_page = starts[page_of], ends[page_of]
        out = np.empty((n, k * (len(CONTEXT_OFFSETS) + len(CONTEXT_WINDOWS)) + 3), dtype=np.float32)
        column = 0
        proba32 = proba.astype(np.float32)
        for offset in CONTEXT_OFFSETS:
            source = index + offset
            outside = (source < lo_page) | (source >= hi_page)
            block = out[:, column : column + k]
            block[:] = proba32[np.clip(source, 0, max(n - 1, 0))]
            block[outside] = -1.0
            column += k
        cum = np.zeros((n + 1, k))
        np.cumsum(proba, axis=0, out=cum[1:])
        for half in CONTEXT_WINDOWS:
            lo = np.maximum(index - half, lo_page)
            hi = np.minimum(index + half + 1, hi_page)
            out[:, column : column + k] = (cum[hi] - cum[lo]) / (hi - lo)[:, None]
            column += k
        body_cum = cum[:, ROLES.index("body")]
        page_body = (body_cum[ends] - body_cum[starts]) / np.maximum(ends - starts, 1)
        out[:, column] = page_body[page_of]
        out[:, column + 1] = (body_cum[index] - body_cum[lo_page]) / np.maximum(
            body_cum[hi_page] - body_cum[lo_page], 1e-6
        )
        out[:, column + 2] = p_listing
        return out

    def predict_proba(self, lines: pd.DataFrame) -> np.ndarray:
        with threadpool_limits(limits=getattr(self, "n_threads", 1), user_api="openmp"):
            return self._predict_proba(lines)

    def _predict_proba(self, lines: pd.DataFrame, skip_body: bool = False) -> np.ndarray:
        """Role probabilities, shape (n_lines, len(ROLES)), columns in the order of `classes_`.

        `lines` holds whole pages (page by page, in pos order), as segment.segment returns them.
        """
        if self.feature_names_ != list(FEATURES):
            raise ValueError("line model was trained with other features than this code computes: retrain it")
        X = self._features(lines)
        if not self.context:
            return self._combine(self.first_, X, skip_body)
        proba = self._combine(self.first_, X)
        ordered = lines.reset_index(drop=True)
        p_listing = self._p_listing(X, proba, ordered)
        # the trees read their columns from both matrices: the joined one is never built
        X = SideBySide(X, self._context(proba, ordered, p_listing))
        proba = self._combine(self.second_, X, skip_body, proba[:, ROLES.index("body")])
        return no_article(proba, p_listing > self.listing_threshold)

    def predict(self, lines: pd.DataFrame) -> np.ndarray:
        """Most likely role per line, shape (n_lines,), values of ROLES."""
        if not len(lines):
            return np.array([], dtype=object)
        with threadpool_limits(limits=getattr(self, "n_threads", 1), user_api="openmp"):
            proba = self._predict_proba(lines, skip_body=True)
        if not self.smooth:
            return self.classes_[np.argmax(proba, axis=1)]
        starts, ends, _ = page_bounds(lines.reset_index(drop=True))
        log_emit = np.log(proba + 1e-9)
        states = viterbi(log_emit, starts, ends, self.smooth * self.log_trans_, self.smooth * self.log_start_)
        return self.classes_[states]


def no_article(proba: np.ndarray, listing: np.ndarray) -> np.ndarray:
    """`proba` with the title, body and caption probability of the lines of `listing` (bool,
    shape (n_lines,)) moved to teaser: on a page with no main article every headline, summary and
    item caption is a teaser."""
    if not listing.any():
        return proba
    proba = proba.copy()
    article = [ROLES.index(role) for role in ("title", "body", "caption")]
    proba[listing, ROLES.index("teaser")] += proba[listing][:, article].sum(axis=1)
    proba[np.ix_(listing, article)] = 0.0
    return proba
