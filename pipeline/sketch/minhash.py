"""Vectorised MinHash signatures, bit-identical to datasketch's MinHash, and their estimates.

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

from pipeline.sketch.hashing import fmix

_WIDTH = {"affine32": 32, "affine64": 64}
_DTYPE = {"affine32": np.uint32, "affine64": np.uint64}
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
    mixed = fmix(np.asarray(hashes, dtype=dtype), width)
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


_ESTIMATE_CELLS = 1 << 24
"""Signature values compared at once in `jaccard_estimate` (16 MB of booleans)."""


def jaccard_estimate(sigs: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Share of equal signature values of the pairs (left[k], right[k]), shape (n_pairs,),
    float64: the MinHash estimate of their Jaccard similarity (computed in bounded blocks)."""
    out = np.zeros(len(left))
    block = max(1, _ESTIMATE_CELLS // max(sigs.shape[1], 1))
    for start in range(0, len(left), block):
        a, b = left[start : start + block], right[start : start + block]
        out[start : start + block] = (sigs[a] == sigs[b]).mean(axis=1)
    return out


def bbit_jaccard(raw: np.ndarray, bits: int) -> np.ndarray:
    """Jaccard from the share `raw` of equal b-bit values (signatures cut to their low `bits`):
    two unequal values agree on b bits with probability 2^-b, which the raw share overstates."""
    chance = 2.0**-bits
    return np.clip((raw - chance) / (1 - chance), 0.0, 1.0)


def containment(jaccard: np.ndarray, size_a: np.ndarray, size_b: np.ndarray) -> np.ndarray:
    """Estimated share of the smaller set found in the larger, from their Jaccard and sizes:
    |A & B| = J (|A| + |B|) / (1 + J)."""
    inter = jaccard * (size_a + size_b) / (1 + jaccard)
    return np.minimum(inter / np.maximum(np.minimum(size_a, size_b), 1), 1.0)
