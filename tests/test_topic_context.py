"""The topic context's faster conversions give what pandas' own did (pipeline.learn.topicfeatures)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.learn.topicfeatures import (
    _lengths,
    _roles,
    _texts,
    factorize_runs,
    line_context,
    prior_features,
)
from pipeline.learn.topicmodel import TopicClassifier

VALUES = ["Police seized", None, "", "ΟΔΟΣ", "🙂 x", "a\u0301"]


@pytest.mark.parametrize("dtype", ["string", "str", object])
def test_texts_equal_the_pandas_conversion(dtype):
    column = pd.Series(VALUES, dtype=dtype)
    expected = column.astype(object).fillna("").astype(str).to_numpy(dtype=object)
    found = _texts(column)
    assert found.dtype == object and list(found) == list(expected)
    assert all(type(t) is str for t in found)


def test_texts_of_other_values_are_their_strings():
    found = _texts(pd.Series([1, None, 2.5], dtype=object))
    assert list(found) == ["1", "", "2.5"]


@pytest.mark.parametrize("values", [["ab", "", "ΟΔΟΣ", "🙂"], ["ab", None, "c"], []])
def test_lengths_equal_str_len(values):
    text = pd.Series(values, dtype=object)
    expected = text.str.len().to_numpy(dtype=float)
    found = _lengths(text)
    assert found.dtype == np.float64
    assert np.array_equal(found, expected, equal_nan=True)


@pytest.mark.parametrize(
    "values",
    [
        [],
        ["only"],
        ["a", "a", "", "", "a", "b", "b", "", "a"],  # long runs, values coming back
        ["x", "y", "x", "z", "y"],  # no runs: pd.factorize itself
        ["σοφός", "σοφός", "ΣΟΦΟΣ", "σοφός", "😀", "😀", "😀"],
    ],
)
def test_factorize_runs_is_pd_factorize(values):
    column = np.array(values, dtype=object)
    # equal texts held by different objects: runs compare by value, not by identity
    column[1::2] = ["".join(list(v)) for v in column[1::2]]
    codes, uniques = factorize_runs(column)
    expected_codes, expected_uniques = pd.factorize(column)
    assert np.array_equal(codes, expected_codes) and codes.dtype == expected_codes.dtype
    assert list(uniques) == list(expected_uniques)


@pytest.mark.parametrize("dtype", ["string", "category", object])
def test_roles_equal_the_pandas_conversion(dtype):
    column = pd.Series(["title", None, "boilerplate", "body"], dtype=dtype)
    expected = column.astype(object).fillna("body").to_numpy(dtype=object)
    found = _roles(column)
    assert found.dtype == object and list(found) == list(expected) == ["title", "body", "boilerplate", "body"]


def _page_lines() -> pd.DataFrame:
    roles = ["title", "body", "boilerplate", "body", "teaser", "body", "caption"]
    texts = [
        f"page{p} line {i} about the river flood in Hue and {r}"
        for p in range(6)
        for i, r in enumerate(roles)
    ]
    return pd.DataFrame(
        {
            "text": pd.array(texts, dtype="string"),
            "role": pd.array(roles * 6, dtype="string"),
            "page": np.repeat(np.arange(6), len(roles)),
            "pos": np.tile(np.arange(len(roles))[::-1], 6),  # rows not in page order
        }
    )


def test_context_without_near_differs_only_in_near():
    lines = _page_lines()
    full, bare = line_context(lines), line_context(lines, with_near=False)
    assert (bare["near"] == "").all() and (full["near"] != "").any()
    others = [c for c in full.columns if c != "near"]
    pd.testing.assert_frame_equal(full[others], bare[others])


@pytest.mark.parametrize("near_weight", [0.0, 0.5])
def test_predictions_equal_those_on_the_full_context(near_weight):
    """The classifier leaves the near column out only when its features never read it."""
    lines = _page_lines()
    y = np.tile([1, 1, 0, 1, 0, 0, 1], 6)
    model = TopicClassifier(near_weight=near_weight, n_folds=3).fit(lines, y, groups=lines["page"])
    assert ("near" in model.pipeline_.named_steps["features"].blocks_) == bool(near_weight)
    full = model.prior_.predict_proba(
        prior_features(line_context(lines), model.line_scores(line_context(lines)))
    )
    assert np.array_equal(model.predict_proba(lines), full)
