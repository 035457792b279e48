"""batch_evidence.fold: folding each distinct text once answers what folding every text does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipeline.stages.batch_evidence import _arrow_texts, fold, fold_codes

TEXTS = [
    "Police arrest two men",
    "",
    "   ",
    "POLICE  arrest, two men!",  # folds like the first
    "Police arrest two men",  # the first again
    "Việt Nam: ĐÀ NẴNG — 10 người",
    "İstanbul’da ΣΟΦΟΣ σοφός",
    "東京 2024年 ①②",
    "emoji 🙂 only… and_underscores",
    "Việt Nam: ĐÀ NẴNG — 10 người",
    "\u00a0\u2028 \t",
]


def fold_one_by_one(texts: list[str]) -> tuple[list[str], list[int]]:
    """The plain fold: every text through the Arrow kernels, no sharing."""
    folded = pc.utf8_trim_whitespace(
        pc.replace_substring_regex(
            pc.utf8_lower(pa.array(texts, type=pa.large_string())), r"[^\p{L}\p{N}]+", " "
        )
    ).to_pylist()
    return folded, [0 if k == "" else k.count(" ") + 1 for k in folded]


@pytest.mark.parametrize("texts", [TEXTS, TEXTS[::-1] * 3, [], [""], ["a"] * 5])
def test_fold_of_distinct_texts_equals_folding_each(texts):
    keys, words = fold(np.array(texts, dtype=object))
    expected_keys, expected_words = fold_one_by_one(texts)
    assert keys.dtype == object and keys.tolist() == expected_keys
    assert words.tolist() == expected_words


def test_fold_codes_are_equal_exactly_when_the_folds_are():
    codes, keys, words = fold_codes(pd.Series(TEXTS, dtype="string"))
    expected_keys, expected_words = fold_one_by_one(TEXTS)
    assert [keys[c].as_py() for c in codes] == expected_keys
    assert [words[c] for c in codes] == expected_words
    assert len(set(keys.to_pylist())) == len(keys)  # one code per distinct folded key
    assert codes[0] == codes[3] == codes[4] and codes[1] == codes[2] and codes[5] == codes[9]


def test_a_missing_text_folds_to_a_missing_key():
    keys, _ = fold(np.array(["A b", None, "a  B"], dtype=object))
    assert keys.tolist() == ["a b", None, "a b"]


@pytest.mark.parametrize("dtype", ["string", object])
def test_arrow_texts_take_the_rows_and_fill_missing_ones(dtype):
    column = pd.Series(["x", None, "ÿ z", "w"], dtype=dtype, index=[10, 3, 7, 1])
    taken = _arrow_texts(column, np.array([2, 1, 2]))
    assert taken.type == pa.large_string() and taken.to_pylist() == ["ÿ z", "", "ÿ z"]
    assert _arrow_texts(column, np.zeros(0, dtype=np.int64)).to_pylist() == []
