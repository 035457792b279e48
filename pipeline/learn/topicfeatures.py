"""Features of the topic classifier: each line with its page around it.

- `line_context`: a lines frame -> what the classifier reads of each line (its text, role, the
  text near it and its page's article), built only from what exists at run time;
- `TopicFeatures`: step 1, sparse TF-IDF blocks of the line's words, its neighbours' and its page's;
- `prior_features`: step 2, the page prior's inputs (the line's score, its role, the page's
  mean score).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.learn.tokencounts import tfidf_transform

ARTICLE_ROLES = ("title", "body", "caption")
"""Roles of the page's own article: their lines get the page's article as context."""

PRIOR_ROLES = ("title", "body", "caption", "teaser", "comment")
"""Roles with their own weights in the page prior (a boilerplate line counts as body there)."""

MAX_PAGE_CHARS = 4000
"""Page context is cut here: the head of an article says what it is about, and the cost of
vectorising a page stays bounded however long it is."""

CONTEXT_COLUMNS = ("text", "role", "near", "page_text", "page_key", "pos")


# --------------------------------------------------------------------------------------------
# Context


def line_context(lines: pd.DataFrame, with_near: bool = True) -> pd.DataFrame:
    """The classifier's input frame: each line with its context on the page.

    Parameters
    ----------
    lines : DataFrame, shape (n, k)
        A lines frame: ``text`` and, for context, ``page`` (or ``doc_id``), ``pos`` and ``role``.
        Without a page column every line is a page of its own (bare texts).
    with_near : bool
        Build the near column; without, it is "" on every line (a model with no near block
        never reads it, and joining the neighbours was a third of this function).

    Returns
    -------
    DataFrame, shape (n, 6), columns CONTEXT_COLUMNS, in the order of `lines`: near is the
    previous and next content (non-boilerplate) lines of the page, page_text the page's article
    (title, body, caption lines; "" for lines of other roles), page_key an int per page.
    """
    n = len(lines)
    text = _texts(lines["text"])
    role = _roles(lines["role"]) if "role" in lines else np.full(n, "body", dtype=object)
    page_col = "page" if "page" in lines else ("doc_id" if "doc_id" in lines else None)
    page = pd.factorize(lines[page_col].to_numpy())[0] if page_col else np.arange(n)
    pos = lines["pos"].to_numpy(dtype=np.int64) if "pos" in lines else np.arange(n)
    near = np.full(n, "", dtype=object)
    page_text = np.full(n, "", dtype=object)
    if n:
        order = np.lexsort((pos, page))  # page order, then line order, whatever the row order
        rows = order[role[order] != "boilerplate"]
        prev, nxt = _neighbours(page[rows])
        if with_near:
            near[rows] = (
                np.where(prev >= 0, text[rows][prev], "") + " \n " + np.where(nxt >= 0, text[rows][nxt], "")
            )
        article = np.isin(role, ARTICLE_ROLES)
        per_page = np.full(page.max() + 1, "", dtype=object)
        article_rows = order[article[order]]
        starts = np.flatnonzero(np.diff(page[article_rows])) + 1
        for rows_of_page in np.split(article_rows, starts) if len(article_rows) else []:
            per_page[page[rows_of_page[0]]] = " \n ".join(text[rows_of_page])[:MAX_PAGE_CHARS]
        page_text = np.where(article, per_page[page], "").astype(object)
    strings = {"text": text, "role": role, "near": near, "page_text": page_text}
    # object columns: pandas would otherwise copy every string into an Arrow array
    return pd.DataFrame(
        {**{k: pd.Series(v, dtype=object) for k, v in strings.items()}, "page_key": page, "pos": pos}
    )


def _texts(column: pd.Series) -> np.ndarray:
    """The column's texts as an object array of str, "" for a missing one."""
    if isinstance(column.dtype, pd.StringDtype):  # one conversion, not three (a fifth of the cost)
        return column.to_numpy(dtype=object, na_value="")
    return column.astype(object).fillna("").astype(str).to_numpy(dtype=object)


def _roles(column: pd.Series) -> np.ndarray:
    """The column's roles as an object array of str, "body" for a missing one."""
    if isinstance(column.dtype, pd.StringDtype):  # one conversion, not three
        return column.to_numpy(dtype=object, na_value="body")
    return column.astype(object).fillna("body").to_numpy(dtype=object)


def _neighbours(page: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows sorted by page: index of the previous / next row of the same page, else -1."""
    idx = np.arange(len(page))
    prev = np.where(np.r_[False, page[1:] == page[:-1]], idx - 1, -1)
    nxt = np.where(np.r_[page[:-1] == page[1:], False], idx + 1, -1)
    return prev, nxt


def factorize_runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values)``, with each run of equal neighbours hashed once when runs are
    long: a page's article text sits on every article line of the page, and hashing those 85,000
    references to 500 long texts cost 5x more than finding the runs (compared with ``!=``,
    which answers at once for one object)."""
    change = np.flatnonzero(values[1:] != values[:-1]) + 1
    if len(change) >= len(values) // 2:  # short runs (the lines' own texts): nothing to gain
        return pd.factorize(values)
    starts = np.r_[0, change]
    codes, uniques = pd.factorize(values[starts])
    return np.repeat(codes, np.diff(np.r_[starts, len(values)])), uniques


def as_context(X, with_near: bool = True) -> pd.DataFrame:
    """`X` (texts, or a lines frame with or without its context columns) as a context frame
    (`with_near`: see `line_context`)."""
    if isinstance(X, pd.DataFrame):
        return X if set(CONTEXT_COLUMNS) <= set(X.columns) else line_context(X, with_near)
    return line_context(pd.DataFrame({"text": list(X)}), with_near)


# --------------------------------------------------------------------------------------------
# Step 1: TF-IDF features into a logistic regression


class StableTfidfVectorizer(TfidfVectorizer):
    """TfidfVectorizer whose pickle does not depend on the process: it leaves out a cache keyed
    by a memory address (``_stop_words_id``, rebuilt on first use), so the same training gives
    the same model file bytes every time."""

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_stop_words_id", None)
        return state


class TopicFeatures(TransformerMixin, BaseEstimator):
    """Sparse features of lines in context: weighted TF-IDF blocks, hstacked.

    Blocks: ``word`` the line's word n-grams; ``char`` its char_wb n-grams (optional: about 7x
    slower); ``near`` the words of its neighbours; ``page`` the words of its page's article
    (vectorised once per page, not once per line). A block with weight 0, or whose column is
    empty in the training data (bare texts), is left out.

    Parameters
    ----------
    word_ngrams : tuple[int, int]
    char_ngrams : tuple[int, int] or None
    near_weight, page_weight : float
    """

    def __init__(
        self,
        word_ngrams: tuple[int, int] = (1, 1),
        char_ngrams: tuple[int, int] | None = None,
        near_weight: float = 0.0,
        page_weight: float = 0.5,
    ):
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.near_weight = near_weight
        self.page_weight = page_weight

    def _blocks(self) -> dict[str, tuple[str, float, TfidfVectorizer]]:
        def words(ngrams: tuple[int, int], min_df: int) -> TfidfVectorizer:
            return StableTfidfVectorizer(
                ngram_range=ngrams, sublinear_tf=True, min_df=min_df, dtype=np.float32
            )

        blocks = {"word": ("text", 1.0, words(tuple(self.word_ngrams), 1))}
        if self.char_ngrams:
            char = StableTfidfVectorizer(
                analyzer="char_wb", ngram_range=tuple(self.char_ngrams), sublinear_tf=True, dtype=np.float32
            )
            blocks["char"] = ("text", 1.0, char)
        if self.near_weight:
            blocks["near"] = ("near", self.near_weight, words((1, 1), 2))
        if self.page_weight:
            blocks["page"] = ("page_text", self.page_weight, words((1, 1), 2))
        return blocks

    def fit(self, X, y=None):
        """X: a context frame (see `line_context`) or texts, n rows."""
        X = as_context(X)
        self.blocks_ = {}
        for name, (column, weight, vectorizer) in self._blocks().items():
            values = X[column].to_numpy()
            if name == "page":
                values = pd.unique(values)  # each page once, not once per line
            if name != "word" and not any(v.strip() for v in values):
                continue  # no context in this training data
            self.blocks_[name] = (column, weight, vectorizer.fit(values))
        return self

    def transform(self, X) -> sp.csr_matrix:
        """Returns a sparse matrix, shape (n, n_features), float32."""
        X = as_context(X)
        blocks = []
        for column, weight, vectorizer in self.blocks_.values():
            # each distinct text once (a page's text, a menu line repeated across a site's pages)
            codes, uniques = factorize_runs(X[column].to_numpy())
            blocks.append(tfidf_transform(vectorizer, uniques)[codes] * np.float32(weight))
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray(
            [
                f"{name}:{term}"
                for name, (_, _, v) in self.blocks_.items()
                for term in v.get_feature_names_out()
            ],
            dtype=object,
        )


# --------------------------------------------------------------------------------------------
# Step 2: page prior


PRIOR_FEATURES = (
    ["s", "neighbours"]
    + [f"role={r}" for r in PRIOR_ROLES]
    + [f"s*role={r}" for r in PRIOR_ROLES]
    + [f"page*role={r}" for r in PRIOR_ROLES]
)


def prior_features(context: pd.DataFrame, s: np.ndarray) -> np.ndarray:
    """Features of the page prior from step-1 scores.

    Parameters
    ----------
    context : DataFrame, shape (n, 6), columns CONTEXT_COLUMNS
    s : array, shape (n,), step-1 log-odds of each line

    Returns
    -------
    array, shape (n, 17), columns PRIOR_FEATURES: s; mean s of the previous and next content
    lines; role one-hot; s by role; by role, the mean s of the page's *other* article lines
    weighted by length (one-word lines say little; 0 when there are none).
    """
    n = len(s)
    role = context["role"].to_numpy(dtype=object)
    page = context["page_key"].to_numpy()
    length = np.clip(_lengths(context["text"]), 20, 400)
    article = np.isin(role, ARTICLE_ROLES)
    weight = length * article
    total_ws = np.bincount(page, weights=weight * s, minlength=page.max() + 1 if n else 0)[page]
    total_w = np.bincount(page, weights=weight, minlength=page.max() + 1 if n else 0)[page]
    rest = total_w - weight
    page_mean = np.divide(total_ws - weight * s, rest, out=np.zeros(n), where=rest > 0)

    neighbours = np.zeros(n)
    order = np.lexsort((context["pos"].to_numpy(), page))
    rows = order[role[order] != "boilerplate"]
    if len(rows):
        prev, nxt = _neighbours(page[rows])
        s_rows = s[rows]
        neighbours[rows] = (np.where(prev >= 0, s_rows[prev], 0.0) + np.where(nxt >= 0, s_rows[nxt], 0.0)) / 2

    role = np.where(np.isin(role, PRIOR_ROLES), role, "body")
    onehot = np.column_stack([(role == r).astype(float) for r in PRIOR_ROLES]) if n else np.zeros((0, 5))
    return np.column_stack([s, neighbours, onehot, onehot * s[:, None], onehot * page_mean[:, None]])


def _lengths(text: pd.Series) -> np.ndarray:
    """``text.str.len()`` as float64 (NaN for a missing text), without pandas' per-item wrapper
    when every text is a str (a context frame's always are)."""
    try:
        return np.fromiter(map(len, text.to_numpy(dtype=object)), dtype=float, count=len(text))
    except TypeError:  # a missing or non-text value: pandas' own rules
        return text.str.len().to_numpy(dtype=float)


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))
