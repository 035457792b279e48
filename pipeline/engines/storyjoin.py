"""The distributed part of same-story linking: dask.dataframe tables of band keys and signatures
built from the partitions' results, candidate pairs by a shuffle on (band, key), verification by
hash joins, union-find on the client (functions in `storylinks`), and the per-page answers.
"""

from __future__ import annotations

from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
from distributed import Client

from pipeline.engines.storylinks import (
    _LIVE,
    BANDS_META,
    EDGES_META,
    PAIRS_META,
    SIG_DTYPE,
    SIGS_META,
    RowPlan,
    assign_rows,
    bucket_pairs,
    cluster,
    verify_pairs,
)
from pipeline.sketch.storyindex import StoryIndex

INDEX_BLOCK = 50_000
"""Rows of a loaded --index per dataframe partition."""


def band_frame(result: Any, new_rows: list[np.ndarray]) -> pd.DataFrame:
    """(bucket, row) of every band of the partition's new rows; bucket = band << 32 | key."""
    frames = [
        _bands(c.bands[rows >= 0], rows[rows >= 0]) for c, rows in zip(result.chunks, new_rows, strict=True)
    ]
    return pd.concat([BANDS_META, *frames], ignore_index=True)


def _bands(bands: np.ndarray, rows: np.ndarray) -> pd.DataFrame:
    n_bands = bands.shape[1]
    bucket = (np.arange(n_bands, dtype=np.uint64)[None, :] << np.uint64(32)) | bands.astype(np.uint64)
    return pd.DataFrame({"bucket": bucket.ravel(), "row": np.repeat(rows, n_bands)})


def sig_frame(result: Any, new_rows: list[np.ndarray]) -> pd.DataFrame:
    """(row, sig bytes, size) of the partition's new rows."""
    frames = [
        _sigs(c.sig16[rows >= 0], c.sizes[rows >= 0], rows[rows >= 0])
        for c, rows in zip(result.chunks, new_rows, strict=True)
    ]
    return pd.concat([SIGS_META, *frames], ignore_index=True)


def _sigs(sig16: np.ndarray, sizes: np.ndarray, rows: np.ndarray) -> pd.DataFrame:
    blob = [row.tobytes() for row in np.ascontiguousarray(sig16)]
    return pd.DataFrame(
        {"row": rows, "sig": pd.Series(blob, dtype=SIG_DTYPE), "size": sizes.astype(np.uint32)}
    )


def new_row_arrays(result: Any, new_rows: list[np.ndarray]) -> list[tuple[np.ndarray, ...]]:
    """(rows, sig16, sizes, fps, bands) of the new rows of each chunk (for saving --index)."""
    out = []
    for chunk, rows in zip(result.chunks, new_rows, strict=True):
        keep = rows >= 0
        out.append((rows[keep], chunk.sig16[keep], chunk.sizes[keep], chunk.fps[keep], chunk.bands[keep]))
    return out


def _dedupe(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop_duplicates(ignore_index=True)


def link_batch(
    client: Client, futures: list, lights: list, index: StoryIndex, save: bool
) -> tuple[list[list[tuple[list, list]]], dict[str, int]]:
    """Same-story answers of every page, per partition and chunk: (dup_of_doc, doc_dup_score)
    lists. With `save`, `index` is extended with the batch's new rows as `link` would."""
    settings = index.settings()
    plan = assign_rows(index, [c for light in lights for c in light.chunks])
    new_rows = new_rows_by_partition(lights, plan)
    edges, candidates, sig_parts = candidate_edges(client, futures, new_rows, plan, index, settings)
    answer, score = answers(client, edges, sig_parts, plan, index, settings)
    links, same_story = _page_links(lights, plan, index, answer, score)
    if save:
        arrays = client.gather(
            [client.submit(new_row_arrays, f, rows) for f, rows in zip(futures, new_rows, strict=True)]
        )
        _extend(index, plan, arrays, answer, score)
    stats = {"candidate_pairs": candidates, "verified_pairs": len(edges), "same_story_pages": same_story}
    return links, stats


def new_rows_by_partition(lights: list, plan: RowPlan) -> list[list[np.ndarray]]:
    """Per partition, per chunk: the new row of each signed page, or -1 (a page kept from --index)."""
    new_rows, k = [], 0
    for light in lights:
        n = len(light.chunks)
        new_rows.append([np.where(plan.new_masks[k + i], plan.page_rows[k + i], -1) for i in range(n)])
        k += n
    return new_rows


def candidate_edges(
    client: Client, futures: list, new_rows: list, plan: RowPlan, index: StoryIndex, settings: dict
) -> tuple[pd.DataFrame, int, list]:
    """Verified edges (q, r, contain) sorted by (q, r), the candidate-pair count, and the
    signature table's parts (futures), from the partitions' results and the loaded index."""
    if plan.n_rows == plan.n_index:  # no new row: nothing to match (every page kept or unsigned)
        return EDGES_META.copy(), 0, []
    band_parts = [client.submit(band_frame, f, rows) for f, rows in zip(futures, new_rows, strict=True)]
    sig_parts = [client.submit(sig_frame, f, rows) for f, rows in zip(futures, new_rows, strict=True)]
    index_bands = index.bands_.bands_by_row(plan.n_index)
    for start in range(0, plan.n_index, INDEX_BLOCK):
        rows = np.arange(start, min(start + INDEX_BLOCK, plan.n_index))
        band_parts.append(client.scatter(_bands(index_bands[rows], rows)))
        sig_parts.append(
            client.scatter(_sigs(index.columns_["sig"][rows], index.columns_["size"][rows], rows))
        )
    edges, candidates = _edges(client, band_parts, sig_parts, plan, index, settings)
    return edges, candidates, sig_parts


def _edges(
    client, band_parts, sig_parts, plan: RowPlan, index: StoryIndex, settings
) -> tuple[pd.DataFrame, int]:
    retired = sorted(plan.retired.items())
    chunk_starts = np.cumsum([0] + [int(m.sum()) for m in plan.new_masks])[:-1] + plan.n_index
    pair_plan = {
        "n_index": plan.n_index,
        "max_bucket": index.max_bucket,
        "chunk_starts": chunk_starts,
        "segments": plan.segments,
        "retired_rows": np.array([r for r, _ in retired], dtype=np.int64),
        "retired_by": np.array([b for _, b in retired], dtype=np.int64),
    }
    n_out = max(1, len(band_parts))
    bands = dd.from_delayed(band_parts, meta=BANDS_META, verify_meta=False)
    pairs = bands.shuffle("bucket", npartitions=n_out).map_partitions(
        bucket_pairs, pair_plan, meta=PAIRS_META
    )
    pairs = pairs.shuffle("q", npartitions=n_out).map_partitions(_dedupe, meta=PAIRS_META)
    pairs = client.persist(pairs)
    candidates = int(client.compute(pairs.map_partitions(len).sum()).result()) if plan.n_rows else 0
    edges = _verified(client, pairs, sig_parts, settings, keep_all=False)
    return edges, candidates


def _verified(client, pairs, sig_parts, settings, keep_all: bool) -> pd.DataFrame:
    sigs = dd.from_delayed(sig_parts, meta=SIGS_META, verify_meta=False)
    joined = pairs.merge(sigs.rename(columns={"row": "q", "sig": "sig_q", "size": "size_q"}), on="q")
    joined = joined.merge(sigs.rename(columns={"row": "r", "sig": "sig_r", "size": "size_r"}), on="r")
    verified = joined.map_partitions(verify_pairs, settings, keep_all, meta=EDGES_META)
    edges = client.compute(verified).result()
    return edges.sort_values(["q", "r"], ignore_index=True)


def answers(client, edges, sig_parts, plan: RowPlan, index, settings) -> tuple[np.ndarray, np.ndarray]:
    """Answer row and score of each new row (-1 / 0 when it has none)."""
    parent = np.r_[index.columns_["parent"], np.arange(plan.n_index, plan.n_rows, dtype=np.int64)]
    rows, targets, parent = cluster(edges, parent, plan.doc_ids)
    answer = np.full(plan.n_rows - plan.n_index, -1, dtype=np.int64)
    score = np.zeros(plan.n_rows - plan.n_index, dtype=np.float32)
    plan.parent = parent  # unions change index rows' parents too: saved with the index
    if not len(rows):
        return answer, score
    wanted = pd.DataFrame({"q": rows, "r": targets})
    known = wanted.merge(edges, on=["q", "r"], how="left")
    missing = known[known["contain"].isna()][["q", "r"]]
    if len(missing):  # a target reached through the cluster, not a direct match: one more join
        extra = _verified(client, dd.from_pandas(missing, npartitions=1), sig_parts, settings, keep_all=True)
        known = known.drop(columns="contain").merge(pd.concat([edges, extra]), on=["q", "r"], how="left")
    answer[rows - plan.n_index] = targets
    score[rows - plan.n_index] = known["contain"].to_numpy(dtype=np.float64).astype(np.float32)
    return answer, score


def _page_links(lights, plan: RowPlan, index: StoryIndex, answer, score) -> tuple[list, int]:
    """Per partition, per chunk: (dup_of_doc list, doc_dup_score list) over its pages."""
    stored_answer, stored_score = index.columns_["answer"], index.columns_["score"]
    links, k, linked = [], 0, 0
    for light in lights:
        per_chunk = []
        for chunk, n_pages in zip(light.chunks, light.pages_per_chunk, strict=True):
            dup_of: list[str | None] = [None] * n_pages
            scores: list[float | None] = [None] * n_pages
            for position, row, new, doc_id in zip(
                chunk.positions, plan.page_rows[k], plan.new_masks[k], chunk.doc_ids, strict=True
            ):
                a, s = (
                    (answer[row - plan.n_index], score[row - plan.n_index])
                    if new
                    else (stored_answer[row], stored_score[row])
                )
                if a >= 0 and plan.doc_ids[a] != doc_id:
                    dup_of[position], scores[position] = plan.doc_ids[a], float(s)
                    linked += 1
            per_chunk.append((dup_of, scores))
            k += 1
        links.append(per_chunk)
    return links, linked


def _extend(index: StoryIndex, plan: RowPlan, arrays: list, answer: np.ndarray, score: np.ndarray) -> None:
    """Append the batch's new rows to `index` (the state `StoryIndex.link` would leave)."""
    chunks = [c for partition in arrays for c in partition]
    rows = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros(0, dtype=np.int64)
    if len(rows):
        index.columns_.extend(
            sig=np.concatenate([c[1] for c in chunks]),
            size=np.concatenate([c[2] for c in chunks]),
            fp=np.concatenate([c[3] for c in chunks]),
            answer=answer,
            score=score,
            parent=plan.parent[plan.n_index :],
            retired_by=np.full(len(rows), _LIVE, dtype=np.int64),
        )
        index.bands_.add(rows, np.concatenate([c[4] for c in chunks]))
    index.columns_["parent"][: plan.n_index] = plan.parent[: plan.n_index]
    for row, by in plan.retired.items():
        index.columns_["retired_by"][row] = by
    new_ids = plan.doc_ids[plan.n_index :]
    index.doc_ids_.extend(new_ids)
    for offset, doc_id in enumerate(new_ids):
        index.row_of_[doc_id] = plan.n_index + offset
