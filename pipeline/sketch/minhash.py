"""Vectorised MinHash signatures and LSH banding, bit-identical to datasketch's MinHash.

datasketch's `MinHash.bulk` builds one object per set and hashes each set in its own numpy call;
over a chunk of pages that is one Python round trip per line. Here every shingle of every set is
hashed once (datasketch's own `sha1_hash32` / `sha1_hash64`), then the permutations and the
per-set minimum run as a few numpy operations over the whole chunk. The result equals
``MinHash.bulk(sets, num_perm=..., seed=..., scheme=...)[i].hashvalues`` exactly (a test checks
it), so signatures stay comparable with any datasketch index built with the same parameters.

Only the "affine32" and "affine64" schemes (datasketch >= 2.0) are supported: "legacy" folds a
61-bit prime field to 32 bits, which inflates similarity estimates on large sets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from datasketch import MinHash
from datasketch.hashfunc import sha1_hash32, sha1_hash64

_WIDTH = {"affine32": 32, "affine64": 64}
_DTYPE = {"affine32": np.uint32, "affine64": np.uint64}
# MurmurHash3 finalizer constants, as datasketch.minhash._FMIX_CONSTANTS.
_FMIX = {
    32: (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16),
    64: (33, 0xFF51AFD7ED558CCD, 33, 0xC4CEB9FE1A85EC53, 33),
}
_BLOCK_CELLS = 1 << 20
"""Shingle x permutation cells held at once (4 MB of uint32): bounds memory on huge chunks
and keeps a block near the cache (larger blocks are slower, not faster)."""


def permutations(num_perm: int, seed: int, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's (a, b) affine permutation parameters for these settings, each shape (num_perm,)."""
    if scheme not in _WIDTH:
        raise ValueError(f"unsupported MinHash scheme {scheme!r} (use one of {sorted(_WIDTH)})")
    a, b = MinHash(num_perm=num_perm, seed=seed, scheme=scheme).permutations
    return a, b


def hash_items(items: Sequence[bytes], scheme: str) -> np.ndarray:
    """datasketch's default hash of each item (SHA-1 prefix), shape (len(items),)."""
    func = sha1_hash64 if _WIDTH[scheme] == 64 else sha1_hash32
    return np.fromiter((func(x) for x in items), dtype=_DTYPE[scheme], count=len(items))


def _fmix(values: np.ndarray, width: int) -> np.ndarray:
    dtype = values.dtype.type
    s1, m1, s2, m2, s3 = (dtype(c) for c in _FMIX[width])
    values = values ^ (values >> s1)
    values = values * m1
    values = values ^ (values >> s2)
    values = values * m2
    return values ^ (values >> s3)


def signatures(
    hashes: np.ndarray, offsets: np.ndarray, num_perm: int = 128, seed: int = 1, scheme: str = "affine32"
) -> np.ndarray:
    """MinHash signatures of sets given as one flat array of item hashes.

    Parameters
    ----------
    hashes : array, shape (n_items,)
        Item hashes from `hash_items`, the items of set i at ``hashes[offsets[i]:offsets[i + 1]]``.
    offsets : array, shape (n_sets + 1,)
        Non-decreasing, ``offsets[0] == 0`` and ``offsets[-1] == n_items``. An empty set gets
        datasketch's empty signature (every value at the scheme's maximum).

    Returns
    -------
    array, shape (n_sets, num_perm), dtype uint32 (affine32) or uint64 (affine64).
    """
    width, dtype = _WIDTH[scheme], _DTYPE[scheme]
    a, b = permutations(num_perm, seed, scheme)
    a, b = a.astype(dtype)[:, None], b.astype(dtype)[:, None]
    offsets = np.asarray(offsets, dtype=np.int64)
    n_sets = len(offsets) - 1
    out = np.full((n_sets, num_perm), np.iinfo(dtype).max, dtype=dtype)
    mixed = _fmix(np.asarray(hashes, dtype=dtype), width)
    nonempty = np.flatnonzero(offsets[1:] > offsets[:-1])
    # Blocks of whole sets, permutations x items (each permutation's values of a set are
    # contiguous, so the per-set minimum is one fast reduceat along rows), a few MB each.
    per_block = max(1, _BLOCK_CELLS // num_perm)
    ends = offsets[nonempty + 1]
    start_set = 0
    while start_set < len(nonempty):
        first = nonempty[start_set]
        end_set = int(np.searchsorted(ends, offsets[first] + per_block, side="right"))
        end_set = max(end_set, start_set + 1)  # a set larger than a block still goes whole
        sets = nonempty[start_set:end_set]
        lo, hi = offsets[sets[0]], offsets[sets[-1] + 1]
        with np.errstate(over="ignore"):
            permuted = mixed[None, lo:hi] * a
            permuted += b
        out[sets] = np.minimum.reduceat(permuted, offsets[sets] - lo, axis=1).T
        start_set = end_set
    return out


def mix64(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer, element-wise (an avalanching bijection on uint64)."""
    return _fmix(np.asarray(values, dtype=np.uint64), 64)


def fold32(values: np.ndarray) -> np.ndarray:
    """uint64 hashes folded to uint32 items for the affine32 scheme."""
    values = np.asarray(values, dtype=np.uint64)
    return ((values >> np.uint64(32)) ^ values).astype(np.uint32)


_SHINGLE_WEIGHTS = mix64(np.arange(1, 65, dtype=np.uint64))  # odd-or-even fixed multipliers


def shingle_hashes(token_hashes: np.ndarray, owner: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
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
    `textnorm.shingles` does.
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


def jaccard_estimate(sigs: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Share of equal signature values of the pairs (left[k], right[k]), shape (n_pairs,)."""
    if not len(left):
        return np.zeros(0)
    return (sigs[left] == sigs[right]).mean(axis=1)


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
    # One 64-bit key per band: a random linear combination of the band's values. A rare
    # collision only adds a candidate, which the caller verifies on the whole signature.
    weights = np.random.default_rng(0).integers(1, 1 << 63, size=rows, dtype=np.uint64) | np.uint64(1)
    lefts, rights = [], []
    for band in range(bands):
        block = sigs[:, band * rows : (band + 1) * rows].astype(np.uint64)
        with np.errstate(over="ignore"):
            key = (block * weights).sum(axis=1, dtype=np.uint64)
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
