"""Coherence features: how much a line is about the same thing as its page and its neighbours.

A teaser is about another story, and a listing page is a run of summaries of different events;
the paragraphs of one article share its names, places and numbers. Every line becomes a set of
content words (lower-cased words of 3+ characters or numbers, English stopwords removed), a
binary vector normalised to unit length, and the features are cosines:

- ``sim_prev`` / ``sim_next``: with the line just before / after it on the page;
- ``sim_near``: the best cosine with the lines up to NEAR lines away;
- ``sim_title``: with the page's first line;
- ``sim_core``: with the sum of the page's *other* prose lines (its core, leave-one-out);
- ``page_core_sim``: the mean ``sim_core`` of the page's prose lines, and ``page_chain_sim``: the
  mean cosine between consecutive prose lines: one number each per page, low on listing pages.

No term weighting learned from data: the features depend on each page alone, not on the chunk or
a vocabulary. Lines are the rows of one sparse matrix for the whole chunk (dot products of lines
are merges of sorted rows in scipy), and the page cores a sorted-key join over (page, word) pairs
in numpy: no per-page Python, no dense page-by-vocabulary matrix.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse

from pipeline.arrays import sorted_unique

NEAR = 3
"""Half-width of the window over which ``sim_near`` takes the best neighbour."""

COHERENCE_FEATURES = (
    "sim_prev",
    "sim_next",
    "sim_near",
    "sim_title",
    "sim_core",
    "page_core_sim",
    "page_chain_sim",
)


def alnum_words(texts: pa.Array) -> pa.Array:
    """`texts` lower-cased, every run of characters other than letters and digits one space.

    Computed once per chunk and shared: the line features find in-page repeats on it too."""
    return pc.replace_substring_regex(pc.utf8_lower(texts), r"[^\p{L}\p{N}]+", " ")


def _word_pairs(unique_words: pa.Array, stopwords: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(text, word) pairs of the distinct texts, each pair once: two int64 arrays of equal length."""
    words = pc.utf8_split_whitespace(unique_words)
    flat = pc.list_flatten(words)
    parent = pc.list_parent_indices(words).to_numpy()
    keep = pc.and_(
        pc.greater_equal(pc.utf8_length(flat), 3) if len(flat) else pa.array([], pa.bool_()),
        pc.invert(pc.is_in(flat, value_set=stopwords)),
    )
    keep = pc.or_(keep, pc.utf8_is_digit(flat))
    # ids in order of first occurrence, as pd.factorize gives them, without Python strings
    word_id = pc.dictionary_encode(pc.filter(flat, keep)).indices.to_numpy().astype(np.int64)
    parent = parent[keep.to_numpy(zero_copy_only=False)].astype(np.int64)
    pairs = sorted_unique(parent * (int(word_id.max(initial=0)) + 1) + word_id)
    n_words = int(word_id.max(initial=0)) + 1
    return pairs // n_words, pairs % n_words


def _row_dots(
    key_a: np.ndarray, val_a: np.ndarray, key_b: np.ndarray, val_b: np.ndarray, row_a: np.ndarray, n: int
) -> np.ndarray:
    """Sum over matching keys of val_a * val_b, added up per row_a, shape (n,).

    key_b must be sorted and unique; a key of `a` missing from `b` adds nothing."""
    at = np.searchsorted(key_b, key_a)
    at_clipped = np.minimum(at, max(len(key_b) - 1, 0))
    hit = (at < len(key_b)) & (key_b[at_clipped] == key_a) if len(key_b) else np.zeros(len(key_a), bool)
    return np.bincount(row_a[hit], weights=val_a[hit] * val_b[at_clipped[hit]], minlength=n)


def _row_range(x: sparse.csr_matrix, start: int, stop: int) -> sparse.csr_matrix:
    """Rows start:stop of `x`, its data and indices as views and only the row offsets rebased
    (scipy's slicing copies all three: a chunk's neighbour cosines took twice as long)."""
    lo, hi = x.indptr[start], x.indptr[stop]
    return sparse.csr_matrix(
        (x.data[lo:hi], x.indices[lo:hi], x.indptr[start : stop + 1] - lo), shape=(stop - start, x.shape[1])
    )


def coherence_features(
    codes: np.ndarray,
    unique_words: pa.Array,
    prose: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    page_of: np.ndarray,
    stopwords: pa.Array,
) -> dict[str, np.ndarray]:
    """COHERENCE_FEATURES of every line of a chunk.

    Parameters
    ----------
    codes : ndarray of int, shape (n_lines,), each line's index into `unique_words` (pd.factorize).
    unique_words : pyarrow string array, `alnum_words` of the distinct line texts.
    prose : ndarray of float, shape (n_lines,), 1 for the lines that read as running text.
    starts, ends, page_of : the page bounds of linefeatures.page_bounds.
    stopwords : pyarrow array of the stopwords to leave out.

    Returns
    -------
    dict of name -> ndarray of float32, shape (n_lines,), for every name of COHERENCE_FEATURES.
    Outside the page (no line before the first one...) a cosine is -1.
    """
    n = len(codes)
    if not n:
        return {name: np.zeros(0, np.float32) for name in COHERENCE_FEATURES}
    text_of_pair, word_of_pair = _word_pairs(unique_words, stopwords)
    n_words = int(word_of_pair.max(initial=0)) + 1
    # the (line, word) pairs of the chunk: the pairs of each line's distinct text
    per_text = np.bincount(text_of_pair, minlength=len(unique_words))
    first_pair = np.concatenate([[0], np.cumsum(per_text)])
    counts = per_text[codes]
    line = np.repeat(np.arange(n), counts)
    offsets = np.arange(len(line)) - np.repeat(np.cumsum(counts) - counts, counts)
    word = word_of_pair[first_pair[codes][line] + offsets]
    value = 1.0 / np.sqrt(np.maximum(counts, 1))[line]  # unit-length binary vectors
    index = np.arange(n)
    lo, hi = starts[page_of], ends[page_of]
    # one row per line: dot products of rows are merges of sorted sparse rows (scipy, in C)
    rows = sparse.csr_matrix((value, word, np.concatenate([[0], np.cumsum(counts)])), shape=(n, n_words))

    def row_dots(a: sparse.csr_matrix, b: sparse.csr_matrix) -> np.ndarray:
        return np.asarray(a.multiply(b).sum(axis=1)).ravel()

    def shifted_cosine(offset: int) -> np.ndarray:
        """Cosine of each line with the line `offset` rows away (-1 outside its page)."""
        dots = np.zeros(n)
        if abs(offset) < n:
            if offset > 0:
                dots[:-offset] = row_dots(_row_range(rows, 0, n - offset), _row_range(rows, offset, n))
            else:
                dots[-offset:] = row_dots(_row_range(rows, -offset, n), _row_range(rows, 0, n + offset))
        other = index + offset
        return np.where((other >= lo) & (other < hi), dots, -1.0)

    out = {"sim_prev": shifted_cosine(-1), "sim_next": shifted_cosine(1)}
    near = np.maximum(out["sim_prev"], out["sim_next"])
    for offset in range(2, NEAR + 1):
        near = np.maximum(near, np.maximum(shifted_cosine(-offset), shifted_cosine(offset)))
    out["sim_near"] = near

    out["sim_title"] = np.where(index == lo, 1.0, row_dots(rows, rows[lo]))

    # the page's core: the sum of its prose lines' vectors, as (page, word) -> weight
    n_pages = len(starts)
    is_prose = prose[line] > 0
    core_key, inverse = sorted_unique(page_of[line[is_prose]] * n_words + word[is_prose], return_inverse=True)
    core_val = np.bincount(inverse, weights=value[is_prose], minlength=len(core_key))
    core_norm2 = np.bincount(core_key // n_words, weights=core_val**2, minlength=n_pages)
    dot = _row_dots(page_of[line] * n_words + word, value, core_key, core_val, line, n)
    has_words = counts > 0
    own = np.where(prose > 0, has_words.astype(np.float64), 0.0)  # x.x of a prose line's own vector
    # cos(x, core - x) for a prose line (x.x = 1), cos(x, core) for the others
    rest_dot = dot - own
    rest_norm2 = np.maximum(core_norm2[page_of] - 2 * own * dot + own, 0.0)
    out["sim_core"] = np.where(rest_norm2 > 1e-12, rest_dot / np.sqrt(np.maximum(rest_norm2, 1e-12)), -1.0)

    prose_rows = np.flatnonzero(prose > 0)
    page_prose = np.bincount(page_of[prose_rows], minlength=n_pages)
    core_sum = np.bincount(page_of[prose_rows], weights=out["sim_core"][prose_rows], minlength=n_pages)
    page_core = np.where(page_prose >= 2, core_sum / np.maximum(page_prose, 1), -1.0)
    # consecutive prose lines of a page, whatever lies between them
    same_page = page_of[prose_rows[1:]] == page_of[prose_rows[:-1]]
    a, b = prose_rows[:-1][same_page], prose_rows[1:][same_page]
    pair_cos = row_dots(rows[a], rows[b]) if len(a) else np.zeros(0)
    chain_sum = np.bincount(page_of[a], weights=pair_cos, minlength=n_pages)
    chain_n = np.bincount(page_of[a], minlength=n_pages)
    page_chain = np.where(chain_n > 0, chain_sum / np.maximum(chain_n, 1), -1.0)
    out["page_core_sim"] = page_core[page_of]
    out["page_chain_sim"] = page_chain[page_of]
    return {name: np.asarray(out[name], dtype=np.float32) for name in COHERENCE_FEATURES}
