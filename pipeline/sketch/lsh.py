"""MinHash LSH banding: candidate pairs are sets whose signatures agree on a whole band.

Two uses, one key function (`band_keys`):
- `band_pairs`: every candidate pair inside a batch of signatures at once, by sorting the band
  keys (the lines of each page, `stages.repeats`);
- `BandTable`: an index that grows block by block and is looked up by new signatures (the
  same-story index over every page seen, `sketch.storyindex`).

With b bands of r rows a pair at Jaccard s becomes a candidate with probability 1 - (1 - s^r)^b.
"""

from __future__ import annotations

import numpy as np

from pipeline.arrays import sorted_unique
from pipeline.sketch.hashing import POLY, mix64


def band_keys(values: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per band of each signature, shape (n, bands), uint64: a polynomial hash
    of the band's values, seeded with the band's number, mixed after every value."""
    block = values[:, : bands * rows].astype(np.uint64).reshape(len(values), bands, rows)
    with np.errstate(over="ignore"):
        acc = np.arange(bands, dtype=np.uint64)[None, :]
        for j in range(rows):
            acc = mix64(acc * POLY + block[:, :, j])
    return acc


def band_pairs(
    sigs: np.ndarray, groups: np.ndarray, bands: int, rows: int, max_bucket: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (i < j) of MinHash LSH: same group and equal values on a whole band.

    Parameters
    ----------
    sigs : array, shape (n_sets, >= bands * rows)
    groups : int array, shape (n_sets,)
        Only sets of the same group are paired (e.g. lines of the same page).
    max_bucket : int
        A bucket with more members than this pairs each member with the bucket's first member
        and with its predecessor only (O(m), not O(m^2)); a caller grouping candidates
        transitively still joins them all. Smaller buckets yield all their pairs.

    Returns
    -------
    (left, right) int64 arrays of the same length, left < right, sorted, without repeats.
    """
    n = len(sigs)
    groups = np.asarray(groups, dtype=np.int64)
    index = np.arange(n, dtype=np.int64)
    # A rare collision of 64-bit band keys only adds a candidate, which the caller verifies.
    keys = band_keys(sigs, bands, rows)
    lefts, rights = [], []
    for band in range(bands):
        key = keys[:, band]
        order = np.lexsort((index, key, groups))
        same = (key[order][1:] == key[order][:-1]) & (groups[order][1:] == groups[order][:-1])
        left, right = _run_pairs(np.r_[False, same], max_bucket)
        lefts.append(order[left])
        rights.append(order[right])
    left, right = np.concatenate(lefts), np.concatenate(rights)
    if not len(left):
        return left, right
    key = np.unique(np.minimum(left, right) * n + np.maximum(left, right))
    return key // n, key % n


def _run_pairs(continues: np.ndarray, max_bucket: int) -> tuple[np.ndarray, np.ndarray]:
    """Position pairs (p < q) inside runs of a sorted array; `continues[t]` says that position
    t is in the same run as t - 1. Runs longer than `max_bucket` give first/predecessor pairs."""
    n = len(continues)
    starts = np.flatnonzero(~continues)
    sizes = np.diff(np.r_[starts, n])
    run_start = np.repeat(starts, sizes)
    run_size = np.repeat(sizes, sizes)
    position = np.arange(n) - run_start
    small = (run_size > 1) & (run_size <= max_bucket)
    # Small runs: every position pairs with every later position of its run.
    later = np.where(small, run_size - 1 - position, 0)
    left = np.repeat(np.arange(n), later)
    step = np.arange(len(left)) - np.repeat(np.cumsum(later) - later, later) + 1
    right = left + step
    # Large runs: each non-first position pairs with its predecessor and with the run's first.
    big = (run_size > max_bucket) & (position > 0)
    tail = np.flatnonzero(big)
    left = np.r_[left, tail - 1, run_start[tail]]
    right = np.r_[right, tail, tail]
    return left.astype(np.int64), right.astype(np.int64)


class BandTable:
    """LSH band hashes of the index rows, for candidate lookup without a Python dict per band.

    Rows are added in blocks; each block becomes a segment whose band columns are sorted
    (keys, shape (n_bands, n)) beside the row each key belongs to (rows, same shape). The last
    two segments merge whenever the newer is at least half the older, so there are
    O(log n) segments and each row is re-sorted O(log n) times (a binary-counter merge).
    Within equal keys rows stay in increasing order (stable sorts of row-ordered input).
    """

    def __init__(self, n_bands: int) -> None:
        self.n_bands = n_bands
        self.segments: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(keys.shape[1] for keys, _ in self.segments)

    @property
    def nbytes(self) -> int:
        return sum(keys.nbytes + rows.nbytes for keys, rows in self.segments)

    @staticmethod
    def _sorted(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(keys, axis=1, kind="stable")
        return np.take_along_axis(keys, order, axis=1), np.take_along_axis(rows, order, axis=1)

    def add(self, rows: np.ndarray, bands: np.ndarray) -> None:
        """Add `rows` (shape (m,), increasing, after every row already added) with their
        band hashes `bands` (shape (m, n_bands), uint32)."""
        if not len(rows):
            return
        keys = np.ascontiguousarray(bands.T)
        self.segments.append(self._sorted(keys, np.broadcast_to(rows.astype(np.int32), keys.shape)))
        while len(self.segments) >= 2 and 2 * self.segments[-1][0].shape[1] >= self.segments[-2][0].shape[1]:
            (k1, r1), (k2, r2) = self.segments.pop(-2), self.segments.pop(-1)
            self.segments.append(self._sorted(np.hstack([k1, k2]), np.hstack([r1, r2])))

    def lookup(self, bands: np.ndarray, max_bucket: int) -> tuple[np.ndarray, np.ndarray]:
        """Candidate (query, row) pairs: rows sharing a whole band with a query.

        Parameters
        ----------
        bands : array, shape (m, n_bands), uint32
        max_bucket : int
            At most this many rows per (segment, band, key), the earliest: a flood of identical
            bodies costs O(max_bucket) per query, not O(flood), and its earliest rows are the
            ones a cluster is named after.

        Returns
        -------
        (queries, rows), int64 arrays of one length, without repeated pairs, sorted.
        """
        queries, found = [], []
        for keys, rows in self.segments:
            for band in range(self.n_bands):
                lo = np.searchsorted(keys[band], bands[:, band], side="left")
                hi = np.searchsorted(keys[band], bands[:, band], side="right")
                counts = np.minimum(hi - lo, max_bucket)
                total = int(counts.sum())
                if not total:
                    continue
                starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
                queries.append(np.repeat(np.arange(len(bands)), counts))
                found.append(rows[band][starts + np.arange(total)])
        if not queries:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        q = np.concatenate(queries).astype(np.int64)
        r = np.concatenate(found).astype(np.int64)
        # Each (segment, band) block is sorted by (query, row): the keys are sorted runs.
        pair = sorted_unique(q * (1 << 32) + r, runs=True)
        return pair >> 32, pair & 0xFFFFFFFF

    def bands_by_row(self, n_rows: int) -> np.ndarray:
        """Every row's band hashes, shape (n_rows, n_bands) (for saving)."""
        out = np.zeros((n_rows, self.n_bands), dtype=np.uint32)
        for keys, rows in self.segments:
            for band in range(self.n_bands):
                out[rows[band], band] = keys[band]
        return out
