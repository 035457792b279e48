"""Batch evidence: copies of one story share their body; one shared lede makes no copy."""

from __future__ import annotations

import pandas as pd

from pipeline.stages.batch_evidence import COPY_REASON as REASON
from pipeline.stages.batch_evidence import body_from_copies
from pipeline.stages.read import Page, pages_frame
from pipeline.stages.segment import segment

PARAGRAPHS = [
    f"Paragraph {word} of the story: police in Dien Bien arrested {n} men carrying heroin from Laos."
    for n, word in enumerate(["one", "two", "three", "four", "five"], start=2)
]


def run(pages: list[list[tuple[str, str]]]) -> pd.DataFrame:
    records = [
        Page(doc_id=f"p{i}", text="\n".join(t for t, _ in page), source="t", encoding="utf-8")
        for i, page in enumerate(pages)
    ]
    lines = segment(pages_frame(records))
    roles = [role for page in pages for _, role in page]
    lines = lines.assign(
        role=pd.array(roles, dtype="string"), reason=pd.array(["model"] * len(roles), dtype="string")
    )
    return body_from_copies(lines)


def test_a_copy_called_teasers_gets_the_body_its_twin_has():
    original = [("Dien Bien police seize heroin", "title"), *((p, "body") for p in PARAGRAPHS)]
    # a mirror without its headline, quotes and spacing changed, one paragraph more
    mirror = [(p.replace(":", " :").upper(), "teaser") for p in PARAGRAPHS[:4]]
    mirror.append(("A paragraph only the mirror has, about the same arrest in Dien Bien.", "teaser"))
    out = run([original, mirror])
    assert out["role"].tolist()[:6] == ["title"] + ["body"] * 5
    assert out["role"].tolist()[6:] == ["body"] * 4 + ["teaser"]
    assert (out["reason"].iloc[6:10] == REASON).all() and out["reason"].iloc[10] == "model"


def test_a_teaser_repeating_another_pages_lede_is_no_copy():
    article = [("Dien Bien police seize heroin", "title"), *((p, "body") for p in PARAGRAPHS)]
    listing = [
        (PARAGRAPHS[0], "teaser"),
        ("Another story entirely, about the typhoon in Nghe An province.", "teaser"),
    ]
    out = run([article, listing])
    assert out["role"].tolist()[6:] == ["teaser", "teaser"]


def test_template_text_on_many_pages_is_no_evidence_and_a_page_alone_is_unchanged():
    template = [(p, "boilerplate") for p in PARAGRAPHS[:3]]
    pages = [[*template, ("Story text: a single paragraph of this page alone, with nothing else.", "body")]]
    many = [[(p, "body" if i == 0 else "boilerplate") for p in PARAGRAPHS[:3]] for i in range(12)]
    assert run(many)["role"].tolist()[3:] == ["boilerplate"] * 33
    alone = run(pages)
    assert alone["role"].tolist() == ["boilerplate"] * 3 + ["body"]
    assert run(pages).iloc[:0].pipe(body_from_copies).empty
