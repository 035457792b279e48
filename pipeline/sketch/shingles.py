"""Shingles hashed to integers, vectorised over a whole chunk of texts.

- `word_shingle_hashes`: word k-shingles of token sequences (in-page repeats, `stages.repeats`);
- `char_shingle_hashes` / `char_shingle_sets`: sampled character n-grams of folded text
  (`text.normalise.fold`), the same-story signatures' sets (`sketch.storyindex`). One n-gram in
  `sample_mod` is kept, chosen by its hash (consistent sampling: a shingle is kept in every text
  or in none), which leaves Jaccard and containment estimates unbiased at a fraction of the cost.
"""

from __future__ import annotations

import numpy as np

from pipeline.arrays import sorted_unique
from pipeline.sketch.hashing import POLY, U64, mix64

_BLOCK_CHARS = 1 << 21
"""Characters shingled at once (a few 16 MB arrays): bounds memory on huge chunks."""


_SHINGLE_WEIGHTS = mix64(np.arange(1, 65, dtype=np.uint64))  # odd-or-even fixed multipliers


def word_shingle_hashes(token_hashes: np.ndarray, owner: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of the word k-shingles of many token sequences, in one vectorised pass.

    Parameters
    ----------
    token_hashes : uint64 array, shape (n_tokens,)
        A stable hash of each token (e.g. ``pandas.util.hash_array``), sequences laid end to end.
    owner : int array, shape (n_tokens,)
        Non-decreasing id of the sequence each token belongs to.
    k : int, at most 64

    Returns
    -------
    (hashes, owner_of_shingle), each shape (n_shingles,): every window of k consecutive tokens
    of one sequence, in order; a sequence shorter than k gives one shingle of all its tokens
    (hashed with its length, so it never equals a window of a longer sequence), as
    `pipeline.text.normalise.shingles` does.
    """
    h = np.asarray(token_hashes, dtype=np.uint64)
    owner = np.asarray(owner, dtype=np.int64)
    n = len(h)
    if not n:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    lengths = np.diff(np.r_[starts, n])
    position = np.arange(n) - np.repeat(starts, lengths)
    length = np.repeat(lengths, lengths)
    with np.errstate(over="ignore"):
        # Windows: position p starts one when p + k <= the sequence length.
        first = np.flatnonzero(position + k <= length)
        acc = np.zeros(len(first), dtype=np.uint64)
        for offset in range(k):
            acc += h[first + offset] * _SHINGLE_WEIGHTS[offset]
        windows = mix64(acc)
        # Short sequences: one shingle of all their tokens, tagged with their length.
        short = length < k
        weighted = h[short] * _SHINGLE_WEIGHTS[position[short]]
        short_starts = starts[lengths < k]
        sums = np.add.reduceat(weighted, np.flatnonzero(position[short] == 0)) if len(weighted) else weighted
        whole = mix64(sums + _SHINGLE_WEIGHTS[63] * lengths[lengths < k].astype(np.uint64))
    hashes = np.r_[windows, whole]
    owners = np.r_[owner[first], owner[short_starts]]
    order = np.argsort(owners, kind="stable")
    return hashes[order], owners[order]


def char_shingle_hashes(folded: str, n: int, sample_mod: int) -> np.ndarray:
    """Distinct 32-bit hashes of the sampled character `n`-grams of `folded`, sorted.

    A polynomial hash of the code points of each window (vectorised over the windows), mixed;
    a window is kept when its mixed hash is 0 modulo `sample_mod`, and its high 32 bits are the
    value MinHash permutes (independent of the sampling bits).

    Returns
    -------
    array, shape (n_shingles,), dtype uint32 (empty when `folded` is shorter than `n`).
    """
    points = np.frombuffer(folded.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    width = len(points) - n + 1
    if width < 1:
        return np.zeros(0, dtype=np.uint32)
    acc = np.zeros(width, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            acc = acc * POLY + points[j : j + width]
        mixed = mix64(acc)
    return sorted_unique((mixed[mixed % U64(sample_mod) == 0] >> U64(32)).astype(np.uint32))


def window_hashes(points: np.ndarray, n: int) -> np.ndarray:
    """Polynomial hash (base `POLY`, mod 2^64) of every window of `n` code points, shape
    (max(len(points) - n + 1, 0),): the value ``sum(points[i + j] * POLY ** (n - 1 - j))`` of
    `char_shingle_hashes`, built by doubling (hash(i, m + k) = hash(i, m) * P^k + hash(i + m, k)),
    O(log n) passes instead of n."""
    width = len(points) - n + 1
    if width < 1:
        return np.zeros(0, dtype=np.uint64)
    powers = {1: np.asarray(points, dtype=np.uint64)}  # k -> hashes of the windows of k points
    k = 1
    with np.errstate(over="ignore"):
        while 2 * k <= n:
            h = powers[k]
            powers[2 * k] = h[: len(h) - k] * U64(pow(1_000_003, k, 1 << 64)) + h[k:]
            k *= 2
        acc, size = powers[k], k
        for part in sorted((p for p in powers if n & p and p != k), reverse=True):
            h = powers[part]
            acc = acc[: len(acc) - part] * U64(pow(1_000_003, part, 1 << 64)) + h[size:]
            size += part
    return acc[:width]


def char_shingle_sets(folded: list[str], n: int, sample_mod: int) -> tuple[np.ndarray, np.ndarray]:
    """`char_shingle_hashes` of many folded texts at once, laid end to end.

    Returns
    -------
    (values, offsets): values uint32, shape (n_values,), the sorted distinct sampled shingles of
    text i at ``values[offsets[i]:offsets[i + 1]]``; offsets int64, shape (len(folded) + 1,).
    """
    lengths = np.fromiter((len(f) for f in folded), dtype=np.int64, count=len(folded))
    counts = np.zeros(len(folded), dtype=np.int64)
    values = [np.zeros(0, dtype=np.uint32)]
    ends = np.cumsum(lengths)
    lo = 0
    while lo < len(folded):
        start_char = ends[lo] - lengths[lo]
        hi = max(int(np.searchsorted(ends, start_char + _BLOCK_CHARS, side="right")), lo + 1)
        text = "".join(folded[lo:hi])
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        h = window_hashes(points, n)
        owner = np.repeat(np.arange(hi - lo, dtype=np.uint64), lengths[lo:hi])[: len(h)]
        whole = np.arange(len(h)) + n <= (ends[lo:hi] - start_char)[owner.astype(np.int64)]
        with np.errstate(over="ignore"):
            mixed = mix64(h)
        kept = whole & (mixed % U64(sample_mod) == 0)
        keys = sorted_unique((owner[kept] << U64(32)) | (mixed[kept] >> U64(32)), runs=True)
        counts[lo:hi] = np.bincount((keys >> U64(32)).astype(np.int64), minlength=hi - lo)
        values.append((keys & U64(0xFFFFFFFF)).astype(np.uint32))
        lo = hi
    return np.concatenate(values), np.r_[0, np.cumsum(counts)].astype(np.int64)
