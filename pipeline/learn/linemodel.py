"""The line-role model: title, body, caption, boilerplate, teaser or comment, from plain text.

Models over `pipeline.learn.linefeatures` (cheap numeric features of a line, its neighbours and its
page) in two passes, the second seeing the first pass's probabilities of the lines around it:

1. *body or not* (binary), trained on every labelled line: the line-gold corpora and the
   extraction corpus (zyte-dev, whose lines are only known as body or `linedata.NON_BODY`);
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

Speed (issue 6; the roles stage, zyte-dev pages replicated to 3,600, one core, CPU time): 1.25
ms per page, from 19 ms with four full-size boosted models. Where it went: trees are evaluated in
blocks of 4,096 rows (each tree walks every row, and a chunk's float64 matrix is 150 MB: blocks
that stay in cache are 2-3x faster); the second body model only runs where the first pass is
unsure (P(body) in 0.03..0.97, `cascade`; the same out-of-fold scores); the role model only where
body is not the answer anyway (P(body) < 0.5, in `predict`); fewer trees. Features: per distinct
text (pd.factorize), character classes from a per-code-point table instead of a regex pass per
class, pyarrow's RE2 called directly (pandas hands patterns with whitespace, word or boundary classes on
non-ASCII text to Python's re, line by line).

Out-of-fold (5 grouped folds over sea-dev + seeds + zyte-dev + data/labels/sea-extra together;
body = body lines, exact repeats dropped), shipped configuration (the model card has the numbers
of the shipped model's own run): sea-dev body F1 0.916 (P 0.932, R 0.900), role accuracy 0.829,
teaser F1 0.533; sea-extra (teaser-rich, half listing pages) body F1 0.818 (P 0.757), teaser F1
0.858, role accuracy 0.832; zyte-dev 0.912. The same folds without the page type or coherence
(the configuration before them, trained on the same data): sea-dev 0.890, sea-extra 0.761 (P
0.643), teaser F1 0.822, zyte-dev 0.893. The configuration before them trained without sea-extra
scores sea-dev 0.933 but, on sea-extra's pages it never saw, body F1 0.621 (P 0.455), teaser F1
0.552: sea-extra's listing summaries teach that a one-event summary is a teaser, which costs
sea-dev some recall (whole short articles with no headline called listings: 0.953 -> 0.900).

Measured for the page type and not kept (sea-dev / sea-extra / zyte-dev body F1 on the
GroupKFold split, against 0.916 / 0.818 / 0.912):
- P(listing) only as the override, not as a second-pass feature: 0.913 / 0.815 / 0.904;
- listing threshold 0.3 / 0.4 / 0.6 / 0.7 / none: 0.909 / 0.915 / 0.916 / 0.918 / 0.918 on sea-dev,
  0.800 / 0.818 / 0.795 / 0.785 / 0.774 on sea-extra (a second split agrees: 0.4..0.5);
- the page classifier as C 0.1 or 10 or a small boosted model: as many or more pages wrong;
- a stacked linear-chain CRF (python-crfsuite, c2 0.1 and 1) over the second pass's out-of-fold
  probabilities and P(listing), trained on the line-gold pages: 0.904 / 0.73 / 0.81 (the context
  pass already carries the sequence; the CRF cannot use zyte-dev's partial labels);
- a core-span rule (body lines outside the page's longest body run, gaps of 1..5 lines bridged,
  become teasers): 0.912..0.915 / 0.810..0.816 / 0.889..0.898;
- line coherence features alone on the old data: sea-dev 0.916 vs 0.933, zyte-dev 0.907 vs 0.892;
  with sea-extra they pay (no line coherence: 0.915 / 0.797 / 0.898);
- page signals that separate listing from article pages too little to try (page means, listing
  vs article): sentences per prose line 1.51 vs 1.54, prose lines opening with a back-reference
  ("He", "The", "However"...) 0.29 vs 0.39, lines with a quote 0.14 vs 0.22, capitalised-name
  overlap of consecutive prose lines 0.14 vs 0.15;
- more page features, judged with the page classifier stacked on out-of-fold probabilities
  (ROC-AUC of each alone for listing vs article in brackets): share of lines ending in "..."
  (0.62), prose lines opening with the same two words as an earlier one (0.56), date lines next to
  prose (0.51): one listing page more found, sea-extra 0.786 -> 0.798, sea-dev 0.912 -> 0.911;
  IDF-weighted instead of binary coherence: ROC-AUC 0.70 -> 0.73.

Earlier measurements (sea-dev + seeds + zyte-dev only, before the page type): the configuration
before the speed work (first pass = 200 + 80x5 trees, second pass the same; 19 ms per page)
scored zyte-dev 0.918, sea-dev body F1 0.954, role accuracy 0.854, teaser F1 0.569, boilerplate
F1 0.849: the speed costs ~0.015 body F1.
Trade-offs measured out-of-fold (first/second body trees, role iterations; ms per page):
a linear first pass for body too (40/-, 0.98 ms): sea-dev body F1 0.927, zyte-dev 0.898;
20/40/10 (1.1 ms): sea-dev 0.919, zyte-dev 0.901, role accuracy 0.844, teaser F1 0.52;
linear role model in the second pass too: teaser F1 0.38, zyte-dev 0.887.
Where the last list header sits (top-of-page navigation or after the prose) and the prose lines
since it: +0.012 sea-dev body F1, +0.007 zyte-dev. Counting two CJK characters as a word (and 。
as a sentence end) +0.017 on zyte-dev (Japanese pages had no "prose").

Measured and not kept: a Viterbi pass over each page's role probabilities with transitions counted
on the line gold (`smooth`; at weight 1: sea-dev body F1 -0.008, role accuracy -0.02, boilerplate
F1 -0.06; the context pass already smooths); weighting lines by page length (n_page_lines ** -0.5
or -1: zyte-dev -0.01 to +0.003, sea-dev -0.01); up-weighting line-gold pages x3 against zyte-dev
(sea-dev -0.007); HistGradientBoosting leaves 7..31, min leaf 10..30, l2 1..5: all within +-0.01,
i.e. noise on 103 + 61 pages. Not tried for lack of time: cross-page repetition in a chunk (in
sea-dev, same-story mirrors share body lines, so it needs care), TF-IDF of the line.

How noisy: the same shipped configuration on three fold splits (GroupKFold's, and two shuffles
of the groups) scores sea-dev body F1 0.938 / 0.917 / 0.926 (mean 0.927) and zyte-dev 0.904 /
0.900 / 0.910 (mean 0.905); a change has to beat that mean, paired split by split
(`out_of_fold_roles(fold_seed=...)`). Measured that way and not kept (sea-dev body F1, mean of
the three splits, against 0.927; zyte-dev against 0.905; roles against accuracy 0.848, teaser F1
0.557, boilerplate F1 0.823):
- a body safety net (a page predicted without body takes its best run of P(body) - tau as body,
  tau 0.05..0.3): -0.009..-0.015 on the GroupKFold split. The referee averages precision over
  pages with a predicted body, and sea-dev has 9 listing pages with no gold body whose P(body)
  profile (max 0.15..0.41) is that of the 3 pages it would rescue (c2_005's lone story line
  after "Latest News": 0.31);
- hard wrap: line ends on a stopword, "wordy" (prose without the sentence end) and the length
  of its run: 0.927, zyte 0.908, teaser F1 -0.04; counting runs of 3+ wordy lines as prose:
  0.923, zyte 0.898 (sea-dev has one hard-wrapped page, zyte-dev none to learn it from);
- share of a line's content words found in the page's other prose lines: 0.919, zyte 0.908
  (a related story shares the place names and the crime);
- teaser-list rhythm: share of headline-like lines (4..20 words, no sentence end) around a line
  (half-widths 2, 5) and headline/prose alternations (half-width 3): 0.927, zyte 0.899,
  accuracy 0.848, teaser F1 0.532;
- a long line opening with the same two non-stopwords as an earlier one (a dateline again):
  0.914;
- context pass: a wider window of first-pass probabilities (half-width 20): 0.927, zyte 0.902;
  the page's highest first-pass P(body) and the line's share of it: 0.916, zyte 0.909;
- a boosted first-pass role model (5 iterations) instead of the linear one: 0.923, accuracy
  0.849, teaser F1 0.579, zyte 0.905 (and more prediction time);
- capacity and weights: second body model 160 trees: 0.927, zyte 0.905; role models 40
  iterations: 0.938 vs 0.938 (GroupKFold split); first pass 80 trees: 0.919 vs 0.938 (zyte
  +0.007); gold_weight 2: 0.920, zyte 0.904; a body threshold other than the argmax (0.4..0.7):
  0.922..0.924; no neighbour base features (the context pass has the neighbours' probabilities):
  0.925, zyte 0.897; 8 inner folds for the first-pass probabilities: 0.922, zyte 0.901; feature
  subsampling (max_features 0.5): 0.919, zyte 0.903.
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
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from pipeline.learn.linefeatures import FEATURES, line_features, page_bounds
from pipeline.learn.pagetype import listing_labels, page_features
from pipeline.training.linedata import NON_BODY, labelled_lines

ROLES = ("title", "body", "caption", "boilerplate", "teaser", "comment")
"""Roles the model predicts, in probability-column order."""

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


def _blocked_proba(model: Any, X: np.ndarray) -> np.ndarray:
    """model.predict_proba(X) in blocks of BLOCK_ROWS rows, shape (n_rows, n_classes)."""
    if len(X) <= BLOCK_ROWS:
        return model.predict_proba(X)
    return np.vstack([model.predict_proba(X[i : i + BLOCK_ROWS]) for i in range(0, len(X), BLOCK_ROWS)])


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
        X: np.ndarray,
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
            p_body[unsure] = _blocked_proba(body_model, X[unsure])[:, list(body_model.classes_).index(True)]
        q = np.zeros((len(X), len(ROLES)))
        rows = np.flatnonzero(p_body < 0.5) if skip_body else np.arange(len(X))
        if len(rows):
            q_known = _blocked_proba(role_model, X[rows])
            for j, role in enumerate(role_model.classes_):
                q[rows, ROLES.index(role)] = q_known[:, j]
        proba = q * (1.0 - p_body)[:, None]
        proba[:, ROLES.index("body")] = p_body
        return proba

    @staticmethod
    def _with_context(
        X: np.ndarray, proba: np.ndarray, lines: pd.DataFrame, p_listing: np.ndarray
    ) -> np.ndarray:
        """X with the context features of the first pass's probabilities and the page's
        P(listing), float32, shape (n_lines, n_features + k * (len(CONTEXT_OFFSETS) +
        len(CONTEXT_WINDOWS)) + 3)."""
        n, k = proba.shape
        index = np.arange(n)
        starts, ends, page_of = page_bounds(lines)
        lo_page, hi_page = starts[page_of], ends[page_of]
        width = X.shape[1] + k * (len(CONTEXT_OFFSETS) + len(CONTEXT_WINDOWS)) + 3
        out = np.empty((n, width), dtype=np.float32)
        out[:, : X.shape[1]] = X
        column = X.shape[1]
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
        X = self._with_context(X, proba, ordered, p_listing)
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


# --- sequence smoothing ------------------------------------------------------------------


def viterbi(
    log_emit: np.ndarray, starts: np.ndarray, ends: np.ndarray, log_trans: np.ndarray, log_start: np.ndarray
) -> np.ndarray:
    """Most likely state sequence of every page (an HMM over its lines), shape (n_lines,), int.

    Parameters
    ----------
    log_emit : ndarray, shape (n_lines, n_states), log emission scores of each line.
    starts, ends : ndarray of int, shape (n_pages,), rows of each page (contiguous, in order).
    log_trans : ndarray, shape (n_states, n_states), log P(next state j | state i).
    log_start : ndarray, shape (n_states,), log P(first state).

    One numpy step per line position, over all pages at once: the loop runs as many times as
    the longest page has lines, not once per line.
    """
    n, k = log_emit.shape
    states = np.zeros(n, dtype=np.int64)
    if not n:
        return states
    lengths = ends - starts
    order = np.argsort(-lengths, kind="stable")  # pages still running at t are a prefix
    sorted_starts, sorted_lengths = starts[order], lengths[order]
    back = np.zeros((n, k), dtype=np.int8)
    score = log_start[None, :] + log_emit[sorted_starts]
    for t in range(1, int(sorted_lengths[0]) if len(sorted_lengths) else 0):
        live = int(np.searchsorted(-sorted_lengths, -t, side="left"))  # pages with length > t
        rows = sorted_starts[:live] + t
        cand = score[:live, :, None] + log_trans[None, :, :]
        best = np.argmax(cand, axis=1)
        back[rows] = best
        score[:live] = np.take_along_axis(cand, best[:, None, :], axis=1)[:, 0, :] + log_emit[rows]
    current = np.argmax(score, axis=1)
    for t in range(int(sorted_lengths[0]) - 1, 0, -1):
        live = int(np.searchsorted(-sorted_lengths, -t, side="left"))
        rows = sorted_starts[:live] + t
        states[rows] = current[:live]
        current[:live] = back[rows, current[:live]]
    states[sorted_starts] = current
    return states


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

    from pipeline.evaluation.gold import load_gold_lines
    from pipeline.evaluation.metrics import extraction_f1, f1_counts, gold_body

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


def out_of_fold_roles(
    lines: pd.DataFrame, n_folds: int = 5, fold_seed: int | None = None, **params: Any
) -> np.ndarray:
    """Roles of every line predicted by a model trained without its group (page / same-story
    cluster), shape (n_lines,). `lines` as labelled_lines returns them.

    `fold_seed` None: sklearn's GroupKFold (groups balanced by size, always the same folds); an
    int: groups shuffled into folds with that seed. On 103 + 61 pages the fold split alone moves
    sea-dev body F1 by +-0.01 (0.917..0.938 for the same model): compare configurations on the
    same few seeds, paired, and over their mean.
    """
    roles = lines["gold_role"].astype(str).to_numpy()
    groups = lines["group"].astype(str).to_numpy()
    predicted = np.empty(len(lines), dtype=object)
    folds = GroupKFold(n_splits=n_folds, shuffle=fold_seed is not None, random_state=fold_seed)
    for train, test in folds.split(lines, groups=groups):
        model = LineRoleClassifier(**params).fit(lines.iloc[train], roles[train])
        predicted[test] = model.predict(lines.iloc[test])
    return predicted


def cross_validated_scores(
    sources: list[Path], n_folds: int = 5, fold_seed: int | None = None, **params: Any
) -> dict[str, dict[str, float]]:
    """Out-of-fold `score_roles` of a LineRoleClassifier(**params) on `sources`."""
    lines = labelled_lines(sources)
    return score_roles(sources, lines, out_of_fold_roles(lines, n_folds, fold_seed, **params))


# --- training the shipped model ------------------------------------------------------------


def data_sha256(lines: pd.DataFrame) -> str:
    """Hash of the training data: every line's doc_id, line_no, text and gold role."""
    digest = hashlib.sha256()
    for row in zip(lines["doc_id"], lines["line_no"], lines["text"], lines["gold_role"], strict=True):
        digest.update(("\x1f".join(map(str, row)) + "\x1e").encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def train_line_model(sources: list[Path], out: Path, cv_folds: int = 5) -> dict[str, Any]:
    """Fit the line model on every page of `sources`, measure it out-of-fold, save it to `out`.

    Returns the model card written beside it (pipeline.learn.store.save_model).
    """
    from pipeline.learn.store import save_model

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
