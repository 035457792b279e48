"""Stories stage: pages whose article body repeats an earlier page's, in this batch or in the
persistent index of earlier batches (``--index``).

The one stage that is not page-local: every page is matched against all pages before it, so it
runs in input order over the chunks' articles. Its page-local half, the bodies' signatures
(`sign_stories`), runs wherever the chunk was processed (a worker process); only the lookup and
insertion (`link_stories`) run in order, where the index lives. The index
(`pipeline.sketch.storyindex.StoryIndex`: MinHash signatures of the bodies, LSH bands,
union-find clusters) is explicit state, passed in and returned extended, never global.
"""

from __future__ import annotations

import pandas as pd

from pipeline.sketch.storyindex import SignedChunk, StoryIndex


def sign_stories(articles: pd.DataFrame, signer: StoryIndex) -> SignedChunk:
    """MinHash signatures, fingerprints and band keys of the articles' bodies (`StoryIndex.sign`).

    `signer` holds the run's settings (``StoryIndex(**index.settings())``); its rows, if any,
    are not used, so a worker process needs no copy of the index.
    """
    return signer.sign(articles)


def link_stories(
    articles: pd.DataFrame, index: StoryIndex, signed: SignedChunk | None = None
) -> pd.DataFrame:
    """Add `dup_of_doc` (the first-seen page of the same story) and `doc_dup_score` (estimated
    containment) to `articles`, and add its pages to `index`.

    Parameters
    ----------
    articles : DataFrame, shape (n, k), columns doc_id and body at least, in input order
    index : StoryIndex, extended in place
    signed : `sign_stories(articles, ...)` when already computed (else computed here)

    Returns
    -------
    DataFrame, shape (n, k + 2)
    """
    return index.link(articles, signed)


def story_counts(articles: pd.DataFrame) -> dict[str, int]:
    """Pages found to repeat an earlier page's story: this stage's statistics."""
    return {"same_story_pages": int(articles["dup_of_doc"].notna().sum())}
