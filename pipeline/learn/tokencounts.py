"""scikit-learn's TF-IDF transform of many texts, with the token counting done for all at once.

`TfidfVectorizer.transform` tokenises and counts one text at a time in Python (`_count_vocab`:
a regex call and a dict per text), which was 70 % of the topics stage. `tfidf_transform` gives
the same matrix, bit for bit: the texts are lower-cased by Python (`str.lower`, as scikit-learn
does), cut into their maximal runs of word characters over the whole batch at once (the default
token pattern ``\\b\\w\\w+\\b`` finds exactly the runs of two characters or more; Python's word
characters are a code-point table from `text.charclasses`), looked up in the vocabulary by one
hash join in pyarrow, and counted per (text, term) with numpy. The count matrix is built
as `_count_vocab` builds it (same dtypes, sorted indices) and goes through the vectorizer's own
TF-IDF step. Only the configuration the topic model uses takes this path (word unigrams,
lower-cased, the default token pattern, no stop words, no accent stripping); any other, and any
batch pyarrow cannot take (a lone surrogate), falls back to `vectorizer.transform`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.text import charclasses

DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"


def fast_path_applies(vectorizer: TfidfVectorizer) -> bool:
    """Whether `vectorizer` tokenises as `tfidf_transform` does (else it is used as it is)."""
    return (
        vectorizer.analyzer == "word"
        and vectorizer.input == "content"
        and vectorizer.preprocessor is None
        and vectorizer.tokenizer is None
        and vectorizer.stop_words is None
        and vectorizer.lowercase
        and vectorizer.strip_accents is None
        and tuple(vectorizer.ngram_range) == (1, 1)
        and vectorizer.token_pattern == DEFAULT_TOKEN_PATTERN
        and not vectorizer.binary
    )


def tfidf_transform(vectorizer: TfidfVectorizer, texts: Sequence[str]):
    """``vectorizer.transform(texts)``, bit for bit, with the counting done in one pass."""
    if not fast_path_applies(vectorizer) or not len(texts):
        return vectorizer.transform(texts)
    vectorizer._check_vocabulary()
    try:
        counts = count_matrix(vectorizer, texts)
    except (pa.ArrowException, UnicodeError):  # e.g. a lone surrogate has no UTF-8
        return vectorizer.transform(texts)
    return vectorizer._tfidf.transform(_as_configured(counts), copy=False)


def count_matrix(vectorizer: TfidfVectorizer, texts: Sequence[str]) -> sp.csr_matrix:
    """The term-count matrix `vectorizer` counts for `texts` (``_count_vocab`` with its fitted
    vocabulary), shape (len(texts), n_terms), dtype `vectorizer.dtype`."""
    n, n_terms = len(texts), len(vectorizer.vocabulary_)
    pieces, is_token, text = word_runs([t.lower() for t in texts])
    terms, columns = _vocabulary_arrays(vectorizer)
    found = pc.fill_null(pc.index_in(pieces, value_set=terms), -1).to_numpy()
    known = is_token & (found >= 0)
    text, column = text[known], columns[found[known]]
    counts = sp.csr_matrix(
        (np.ones(len(column), dtype=np.intc), (text, column)), shape=(n, n_terms), dtype=np.intc
    )
    counts.sum_duplicates()  # sorted indices, one entry per (text, term)
    # `_count_vocab`'s construction (int32 indices below 2**31 counts, the vectorizer's dtype)
    indices_dtype = np.int64 if counts.nnz > np.iinfo(np.int32).max else np.int32
    matrix = sp.csr_array(
        (counts.data, counts.indices.astype(indices_dtype), counts.indptr.astype(indices_dtype)),
        shape=(n, n_terms),
        dtype=vectorizer.dtype,
    )
    matrix.sort_indices()
    return matrix


def word_runs(texts: list[str]) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """The texts cut into runs of word characters and runs of other characters, all at once
    (`charclasses.class_runs` over the texts joined by spaces).

    Returns
    -------
    (pieces, is_token, text): every run in order, a large_string array, shape (n_runs,); whether
    it is a token (word characters, two or more), bool, shape (n_runs,); the text it belongs to,
    int64, shape (n_runs,). Raises UnicodeError on a text with no UTF-8 (a lone surrogate).
    """
    # a space is no word character: no run spans two texts
    pieces, is_word, bounds = charclasses.class_runs(" ".join(texts), _word_table())
    starts = bounds[:-1]
    is_token = is_word & (np.diff(bounds) >= 2)
    length = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 1
    text = np.searchsorted(np.cumsum(length) - length, starts, side="right") - 1
    return pieces, is_token, text.astype(np.int64)


@cache
def _word_table() -> np.ndarray:
    """Python's word characters (`re`'s ``\\w``) over every code point, bool (1.1 MB)."""
    return charclasses.code_point_table(charclasses.word_ranges())


_VOCABULARIES: dict[int, tuple[dict, pa.Array, np.ndarray]] = {}
"""id(vocabulary dict) -> (that dict, its terms, their columns): a fitted model's vocabulary does
not change, so it is converted once per process (kept here, not on the model, whose pickle must
not change). The dict is held, so its id is not reused while the entry lives."""


def _vocabulary_arrays(vectorizer: TfidfVectorizer) -> tuple[pa.Array, np.ndarray]:
    """The vocabulary as (terms, column of each term)."""
    vocabulary = vectorizer.vocabulary_
    cached = _VOCABULARIES.get(id(vocabulary))
    if cached is None or cached[0] is not vocabulary:
        if len(_VOCABULARIES) >= 16:  # training fits many vectorizers: keep the recent ones
            _VOCABULARIES.pop(next(iter(_VOCABULARIES)))
        terms = pa.array(list(vocabulary), type=pa.large_string())
        columns = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(vocabulary))
        cached = _VOCABULARIES[id(vocabulary)] = (vocabulary, terms, columns)
    return cached[1], cached[2]


def _as_configured(matrix: sp.csr_array):
    """The sparse interface scikit-learn's configuration asks for (as `_count_vocab` returns it)."""
    from sklearn.utils._sparse import _align_api_if_sparse

    return _align_api_if_sparse(matrix)
