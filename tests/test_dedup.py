"""In-page repeats (issue 5 part 1): seeds exact, sea-dev link floors, the dup_of contract."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from datasketch import MinHash

from pipeline.scoring.corpora import load_gold_lines
from pipeline.scoring.metrics import _link_scores
from pipeline.sketch import minhash
from pipeline.sketch.lsh import BandTable, band_pairs
from pipeline.stages.read import read_pages
from pipeline.stages.repeats import INPAGE_PARAMS, _despaced_containment, link_repeats
from pipeline.stages.segment import segment
from pipeline.text.normalise import tokenise, words
from pipeline.text.urls import URL, strip_urls

from .conftest import shared_path

SEED_001 = "001_4604689f0c31e141"
PARAGRAPH = (
    "In particular, in April 2023, the two sides successfully carried out a joint operation "
    "that dismantled a major organised, transnational drug trafficking ring."
)
LONGER = PARAGRAPH + " The operation led to the arrest of 12 suspects and the seizure of 48kg of drugs."


def frame(*pages: list[tuple[str, str]]) -> pd.DataFrame:
    """A lines frame (as segment + boilerplate give) from pages of (role, text) lines."""
    rows = []
    for page, page_lines in enumerate(pages):
        for pos, (role, text) in enumerate(page_lines):
            rows.append((f"doc{page}", pos + 1, text, page, pos, len(page_lines), role, "test"))
    columns = ["doc_id", "line_no", "text", "page", "pos", "n_page_lines", "role", "reason"]
    return pd.DataFrame(rows, columns=columns)


def links(out: pd.DataFrame, page: int = 0) -> dict[int, int]:
    rows = out[(out["page"] == page) & out["dup_of"].notna()]
    return {int(n): int(d) for n, d in zip(rows["line_no"], rows["dup_of"], strict=True)}


def gold_frame(gold_dir) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lines of a gold folder as the pipeline segments them, with the gold roles as input."""
    pages, _ = read_pages([gold_dir])
    gold = load_gold_lines(gold_dir)
    lines = segment(pages).merge(
        gold[["doc_id", "line_no", "gold_role"]], on=["doc_id", "line_no"], how="left", validate="1:1"
    )
    return lines.assign(role=lines.pop("gold_role"), reason="gold"), gold


def test_seed_links_exactly():
    lines, _ = gold_frame(shared_path("seeds"))
    out = link_repeats(lines)
    assert links(out, page=int(out.loc[out["doc_id"] == SEED_001, "page"].iloc[0])) == {6: 5, 3: 14}
    assert out["dup_of"].notna().sum() == 2  # nothing at all in seed 000
    standfirst = out[(out["doc_id"] == SEED_001) & (out["line_no"] == 3)].iloc[0]
    assert standfirst["reason"] == "gold;dup:contained" and standfirst["dup_score"] == 1.0


def test_sea_dev_link_floors():
    """Thresholds are fixed in INPAGE_PARAMS (nothing is fitted), so all of sea-dev is held out."""
    lines, gold = gold_frame(shared_path("corpus", "sea-dev"))
    out = link_repeats(lines)
    joined = gold.merge(out[["doc_id", "line_no", "dup_of"]], on=["doc_id", "line_no"], how="left")
    precision, recall = _link_scores(joined)
    assert precision >= 0.95 and recall >= 0.93, (precision, recall)


def test_star_on_the_most_complete_copy():
    out = link_repeats(
        frame(
            [
                ("body", PARAGRAPH),
                ("caption", "A photo caption of the raid with several words in it."),
                ("body", PARAGRAPH),
                ("body", LONGER),
                ("body", PARAGRAPH.upper()),
            ]
        )
    )
    assert links(out) == {1: 4, 3: 4, 5: 4}  # every copy points straight at the kept one
    assert out["dup_score"].notna().sum() == 3
    assert out.loc[out["line_no"] == 4, "reason"].item() == "test"  # the kept line is unmarked
    assert out.loc[out["line_no"] == 1, "reason"].item() == "test;dup:contained"


def test_standfirst_points_to_the_paragraph_containing_it():
    out = link_repeats(
        frame([("title", "Police dismantle drug ring"), ("body", PARAGRAPH), ("body", LONGER)])
    )
    assert links(out) == {2: 3}


def test_body_is_kept_over_a_longer_caption():
    caption = PARAGRAPH + " (Photo: VNA)"
    out = link_repeats(frame([("caption", caption), ("body", PARAGRAPH)]))
    assert links(out) == {1: 2}


def test_junk_characters_and_case_do_not_hide_a_repeat():
    clean = "The hotel reception was closed when the police arrived at the scene last night"
    junk = "The hotel rec✱eption was CLOSED when the p.o.l.i.c.e arrived at the scene last night"
    out = link_repeats(frame([("body", clean), ("body", junk)]))
    assert links(out) == {2: 1}
    assert out.loc[1, "reason"] == "test;dup:exact"


def test_glued_words_still_match():
    spaced = (
        "The 5th regional meeting on border security was held in the capital on Friday, "
        "where delegates agreed to share intelligence on smuggling routes."
    )
    glued = "Bangkok (AP) – " + spaced.replace("5th regional", "5thregional").replace(
        "on smuggling", "onsmuggling"
    )
    assert links(link_repeats(frame([("body", spaced), ("body", glued)]))) == {1: 2}


def test_no_link_across_pages():
    out = link_repeats(frame([("body", PARAGRAPH)], [("body", PARAGRAPH)], [("body", LONGER)]))
    assert out["dup_of"].isna().all()


def test_url_spelling_a_headline_is_not_a_repeat():
    headline = "Flood dangers rise amid downpours"
    url = "http://www.example.com/5084251/flood-dangers-rise-amid-downpours/"
    out = link_repeats(frame([("title", headline), ("boilerplate", url), ("boilerplate", url)]))
    assert links(out) == {3: 2}  # two copies of the link repeat each other, not the headline


def test_short_lines_are_only_exact_repeats():
    out = link_repeats(
        frame(
            [
                ("body", "Surigao del Sur"),
                ("body", "Storm signals were raised over Surigao del Sur and Davao Oriental today."),
                ("boilerplate", "Meal Prep Menu for Eating Plan A"),
                ("boilerplate", "Meal Prep Menu for Eating Plan D"),
                ("boilerplate", "Share"),
                ("boilerplate", "Share"),
            ]
        )
    )
    assert links(out) == {6: 5}


def test_paragraphs_quoting_one_short_line_stay_in_the_body():
    quote = "Police seize record haul of methamphetamine"
    out = link_repeats(
        frame(
            [
                ("title", quote),
                ("body", f"{quote}, officials said on Monday after a week of raids in the north."),
                ("body", f"Officials said that the {quote} story was shared widely by the public."),
            ]
        )
    )
    found = links(out)
    assert found.get(1) in (2, 3) and 2 not in found and 3 not in found


def test_empty_chunk_and_missing_optional_columns():
    empty = link_repeats(frame([]))
    assert len(empty) == 0 and str(empty["dup_of"].dtype) == "Int32"
    bare = link_repeats(frame([("body", "Share"), ("body", "Share")]).drop(columns=["role", "reason"]))
    assert links(bare) == {2: 1} and bare["reason"].tolist() == [pd.NA, "dup:exact"]


def test_symbol_lines_are_never_linked():
    out = link_repeats(frame([("boilerplate", "|"), ("boilerplate", "|"), ("boilerplate", "—")]))
    assert out["dup_of"].isna().all()


def test_deterministic_and_independent_of_the_chunk():
    page = [
        ("title", "Police dismantle drug ring"),
        ("body", PARAGRAPH),
        ("body", LONGER),
        ("body", PARAGRAPH),
    ]
    other = [("body", LONGER), ("caption", PARAGRAPH)]
    alone = link_repeats(frame(page))
    first = link_repeats(frame(other, page, other))
    again = link_repeats(frame(other, page, other))
    pd.testing.assert_frame_equal(first, again)
    cols = ["line_no", "dup_of", "dup_score", "reason"]
    in_chunk = first[first["page"] == 1][cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone[cols], in_chunk)


def test_tokenise_equals_normalise_words_without_urls():
    texts = ["Rec✱eption at www.x.com today", "ẞtraße — “Quoted” 12.5kg", "", "a\u00a0b  c", "Ａｂｃ 10:27"]
    tokens, line = tokenise(texts)
    for i, text in enumerate(texts):
        assert tokens[line == i].tolist() == words(text.replace("www.x.com", " "))


def test_signatures_equal_datasketch_minhash_bulk():
    sets = [[b"a", b"b", b"c"], [], [b"x"], [str(i).encode() for i in range(3000)]]
    flat = [x for s in sets for x in s]
    offsets = np.r_[0, np.cumsum([len(s) for s in sets])]
    p = INPAGE_PARAMS
    sigs = minhash.signatures(minhash.hash_items(flat, p.scheme), offsets, p.num_perm, p.seed, p.scheme)
    expected = [m.hashvalues for m in MinHash.bulk(sets, num_perm=p.num_perm, seed=p.seed, scheme=p.scheme)]
    assert np.array_equal(sigs, np.array(expected))


def test_band_pairs_only_pair_equal_bands_of_one_group():
    sigs = np.array([[1, 2, 3, 4], [1, 2, 9, 9], [1, 2, 3, 4], [7, 7, 7, 7]], dtype=np.uint32)
    left, right = band_pairs(sigs, np.array([0, 0, 1, 0]), bands=2, rows=2)
    assert list(zip(left.tolist(), right.tolist(), strict=True)) == [(0, 1)]


@pytest.mark.parametrize("max_bucket", [1, 3, 64])
def test_band_table_lookup_equals_a_pair_by_pair_search(max_bucket):
    """Every (query, row) sharing a band key within a segment's first `max_bucket` rows of that
    key, once each, sorted: floods of one key, blocks merged into segments, no match at all."""
    rng = np.random.default_rng(max_bucket)
    table = BandTable(n_bands=4)
    start = 0
    for size in (50, 7, 30, 1, 12):
        table.add(np.arange(start, start + size), rng.integers(0, 6, size=(size, 4)).astype(np.uint32))
        start += size
    queries = np.r_[rng.integers(0, 6, size=(20, 4)), np.full((1, 4), 99)].astype(np.uint32)
    expected = set()
    for keys, rows in table.segments:
        for band in range(4):
            for q, value in enumerate(queries[:, band]):
                expected.update((q, int(r)) for r in rows[band][keys[band] == value][:max_bucket])
    q, r = table.lookup(queries, max_bucket)
    assert list(zip(q.tolist(), r.tolist(), strict=True)) == sorted(expected)
    assert len(table.segments) > 1 and not (q == len(queries) - 1).any()


def test_big_templated_page_scales_and_uses_minhash():
    """Thousands of lines sharing frequent shingles: the inverted index leaves those out and
    MinHash LSH still finds the near-identical long lines, in bounded time."""
    rng = np.random.default_rng(0)
    template = "Breaking update from the city council meeting held in the main hall about item"
    page = [("teaser", f"{template} {i} {' '.join(rng.choice(list('abcdefgh'), 6))}") for i in range(3000)]
    story = "the council approved a new budget for road repairs and street lighting across all districts"
    page += [("body", f"{template} {story}"), ("body", f"{template} {story} today")]
    lines = frame(page)
    start = time.perf_counter()
    out = link_repeats(lines)
    assert time.perf_counter() - start < 10
    assert links(out).get(3001) == 3002
    assert out.loc[out["line_no"] == 3001, "reason"].item() == "test;dup:near"


@pytest.mark.parametrize("field", ["num_perm", "shingle_words", "scheme", "near_jaccard", "contained"])
def test_parameters_are_exposed(field):
    assert field in INPAGE_PARAMS.as_dict()


def test_strip_urls_equals_the_url_regex():
    rng = np.random.default_rng(0)
    alphabet = np.array(list("wW.:/ x\n"))
    for _ in range(3000):
        text = "".join(rng.choice(alphabet, rng.integers(0, 24)))
        assert strip_urls(text) == URL.sub(" ", text)


def _plain_despaced_containment(a: str, b: str, k: int) -> float:
    """Both texts' k-gram sets, intersected (what `_despaced_containment` computes)."""
    a, b = a.replace(" ", ""), b.replace(" ", "")
    a, b = (b, a) if len(a) > len(b) else (a, b)
    grams_a = {a[p : p + k] for p in range(max(1, len(a) - k + 1))}
    grams_b = {b[p : p + k] for p in range(max(1, len(b) - k + 1))}
    return len(grams_a & grams_b) / len(grams_a)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_despaced_containment_equals_the_two_sets(k):
    """The substring search = intersecting the k-gram sets, texts shorter than k included (a
    short text is one gram: it must equal the other's, not merely occur in it)."""
    rng = np.random.default_rng(k)
    texts = ["", " ", "ab", "abc", "abcd", "a b c d e", "xxabcdexx", "abcde", "ΣΟΦΟΣ σοφός", "aaaaaaa"]
    texts += ["".join(rng.choice(list("ab c✱é"), size=rng.integers(0, 12))) for _ in range(60)]
    for a in texts:
        for b in texts:
            assert _despaced_containment(a, b, k) == _plain_despaced_containment(a, b, k), (a, b)


def test_a_linked_line_gets_its_link_appended_to_its_reason_or_alone():
    lines = frame([("body", PARAGRAPH), ("body", PARAGRAPH), ("body", PARAGRAPH), ("title", "Short title")])
    lines["reason"] = pd.array(["model:body", "", None, None], dtype="string")
    out = link_repeats(lines)
    assert out["reason"].dtype == "string" and out["dup_kind"].dtype == "string"
    assert out["reason"].tolist() == ["model:body", "dup:exact", "dup:exact", pd.NA]
    assert out["dup_kind"].tolist() == [pd.NA, "exact", "exact", pd.NA]
    without = link_repeats(frame([("body", PARAGRAPH), ("body", PARAGRAPH)]).drop(columns="reason"))
    assert without["reason"].tolist() == [pd.NA, "dup:exact"]
