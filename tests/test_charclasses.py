"""Python's character classes as tables (pipeline.text.charclasses) and what uses them in place
of a regex: the same results as `re`."""

from __future__ import annotations

import random
import unicodedata

import numpy as np
import pytest

from pipeline.text import charclasses, normalise


@pytest.mark.parametrize(
    ("pattern", "stored"), [(r"\w", "".join(charclasses.WORD_RANGES)), (r"\s", charclasses.SPACE_RANGES)]
)
def test_stored_character_classes_are_pythons(pattern, stored):
    if unicodedata.unidata_version != charclasses.UNIDATA_VERSION:
        pytest.skip("this Python has another Unicode version: the tables are recomputed at run time")
    assert stored == charclasses.regex_ranges(pattern)


def test_code_point_table_marks_the_ranges():
    table = charclasses.code_point_table(charclasses.space_ranges(), "41-43")
    marked = {chr(c) for c in np.flatnonzero(table)}
    assert marked == {chr(c) for c in range(0x110000) if chr(c).isspace()} | {"A", "B", "C"}


def _random_text(rng: random.Random, n: int) -> str:
    # every plane, surrogates included, with the usual characters well represented
    pool = [rng.randrange(0x110000) for _ in range(n)] + [rng.randrange(0x3100) for _ in range(n)]
    return "".join(chr(c) for c in pool)


@pytest.mark.parametrize("seed", range(5))
def test_junk_deletion_equals_the_regex(seed):
    text = _random_text(random.Random(seed), 20_000) + " a_b ✱x\x1e\u3000 ½ \ud800 é"
    assert normalise._without_junk(text) == normalise.JUNK.sub("", text)


def test_fold_all_equals_fold_per_text():
    texts = [
        "Rec✱eption of the Việt Nam delegation — ĐÀ NẴNG, Łódź; İstanbul",
        "ΟΔΟΣ ΣΟΦΟΚΛΕΟΥΣ ½ ﬁnancial",
        "plain ascii text, with punctuation!",
        None,
        "",
        _random_text(random.Random(7), 3_000),
    ]
    expected = [normalise.fold(t) if isinstance(t, str) else "" for t in texts]
    assert normalise.fold_all(texts) == expected
