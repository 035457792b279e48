"""Exact and faster predictions of a fitted HistGradientBoostingClassifier: trees walked on bins.

scikit-learn predicts new rows by walking every tree on the float64 matrix; during `fit` it walks
them on a binned matrix instead (uint8), a 2-5x faster walk: one byte per value and fewer cases
per node. This module bins new rows for that walk, against the thresholds the trees actually
split on: for each feature, the sorted distinct thresholds ``t`` of its splits, and each split's
threshold replaced by its index ``r`` in ``t``. The bin of ``x`` is the first ``i`` with
``x <= t[i]``, so ``bin(x) <= r`` exactly when ``x <= t[r]``, the numerical walk's own test; a
missing value gets the missing bin and goes the split's missing-value way, as in the numerical
walk. A feature has a few dozen thresholds at most, where the model's own bin mapper has up to 255,
so binning is also cheap; features no tree splits on are not binned. The raw scores are summed in
scikit-learn's order: the probabilities are the same to the last bit.

It uses scikit-learn internals (`_predictors`, `_map_to_bins`, `TreePredictor`), which the exact
pin in requirements.lock fixes; tests/test_binnedtrees.py compares it with `predict_proba` on real
and on adversarial rows. A model it cannot take (categorical features, more than 254 thresholds on
one feature) is predicted the ordinary way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble._hist_gradient_boosting._binning import _map_to_bins
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

from pipeline.arrays import SideBySide

MISSING_BIN = 255
"""The bin of a missing value (NaN): above every threshold's index."""


class BinnedTrees:
    """The trees of one fitted HistGradientBoostingClassifier, ready to walk on binned rows.

    Parameters
    ----------
    model : fitted HistGradientBoostingClassifier that `supports` accepts.

    Attributes
    ----------
    features_ : ndarray of int, shape (n_used,)
        The features some tree splits on, ascending; the other features are never binned.
    thresholds_ : list of ndarray of float64, one per used feature
        The sorted distinct thresholds of the splits on it.
    predictors_ : list of list of TreePredictor
        The model's trees, by iteration then class, each split's feature renumbered into
        `features_` and its bin threshold the index of its threshold in `thresholds_`.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        trees, is_split, feature, value = _splits(model)
        pairs, pair_of_split = np.unique(np.column_stack([feature, value]), axis=0, return_inverse=True)
        self.features_, first_pair = np.unique(pairs[:, 0].astype(np.int64), return_index=True)
        self.thresholds_ = np.split(pairs[:, 1], first_pair[1:])
        # each split: its feature's position in features_ and its threshold's in thresholds_
        position = np.searchsorted(self.features_, feature)
        rank = pair_of_split.ravel() - first_pair[position]
        bounds = np.cumsum([0] + [int(s.sum()) for s in is_split])
        renumbered = iter(
            _renumbered(p, s, position[lo:hi], rank[lo:hi])
            for p, s, lo, hi in zip(trees, is_split, bounds[:-1], bounds[1:], strict=True)
        )
        self.predictors_ = [[next(renumbered) for _ in iteration] for iteration in model._predictors]

    @staticmethod
    def supports(model: Any) -> bool:
        """Whether `model` is a fitted gradient boosting model this class predicts exactly: no
        categorical features, fewer distinct thresholds on every feature than MISSING_BIN."""
        mapper = getattr(model, "_bin_mapper", None)
        if mapper is None or not hasattr(model, "_predictors"):
            return False
        categorical = getattr(mapper, "is_categorical_", None)
        if (categorical is not None and np.any(categorical)) or getattr(
            model, "_preprocessor", None
        ) is not None:
            return False
        _, _, feature, value = _splits(model)
        if not len(feature):  # trees of one leaf each: nothing to bin
            return False
        pairs = np.unique(np.column_stack([feature, value]), axis=0)
        return bool(np.bincount(pairs[:, 0].astype(np.int64)).max() < MISSING_BIN)

    def binned(self, X: np.ndarray | SideBySide) -> np.ndarray:
        """The used features of `X` (shape (n_rows, n_features)) as bins, shape (n_rows, n_used),
        uint8, Fortran order."""
        if isinstance(X, SideBySide):
            values = X.columns(self.features_)
        else:
            values = np.asfortranarray(X[:, self.features_], dtype=np.float64)
        bins = np.empty(values.shape, dtype=np.uint8, order="F")
        categorical = np.zeros(len(self.features_), dtype=np.uint8)
        _map_to_bins(values, self.thresholds_, categorical, MISSING_BIN, 1, bins)
        return bins

    def raw_predict(self, X: np.ndarray | SideBySide) -> np.ndarray:
        """The summed leaf values of every tree, shape (n_rows, n_trees_per_iteration), as
        `model._raw_predict(X)` gives them."""
        bins = self.binned(X)
        model = self.model
        raw = np.zeros(
            (len(X), model.n_trees_per_iteration_), dtype=model._baseline_prediction.dtype, order="F"
        )
        raw += model._baseline_prediction
        for iteration in self.predictors_:
            for k, predictor in enumerate(iteration):
                raw[:, k] += predictor.predict_binned(bins, MISSING_BIN, 1)
        return raw

    def predict_proba(self, X: np.ndarray | SideBySide) -> np.ndarray:
        """Class probabilities, shape (n_rows, n_classes): `model.predict_proba(X)` to the bit."""
        return self.model._loss.predict_proba(self.raw_predict(X))


def _splits(model: Any) -> tuple[list[TreePredictor], list[np.ndarray], np.ndarray, np.ndarray]:
    """(the model's trees in order, each tree's split nodes as a bool mask, the feature and the
    threshold of every split, tree after tree)."""
    trees = [p for iteration in model._predictors for p in iteration]
    is_split = [p.nodes["is_leaf"] == 0 for p in trees]
    feature = np.concatenate([p.nodes["feature_idx"][s] for p, s in zip(trees, is_split, strict=True)])
    value = np.concatenate([p.nodes["num_threshold"][s] for p, s in zip(trees, is_split, strict=True)])
    return trees, is_split, feature, value


def _renumbered(
    predictor: TreePredictor, is_split: np.ndarray, feature: np.ndarray, threshold: np.ndarray
) -> TreePredictor:
    """`predictor` with the feature and bin threshold of its splits (the nodes of `is_split`, in
    order) replaced by `feature` and `threshold`."""
    nodes = predictor.nodes.copy()
    split = np.flatnonzero(is_split)
    nodes["feature_idx"][split] = feature
    nodes["bin_threshold"][split] = threshold
    return TreePredictor(nodes, predictor.binned_left_cat_bitsets, predictor.raw_left_cat_bitsets)
