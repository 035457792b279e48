"""The topic context's faster conversions give what pandas' own did (pipeline.learn.topicfeatures)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.learn.topicfeatures import _lengths, _texts, factorize_runs

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
