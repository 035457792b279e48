"""The same-story index: pages whose article body repeats an earlier page's (this batch or earlier).

A page is signed by the MinHash of its body's shingles: character 12-grams of the folded text
(`text.normalise.fold`: normalised, diacritics stripped, spaces removed), so that glued words
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
and band hashes (uint32) (`sketch.storage`). In memory the bands live in a few sorted segments
(`lsh.BandTable`, an LSM-style merge), looked up with `numpy.searchsorted`: about 1.4 KB per page in all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasketch
import numpy as np
import pandas as pd

from pipeline.errors import StoryIndexError
from pipeline.schema import string_column
from pipeline.sketch import minhash
from pipeline.sketch.hashing import POLY, U64, mix64
from pipeline.sketch.lsh import BandTable, band_keys
from pipeline.sketch.shingles import char_shingle_sets
from pipeline.sketch.storage import (
    GrowableColumns,
    decode_strings,
    encode_strings,
    header_array,
    read_index_file,
    write_index_file,
)
from pipeline.text.normalise import fold_all

FORMAT = "article-pipeline/story-index"
FORMAT_VERSION = 1
SHINGLING = "char-ngrams/fold-nfkc-casefold-nosymbols-nodiacritics-nospaces/poly1000003-fmix64/v1"
"""Names the shingle function: change it whenever `char_shingle_hashes` or `fold` changes."""
SIGNATURE_BITS = 16
"""Bits of each MinHash value stored (b-bit MinHash: Jaccard bias 2e-5 at 16 bits)."""
_LIVE = np.iinfo(np.int64).max  # retired_by of a row whose doc_id has no later version


@dataclass(frozen=True)
class SignedChunk:
    """The signed pages of one chunk of articles (bodies long enough to be linked): what
    `StoryIndex.sign` computes from the bodies alone, so that any process can sign a chunk and
    the index's owner link it (`StoryIndex.link`), in order."""

    positions: np.ndarray  # int64, their positions in the chunk's articles
    doc_ids: list[str]
    fps: np.ndarray  # uint64 fingerprints (same text -> same value)
    sig16: np.ndarray  # (n, num_perm) uint16, what the index stores and compares
    sizes: np.ndarray  # uint32 distinct shingles
    bands: np.ndarray  # (n, bands) uint32 LSH keys

    def light(self) -> SignedChunk:
        """Without the signatures and band keys (`link` needs them): what the Dask engine's client
        receives to number the rows (`storylinks.assign_rows`)."""
        empty = np.zeros((0, 0), dtype=np.uint16)
        return SignedChunk(self.positions, self.doc_ids, self.fps, empty, self.sizes[:0], empty)


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
        Rows taken per band bucket on lookup (see `BandTable.lookup`).

    Attributes
    ----------
    doc_ids_ : list of str, one per row (row = sequence number, first seen first)
    columns_ : `GrowableColumns` with, per row: sig (num_perm,) uint16, size uint32 (shingles),
        fp uint64 (fingerprint of the full signature), answer int64 (row of dup_of_doc, -1),
        score float32, parent int64 (union-find; a root is its cluster's first row),
        retired_by int64 (row of the doc_id's next version; rows after it do not see it)
    row_of_ : dict doc_id -> its live row
    bands_ : `BandTable`
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
        self.columns_ = GrowableColumns(
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
        self.bands_ = BandTable(bands)
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
            "signature_bits": SIGNATURE_BITS,
            "bands": self.bands,
            "rows": self.rows,
            "lsh_threshold": round((1 / self.bands) ** (1 / self.rows), 4),
            "min_chars": self.min_chars,
            "min_jaccard": self.min_jaccard,
            "min_containment": self.min_containment,
            "max_bucket": self.max_bucket,
            "score": "estimated containment of the smaller body in the larger",
        }

    def settings(self) -> dict[str, Any]:
        """The constructor arguments: `StoryIndex(**index.settings())` signs and decides as
        `index` does (in another process, say), without its rows."""
        names = ("num_perm", "seed", "shingle_chars", "sample_mod", "bands", "rows", "min_chars")
        names += ("min_jaccard", "min_containment", "max_bucket")
        return {name: getattr(self, name) for name in names}

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
        values, offsets = char_shingle_sets([folded[i] for i in chosen], self.shingle_chars, self.sample_mod)
        sizes = np.diff(offsets)
        # A long body can still sample no shingle (vanishingly rare): leave it unsigned.
        signed[chosen[sizes == 0]] = False
        sizes = sizes[sizes > 0]
        self.shingles_hashed_ += int(sizes.sum())
        # datasketch's MinHash(hashfunc=int, scheme="affine32") of each set, for a whole chunk
        hashvalues = minhash.signatures(values, np.r_[0, np.cumsum(sizes)], self.num_perm, self.seed)
        return signed, hashvalues, sizes.astype(np.uint32)

    def sign(self, articles: pd.DataFrame) -> SignedChunk:
        """Signatures, fingerprints and LSH band keys of the bodies of `articles` (columns doc_id
        and body): page-local work, independent of the rows already in the index."""
        signed, values, sizes = self.signatures(list(articles["body"]))
        positions = np.flatnonzero(signed)
        return SignedChunk(
            positions=positions.astype(np.int64),
            doc_ids=[str(articles["doc_id"].iat[p]) for p in positions],
            fps=self.fingerprints(values, sizes),
            sig16=(values & (1 << SIGNATURE_BITS) - 1).astype(np.uint16),
            sizes=sizes,
            bands=self.band_hashes(values),
        )

    def band_hashes(self, values: np.ndarray) -> np.ndarray:
        """LSH band keys of full signatures, shape (n, bands), uint32 (the high bits of
        `lsh.band_keys`: half the memory, and a collision only adds a verified candidate)."""
        return (band_keys(values, self.bands, self.rows) >> U64(32)).astype(np.uint32)

    @staticmethod
    def fingerprints(values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """One uint64 per signature (the same text gives the same fingerprint)."""
        acc = sizes.astype(np.uint64)
        with np.errstate(over="ignore"):
            for j in range(values.shape[1]):
                acc = mix64(acc * POLY + values[:, j].astype(np.uint64))
        return acc

    # ------------------------------------------------------------------ similarity
    def similarity(self, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Estimated (Jaccard, containment) of row pairs, each shape (n_pairs,), float64."""
        sig, size = self.columns_["sig"], self.columns_["size"].astype(np.float64)
        jac = minhash.bbit_jaccard(minhash.jaccard_estimate(sig, left, right), SIGNATURE_BITS)
        return jac, minhash.containment(jac, size[left], size[right])

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
    def link(self, articles: pd.DataFrame, signed: SignedChunk | None = None) -> pd.DataFrame:
        """Add `dup_of_doc` and `doc_dup_score` to `articles` (in first-seen order) and
        remember its signed pages.

        Parameters
        ----------
        articles : DataFrame, shape (n, k) with columns doc_id and body at least
        signed : `self.sign(articles)`, computed here when not given (by a worker process, say)

        Returns
        -------
        DataFrame, shape (n, k + 2): `dup_of_doc` (string, doc_id of the first-seen page of the
        same story, never the page itself), `doc_dup_score` (Float32, estimated containment).
        """
        signed = self.sign(articles) if signed is None else signed
        n = len(articles)
        doc_ids = [str(d) for d in articles["doc_id"]]
        if signed.doc_ids != [doc_ids[p] for p in signed.positions.tolist()]:
            raise ValueError("`signed` was not computed from these articles (StoryIndex.sign)")
        fps = signed.fps
        page_row = np.full(n, -1, dtype=np.int64)
        new_pages: list[int] = []  # positions in `articles` of pages that get a new row
        new_signed: list[int] = []  # their positions among signed pages
        next_row = len(self)
        pending: dict[str, tuple[int, int]] = {}  # doc_id -> (row, signed position) of this call
        for k, position in enumerate(signed.positions.tolist()):
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
        self._insert(
            [doc_ids[p] for p in new_pages],
            signed.sig16[new_signed],
            signed.sizes[new_signed],
            fps[new_signed],
            signed.bands[new_signed],
        )
        return self._answers(articles, doc_ids, page_row)

    def _same_text(self, known: tuple[int, int], fp: np.uint64, fps: np.ndarray) -> bool:
        row, position = known
        stored = fps[position] if position >= 0 else self.columns_["fp"][row]
        return bool(stored == fp)

    def _insert(
        self, doc_ids: list[str], sig16: np.ndarray, sizes: np.ndarray, fps: np.ndarray, bands: np.ndarray
    ) -> None:
        """Append new rows, match them against earlier rows and freeze their answers."""
        m = len(doc_ids)
        rows = self.columns_.extend(
            sig=sig16,
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
        self.bands_.add(rows, bands)
        query_rows, found, _ = self.matches(rows, bands)
        self._cluster(query_rows, found)

    def _cluster(self, query_rows: np.ndarray, found: np.ndarray) -> None:
        """Join each new row to the clusters of its verified earlier rows (`cluster_in_row_order`)
        and store the answers with their estimated containment."""
        rows, targets = cluster_in_row_order(self.columns_["parent"], self.doc_ids_, query_rows, found)
        if len(rows):
            self.columns_["answer"][rows] = targets
            self.columns_["score"][rows] = self.similarity(rows, targets)[1].astype(np.float32)

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
            dup_of_doc=string_column(dup_of), doc_dup_score=pd.array(scores, dtype="Float32")
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
        header, arrays = read_index_file(path)
        if header != index._header():
            raise StoryIndexError(_mismatch(path, header, index._header()))
        index.doc_ids_ = decode_strings(arrays)
        rows = index.columns_.extend(**{name: arrays[name] for name in index.columns_.names})
        live = index.columns_["retired_by"] == _LIVE
        index.row_of_ = {d: int(r) for d, r in zip(index.doc_ids_, rows, strict=True) if live[r]}
        index.bands_.add(rows, arrays["bands"])
        return index

    def save(self, path: str | Path) -> None:
        """Write the index to `path` atomically (a temporary file in its folder, then rename):
        a crash at any point leaves the previous file intact."""
        arrays = {name: self.columns_[name] for name in self.columns_.names}
        arrays |= {"header": header_array(self._header()), **encode_strings(self.doc_ids_)}
        arrays["bands"] = self.bands_.bands_by_row(len(self))
        write_index_file(Path(path), arrays)


def find_root(parent: np.ndarray, row: int) -> int:
    """The root of `row`'s cluster in the union-find array `parent` (compressing the path)."""
    root = row
    while parent[root] != root:
        root = int(parent[root])
    while parent[row] != root:
        parent[row], row = root, int(parent[row])
    return root


def cluster_in_row_order(
    parent: np.ndarray, doc_ids: list[str], query_rows: np.ndarray, found: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Union-find in row order: each new row joins the clusters of its verified earlier rows;
    a cluster's root is its first row, which the new row's answer names.

    Parameters
    ----------
    parent : int64 array, shape (n_rows,), updated in place
    doc_ids : the doc_id of every row
    query_rows, found : int arrays of one length, the verified (new row, earlier row) pairs,
        sorted by new row

    Returns
    -------
    (rows, targets): the rows that got an answer and the row each answer names, int arrays.
    Used by `StoryIndex` and by the Dask engine's distributed linking alike.
    """
    answered: list[int] = []
    roots: list[int] = []
    if not len(query_rows):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, query_rows[1:] != query_rows[:-1]])
    for group in np.split(np.arange(len(query_rows)), starts[1:]):
        row = int(query_rows[group[0]])
        cluster_roots = {find_root(parent, int(r)) for r in found[group]}
        root = min(cluster_roots)
        if doc_ids[root] == doc_ids[row]:
            # the first page of the cluster is a retired version of this very page:
            # name the earliest direct match with another doc_id instead
            others = [int(r) for r in found[group] if doc_ids[int(r)] != doc_ids[row]]
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
    return np.array(answered, dtype=np.int64), np.array(roots, dtype=np.int64)


def _mismatch(path: Path, found: dict[str, object], expected: dict[str, object]) -> str:
    keys = sorted(k for k in set(found) | set(expected) if found.get(k) != expected.get(k))
    diffs = ", ".join(f"{k}={found.get(k)!r} (expected {expected.get(k)!r})" for k in keys[:4])
    return (
        f"{path}: same-story index built with other settings: {diffs}; rebuild it or use a new --index path"
    )
