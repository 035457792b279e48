"""Array helpers shared by the stages and models (numpy only)."""

from __future__ import annotations

import numpy as np


def sorted_unique(keys: np.ndarray, return_inverse: bool = False, runs: bool = False):
    """``np.unique(keys[, return_inverse=True])`` of an integer array, by sorting.

    numpy 2.3+ answers ``np.unique`` on integers with a hash table and then sorts the result:
    on the half-million (line, word) keys of a chunk that is 10x slower than one sort and a
    comparison with the neighbour (347 ms against 28 ms, measured).

    Parameters
    ----------
    keys : ndarray of int, shape (n,)
    return_inverse : bool
        Also return each key's index into the unique keys.
    runs : bool
        The keys are nearly in order (a concatenation of sorted runs, or grouped by their high
        bits): a stable sort (timsort) uses that. numpy's default sort took 8x longer on the
        same-story lookups' 17 M keys in 85 sorted runs (1.12 s against 0.14 s), and 1.6x longer
        on a chunk's 500,000 shingle keys grouped by text (52 ms against 33 ms).

    Returns
    -------
    unique : ndarray, shape (n_unique,), sorted; with `return_inverse` also
    inverse : ndarray of intp, shape (n,), with ``unique[inverse] == keys``.
    """
    keys = np.asarray(keys)
    if not return_inverse:
        ordered = np.sort(keys, kind="stable" if runs else "quicksort")
        return ordered[_starts_of_runs(ordered)]
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    first = _starts_of_runs(ordered)
    inverse = np.empty(len(keys), dtype=np.intp)
    inverse[order] = np.cumsum(first) - 1
    return ordered[first], inverse


def _starts_of_runs(ordered: np.ndarray) -> np.ndarray:
    """True where a sorted array's value differs from the one before it, shape (n,)."""
    first = np.empty(len(ordered), dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return first


class SideBySide:
    """Two matrices with the same rows, read as one: the columns of `left`, then those of
    `right`, never copied next to each other.

    The line model's second pass reads its features this way (the first pass's features, then
    the context columns): its trees read only their own columns, and building the joined matrix
    of a chunk (70,000 x 122 float32) to read them took longer than the context itself.

    Parameters
    ----------
    left : ndarray, shape (n_rows, n_left)
    right : ndarray, shape (n_rows, n_right), same dtype
    """

    def __init__(self, left: np.ndarray, right: np.ndarray) -> None:
        if len(left) != len(right) or left.dtype != right.dtype:
            raise ValueError("side by side matrices need the same rows and dtype")
        self.left, self.right = left, right

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.left), self.left.shape[1] + self.right.shape[1])

    def __len__(self) -> int:
        return len(self.left)

    def __getitem__(self, rows: slice | np.ndarray) -> SideBySide:
        """The rows `rows` (a slice: views; an index array: copies)."""
        return SideBySide(self.left[rows], self.right[rows])

    def columns(self, which: np.ndarray, dtype: type = np.float64) -> np.ndarray:
        """Columns `which` (ascending indices into the joined columns), shape (n_rows,
        len(which)), `dtype`, Fortran order."""
        which = np.asarray(which)
        if np.any(np.diff(which) < 0):
            raise ValueError("SideBySide.columns takes ascending column indices")
        split = int(np.searchsorted(which, self.left.shape[1]))
        out = np.empty((len(self), len(which)), dtype=dtype, order="F")
        out[:, :split] = self.left[:, which[:split]]
        out[:, split:] = self.right[:, which[split:] - self.left.shape[1]]
        return out

    def __array__(self, dtype: type | None = None, copy: bool | None = None) -> np.ndarray:
        if copy is False:
            raise ValueError("SideBySide cannot be read as one array without a copy")
        joined = np.hstack([self.left, self.right])
        return joined if dtype is None else joined.astype(dtype, copy=False)
