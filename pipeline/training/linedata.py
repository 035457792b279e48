"""Training data for the line-role model: segmented lines with a gold role and a CV group.

Two kinds of source folder:

- a line-gold folder (sea-dev, seeds): ``<id>.txt`` + ``<id>.json``; the role of every line is
  the gold's;
- an extraction folder (zyte-dev): ``<id>.txt`` + ``ground-truth.json`` with each page's true
  article body only. A line is labelled ``body`` when most of its word 4-grams (its words, for a
  line of under 4 words that is a whole paragraph of the truth or sits inside it between two body
  lines) occur in the true body, else `NON_BODY`: the benchmark says *that* the line is outside the
  article, not *what* it is (menu, title, caption, teaser...). The line model learns body vs not
  from every source but its split of the non-body roles only from line gold
  (`pipeline.learn.linemodel`).

The lines are produced by the runtime's own `read_pages` + `segment`, so features computed on them
match what the pipeline computes at run time exactly.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.learn.linemodel import NON_BODY
from pipeline.scoring.corpora import (
    cv_groups,
    extraction_truth,
    gold_ids,
    is_extraction_corpus,
    load_gold_lines,
)
from pipeline.stages.read import read_pages
from pipeline.stages.segment import segment

BODY_SHARE = 0.5
"""Share of a line's word 4-grams found in the true body above which the line is body."""

_WORD = re.compile(r"\w+")


def labelled_lines(sources: list[Path]) -> pd.DataFrame:
    """Segmented lines of every page of `sources`, with `gold_role` and `group`.

    Parameters
    ----------
    sources : folders, each a line-gold folder or an extraction folder (has ground-truth.json).

    Returns
    -------
    DataFrame, shape (n_lines, 8): the columns of segment.LINE_COLUMNS, then ``gold_role``
    (string: title, body, caption, boilerplate, teaser, comment, or NON_BODY) and ``group``
    (string: "<folder>/cluster<i>" for the pages of a same-story cluster, else "<folder>/<doc_id>").
    ``page`` numbers the pages of each source from 0, as one chunk of the runtime would.
    """
    frames = []
    for source in map(Path, sources):
        if is_extraction_corpus(source):
            frames.append(_extraction_lines(source))
        else:
            frames.append(_gold_lines(source))
    if not frames:
        raise ValueError("no sources given")
    return pd.concat(frames, ignore_index=True)


def _segmented(folder: Path, ids: list[str]) -> pd.DataFrame:
    pages, _ = read_pages([folder / f"{doc_id}.txt" for doc_id in ids])
    return segment(pages.reset_index(drop=True))


def _groups(folder: Path, doc_ids: pd.Series) -> pd.Series:
    return pd.Series(pd.array(cv_groups(folder, doc_ids), dtype="string"), index=doc_ids.index)


def _gold_lines(folder: Path) -> pd.DataFrame:
    ids = gold_ids(folder)
    if not ids:
        raise FileNotFoundError(f"no gold pages (<id>.txt + <id>.json) in {folder}")
    lines = _segmented(folder, ids)
    gold = load_gold_lines(folder)[["doc_id", "line_no", "gold_role"]]
    lines = lines.merge(gold, on=["doc_id", "line_no"], how="left", validate="one_to_one")
    if lines["gold_role"].isna().any():
        missing = lines.loc[lines["gold_role"].isna(), ["doc_id", "line_no"]].iloc[0].tolist()
        raise ValueError(f"{folder}: line {missing[1]} of {missing[0]} has no gold role")
    return lines.assign(gold_role=lines["gold_role"].astype("string"), group=_groups(folder, lines["doc_id"]))


def _extraction_lines(folder: Path) -> pd.DataFrame:
    truth = extraction_truth(folder)
    ids = sorted(doc for doc in truth if (folder / f"{doc}.txt").exists())
    lines = _segmented(folder, ids)
    roles = np.empty(len(lines), dtype=object)
    for doc_id, index in lines.groupby("doc_id", sort=False).indices.items():
        roles[index] = body_labels(lines["text"].iloc[index].tolist(), truth[doc_id])
    return lines.assign(gold_role=pd.array(roles, dtype="string"), group=_groups(folder, lines["doc_id"]))


def body_labels(texts: list[str], body: str) -> list[str]:
    """ "body" or NON_BODY for each line of one page, given the page's true article body."""
    body_words = [w.lower() for w in _WORD.findall(body)]
    grams = {tuple(body_words[i : i + 4]) for i in range(len(body_words) - 3)}
    paragraphs = {" ".join(w.lower() for w in _WORD.findall(p)) for p in body.splitlines() if p.strip()}
    joined = " " + " ".join(body_words) + " "
    labels: list[str | None] = []
    for text in texts:
        words = [w.lower() for w in _WORD.findall(text)]
        if len(words) >= 4:
            share = np.mean([tuple(words[i : i + 4]) in grams for i in range(len(words) - 3)])
            labels.append("body" if share > BODY_SHARE else NON_BODY)
        elif words and " ".join(words) in paragraphs:
            labels.append("body")
        elif words and f" {' '.join(words)} " in joined:
            labels.append(None)  # decided by its neighbours below
        else:
            labels.append(NON_BODY)
    # a short line found in the body counts when the nearest decided lines on both sides are body
    decided = [i for i, label in enumerate(labels) if label is not None]
    for i, label in enumerate(labels):
        if label is None:
            before = [labels[j] for j in decided if j < i][-1:]
            after = [labels[j] for j in decided if j > i][:1]
            labels[i] = "body" if before == after == ["body"] else NON_BODY
    return [str(label) for label in labels]
