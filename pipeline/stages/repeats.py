"""In-page repeats stage: link the lines of a page that repeat one another.

Scraped pages repeat themselves: a caption scraped twice, a headline glued to its photo caption,
a standfirst repeated inside the first paragraph, a title repeated by a teaser, menu lines. Every
line is compared only with lines of the same page, on the text of `text.normalise.words` (case, width,
punctuation and junk symbols inside words do not hide a repeat; URLs are left out, so a URL that
spells out a headline is no repeat of it). Four detectors propose links:

- exact: equal normalised text, whatever the length (a hash of the words; "Share", "Next").
- near: MinHash (datasketch's affine32 scheme, vectorised in `sketch.minhash`) over word shingles
  of the longer lines, LSH banding for candidates, estimated Jaccard >= `near_jaccard`.
- contained: the shorter line's word shingles lie (almost) all in the longer one: a standfirst
  inside the first paragraph, a title inside "Title ảnh 1Caption" or a teaser.
- contained, despaced: the same on character k-grams of the text without spaces, at a near-exact
  threshold: glued or split words ("17thtrilateral", "betweenVietnam") break word shingles.

Containment candidates come from an inverted index of shingles (a sparse incidence matrix whose
product lists the pairs sharing a shingle, page-local by construction); shingles found in more than
`max_shingle_lines` lines of a page are left out of candidate generation, so a page of thousands
of lines costs O(lines x cap), never O(lines^2). Intersections of candidates are then counted
exactly.

Linked lines form groups (connected components); each group keeps one line and every other member
points to it (a star): a body line if the group has one (the article's paragraph is kept over a
caption or teaser restating it), else the most complete line (the longest normalised text), the
earliest on ties. `dup_score` is the similarity of the member to the kept line and `reason` gets
";dup:<kind>": exact, near, contained, or transitive (joined to the kept line only through another
member, e.g. two teasers that each start with the title; its score is then their direct
containment).

Lightly reworded repeats (a caption restating the standfirst in other words) are not linked: on
sea-dev the linked and unlinked rewordings are not separable by any similarity that also keeps the
seeds exact (a teaser headline whose words all recur, in order, in its caption is not a repeat in
the seed gold; the same shape is a repeat between two photo captions of sea-dev).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from pipeline.schema import string_column, value_counts
from pipeline.sketch import minhash
from pipeline.sketch.hashing import fold32, mix64
from pipeline.sketch.lsh import band_pairs
from pipeline.sketch.shingles import word_shingle_hashes
from pipeline.text import normalise
from pipeline.text.urls import URL


@dataclass(frozen=True)
class InPageParams:
    """Parameters of in-page repeat detection (written to summary.json as they are).

    Thresholds are fixed here, never tuned per data set; the values are conventional choices
    checked by a sensitivity sweep on sea-dev (see the tests), not fitted optima.
    """

    shingle_words: int = 3
    """Word k-shingles: 3 words are specific enough that a shared shingle means shared text."""
    char_k: int = 5
    """Character k-grams of the despaced text, for the glued-words containment."""
    num_perm: int = 128
    """MinHash permutations: standard error of a Jaccard estimate <= 0.044 (0.035 at J = 0.8)."""
    seed: int = 1
    scheme: str = "affine32"
    """datasketch >= 2.0 permutation scheme (bijective; the legacy one inflates estimates)."""
    lsh_bands: int = 32
    lsh_rows: int = 4
    """32 bands of 4 rows: a pair at Jaccard 0.8 is a candidate with probability > 0.999."""
    minhash_min_shingles: int = 8
    """Longer lines have at least this many word shingles: they get a MinHash when needed and
    may be partly contained (`contained`); a shorter line must be contained whole."""
    near_jaccard: float = 0.8
    """Estimated Jaccard of word shingles for a near-identical copy (the usual 0.8)."""
    contained: float = 0.8
    """Share of the shorter line's word shingles found in the longer line."""
    despaced_contained: float = 0.95
    """Share of the shorter line's despaced character k-grams found in the longer (near-exact)."""
    despaced_floor: float = 0.5
    """Pairs sharing at least this share of word shingles are checked on despaced characters: a
    glued word breaks only the k shingles around it."""
    min_contained_words: int = 4
    """A line of 3 words or fewer is only ever an exact repeat: place names, dates or labels
    ("Surigao del Sur", "starting September 1") recur inside running text by chance."""
    max_shingle_lines: int = 64
    """Shingles in more lines of one page than this give no candidates (bounded cost)."""

    def as_dict(self) -> dict:
        return asdict(self)


INPAGE_PARAMS = InPageParams()
"""The configuration every run uses; `summary.json` records `INPAGE_PARAMS.as_dict()`."""

REPEAT_KINDS = ("exact", "near", "contained", "transitive")
"""What linked a line to its kept copy (`dup_kind`; ";dup:<kind>" in its reason)."""


def link_repeats(lines: pd.DataFrame, params: InPageParams = INPAGE_PARAMS) -> pd.DataFrame:
    """Link every line of `lines` that repeats another line of the same page.

    Parameters
    ----------
    lines : DataFrame, shape (n_lines, >= 4)
        Columns `page`, `pos`, `line_no`, `text`; `role` and `reason` are used when present.

    Returns
    -------
    `lines` with `dup_of` (Int32, line_no of the kept copy, null for unlinked and kept lines),
    `dup_score` (Float32, similarity to the kept copy), `reason` (";dup:<kind>" appended on
    linked lines) and the working column `dup_kind` (string, the kind; null when unlinked),
    shape (n_lines, n_columns + up to 4).
    """
    n = len(lines)
    if not n:
        empty = np.zeros(0, dtype=bool)
        return _with_links(lines, empty, np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=object))
    # Every content-derived array is computed once per distinct text (menus, captions and
    # teasers recur across the pages of a chunk), then mapped to lines by `text_of_line`.
    text_of_line, distinct = _factorize_texts(lines["text"])
    pages = lines["page"].to_numpy(dtype=np.int64)
    token_codes, vocabulary, token_text = normalise.token_codes(distinct)
    token_hash, token_len = _token_hashes(vocabulary)
    token_hash, token_len = token_hash[token_codes], token_len[token_codes]
    text_words = np.bincount(token_text, minlength=len(distinct))
    text_chars = np.bincount(token_text, weights=token_len, minlength=len(distinct)).astype(np.int64)
    n_words, n_chars = text_words[text_of_line], text_chars[text_of_line]
    token_offsets = np.r_[0, np.cumsum(text_words)]

    unit = _exact_units(distinct, text_of_line, token_hash, token_text, text_words, pages)
    n_units = int(unit.max()) + 1
    first = np.full(n_units, n, dtype=np.int64)
    keyed = np.flatnonzero(unit >= 0)
    np.minimum.at(first, unit[keyed], keyed)  # representative line of each unit (increasing)
    unit_texts = text_of_line[first]
    # Word shingles of each unit (its representative's text), as a sparse incidence matrix.
    text_shingle, shingle_text = word_shingle_hashes(token_hash, token_text, params.shingle_words)
    text_shingles = np.bincount(shingle_text, minlength=len(distinct))
    shingle = text_shingle[_ranges(np.r_[0, np.cumsum(text_shingles)], unit_texts)]
    shingle_unit = np.repeat(np.arange(n_units), text_shingles[unit_texts])
    x = _incidence(shingle, shingle_unit, pages[first], n_units)

    def unit_text(u: int) -> str:  # the normalised words of a unit's representative line
        t = unit_texts[u]
        return " ".join(vocabulary[token_codes[token_offsets[t] : token_offsets[t + 1]]])

    left, right, score, kind = _unit_edges(
        x, shingle, shingle_unit, n_words[first], unit_text, pages[first], params
    )
    graph = sparse.coo_matrix((np.ones(len(left)), (left, right)), shape=(n_units, n_units))
    _, unit_group = connected_components(graph, directed=False)

    # Lines without words (symbols only) are their own group: nothing to repeat.
    group = np.where(unit >= 0, np.append(unit_group, 0)[unit], n_units + np.arange(n))
    roles = lines["role"].astype(object).to_numpy() if "role" in lines else np.full(n, None)
    rank = np.lexsort((lines["pos"].to_numpy(), -n_chars, roles != "body"))  # best kept first
    edges = (left * n_units + right, score, kind)
    kept, member, dup_score, dup_kind = _stars(group, rank, unit, edges, x)
    # A body line tied to the kept line only through other members (two paragraphs that each
    # quote the same short line) is no repeat of it: the article keeps it. It leaves the group
    # with its exact copies, which then point to their own first copy.
    loose = member & (dup_kind == "transitive") & (roles == "body")
    if loose.any():
        group = np.where(np.isin(unit, unit[loose]), 2 * (n_units + n) + unit, group)
        kept, member, dup_score, dup_kind = _stars(group, rank, unit, edges, x)
    return _with_links(lines, member, kept, dup_score, dup_kind)


def _stars(group, rank, unit, edges, x):
    """Kept line of each group (the first of `rank` in it), and each other member's relation.

    Returns
    -------
    (kept, member, dup_score, dup_kind), each shape (n_lines,): the kept line's index, whether
    the line points to it, the similarity and kind of that link.
    """
    n = len(group)
    order = rank[np.argsort(group[rank], kind="stable")]
    starts = np.r_[True, group[order][1:] != group[order][:-1]]
    leader = np.repeat(order[starts], np.diff(np.r_[np.flatnonzero(starts), n]))
    kept = np.empty(n, dtype=np.int64)
    kept[order] = leader
    member = kept != np.arange(n)

    dup_score = np.full(n, np.nan)
    dup_kind = np.full(n, "", dtype=object)
    idx = np.flatnonzero(member)
    a, b = unit[idx], unit[kept[idx]]
    same = a == b
    dup_score[idx[same]], dup_kind[idx[same]] = 1.0, "exact"
    idx, a, b = idx[~same], a[~same], b[~same]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    edge_key, score, kind = edges
    n_units = x.shape[0]
    found = np.zeros(len(idx), dtype=bool)
    if len(edge_key):
        at = np.minimum(np.searchsorted(edge_key, lo * n_units + hi), len(edge_key) - 1)
        found = edge_key[at] == lo * n_units + hi
        dup_score[idx[found]] = score[at[found]]
        dup_kind[idx[found]] = [REPEAT_KINDS[k] for k in kind[at[found]]]
    sizes = _sizes(x)
    smaller = np.maximum(np.minimum(sizes[lo[~found]], sizes[hi[~found]]), 1)
    dup_score[idx[~found]] = _overlap(x, lo[~found], hi[~found]) / smaller
    dup_kind[idx[~found]] = "transitive"
    return kept, member, dup_score, dup_kind


def _factorize_texts(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """(code of each text, the distinct texts in order of first appearance), as
    ``pd.factorize`` of ``column.astype(str)``; shapes (n,) and (n_distinct,)."""
    codes, uniques = pd.factorize(column)  # native hashing on Arrow-backed strings
    if (codes < 0).any() or not all(isinstance(u, str) for u in uniques[:1]):
        codes, uniques = pd.factorize(np.asarray(column.astype(str), dtype=object))
    return codes.astype(np.int64), [str(u) for u in uniques]


def _token_hashes(vocabulary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A stable 64-bit hash (pandas' SipHash with its fixed key) and the length of each distinct
    token, each shape (n_distinct,)."""
    if not len(vocabulary):
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    lengths = np.fromiter((len(t) for t in vocabulary), dtype=np.int64, count=len(vocabulary))
    return pd.util.hash_array(np.asarray(vocabulary, dtype=object)), lengths


def _exact_units(distinct, text_of_line, token_hash, token_text, text_words, pages) -> np.ndarray:
    """Id of each line's exact-repeat class within its page (-1 for lines with nothing to match).

    The class key is a hash of the normalised words in order (one per distinct text); a text
    holding only URLs is keyed by the URLs themselves, so two copies of a link repeat each
    other but never the headline it spells. Ids are numbered in order of first appearance.

    Returns
    -------
    array, shape (n_lines,), int64.
    """
    key = np.zeros(len(distinct), dtype=np.uint64)
    if len(token_hash):
        position = np.arange(len(token_text)) - np.searchsorted(token_text, token_text)
        with np.errstate(over="ignore"):
            mixed = mix64(token_hash + mix64(position.astype(np.uint64) + np.uint64(1)))
        np.add.at(key, token_text, mixed)
    has_key = text_words > 0
    wordless = np.flatnonzero(~has_key)
    url_keys = [" ".join(u.casefold() for u in URL.findall(distinct[i])) for i in wordless]
    with_urls = np.array([bool(k) for k in url_keys], dtype=bool)
    if with_urls.any():
        hashed = pd.util.hash_array(np.array(url_keys, dtype=object)[with_urls])
        key[wordless[with_urls]] = hashed ^ np.uint64(0x5BD1E995)
        has_key[wordless[with_urls]] = True
    has_key = has_key[text_of_line]
    with np.errstate(over="ignore"):
        key = mix64(key[text_of_line] + mix64(pages.astype(np.uint64)))
    unit = np.full(len(text_of_line), -1, dtype=np.int64)
    unit[has_key], _ = pd.factorize(key[has_key], sort=False)
    return unit


def _ranges(offsets: np.ndarray, picked: np.ndarray) -> np.ndarray:
    """Indices ``offsets[p]:offsets[p + 1]`` of every p in `picked`, laid end to end."""
    lengths = offsets[np.asarray(picked) + 1] - offsets[picked]
    starts = np.repeat(offsets[picked] - (np.cumsum(lengths) - lengths), lengths)
    return starts + np.arange(int(lengths.sum()))


def _incidence(items: np.ndarray, owner: np.ndarray, groups: np.ndarray, n_rows: int) -> sparse.csr_matrix:
    """Binary matrix, shape (n_rows, n_distinct (group, item)): an item of a page never meets the
    same item of another page, so products of this matrix stay inside a page."""
    if not len(items):
        return sparse.csr_matrix((n_rows, 0), dtype=np.int32)
    with np.errstate(over="ignore"):
        column_key = mix64(items ^ mix64(groups[owner].astype(np.uint64)))
    column, _ = pd.factorize(column_key, sort=False)
    x = sparse.csr_matrix(
        (np.ones(len(items), dtype=np.int32), (owner, column)), shape=(n_rows, column.max() + 1)
    )
    x.data[:] = 1  # a set counts an item once (the constructor summed repeats)
    return x


def _sizes(x: sparse.csr_matrix) -> np.ndarray:
    return np.diff(x.indptr)


def _overlap(x: sparse.csr_matrix, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """|row i ∩ row j| of a binary matrix for each pair, shape (n_pairs,)."""
    if not len(i):
        return np.zeros(0)
    return np.asarray(x[i].multiply(x[j]).sum(axis=1)).ravel().astype(float)


def _candidates(x: sparse.csr_matrix, cap: int, floor: float):
    """Pairs (i < j) of rows that may share at least `floor` of the smaller row, with the exact
    size of their intersection, and which rows hold a frequent column.

    Columns held by more than `cap` rows give no candidates (bounded cost); a pair is kept when
    its shared kept columns plus the frequent columns it might share could still reach `floor`,
    and its intersection is then recounted on every column. A pair sharing only frequent columns
    is not found here: the caller's MinHash LSH covers the rows holding one.

    Returns
    -------
    (i, j, shared) arrays of shape (n_pairs,), and a bool array, shape (n_rows,).
    """
    df = np.bincount(x.indices, minlength=x.shape[1])
    frequent = df > cap
    sub = x[:, np.flatnonzero((df >= 2) & ~frequent)]
    product = sparse.triu(sub @ sub.T, k=1).tocoo()
    i, j = product.row.astype(np.int64), product.col.astype(np.int64)
    shared = product.data.astype(float)
    n_frequent = np.asarray(x[:, np.flatnonzero(frequent)].sum(axis=1)).ravel() if frequent.any() else None
    sizes = _sizes(x)
    smaller = np.maximum(np.minimum(sizes[i], sizes[j]), 1)
    if n_frequent is None:
        keep = shared >= floor * smaller
        return i[keep], j[keep], shared[keep], np.zeros(x.shape[0], dtype=bool)
    unsure = np.minimum(n_frequent[i], n_frequent[j])
    keep = shared + unsure >= floor * smaller
    i, j, shared, unsure = i[keep], j[keep], shared[keep], unsure[keep]
    recount = unsure > 0
    shared[recount] = _overlap(x, i[recount], j[recount])
    return i, j, shared, n_frequent > 0


def _despaced_containment(a: str, b: str, k: int) -> float:
    """Share of the shorter text's character k-grams (spaces removed) found in the longer."""
    a, b = a.replace(" ", ""), b.replace(" ", "")
    if len(a) > len(b):
        a, b = b, a
    grams_a = {a[p : p + k] for p in range(max(1, len(a) - k + 1))}
    if len(a) < k:  # a's one gram is a itself, shorter than k: only a b as short can equal it
        return float(a == b)
    # a k-gram is among b's k-grams when it occurs in b: a substring search, not b's set (3x)
    return sum(gram in b for gram in grams_a) / len(grams_a)


def _unit_edges(x, shingle, shingle_unit, n_words, unit_text, unit_pages, params: InPageParams):
    """Links between distinct texts of a page: (left, right, score, kind), sorted by pair."""
    i, j, shared, incomplete = _candidates(x, params.max_shingle_lines, params.despaced_floor)
    sizes = _sizes(x)
    containment = shared / np.maximum(np.minimum(sizes[i], sizes[j]), 1)
    jaccard = shared / np.maximum(sizes[i] + sizes[j] - shared, 1)
    long_enough = np.minimum(n_words[i], n_words[j]) >= params.min_contained_words
    near = long_enough & (jaccard >= params.near_jaccard)
    # A short line must lie whole in the other: one word changed makes another line ("Eating
    # Plan A" / "Eating Plan D"); a longer line may differ by a few words (a scraper's edits).
    partial_ok = np.minimum(sizes[i], sizes[j]) >= params.minhash_min_shingles
    by_words = long_enough & ~near & (containment >= np.where(partial_ok, params.contained, 1.0))
    edges = {
        (int(a), int(b)): (float(s), REPEAT_KINDS.index(k))
        for pick, sim, k in ((near, jaccard, "near"), (by_words, containment, "contained"))
        for a, b, s in zip(i[pick], j[pick], sim[pick], strict=True)
    }
    # Glued or split words break word shingles: pairs sharing part of their shingles are checked
    # on the characters without spaces, at a near-exact threshold (few pairs: plain Python).
    check = long_enough & ~near & ~by_words
    for a, b, partial in zip(i[check], j[check], partial_ok[check], strict=True):
        c = _despaced_containment(unit_text(a), unit_text(b), params.char_k)
        if c >= (params.despaced_contained if partial else 1.0):
            edges[(int(a), int(b))] = (c, REPEAT_KINDS.index("contained"))

    # Longer lines holding a shingle too frequent for the inverted index (long pages of
    # templated lines): MinHash signatures, LSH banding for candidates, estimated Jaccard.
    # Elsewhere the index has already counted every intersection exactly, so the sketch would
    # only add cost.
    eligible = np.flatnonzero(incomplete & (sizes >= params.minhash_min_shingles))
    if len(eligible) > 1:
        for (p, q), s in _minhash_near(shingle, shingle_unit, eligible, unit_pages, params).items():
            edges.setdefault((p, q), (s, REPEAT_KINDS.index("near")))

    if not edges:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), empty
    keys = sorted(edges)
    left = np.array([k[0] for k in keys], dtype=np.int64)
    right = np.array([k[1] for k in keys], dtype=np.int64)
    score = np.array([edges[k][0] for k in keys])
    kind = np.array([edges[k][1] for k in keys], dtype=np.int64)
    return left, right, score, kind


def _minhash_near(shingle, shingle_unit, eligible, unit_pages, params: InPageParams) -> dict:
    """{(unit, unit): estimated Jaccard} of the `eligible` units' near-identical pairs."""
    take = np.isin(shingle_unit, eligible)
    owner = np.searchsorted(eligible, shingle_unit[take])
    order = np.argsort(owner, kind="stable")
    offsets = np.r_[0, np.cumsum(np.bincount(owner, minlength=len(eligible)))]
    items = fold32(shingle[take][order])
    sigs = minhash.signatures(items, offsets, params.num_perm, params.seed, params.scheme)
    a, b = band_pairs(sigs, unit_pages[eligible], params.lsh_bands, params.lsh_rows)
    estimate = minhash.jaccard_estimate(sigs, a, b)
    near = estimate >= params.near_jaccard
    return {
        (int(p), int(q)): float(s)
        for p, q, s in zip(eligible[a[near]], eligible[b[near]], estimate[near], strict=True)
    }


def _with_links(lines, member, kept, dup_score, dup_kind) -> pd.DataFrame:
    line_no = lines["line_no"].to_numpy(dtype=np.int64)
    dup_of = pd.array(np.where(member, line_no[kept], 0), dtype="Int32")
    dup_of[~member] = pd.NA
    scores = pd.array(dup_score, dtype="Float32")
    scores[~member] = pd.NA
    n = len(lines)
    if "reason" in lines:
        reason = lines["reason"].astype("string").to_numpy(dtype=object, na_value=None)
    else:
        reason = np.full(n, None, dtype=object)
    # only the linked lines change: "<reason>;dup:<kind>", or "dup:<kind>" where none was given
    rows = np.flatnonzero(member)
    reason[rows] = [
        f"{was};dup:{k}" if was else f"dup:{k}" for was, k in zip(reason[rows], dup_kind[rows], strict=True)
    ]
    kind = np.full(n, None, dtype=object)
    kind[rows] = dup_kind[rows]
    return lines.assign(
        dup_of=dup_of, dup_score=scores, reason=string_column(reason), dup_kind=string_column(kind)
    )


def repeat_counts(lines: pd.DataFrame) -> dict[str, int]:
    """How many lines each detector linked: ``{"exact": n, "near": n, ...}`` (this stage's
    statistics for summary.json)."""
    return value_counts(lines["dup_kind"])
