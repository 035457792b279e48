"""Python's character classes as tables (pipeline.text.charclasses) and what uses them in place
of a regex: the same results as `re`."""

from __future__ import annotations

import random
import re
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


def _no_surrogates(text: str) -> str:
    return "".join(c for c in text if not 0xD800 <= ord(c) < 0xE000)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(
    ("ranges", "pattern"), [(charclasses.space_ranges, r"\s+|\S+"), (charclasses.word_ranges, r"\w+|\W+")]
)
def test_class_runs_are_the_regex_runs(seed, ranges, pattern):
    """Runs of a class and of the rest = `re`'s alternation of the class and its complement,
    over every plane, with the bounds in code points."""
    text = _no_surrogates(_random_text(random.Random(seed), 5_000)) + " a_b ✱x\x1e\u3000\u2028 ½ é\n\n"
    pieces, in_table, bounds = charclasses.class_runs(text, charclasses.code_point_table(ranges()))
    expected = re.findall(pattern, text)
    assert pieces.to_pylist() == expected
    assert in_table.tolist() == [bool(re.fullmatch(pattern.split("|")[0], p)) for p in expected]
    assert bounds.tolist() == np.cumsum([0, *map(len, expected)]).tolist()


def test_class_runs_of_nothing_and_of_a_lone_surrogate():
    table = charclasses.code_point_table(charclasses.space_ranges())
    pieces, in_table, bounds = charclasses.class_runs("", table)
    assert len(pieces) == len(in_table) == 0 and bounds.tolist() == [0]
    with pytest.raises(UnicodeError):
        charclasses.class_runs("a\ud800", table)


def test_token_codes_equal_the_words_of_each_text():
    """The chunk-wide split (runs of non-space in Arrow) = `words` text by text, line numbers
    included, on spaces `str.split` knows and RE2 does not (\\x1c, \\x85, U+2028 inside a text)."""
    texts = [
        "Rec✱eption at the\u00a0Việt Nam — “delegation”",
        "",
        "a\x1cb\x85c\u2028d e\u3000f",
        "✱ — ✱",
        "ΟΔΟΣ ΣΟΦΟΚΛΕΟΥΣ ½ ﬁnancial",
        _no_surrogates(_random_text(random.Random(3), 2_000)).replace("\n", " ").replace("\x01", " "),
        "rec✱eption rec✱eption",
    ]
    codes, vocabulary, line = normalise.token_codes(texts)
    assert len(set(vocabulary.tolist())) == len(vocabulary)
    for i, text in enumerate(texts):
        assert vocabulary[codes[line == i]].tolist() == normalise.words(text)
