"""pipeline.arrays: the sort-based unique must answer exactly what np.unique answers; side by side
matrices read as the joined one."""

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


@pytest.mark.parametrize("n_runs", [0, 1, 3, 40])
def test_sorted_unique_of_sorted_runs_is_np_unique(n_runs):
    """The stable-sort path (concatenated sorted runs, repeats inside and across runs)."""
    rng = np.random.default_rng(n_runs)
    runs = [np.sort(rng.integers(-(1 << 40), 1 << 40, size=rng.integers(0, 300))) for _ in range(n_runs)]
    runs += [np.repeat(run[:5], 3) for run in runs[:2]]
    keys = np.concatenate([*runs, np.zeros(0, dtype=np.int64)]).astype(np.int64)
    unique = sorted_unique(keys, runs=True)
    assert unique.dtype == np.int64
    assert np.array_equal(unique, np.unique(keys))
    # Not sorted runs at all: still the same answer, only slower.
    assert np.array_equal(sorted_unique(keys[::-1].copy(), runs=True), np.unique(keys))


def test_sorted_unique_of_keys_grouped_by_their_high_bits():
    """The shingle keys' layout: uint64, owner in the high 32 bits ascending, repeats inside."""
    rng = np.random.default_rng(7)
    owner = np.repeat(np.arange(50, dtype=np.uint64), rng.integers(0, 40, size=50))
    low = rng.integers(0, 20, size=len(owner)).astype(np.uint64)
    keys = (owner << np.uint64(32)) | low
    unique = sorted_unique(keys, runs=True)
    assert unique.dtype == np.uint64 and np.array_equal(unique, np.unique(keys))


def test_side_by_side_reads_as_the_joined_matrix():
    from pipeline.arrays import SideBySide

    rng = np.random.default_rng(0)
    left = rng.normal(size=(50, 7)).astype(np.float32)
    right = rng.normal(size=(50, 4)).astype(np.float32)
    joined = np.hstack([left, right])
    both = SideBySide(left, right)
    assert both.shape == joined.shape and len(both) == 50
    for which in ([0, 3, 6], [7, 10], [1, 6, 7, 9], list(range(11)), []):
        got = both.columns(np.array(which, dtype=np.int64))
        assert got.dtype == np.float64 and got.flags.f_contiguous
        assert np.array_equal(got, joined[:, which].astype(np.float64))
    rows = np.array([3, 4, 20, 49])
    assert np.array_equal(np.asarray(both[rows]), joined[rows])
    assert np.array_equal(np.asarray(both[10:20]), joined[10:20])
    with pytest.raises(ValueError):
        SideBySide(left, right[:10])
    with pytest.raises(ValueError):
        both.columns(np.array([8, 2]))  # not ascending
    with pytest.raises(ValueError):
        np.asarray(both, copy=False)
