"""Same-story links over a Dask cluster, equal to `pipeline.stories.StoryIndex.link` chunk by chunk.

Where each step runs:

- workers: signatures, fingerprints and LSH band keys of each chunk's article bodies
  (`StoryIndex.sign`, as the local engine's workers do);
- client: which signed page gets a new index row (`assign_rows`: a page already in ``--index`` with
  the same text keeps its row and stored answer; a doc_id with new text retires its old row), from
  doc_ids and fingerprints only;
- workers, through dask.dataframe: candidate pairs from a shuffle on (band, key) (`bucket_pairs`),
  verified on whole signatures by hash joins with the signature table (`verify_pairs`); only
  verified edges reach the client, not the signatures (except with ``--index``: the file the
  client saves holds the new rows' signatures, as the local engine's does);
- client: union-find over the verified edges in row order (`cluster`): `storyindex.cluster_in_row_order`
  itself, on an index holding only the parent and answer columns.
  This is the one sequential step: it holds one int64 parent per row and the edge list, fine for
  tens of millions of pages and a few edges each; past that, connected components would run as
  iterated label propagation over the edge table in the workers (the "earliest row" root is a
  min-label propagation), with the ``--index`` rows' roots as initial labels.

`lsh.BandTable.lookup` keeps at most ``max_bucket`` rows per (band, key) in each of its sorted
segments; `segments_by_chunk` replays which row ranges those segments held when each chunk was
linked, so that even a flood of identical bodies gives the local engine's candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.sketch.storyindex import SignedChunk, StoryIndex, cluster_in_row_order

_LIVE = np.iinfo(np.int64).max  # StoryIndex's retired_by of a row with no later version
PAIRS_META = pd.DataFrame({"q": np.zeros(0, np.int64), "r": np.zeros(0, np.int64)})
EDGES_META = PAIRS_META.assign(contain=np.zeros(0, np.float64))
BANDS_META = pd.DataFrame({"bucket": np.zeros(0, np.uint64), "row": np.zeros(0, np.int64)})
SIG_DTYPE = pd.ArrowDtype(pa.binary())
"""A signature as bytes: an Arrow column, which dask neither converts to strings nor pickles row by row."""
SIGS_META = pd.DataFrame({"row": np.zeros(0, np.int64), "sig": pd.Series([], dtype=SIG_DTYPE)})
SIGS_META["size"] = np.zeros(0, np.uint32)


@dataclass
class RowPlan:
    """Rows of the batch's signed pages (client side)."""

    page_rows: list[np.ndarray]  # per chunk, the row of each signed page
    new_masks: list[np.ndarray]  # per chunk, which signed pages got a new row
    doc_ids: list[str]  # doc_id of every row, index rows first
    retired: dict[int, int]  # row -> the row of its doc_id's next version (all rows, not only new)
    segments: list[list[tuple[int, int]]]  # per chunk, row ranges of the band table's segments
    n_index: int
    n_rows: int
    parent: np.ndarray | None = None  # union-find parents of every row, once linked


def assign_rows(index: StoryIndex, chunks: list[SignedChunk]) -> RowPlan:
    """Replay `StoryIndex.link`'s choice of rows (doc_ids are unique within a batch)."""
    fp, retired_by = index.columns_["fp"], index.columns_["retired_by"]
    retired = {int(r): int(retired_by[r]) for r in np.flatnonzero(retired_by != _LIVE)}
    doc_ids = list(index.doc_ids_)
    next_row = len(index)
    page_rows, new_masks, blocks = [], [], []
    for chunk in chunks:
        rows = np.empty(len(chunk.doc_ids), dtype=np.int64)
        new = np.ones(len(chunk.doc_ids), dtype=bool)
        for k, doc_id in enumerate(chunk.doc_ids):
            known = index.row_of_.get(doc_id)
            if known is not None and fp[known] == chunk.fps[k]:
                rows[k], new[k] = known, False
                continue
            if known is not None:
                retired[known] = next_row
            rows[k] = next_row
            doc_ids.append(doc_id)
            next_row += 1
        page_rows.append(rows)
        new_masks.append(new)
        blocks.append(int(new.sum()))
    segments = segments_by_chunk(len(index), blocks)
    return RowPlan(page_rows, new_masks, doc_ids, retired, segments, len(index), next_row)


def segments_by_chunk(n_index: int, blocks: list[int]) -> list[list[tuple[int, int]]]:
    """Row ranges of `BandTable`'s segments right after each chunk's rows were added (the index
    loaded as one block, then one block per chunk with new rows; the same merge rule)."""
    segments: list[tuple[int, int]] = [(0, n_index)] if n_index else []
    end, out = n_index, []
    for size in blocks:
        if size:
            segments.append((end, end + size))
            end += size
            while len(segments) >= 2 and 2 * _width(segments[-1]) >= _width(segments[-2]):
                (a, _), (_, b) = segments.pop(-2), segments.pop(-1)
                segments.append((a, b))
        out.append(list(segments))
    return out


def _width(segment: tuple[int, int]) -> int:
    return segment[1] - segment[0]


def bucket_pairs(frame: pd.DataFrame, plan: dict[str, object]) -> pd.DataFrame:
    """Candidate (q, r) pairs of one shuffled partition: rows sharing a band key, r < q, q new.

    `plan` holds n_index, max_bucket, chunk_starts (first row of each chunk's new rows),
    segments (per chunk) and the retired rows (`retired_rows`, `retired_by`, sorted by row).
    """
    order = np.lexsort((frame["row"].to_numpy(), frame["bucket"].to_numpy()))
    bucket = frame["bucket"].to_numpy()[order]
    rows = frame["row"].to_numpy()[order]
    n = len(rows)
    if n < 2:
        return PAIRS_META.copy()
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    sizes = np.diff(np.r_[starts, n])
    group = np.repeat(np.arange(len(starts)), sizes)
    rank = np.arange(n) - starts[group]
    small = sizes[group] <= plan["max_bucket"]
    query = rows >= plan["n_index"]
    takes = np.where(small & query, rank, 0)  # every earlier member of the bucket
    left = np.repeat(starts[group], takes) + (
        np.arange(takes.sum()) - np.repeat(np.cumsum(takes) - takes, takes)
    )
    q_parts, r_parts = [np.repeat(rows, takes)], [rows[left]]
    for g in np.unique(group[~small]):  # a flood: the per-segment cap of StoryIndex's lookup
        q, r = _capped_pairs(rows[starts[g] : starts[g] + sizes[g]], plan)
        q_parts.append(q)
        r_parts.append(r)
    q, r = np.concatenate(q_parts), np.concatenate(r_parts)
    retired_rows, retired_by = plan["retired_rows"], plan["retired_by"]
    if len(retired_rows):
        at = np.searchsorted(retired_rows, r).clip(max=len(retired_rows) - 1)
        keep = (retired_rows[at] != r) | (retired_by[at] > q)
        q, r = q[keep], r[keep]
    key = np.unique(q * (1 << 32) + r)
    return pd.DataFrame({"q": key >> 32, "r": key & 0xFFFFFFFF})


def _capped_pairs(members: np.ndarray, plan: dict[str, object]) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of one large bucket (sorted rows): each new row q sees, in every segment present
    when its chunk was linked, the bucket's first max_bucket rows, those before q."""
    qs, rs = [], []
    for q in members[members >= plan["n_index"]]:
        chunk = int(np.searchsorted(plan["chunk_starts"], q, side="right")) - 1
        for a, b in plan["segments"][chunk]:
            lo, hi = np.searchsorted(members, [a, b])
            seen = members[lo : min(hi, lo + plan["max_bucket"])]
            seen = seen[seen < q]
            qs.append(np.full(len(seen), q, dtype=np.int64))
            rs.append(seen)
    empty = [np.zeros(0, dtype=np.int64)]
    return np.concatenate(qs + empty), np.concatenate(rs + empty).astype(np.int64)


def verify_pairs(frame: pd.DataFrame, settings: dict[str, object], keep_all: bool = False) -> pd.DataFrame:
    """Estimated containment of joined pairs (columns q, r, sig_q, sig_r, size_q, size_r), by
    `StoryIndex.similarity`; only the pairs passing its thresholds unless `keep_all`."""
    index = StoryIndex(**settings)  # type: ignore[arg-type]
    n = len(frame)
    if not n:
        return EDGES_META.copy()
    sig = np.frombuffer(b"".join([*frame["sig_q"], *frame["sig_r"]]), dtype=np.uint16)
    sizes = np.r_[frame["size_q"].to_numpy(), frame["size_r"].to_numpy()].astype(np.uint32)
    zeros = np.zeros(2 * n, dtype=np.int64)
    index.columns_.extend(
        sig=sig.reshape(2 * n, index.num_perm),
        size=sizes,
        fp=zeros.astype(np.uint64),
        answer=zeros,
        score=zeros.astype(np.float32),
        parent=zeros,
        retired_by=zeros,
    )
    jac, contain = index.similarity(np.arange(n), np.arange(n, 2 * n))
    ok = (
        np.ones(n, dtype=bool)
        if keep_all
        else (jac >= index.min_jaccard) & (contain >= index.min_containment)
    )
    return pd.DataFrame(
        {"q": frame["q"].to_numpy()[ok], "r": frame["r"].to_numpy()[ok], "contain": contain[ok]}
    )


def cluster(
    edges: pd.DataFrame, parent: np.ndarray, doc_ids: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union-find over verified edges sorted by (q, r): `cluster_in_row_order`, as `StoryIndex`
    does (each new row joins its matches' clusters; a cluster's root is its first row).

    Returns
    -------
    (rows, targets, parent): the rows that got an answer, the row each answer names, and the
    union-find parents of every row afterwards.
    """
    parent = parent.copy()
    rows, targets = cluster_in_row_order(parent, doc_ids, edges["q"].to_numpy(), edges["r"].to_numpy())
    order = np.argsort(rows, kind="stable")
    return rows[order], targets[order], parent
