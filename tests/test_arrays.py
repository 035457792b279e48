"""pipeline.arrays: the sort-based unique must answer exactly what np.unique answers."""

import numpy as np
import pytest

from pipeline.arrays import sorted_unique


@pytest.mark.parametrize("n", [0, 1, 2, 1000])
def test_sorted_unique_is_np_unique(n):
    keys = np.random.default_rng(n).integers(-50, 50, size=n).astype(np.int64)
    assert np.array_equal(sorted_unique(keys), np.unique(keys))
    unique, inverse = sorted_unique(keys, return_inverse=True)
    expected, expected_inverse = np.unique(keys, return_inverse=True)
    assert np.array_equal(unique, expected)
    assert np.array_equal(inverse, expected_inverse)
    assert np.array_equal(unique[inverse], keys)
