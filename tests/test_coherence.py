"""Coherence features against a plain per-page computation of the same cosines."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.learn.coherence import COHERENCE_FEATURES, NEAR, coherence_features
from pipeline.learn.linefeatures import STOPWORDS, line_features
from pipeline.stages.read import Page, pages_frame
from pipeline.stages.segment import segment

DRUGS = (
    "Police in Dien Bien arrested two men carrying heroin from Laos on Monday, the border guard said.",
    "The two men from Laos confessed that they carried the heroin for a buyer in Dien Bien, police said.",
    "The heroin, 20 bricks in all, was hidden in a truck bound for Dien Bien, the police said.",
)
DENGUE = "The Ministry of Health warned that dengue fever cases could spike in Hanoi this summer."


def lines_of(*pages: str) -> pd.DataFrame:
    frame = pages_frame(
        [Page(doc_id=f"p{i}", text=t, source="test", encoding="utf-8") for i, t in enumerate(pages)]
    )
    return segment(frame)


def words(text: str) -> set[str]:
    tokens = re.sub(r"[^\w]+|_", " ", text.lower()).split()
    return {w for w in tokens if (len(w) >= 3 and w not in STOPWORDS) or w.isdigit()}


def cosine(a: set[str], b: set[str]) -> float:
    return len(a & b) / np.sqrt(len(a) * len(b)) if a and b else 0.0


def expected(texts: list[str], prose: list[bool]) -> dict[str, list[float]]:
    """The features of one page, line by line, from their definitions."""
    sets = [words(t) for t in texts]
    unit = [{w: 1 / np.sqrt(len(s)) for w in s} for s in sets]
    n = len(texts)
    out: dict[str, list[float]] = {name: [] for name in COHERENCE_FEATURES}
    core = [unit[j] for j in range(n) if prose[j]]
    for i in range(n):
        near = [cosine(sets[i], sets[j]) for j in range(max(0, i - NEAR), min(n, i + NEAR + 1)) if j != i]
        out["sim_prev"].append(cosine(sets[i], sets[i - 1]) if i else -1.0)
        out["sim_next"].append(cosine(sets[i], sets[i + 1]) if i < n - 1 else -1.0)
        out["sim_near"].append(max([*near, -1.0]))
        out["sim_title"].append(1.0 if i == 0 else cosine(sets[i], sets[0]))
        rest: dict[str, float] = {}
        for j, vec in enumerate(unit):
            if prose[j] and j != i:
                for w, v in vec.items():
                    rest[w] = rest.get(w, 0.0) + v
        norm = np.sqrt(sum(v * v for v in rest.values()))
        dot = sum(v * rest.get(w, 0.0) for w, v in unit[i].items())
        out["sim_core"].append(dot / norm if norm > 1e-6 else -1.0)
    prose_rows = [i for i in range(n) if prose[i]]
    core_mean = np.mean([out["sim_core"][i] for i in prose_rows]) if len(prose_rows) >= 2 else -1.0
    chain = [cosine(sets[a], sets[b]) for a, b in itertools.pairwise(prose_rows)]
    out["page_core_sim"] = [float(core_mean)] * n
    out["page_chain_sim"] = [float(np.mean(chain)) if chain else -1.0] * n
    del core
    return out


def check(pages: list[str]) -> None:
    lines = lines_of(*pages)
    features = line_features(lines)
    for _, rows in lines.groupby("page", sort=False).groups.items():
        part = features.loc[rows]
        want = expected(lines.loc[rows, "text"].tolist(), (part["prose"] > 0).tolist())
        for name in COHERENCE_FEATURES:
            np.testing.assert_allclose(part[name].to_numpy(), want[name], atol=1e-5, err_msg=name)


def test_cosines_follow_their_definitions():
    check(
        [
            "Dien Bien police seize heroin\n" + "\n".join(DRUGS) + "\nSee more\n" + DENGUE,
            "A tag page\n" + DENGUE + "\n" + DRUGS[0] + "\n12/05/2020\n" + DRUGS[1],
            "One line only",
        ]
    )


def test_an_article_coheres_and_a_listing_does_not():
    article = line_features(lines_of("Dien Bien heroin bust\n" + "\n".join(DRUGS)))
    listing = line_features(
        lines_of("Latest news\n" + "\n".join([DRUGS[0], DENGUE, DRUGS[0].replace("Dien", "X")]))
    )
    assert article["page_chain_sim"].iloc[0] > 0.3 > listing["page_chain_sim"].iloc[0] - 0.2
    assert article["sim_core"].iloc[1:].min() > listing["sim_core"].iloc[2]


WORDS = ["heroin", "police", "Laos", "border", "2020", "the", "of", "Hanoi", "fever", "ring", "x"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(
            st.lists(st.sampled_from(WORDS), min_size=1, max_size=14).map(" ".join), min_size=1, max_size=7
        ),
        min_size=1,
        max_size=4,
    )
)
def test_cosines_on_random_pages(pages):
    check(["\n".join(page) for page in pages])


def test_an_empty_chunk_has_empty_features():
    empty, no_text = np.zeros(0, dtype=np.int64), pa.array([], pa.string())
    out = coherence_features(empty, no_text, np.zeros(0), empty, empty, empty, no_text)
    assert set(out) == set(COHERENCE_FEATURES) and all(len(v) == 0 for v in out.values())
