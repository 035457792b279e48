"""Same-story stage: pages whose article body repeats an earlier page's (this batch or an index).

A page is signed by the MinHash of its body's shingles: character 12-grams of the folded text
(`fold`: `textnorm.normalise`, diacritics stripped, spaces removed), so that glued words
("pastcooperation"), junk symbols ("rec✱eption") and diacritic variants ("Việt Nam" / "Viet Nam")
of a republished story still share their shingles. One 12-gram in four is kept, chosen by its
hash (consistent sampling: a shingle is kept in every page or in none), which leaves Jaccard and
containment estimates unbiased at a quarter of the hashing cost.

Candidates come from LSH banding of the signatures (85 bands of 3 values: a pair at Jaccard 0.3
is a candidate with probability 0.90, at 0.4 with 0.996, at 0.02 with 7e-4); each candidate is
verified on the whole signature: estimated Jaccard >= `min_jaccard` and estimated containment of
the smaller body in the larger >= `min_containment` (an excerpt "starting mid-article" or the
"opening paragraphs" is contained in its source). On sea-dev the clusters' pairs have
containment >= 0.75 with gold bodies and >= 0.61 with the pipeline's (extra or missing lines);
the closest pair that is not the same text (two updates of one agency story) has 0.45 / 0.39;
MinHash estimates add about +-0.05 (2 sigma, 256 permutations), hence 0.55. Thresholds are
parameters fixed here, never tuned per data set.

Clusters are the connected components of verified pairs (union-find); `dup_of_doc` is the
first-seen page of the page's cluster, among the pages seen up to it, and `doc_dup_score` the
estimated containment between the page and that page (a page linked transitively can score
below the threshold).

Index semantics (``--index``): every signed page gets a row, in first-seen order; the row number
is its sequence number. A page is matched only against rows before its own, and its answer is
stored with its row, so re-running a batch returns the answers of its first run (its pages are
found by doc_id with the same signature; they are not duplicates of themselves). A doc_id that
reappears with different text is a new version: the old row is retired (rows after the new
version never match it; answers that name it stay as they were) and the page gets a new row,
matched against the rows before it. A page whose body is shorter than `min_chars` folded characters
(no body, a caption, a teaser list) is never a duplicate and is not stored.

On disk the index is one ``.npz`` file (no pickle): parameters and versions (checked on load: a
mismatch is refused with one line), doc ids, signatures (low 16 bits of each value: b-bit
MinHash, whose Jaccard bias at 16 bits is 2e-5), set sizes, stored answers, union-find parents
and band hashes (uint32). In memory the bands live in a few sorted segments (`_BandTable`, an
LSM-style merge), looked up with `numpy.searchsorted`: about 1.4 KB per page in all.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from pathlib import Path

import datasketch
import numpy as np
import pandas as pd

from pipeline.errors import StoryIndexError
from pipeline.files import atomic_write_bytes
from pipeline.sketch import minhash as minhashing
from pipeline.text.normalise import JUNK, normalise

FORMAT = "article-pipeline/story-index"
FORMAT_VERSION = 1
SHINGLING = "char-ngrams/fold-nfkc-casefold-nosymbols-nodiacritics-nospaces/poly1000003-fmix64/v1"
"""Names the shingle function: change it whenever `shingle_hashes` or `fold` changes."""

_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_UNDECOMPOSABLE = (("đ", "d"), ("ø", "o"), ("ł", "l"), ("ħ", "h"), ("ı", "i"), (" ", ""))
"""Letters without a decomposition, folded by hand; and the spaces, removed last."""
_ASCII_JUNK = bytes(c for c in range(128) if not (chr(c).isalnum() or chr(c) == "_" or chr(c).isspace()))
"""The ASCII characters `textnorm.normalise` removes (neither word characters nor spaces)."""
_SEPARATOR = "\x1e"
"""Joins the texts of a chunk while they are folded together (a space to every step of `fold`)."""
_BLOCK_CHARS = 1 << 21
"""Characters shingled at once (a few 16 MB arrays): bounds memory on huge chunks."""
_U64 = np.uint64
_POLY = _U64(1_000_003)
_LIVE = np.iinfo(np.int64).max  # retired_by of a row whose doc_id has no later version


def fold(text: str) -> str:
    """`normalise(text)` without diacritics or spaces: the text that is shingled."""
    text = normalise(text)
    if text.isascii():  # the common case
        return text.replace(" ", "")
    return _strip_marks(text)


def _strip_marks(text: str) -> str:
    """The non-ASCII end of `fold`: diacritics and spaces removed from normalised text."""
    text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    for letter, plain in _UNDECOMPOSABLE:  # str.replace is far faster than str.translate
        text = text.replace(letter, plain)
    return text


def fold_all(texts: list[object]) -> list[str]:
    """`fold` of every text ("" for a missing one), a chunk at a time: ASCII texts through a
    byte-level deletion, the others through one pass of each step over all of them."""
    texts = [t if isinstance(t, str) else "" for t in texts]
    out = [
        "".join(t.encode("ascii").lower().translate(None, _ASCII_JUNK).decode("ascii").split())
        if t.isascii()
        else None
        for t in texts
    ]
    other = [i for i, t in enumerate(texts) if out[i] is None]
    if not other:
        return out  # type: ignore[return-value]
    normalised = [
        t if unicodedata.is_normalized("NFKC", t) else unicodedata.normalize("NFKC", t)
        for t in (texts[i] for i in other)
    ]
    joined = _SEPARATOR.join(normalised)
    parts = JUNK.sub("", joined.casefold()).split(_SEPARATOR)
    if joined.count(_SEPARATOR) != len(other) - 1 or len(parts) != len(other):
        for i in other:  # a text holding the separator (or casefolding into it)
            out[i] = fold(texts[i])
        return out  # type: ignore[return-value]
    spaced = [" ".join(part.split()) for part in parts]  # as `normalise`
    marked = [k for k, part in enumerate(spaced) if not part.isascii()]
    for k, part in enumerate(spaced):
        out[other[k]] = part.replace(" ", "")
    stripped = _strip_marks(_SEPARATOR.join(spaced[k] for k in marked)).split(_SEPARATOR) if marked else []
    if len(stripped) != len(marked):
        stripped = [_strip_marks(spaced[k]) for k in marked]
    for k, folded in zip(marked, stripped, strict=True):
        out[other[k]] = folded
    return out  # type: ignore[return-value]


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer (an avalanching bijection), element-wise."""
    h = h ^ (h >> _U64(33))
    h = h * _U64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> _U64(33))
    h = h * _U64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> _U64(33))


def shingle_hashes(folded: str, n: int, sample_mod: int) -> np.ndarray:
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
            acc = acc * _POLY + points[j : j + width]
        mixed = _fmix64(acc)
    kept = np.sort((mixed[mixed % _U64(sample_mod) == 0] >> _U64(32)).astype(np.uint32))
    return kept[np.r_[True, kept[1:] != kept[:-1]]] if len(kept) else kept


def window_hashes(points: np.ndarray, n: int) -> np.ndarray:
    """Polynomial hash (base `_POLY`, mod 2^64) of every window of `n` code points, shape
    (max(len(points) - n + 1, 0),): the value ``sum(points[i + j] * _POLY ** (n - 1 - j))`` of
    `shingle_hashes`, built by doubling (hash(i, m + k) = hash(i, m) * P^k + hash(i + m, k)),
    O(log n) passes instead of n."""
    width = len(points) - n + 1
    if width < 1:
        return np.zeros(0, dtype=np.uint64)
    powers = {1: np.asarray(points, dtype=np.uint64)}  # k -> hashes of the windows of k points
    k = 1
    with np.errstate(over="ignore"):
        while 2 * k <= n:
            h = powers[k]
            powers[2 * k] = h[: len(h) - k] * _U64(pow(1_000_003, k, 1 << 64)) + h[k:]
            k *= 2
        acc, size = powers[k], k
        for part in sorted((p for p in powers if n & p and p != k), reverse=True):
            h = powers[part]
            acc = acc[: len(acc) - part] * _U64(pow(1_000_003, part, 1 << 64)) + h[size:]
            size += part
    return acc[:width]


def shingle_sets(folded: list[str], n: int, sample_mod: int) -> tuple[np.ndarray, np.ndarray]:
    """`shingle_hashes` of many folded texts at once, laid end to end.

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
            mixed = _fmix64(h)
        kept = whole & (mixed % _U64(sample_mod) == 0)
        keys = np.sort((owner[kept] << _U64(32)) | (mixed[kept] >> _U64(32)))
        keys = keys[np.r_[True, keys[1:] != keys[:-1]]]  # np.unique hashes: 100x slower
        counts[lo:hi] = np.bincount((keys >> _U64(32)).astype(np.int64), minlength=hi - lo)
        values.append((keys & _U64(0xFFFFFFFF)).astype(np.uint32))
        lo = hi
    return np.concatenate(values), np.r_[0, np.cumsum(counts)].astype(np.int64)


class _BandTable:
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
        pair = np.unique(q * (1 << 32) + r)
        return pair >> 32, pair & 0xFFFFFFFF

    def bands_by_row(self, n_rows: int) -> np.ndarray:
        """Every row's band hashes, shape (n_rows, n_bands) (for saving)."""
        out = np.zeros((n_rows, self.n_bands), dtype=np.uint32)
        for keys, rows in self.segments:
            for band in range(self.n_bands):
                out[rows[band], band] = keys[band]
        return out


class _Columns:
    """Append-only numpy columns with amortised doubling (one row per index entry)."""

    def __init__(self, specs: dict[str, tuple[tuple[int, ...], type]]) -> None:
        self.n = 0
        self._data = {name: np.zeros((0, *shape), dtype=dtype) for name, (shape, dtype) in specs.items()}

    def __getitem__(self, name: str) -> np.ndarray:
        return self._data[name][: self.n]

    @property
    def nbytes(self) -> int:
        return sum(array.nbytes for array in self._data.values())

    def extend(self, **columns: np.ndarray) -> np.ndarray:
        """Append rows; returns their row numbers."""
        m = len(next(iter(columns.values())))
        need = self.n + m
        for name, array in self._data.items():
            if len(array) < need:
                grown = np.zeros((max(need, 2 * len(array), 64), *array.shape[1:]), dtype=array.dtype)
                grown[: self.n] = array[: self.n]
                self._data[name] = array = grown
            array[self.n : need] = columns[name]
        rows = np.arange(self.n, need)
        self.n = need
        return rows


class StoryIndex:
    """Signatures of the articles seen so far (this batch and, when loaded, earlier ones).

    Parameters
    ----------
    num_perm : int
        MinHash permutations (datasketch, scheme "affine32").
    seed : int
        Seed of datasketch's permutations.
    shingle_chars : int
        Length of the character n-grams of the folded body.
    sample_mod : int
        One shingle in `sample_mod` is kept (by hash).
    bands, rows : int
        LSH banding: `bands` bands of `rows` signature values (bands * rows <= num_perm).
    min_chars : int
        Bodies with fewer folded characters are not signed (never duplicates).
    min_jaccard, min_containment : float
        A candidate pair is the same story when both estimates reach these.
    max_bucket : int
        Rows taken per band bucket on lookup (see `_BandTable.lookup`).

    Attributes
    ----------
    doc_ids_ : list of str, one per row (row = sequence number, first seen first)
    columns_ : `_Columns` with, per row: sig (num_perm,) uint16, size uint32 (shingles),
        fp uint64 (fingerprint of the full signature), answer int64 (row of dup_of_doc, -1),
        score float32, parent int64 (union-find; a root is its cluster's first row),
        retired_by int64 (row of the doc_id's next version; rows after it do not see it)
    row_of_ : dict doc_id -> its live row
    bands_ : `_BandTable`
    """

    def __init__(
        self,
        num_perm: int = 256,
        seed: int = 1,
        shingle_chars: int = 12,
        sample_mod: int = 4,
        bands: int = 85,
        rows: int = 3,
        min_chars: int = 200,
        min_jaccard: float = 0.3,
        min_containment: float = 0.55,
        max_bucket: int = 64,
    ) -> None:
        if bands * rows > num_perm:
            raise ValueError(f"bands * rows = {bands * rows} exceeds num_perm = {num_perm}")
        self.num_perm = num_perm
        self.seed = seed
        self.shingle_chars = shingle_chars
        self.sample_mod = sample_mod
        self.bands = bands
        self.rows = rows
        self.min_chars = min_chars
        self.min_jaccard = min_jaccard
        self.min_containment = min_containment
        self.max_bucket = max_bucket
        self.doc_ids_: list[str] = []
        self.row_of_: dict[str, int] = {}
        self.columns_ = _Columns(
            {
                "sig": ((num_perm,), np.uint16),
                "size": ((), np.uint32),
                "fp": ((), np.uint64),
                "answer": ((), np.int64),
                "score": ((), np.float32),
                "parent": ((), np.int64),
                "retired_by": ((), np.int64),
            }
        )
        self.bands_ = _BandTable(bands)
        self.shingles_hashed_ = 0  # work counter for benchmarks (not saved)

    # ------------------------------------------------------------------ parameters, versions
    def params(self) -> dict[str, object]:
        """The settings that define the signatures and the decision (summary.json, index header)."""
        return {
            "datasketch": datasketch.__version__,
            "scheme": "affine32",
            "num_perm": self.num_perm,
            "seed": self.seed,
            "shingling": SHINGLING,
            "shingle_chars": self.shingle_chars,
            "sample_mod": self.sample_mod,
            "signature_bits": 16,
            "bands": self.bands,
            "rows": self.rows,
            "lsh_threshold": round((1 / self.bands) ** (1 / self.rows), 4),
            "min_chars": self.min_chars,
            "min_jaccard": self.min_jaccard,
            "min_containment": self.min_containment,
            "max_bucket": self.max_bucket,
            "score": "estimated containment of the smaller body in the larger",
        }

    def __len__(self) -> int:
        return self.columns_.n

    @property
    def nbytes(self) -> int:
        """Approximate memory held by the index (arrays, ids and the id dict)."""
        ids = sum(49 + len(d) + 8 for d in self.doc_ids_)  # str object + list slot
        return self.columns_.nbytes + self.bands_.nbytes + ids + 104 * len(self.row_of_)

    # ------------------------------------------------------------------ signatures
    def signatures(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """MinHash signatures of `texts` (article bodies).

        Returns
        -------
        (signed, hashvalues, sizes): signed bool (n,) says which texts are long enough;
        hashvalues uint32 (n_signed, num_perm); sizes uint32 (n_signed,) distinct shingles.
        """
        folded = fold_all(list(texts))
        signed = np.array([len(f) >= self.min_chars for f in folded], dtype=bool)
        chosen = np.flatnonzero(signed)
        values, offsets = shingle_sets([folded[i] for i in chosen], self.shingle_chars, self.sample_mod)
        sizes = np.diff(offsets)
        # A long body can still sample no shingle (vanishingly rare): leave it unsigned.
        signed[chosen[sizes == 0]] = False
        sizes = sizes[sizes > 0]
        self.shingles_hashed_ += int(sizes.sum())
        # datasketch's MinHash(hashfunc=int, scheme="affine32") of each set, for a whole chunk
        hashvalues = minhashing.signatures(values, np.r_[0, np.cumsum(sizes)], self.num_perm, self.seed)
        return signed, hashvalues, sizes.astype(np.uint32)

    def band_hashes(self, values: np.ndarray) -> np.ndarray:
        """LSH band keys of full signatures, shape (n, bands), uint32."""
        block = (
            values[:, : self.bands * self.rows].astype(np.uint64).reshape(len(values), self.bands, self.rows)
        )
        with np.errstate(over="ignore"):
            acc = np.arange(self.bands, dtype=np.uint64)[None, :]
            for j in range(self.rows):
                acc = _fmix64(acc * _POLY + block[:, :, j])
        return (acc >> _U64(32)).astype(np.uint32)

    @staticmethod
    def _fingerprints(values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """One uint64 per signature (the same text gives the same fingerprint)."""
        acc = sizes.astype(np.uint64)
        with np.errstate(over="ignore"):
            for j in range(values.shape[1]):
                acc = _fmix64(acc * _POLY + values[:, j].astype(np.uint64))
        return acc

    # ------------------------------------------------------------------ similarity
    def similarity(self, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Estimated (Jaccard, containment) of row pairs, each shape (n_pairs,), float64."""
        sig, size = self.columns_["sig"], self.columns_["size"].astype(np.float64)
        jac = np.zeros(len(left))
        block = max(1, (1 << 24) // self.num_perm)
        for start in range(0, len(left), block):
            a, b = left[start : start + block], right[start : start + block]
            jac[start : start + block] = (sig[a] == sig[b]).mean(axis=1)
        # b-bit MinHash: unequal values agree on 16 bits with probability 2^-16
        jac = np.clip((jac - 2.0**-16) / (1 - 2.0**-16), 0.0, 1.0)
        sa, sb = size[left], size[right]
        inter = jac * (sa + sb) / (1 + jac)
        contain = np.minimum(inter / np.maximum(np.minimum(sa, sb), 1), 1.0)
        return jac, contain

    def matches(self, new_rows: np.ndarray, bands: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Verified earlier rows of each new row.

        Returns
        -------
        (query_rows, earlier_rows, containment), shape (n_pairs,) each, sorted by query row.
        """
        queries, found = self.bands_.lookup(bands, self.max_bucket)
        query_rows = new_rows[queries]
        # a retired row is still seen by the rows between it and its next version
        keep = (found < query_rows) & (self.columns_["retired_by"][found] > query_rows)
        query_rows, found = query_rows[keep], found[keep]
        jac, contain = self.similarity(query_rows, found)
        ok = (jac >= self.min_jaccard) & (contain >= self.min_containment)
        return query_rows[ok], found[ok], contain[ok]

    # ------------------------------------------------------------------ the stage
    def link(self, articles: pd.DataFrame) -> pd.DataFrame:
        """Add `dup_of_doc` and `doc_dup_score` to `articles` (in first-seen order) and
        remember its signed pages.

        Parameters
        ----------
        articles : DataFrame, shape (n, k) with columns doc_id and body at least

        Returns
        -------
        DataFrame, shape (n, k + 2): `dup_of_doc` (string, doc_id of the first-seen page of the
        same story, never the page itself), `doc_dup_score` (Float32, estimated containment).
        """
        n = len(articles)
        doc_ids = [str(d) for d in articles["doc_id"]]
        signed, values, sizes = self.signatures(list(articles["body"]))
        fps = self._fingerprints(values, sizes)
        page_row = np.full(n, -1, dtype=np.int64)
        new_pages: list[int] = []  # positions in `articles` of pages that get a new row
        new_signed: list[int] = []  # their positions among signed pages
        next_row = len(self)
        pending: dict[str, tuple[int, int]] = {}  # doc_id -> (row, signed position) of this call
        for position, k in zip(np.flatnonzero(signed), range(len(fps)), strict=True):
            doc_id = doc_ids[position]
            if doc_id in pending:
                known: tuple[int, int] | None = pending[doc_id]
            else:
                known = (self.row_of_[doc_id], -1) if doc_id in self.row_of_ else None
            if known is not None and self._same_text(known, fps[k], fps):
                page_row[position] = known[0]  # seen before: its stored answer
                continue
            # new, or a new version of a known doc_id (`_insert` retires the old row)
            page_row[position] = next_row
            pending[doc_id] = (next_row, k)
            new_pages.append(position)
            new_signed.append(k)
            next_row += 1
        self._insert([doc_ids[p] for p in new_pages], values[new_signed], sizes[new_signed], fps[new_signed])
        return self._answers(articles, doc_ids, page_row)

    def _same_text(self, known: tuple[int, int], fp: np.uint64, fps: np.ndarray) -> bool:
        row, position = known
        stored = fps[position] if position >= 0 else self.columns_["fp"][row]
        return bool(stored == fp)

    def _insert(self, doc_ids: list[str], values: np.ndarray, sizes: np.ndarray, fps: np.ndarray) -> None:
        """Append new rows, match them against earlier rows and freeze their answers."""
        m = len(doc_ids)
        rows = self.columns_.extend(
            sig=(values & 0xFFFF).astype(np.uint16),
            size=sizes,
            fp=fps,
            answer=np.full(m, -1, dtype=np.int64),
            score=np.zeros(m, dtype=np.float32),
            parent=np.arange(len(self), len(self) + m, dtype=np.int64),
            retired_by=np.full(m, _LIVE, dtype=np.int64),
        )
        for doc_id, row in zip(doc_ids, rows, strict=True):
            # a doc_id repeated with other text inside one call: the later text wins
            if doc_id in self.row_of_:
                self.columns_["retired_by"][self.row_of_[doc_id]] = row
            self.row_of_[doc_id] = int(row)
        self.doc_ids_.extend(doc_ids)
        bands = self.band_hashes(values)
        self.bands_.add(rows, bands)
        query_rows, found, _ = self.matches(rows, bands)
        self._cluster(query_rows, found)

    def _find(self, row: int) -> int:
        parent = self.columns_["parent"]
        root = row
        while parent[root] != root:
            root = int(parent[root])
        while parent[row] != root:  # path compression
            parent[row], row = root, int(parent[row])
        return root

    def _cluster(self, query_rows: np.ndarray, found: np.ndarray) -> None:
        """Union-find in row order: each new row joins the clusters of its verified earlier
        rows; the cluster's root is its first row, which the new row's answer names."""
        if not len(query_rows):
            return
        parent, answer, score = self.columns_["parent"], self.columns_["answer"], self.columns_["score"]
        starts = np.flatnonzero(np.r_[True, query_rows[1:] != query_rows[:-1]])
        answered, roots = [], []
        for group in np.split(np.arange(len(query_rows)), starts[1:]):
            row = int(query_rows[group[0]])
            cluster_roots = {self._find(int(r)) for r in found[group]}
            root = min(cluster_roots)
            if self.doc_ids_[root] == self.doc_ids_[row]:
                # the first page of the cluster is a retired version of this very page:
                # name the earliest direct match with another doc_id instead
                others = [int(r) for r in found[group] if self.doc_ids_[int(r)] != self.doc_ids_[row]]
                if not others:
                    continue
                target = min(others)
            else:
                target = root
            for r in cluster_roots:
                parent[r] = root
            parent[row] = root
            answered.append(row)
            roots.append(target)
        if answered:
            rows, targets = np.array(answered), np.array(roots)
            answer[rows] = targets
            score[rows] = self.similarity(rows, targets)[1].astype(np.float32)

    def _answers(self, articles: pd.DataFrame, doc_ids: list[str], page_row: np.ndarray) -> pd.DataFrame:
        answer, score = self.columns_["answer"], self.columns_["score"]
        dup_of: list[str | None] = [None] * len(articles)
        scores: list[float | None] = [None] * len(articles)
        for position in np.flatnonzero(page_row >= 0):
            target = int(answer[page_row[position]])
            if target >= 0 and self.doc_ids_[target] != doc_ids[position]:
                dup_of[position] = self.doc_ids_[target]
                scores[position] = float(score[page_row[position]])
        return articles.assign(
            dup_of_doc=pd.array(dup_of, dtype="string"), doc_dup_score=pd.array(scores, dtype="Float32")
        )

    # ------------------------------------------------------------------ persistence
    def _header(self) -> dict[str, object]:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, **self.params()}

    @classmethod
    def load(cls, path: str | Path, **params: object) -> StoryIndex:
        """The index saved at `path`, or an empty one when `path` does not exist.

        Raises
        ------
        StoryIndexError
            The file is not an index, or was built with other versions or settings.
        """
        index = cls(**params)  # type: ignore[arg-type]
        path = Path(path)
        if not path.exists():
            return index
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(bytes(data["header"]).decode("utf-8"))
                if header != index._header():
                    raise StoryIndexError(_mismatch(path, header, index._header()))
                arrays = {name: data[name] for name in data.files}
        except StoryIndexError:
            raise
        except Exception as error:  # a truncated or foreign file
            raise StoryIndexError(f"{path}: not a readable same-story index ({error})") from error
        blob, offsets = bytes(arrays["id_bytes"]), arrays["id_offsets"]
        index.doc_ids_ = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(len(offsets) - 1)]
        rows = index.columns_.extend(**{name: arrays[name] for name in index.columns_._data})
        live = index.columns_["retired_by"] == _LIVE
        index.row_of_ = {d: int(r) for d, r in zip(index.doc_ids_, rows, strict=True) if live[r]}
        index.bands_.add(rows, arrays["bands"])
        return index

    def save(self, path: str | Path) -> None:
        """Write the index to `path` atomically (a temporary file in its folder, then rename):
        a crash at any point leaves the previous file intact."""
        path = Path(path)
        encoded = [d.encode("utf-8") for d in self.doc_ids_]
        arrays = {name: self.columns_[name] for name in self.columns_._data}
        arrays |= {
            "header": np.frombuffer(
                json.dumps(self._header(), sort_keys=True).encode("utf-8"), dtype=np.uint8
            ),
            "id_bytes": np.frombuffer(b"".join(encoded), dtype=np.uint8),
            "id_offsets": np.r_[0, np.cumsum([len(e) for e in encoded], dtype=np.int64)].astype(np.int64),
            "bands": self.bands_.bands_by_row(len(self)),
        }
        buffer = io.BytesIO()  # the whole file in memory (~0.9 KB a page), then one atomic write
        np.savez(buffer, **arrays)
        atomic_write_bytes(path, buffer.getvalue())


def _mismatch(path: Path, found: dict[str, object], expected: dict[str, object]) -> str:
    keys = sorted(k for k in set(found) | set(expected) if found.get(k) != expected.get(k))
    diffs = ", ".join(f"{k}={found.get(k)!r} (expected {expected.get(k)!r})" for k in keys[:4])
    return (
        f"{path}: same-story index built with other settings: {diffs}; rebuild it or use a new --index path"
    )
