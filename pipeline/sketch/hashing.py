"""The 64-bit hashing every sketch shares: MurmurHash3's finalizer and a polynomial hash.

`mix64` scrambles any uint64 key (a sum, a product, a position) into one whose bits are all
equally random, so that keys can be combined by addition and sampled by a modulus; `fmix` is the
same finalizer at 32 bits too, as datasketch applies it inside its affine MinHash schemes.
"""

from __future__ import annotations

import numpy as np

U64 = np.uint64
POLY = U64(1_000_003)
"""Base of the polynomial (rolling) hashes of code-point windows and of band values, mod 2^64."""

# MurmurHash3 finalizer constants, as datasketch.minhash._FMIX_CONSTANTS.
_FMIX = {
    32: (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16),
    64: (33, 0xFF51AFD7ED558CCD, 33, 0xC4CEB9FE1A85EC53, 33),
}


def fmix(values: np.ndarray, width: int) -> np.ndarray:
    """MurmurHash3's finalizer at `width` bits (32 or 64), element-wise on `values` of that width."""
    dtype = values.dtype.type
    s1, m1, s2, m2, s3 = (dtype(c) for c in _FMIX[width])
    values = values ^ (values >> s1)
    values = values * m1
    values = values ^ (values >> s2)
    values = values * m2
    return values ^ (values >> s3)


def mix64(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer, element-wise (an avalanching bijection on uint64)."""
    return fmix(np.asarray(values, dtype=np.uint64), 64)


def fold32(values: np.ndarray) -> np.ndarray:
    """uint64 hashes folded to uint32 items for the affine32 scheme."""
    values = np.asarray(values, dtype=np.uint64)
    return ((values >> np.uint64(32)) ^ values).astype(np.uint32)
