"""The topic classifier: on / off-topic probability of every line, from its words and its page.

`TopicClassifier` is a scikit-learn estimator in two steps:

1. a Pipeline of sparse TF-IDF features (the line's words, plus its page's article) into a
   logistic regression gives each line a score `s` (log-odds of on);
2. a page prior: a small logistic regression over `s`, the role, the length-weighted mean `s` of
   the page's article lines and of the line's neighbours. A short line ("The case is under
   investigation") takes its topic from its page, a teaser does not. It is fitted on out-of-fold
   scores, so it learns how much to trust `s` on unseen lines.

The decision threshold is learned on the training data only (grouped inner cross-validation).
`pipeline.stages.topics.label_topics` applies a fitted model to a lines frame; `explain`
lists the terms that pushed a text on or off.

Context is built only from what exists at run time: the page's other lines and their
*predicted* roles (the roles stage's).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline

from pipeline.learn.topicfeatures import (
    PRIOR_FEATURES,
    TopicFeatures,
    as_context,
    line_context,
    logit,
    prior_features,
)

# --------------------------------------------------------------------------------------------
# Classifier


class TopicClassifier(ClassifierMixin, BaseEstimator):
    """Binary on-topic classifier of lines, with a learned decision threshold.

    Parameters
    ----------
    C : float
        Inverse regularisation strength of the step-1 logistic regression.
    word_ngrams, char_ngrams, near_weight, page_weight
        Step-1 feature blocks, see `TopicFeatures`.
    page_prior : bool
        Add step 2, the page prior (fitted on out-of-fold step-1 scores).
    prior_C : float
        Inverse regularisation strength of the page prior.
    class_weight : "balanced" or None
    threshold : float or "cv"
        p_on at or above which a line is on-topic; "cv" chooses the one maximising F1 over
        out-of-fold p_on of grouped inner cross-validation on the training data only.
    n_folds : int
        Inner folds (page prior and threshold).

    Attributes
    ----------
    pipeline_ : sklearn Pipeline (features: TopicFeatures, clf: LogisticRegression), step 1
    prior_ : LogisticRegression or None, step 2
    threshold_ : float
    threshold_how_ : str
    oof_p_on_ : array, shape (n,), inner out-of-fold p_on of the training lines (or None)
    classes_ : ndarray, shape (2,)
    """

    def __init__(
        self,
        C: float = 4.0,
        word_ngrams: tuple[int, int] = (1, 1),
        char_ngrams: tuple[int, int] | None = None,
        near_weight: float = 0.0,
        page_weight: float = 0.5,
        page_prior: bool = True,
        prior_C: float = 1.0,
        class_weight: str | None = "balanced",
        threshold: float | str = "cv",
        n_folds: int = 5,
    ):
        self.C = C
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.near_weight = near_weight
        self.page_weight = page_weight
        self.page_prior = page_prior
        self.prior_C = prior_C
        self.class_weight = class_weight
        self.threshold = threshold
        self.n_folds = n_folds

    def _step1(self) -> Pipeline:
        features = TopicFeatures(
            word_ngrams=self.word_ngrams,
            char_ngrams=self.char_ngrams,
            near_weight=self.near_weight,
            page_weight=self.page_weight,
        )
        clf = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=5000)
        return Pipeline([("features", features), ("clf", clf)])

    def _step2(self) -> LogisticRegression:
        return LogisticRegression(C=self.prior_C, class_weight=self.class_weight, max_iter=5000)

    def fit(self, X, y, groups: Sequence | None = None):
        """Fit on n lines.

        Parameters
        ----------
        X : texts (n,), or a lines / context frame with n rows (lines of whole pages: the page
            prior and the neighbours are computed among the rows given)
        y : array-like, shape (n,), 0/1 (1 = on)
        groups : array-like, shape (n,), optional
            Page (or same-story cluster) of each line, for the inner folds; default: the frame's
            ``group`` or ``doc_id`` column, else every line on its own.
        """
        context = as_context(X).reset_index(drop=True)
        y = np.asarray(y).astype(int)
        groups = np.asarray(_default_groups(X, len(y)) if groups is None else groups)
        folds = self._folds(context, y, groups)
        self.pipeline_ = self._step1().fit(context, y)
        self.classes_ = self.pipeline_.classes_
        self.prior_ = None
        oof = None
        if self.page_prior or self.threshold == "cv":
            oof = _oof(
                y,
                folds,
                lambda tr, te: self._step1().fit(context.iloc[tr], y[tr]).predict_proba(context.iloc[te]),
            )
        if self.page_prior:
            features = prior_features(context, logit(oof))
            self.prior_ = self._step2().fit(features, y)
            if self.threshold == "cv":
                oof = _oof(
                    y,
                    folds,
                    lambda tr, te: self._step2().fit(features[tr], y[tr]).predict_proba(features[te]),
                )
        if self.threshold == "cv":
            self.threshold_ = best_f1_threshold(y, oof)
            self.threshold_how_ = (
                f"maximises F1 over out-of-fold p_on of {len(folds)}-fold cross-validation grouped by "
                "page (or same-story cluster), on the training data only"
            )
        else:
            self.threshold_ = float(self.threshold)
            self.threshold_how_ = "fixed"
        self.oof_p_on_ = oof
        return self

    def _folds(self, X, y: np.ndarray, groups: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        n_splits = min(self.n_folds, len(np.unique(groups)))
        if n_splits < 2 or len(np.unique(y)) < 2:
            raise ValueError("training needs both labels and at least 2 groups (pages)")
        return list(GroupKFold(n_splits=n_splits).split(X, y, groups))

    def line_scores(self, X) -> np.ndarray:
        """Step-1 log-odds of on, shape (n,), from the line and its page's text alone."""
        return logit(self.pipeline_.predict_proba(as_context(X))[:, 1])

    def predict_proba(self, X) -> np.ndarray:
        """Returns array (n, 2): probabilities of off and on."""
        # the near column only when the fitted features read it (the shipped model does not)
        context = as_context(X, with_near="near" in self.pipeline_.named_steps["features"].blocks_)
        if not len(context):
            return np.zeros((0, 2))
        if self.prior_ is None:
            return self.pipeline_.predict_proba(context)
        return self.prior_.predict_proba(prior_features(context, self.line_scores(context)))

    def predict(self, X) -> np.ndarray:
        """Returns array (n,) of 0/1 (1 = on)."""
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)


def _oof(y: np.ndarray, folds, fit_predict) -> np.ndarray:
    """Out-of-fold p_on, shape (n,): `fit_predict(train_rows, test_rows)` returns (len(test), 2)
    probabilities of a model fitted on the train rows (a fold with one label predicts its rate)."""
    out = np.zeros(len(y))
    for train, test in folds:
        single = len(np.unique(y[train])) < 2
        out[test] = y[train].mean() if single else fit_predict(train, test)[:, 1]
    return out


def _default_groups(X, n: int) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        for column in ("group", "doc_id", "page"):
            if column in X:
                return X[column].astype(str).to_numpy()
    return np.arange(n)


def best_f1_threshold(y_true: np.ndarray, p_on: np.ndarray) -> float:
    """The threshold maximising F1 of ``p_on >= t``: the midpoint between the best cut's two
    neighbouring scores (a margin either way rather than a threshold sitting on a training score)."""
    order = np.argsort(-p_on, kind="stable")
    scores, truth = p_on[order], np.asarray(y_true)[order]
    tp = np.cumsum(truth)
    f1 = 2 * tp / (np.arange(1, len(truth) + 1) + truth.sum())
    valid = np.r_[scores[1:] < scores[:-1], True]  # only cut between distinct scores
    best = int(np.argmax(np.where(valid, f1, -1)))
    below = scores[best + 1] if best + 1 < len(scores) else 0.0
    return float((scores[best] + below) / 2)


# --------------------------------------------------------------------------------------------
# Explanations


def explain(model: TopicClassifier, text: str, top: int = 8) -> list[str]:
    """Lines for `article-pipeline explain TEXT`: p_on of `text` (read as a body line with no
    page around it), then the `top` terms that pushed it on and off, each with its contribution
    to the final log-odds (tf-idf value x coefficient, scaled by the page prior's weight on s)."""
    features, clf = model.pipeline_.named_steps["features"], model.pipeline_.named_steps["clf"]
    context = line_context(pd.DataFrame({"text": [text]}))
    row = features.transform(context).tocsr()
    scale = 1.0
    if model.prior_ is not None:
        coef = dict(zip(PRIOR_FEATURES, model.prior_.coef_[0], strict=True))
        scale = coef["s"] + coef["s*role=body"]
    contributions = scale * row.data * clf.coef_[0][row.indices]
    terms = features.get_feature_names_out()[row.indices]
    p_on = float(model.predict_proba(context)[0, 1])
    verdict = "on" if p_on >= model.threshold_ else "off"
    out = [f"p_on {p_on:.3f} (threshold {model.threshold_:.3f}): {verdict}-topic"]
    order = np.argsort(-contributions, kind="stable")
    for label, picked in (
        ("pushed on", [i for i in order if contributions[i] > 0][:top]),
        ("pushed off", [i for i in order[::-1] if contributions[i] < 0][:top]),
    ):
        out.append(f"{label}:")
        out.extend(f"  {contributions[i]:+.3f}  {_term_label(terms[i])}" for i in picked)
        if not picked:
            out.append("  (none)")
    return out


def _term_label(name: str) -> str:
    """ "word:drug" -> "drug"; other blocks keep their name: "drug [page]", "ug_ [char]"."""
    block, term = name.split(":", 1)
    return term if block == "word" else f"{term!r} [char]" if block == "char" else f"{term} [{block}]"
