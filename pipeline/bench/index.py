"""Benchmark of the same-story index on synthetic near-duplicate pages (`pipeline.bench.synth`).

Reports signature throughput (shingles/s, pages/s), index memory per page (in memory and on
disk), peak RSS, LSH recall and precision against brute-force exact Jaccard/containment on a
sample of pages (the same decision rule, on the exact shingle sets), and cluster precision and
recall against the generator's stories.

    python -m pipeline.bench.index [--pages 100000] [--out out/bench-dedup] [--sample 500]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from pipeline.bench.synth import SyntheticPages
from pipeline.sketch.shingles import char_shingle_hashes
from pipeline.sketch.storyindex import StoryIndex
from pipeline.text.normalise import fold

CHUNK = 1000  # pages per link() call, as the pipeline's chunks


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def brute_force_check(index: StoryIndex, bodies: list[str], sample: np.ndarray) -> dict[str, float]:
    """LSH + verification vs exact shingle-set Jaccard/containment for the `sample` pages.

    `bodies[r]` is the body of row r of `index` (every row, in row order). A true pair is (q, p),
    p < q, whose exact sets pass the index's rule (Jaccard >= min_jaccard and containment >=
    min_containment); a found pair is one `index.matches` verifies.
    """
    sets = [char_shingle_hashes(fold(b), index.shingle_chars, index.sample_mod) for b in bodies]
    sizes = np.array([len(s) for s in sets], dtype=np.float64)
    values, columns = np.unique(np.concatenate(sets), return_inverse=True)
    indptr = np.r_[0, np.cumsum(sizes.astype(np.int64))]
    matrix = sparse.csr_matrix(
        (np.ones(len(columns), dtype=np.float32), columns, indptr), (len(sets), len(values))
    )
    inter = (matrix[sample] @ matrix.T).tocoo()
    q, p, n = sample[inter.row], inter.col.astype(np.int64), inter.data.astype(np.float64)
    jac = n / (sizes[q] + sizes[p] - n)
    contain = n / np.minimum(sizes[q], sizes[p])
    true = (p < q) & (jac >= index.min_jaccard) & (contain >= index.min_containment)
    truth = set(zip(q[true].tolist(), p[true].tolist(), strict=True))
    _, full, _ = index.signatures([bodies[i] for i in sample])
    found_q, found_p, _ = index.matches(sample.astype(np.int64), index.band_hashes(full))
    found = set(zip(found_q.tolist(), found_p.tolist(), strict=True))
    hit = len(truth & found)
    return {
        "sample_pages": len(sample),
        "true_pairs": len(truth),
        "found_pairs": len(found),
        "recall": hit / len(truth) if truth else 1.0,
        "precision": hit / len(found) if found else 1.0,
    }


def run(n_pages: int, out_dir: Path, sample: int = 500, seed: int = 0) -> dict:
    """Generate `n_pages` synthetic pages, index them in chunks, measure; writes
    out_dir/bench_dedup.json and out_dir/index.npz and returns the report."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    pages = SyntheticPages(seed=seed).generate(n_pages)
    generate_s = time.perf_counter() - start
    rss_before = _rss_mb()
    index = StoryIndex()
    linked, sign_s, link_s = [], 0.0, 0.0
    for lo in range(0, n_pages, CHUNK):
        chunk = pages.iloc[lo : lo + CHUNK]
        t0 = time.perf_counter()
        index.signatures(list(chunk["body"]))  # timed alone for throughput (link signs again)
        t1 = time.perf_counter()
        linked.append(index.link(chunk[["doc_id", "body"]]))
        sign_s += t1 - t0
        link_s += time.perf_counter() - t1
    articles = pd.concat(linked, ignore_index=True)
    shingles = index.shingles_hashed_ / 2
    t0 = time.perf_counter()
    index.save(out_dir / "index.npz")
    save_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    StoryIndex.load(out_dir / "index.npz")
    load_s = time.perf_counter() - t0
    # rows of the signed pages (all new, so in page order); short bodies have none
    by_row = sorted(
        (index.row_of_[d], b)
        for d, b in zip(pages["doc_id"], pages["body"], strict=True)
        if d in index.row_of_
    )
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(len(by_row), size=min(sample, len(by_row)), replace=False))
    check = brute_force_check(index, [b for _, b in by_row], picked)
    # against the generator's stories: a flagged page names a page of its own story
    story = dict(zip(pages["doc_id"], pages["story"], strict=True))
    flagged = articles["dup_of_doc"].notna().to_numpy()
    right = np.array(
        [story[d] == story.get(o) for d, o in zip(articles["doc_id"], articles["dup_of_doc"], strict=True)]
    )
    variants = pages["story"].duplicated().to_numpy()
    report = {
        "pages": n_pages,
        "params": index.params(),
        "generate_seconds": round(generate_s, 2),
        "signature_seconds": round(sign_s, 2),
        "link_seconds": round(link_s, 2),
        "shingles_per_second": round(shingles / sign_s),
        "pages_per_second_link": round(n_pages / link_s),
        "index_rows": len(index),
        "index_bytes_per_page": round(index.nbytes / len(index)),
        "index_file_bytes_per_page": round((out_dir / "index.npz").stat().st_size / len(index)),
        "rss_growth_mb": round(_rss_mb() - rss_before, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "save_seconds": round(save_s, 2),
        "load_seconds": round(load_s, 2),
        "lsh_vs_brute_force": check,
        "vs_generator": {
            "flagged": int(flagged.sum()),
            "precision": float(right[flagged].mean()) if flagged.any() else 1.0,
            "recall_of_variants": float((flagged & variants).sum() / max(variants.sum(), 1)),
        },
    }
    report["estimated_index_gb_at_1m_pages"] = round(report["index_bytes_per_page"] * 1e6 / 1e9, 2)
    (out_dir / "bench_dedup.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path("out/bench-dedup"))
    parser.add_argument("--sample", type=int, default=500, help="pages checked by brute force")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.pages, args.out, args.sample, args.seed), indent=1))


if __name__ == "__main__":
    main()
