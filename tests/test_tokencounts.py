"""The batched TF-IDF transform equals scikit-learn's, bit for bit (pipeline.learn.tokencounts)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.learn import tokencounts

TRICKY = [
    "Drug trafficking in the Golden Triangle",
    "",
    "   ",
    "a b c",  # one-letter words are no tokens
    "ΟΔΟΣ ΣΟΦΟΚΛΕΟΥΣ. ΑΣ",  # final sigma: str.lower depends on the neighbours
    "İSTANBUL'da İlk",  # İ lower-cases to two characters
    "snake_case_words and x_y __ _a",
    "Việt Nam, Hà Nội; Thái Lan: ภาษาไทย ครับ",  # combining marks split Python's words
    "北京 東京 서울 ²³ ½ 一二三 ١٢٣ ۴۵",
    "mixed\nlines\r\nin\tone text",
    "e-mail: someone@example.com http://x.org/a_b?c=1",
    "ﬁnancial ﬂow Ⅻ ㈱",  # compatibility characters: not normalised by the vectorizer
    "qxz QXZ repeated repeated REPEATED words words",
    "a\u0301b\u0301 cafe\u0301 ̀x",
    "🙂 emoji🙂text 🙂🙂",
]


def _fitted(texts: list[str], **params) -> TfidfVectorizer:
    return TfidfVectorizer(sublinear_tf=True, dtype=np.float32, **params).fit(texts)


def _assert_same(expected, found) -> None:
    assert type(found) is type(expected)
    assert found.shape == expected.shape and found.dtype == expected.dtype
    for part in ("indptr", "indices"):
        a, b = getattr(expected, part), getattr(found, part)
        assert a.dtype == b.dtype and np.array_equal(a, b), part
    assert found.data.tobytes() == expected.data.tobytes()
    assert found.has_sorted_indices == expected.has_sorted_indices


@pytest.mark.parametrize("min_df", [1, 2])
def test_equals_sklearn_on_tricky_texts(min_df):
    training = TRICKY + [t.upper() for t in TRICKY] + ["drug golden words nam"]
    vectorizer = _fitted(training, min_df=min_df)
    texts = [*TRICKY, "unseen words only", "Words WORDS words"]
    _assert_same(vectorizer.transform(texts), tokencounts.tfidf_transform(vectorizer, texts))


def test_equals_sklearn_on_the_shipped_model(tmp_path):
    from pipeline.learn.store import load_models

    features = load_models().topic.pipeline_.named_steps["features"]
    texts = [*TRICKY, "Police seized methamphetamine at the border with Laos", "Weather: sunny"]
    for _, _, vectorizer in features.blocks_.values():
        assert tokencounts.fast_path_applies(vectorizer)
        _assert_same(vectorizer.transform(texts), tokencounts.tfidf_transform(vectorizer, texts))


def test_lone_surrogate_falls_back():
    vectorizer = _fitted(TRICKY)
    texts = ["Golden \ud800 Triangle words"]
    _assert_same(vectorizer.transform(texts), tokencounts.tfidf_transform(vectorizer, texts))


def test_other_configurations_fall_back():
    vectorizer = _fitted(TRICKY, ngram_range=(1, 2))
    assert not tokencounts.fast_path_applies(vectorizer)
    _assert_same(vectorizer.transform(TRICKY), tokencounts.tfidf_transform(vectorizer, TRICKY))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_word_runs_give_the_tokens_of_the_default_pattern(seed):
    """Tokens of `word_runs` = ``re.findall(r"(?u)\\b\\w\\w+\\b")`` text by text, in order, on the
    tricky texts and on random text over every plane (combining marks, digits, underscores)."""
    import re

    rng = np.random.default_rng(seed)
    points = rng.choice(np.r_[0x20:0x7F, 0x300:0x370, 0x4E00:0x4E40, 0x1F600:0x1F610, 0x10400:0x10410], 4000)
    noise = "".join(map(chr, points))
    texts = [t.lower() for t in TRICKY] + [
        noise[i : i + int(n)] for i, n in enumerate(rng.integers(0, 40, 60))
    ]
    pieces, is_token, text = tokencounts.word_runs(texts)
    assert "".join(pieces.to_pylist()) == " ".join(texts)  # the runs cover every character
    tokens = np.array(pieces.to_pylist(), dtype=object)[is_token]
    for i, t in enumerate(texts):
        assert tokens[text[is_token] == i].tolist() == re.findall(tokencounts.DEFAULT_TOKEN_PATTERN, t)


def test_word_runs_of_no_text_and_of_empty_texts():
    for texts in ([], [""], ["", " ", "a"]):
        pieces, is_token, text = tokencounts.word_runs(texts)
        assert not is_token.any() and len(pieces) == len(is_token) == len(text)
