"""Trees walked on binned rows give scikit-learn's own probabilities, to the bit."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from pipeline.learn.binnedtrees import BinnedTrees
from pipeline.learn.linemodel import _blocked_proba, walker

from .conftest import REPO


def awkward_rows(rng: np.random.Generator, X: np.ndarray, n: int) -> np.ndarray:
    """Rows that sit on the model's edges: training values (thresholds lie between them), their
    float32 neighbours, NaN, +-inf, values beyond the training range."""
    rows = X[rng.integers(0, len(X), n)].copy()
    rows[: n // 4] = np.nextafter(rows[: n // 4], np.float32(np.inf))
    rows[n // 4 : n // 2] = np.nextafter(rows[n // 4 : n // 2], np.float32(-np.inf))
    mask = rng.random(rows.shape)
    rows[mask < 0.05] = np.nan
    rows[(mask >= 0.05) & (mask < 0.08)] = np.inf
    rows[(mask >= 0.08) & (mask < 0.11)] = -np.inf
    rows[(mask >= 0.11) & (mask < 0.14)] *= 1e6
    return rows


@pytest.mark.parametrize("n_classes", [2, 5])
def test_binned_walk_equals_predict_proba_bit_for_bit(n_classes):
    rng = np.random.default_rng(n_classes)
    X = rng.normal(size=(3000, 12)).astype(np.float32)
    X[:, 3] = rng.integers(0, 4, 3000)  # few distinct values: thresholds between them
    X[rng.random(X.shape) < 0.02] = np.nan  # missing values seen in training
    y = (X[:, 0] + np.nan_to_num(X[:, 3]) + rng.normal(size=3000) > 1).astype(int)
    if n_classes > 2:
        y = (np.nan_to_num(X[:, 1]) * 2 + y).astype(int) % n_classes
    model = HistGradientBoostingClassifier(max_iter=30, max_leaf_nodes=15, random_state=0).fit(X, y)
    rows = awkward_rows(rng, X, 4000)
    trees = BinnedTrees(model)
    assert BinnedTrees.supports(model)
    assert np.array_equal(trees.predict_proba(rows), model.predict_proba(rows))
    assert set(trees.features_) <= set(range(12))


def test_the_shipped_line_models_predict_the_same_binned(models):
    from pipeline.stages.read import iter_pages, pages_frame
    from pipeline.stages.segment import segment

    line_model = models.lines
    lines = segment(pages_frame(list(iter_pages(sorted((REPO / "seeds").glob("*.txt"))))))
    X = line_model._features(lines)
    body = line_model.first_[0]
    assert BinnedTrees.supports(body)
    assert isinstance(walker(body), BinnedTrees)
    assert np.array_equal(_blocked_proba(walker(body), X), body.predict_proba(X))
    rows = awkward_rows(np.random.default_rng(0), X, 500)
    assert np.array_equal(BinnedTrees(body).predict_proba(rows), body.predict_proba(rows))


def test_a_model_with_categorical_features_is_predicted_the_ordinary_way():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.integers(0, 5, 500), rng.normal(size=500)])
    y = (X[:, 0] > 2).astype(int)
    model = HistGradientBoostingClassifier(max_iter=5, categorical_features=[0]).fit(X, y)
    assert not BinnedTrees.supports(model)
    assert walker(model) is model
    assert np.array_equal(_blocked_proba(walker(model), X), model.predict_proba(X))


def test_a_feature_with_more_thresholds_than_bins_is_predicted_the_ordinary_way(monkeypatch):
    import pipeline.learn.binnedtrees as binnedtrees

    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 2))
    y = (X[:, 0] + rng.normal(size=2000) > 0).astype(int)
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, y)
    assert BinnedTrees.supports(model)
    monkeypatch.setattr(binnedtrees, "MISSING_BIN", 3)  # fewer bins than the trees' thresholds
    assert not BinnedTrees.supports(model)
    assert walker(model) is model
    assert np.array_equal(_blocked_proba(walker(model), X), model.predict_proba(X))


def test_trees_without_a_split_are_predicted_the_ordinary_way():
    X = np.zeros((40, 3))
    y = np.tile([0, 1], 20)  # nothing to split on: every tree is one leaf
    model = HistGradientBoostingClassifier(max_iter=3).fit(X, y)
    assert not BinnedTrees.supports(model)
    assert walker(model) is model
    assert np.array_equal(_blocked_proba(walker(model), X), model.predict_proba(X))


def test_a_line_model_builds_each_walker_once_and_never_pickles_them(models):
    import pickle

    from pipeline.stages.read import iter_pages, pages_frame
    from pipeline.stages.segment import segment

    line_model = pickle.loads(pickle.dumps(models.lines))
    lines = segment(pages_frame(list(iter_pages(sorted((REPO / "seeds").glob("*.txt"))))))
    first = line_model.predict_proba(lines)
    walkers = dict(line_model._walkers)
    assert isinstance(line_model._walker(line_model.second_[0]), BinnedTrees)
    assert np.array_equal(line_model.predict_proba(lines), first)
    assert all(line_model._walkers[k][1] is w for k, (_, w) in walkers.items())  # reused, not rebuilt
    assert "_walkers" not in pickle.loads(pickle.dumps(line_model)).__dict__
    assert line_model._walkers.keys() == walkers.keys()  # pickling leaves the live cache alone
    inner = HistGradientBoostingClassifier(max_iter=2).fit(np.zeros((20, 2)), np.tile([0, 1], 10))
    assert line_model._walker(inner) is inner and id(inner) not in line_model._walkers


def test_the_second_pass_on_side_by_side_columns_equals_the_joined_matrix(models):
    from pipeline.arrays import SideBySide
    from pipeline.schema import ROLES
    from pipeline.stages.read import iter_pages, pages_frame
    from pipeline.stages.segment import segment

    line_model = models.lines
    lines = segment(pages_frame(list(iter_pages(sorted((REPO / "seeds").glob("*.txt"))))))
    X = line_model._features(lines)
    proba = line_model._combine(line_model.first_, X)
    p_listing = line_model._p_listing(X, proba, lines)
    joined = line_model._with_context(X, proba, lines, p_listing)
    both = SideBySide(X, line_model._context(proba, lines, p_listing))
    assert np.array_equal(np.asarray(both), joined)
    first_body = proba[:, ROLES.index("body")]
    for skip_body in (False, True):
        assert np.array_equal(
            line_model._combine(line_model.second_, both, skip_body, first_body),
            line_model._combine(line_model.second_, joined, skip_body, first_body),
        )
    for model in line_model.second_:
        assert np.array_equal(_blocked_proba(model, both[:300]), model.predict_proba(joined[:300]))
