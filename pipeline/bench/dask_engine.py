"""Benchmark of the dask engine (issue 11), two parts:

1. throughput: generated whole-page dumps (`pipeline.pagegen`) through ``article-pipeline run`` as
   separate processes (start-up, model loading and, for dask, the LocalCluster included):
   ``--engine local --jobs 1``, ``--jobs 2``, ``--engine dask --workers 1`` and ``--workers 2``,
   in the same run; pages/s, speed-ups, whether every run's tables are equal, and Dask's cost
   per partition (``--workers 1`` with 500- against 1000-page partitions);
2. same-story at scale: synthetic near-duplicate article bodies generated in the workers, signed
   and linked by the dask engine's same-story path (`pipeline.engines.storyjoin`): wall time per
   step, peak memory of the client and of each worker, candidate and verified pair counts, and
   LSH recall / precision against brute-force exact Jaccard / containment for a sample of pages
   (computed in the workers over every earlier page).

The machine's load average is recorded before and after: its 2 cores are shared.

    python -m pipeline.bench.dask_engine [--pages 4000] [--story-pages 100000] [--out out/bench-dask]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.bench.process import machine, measure, say
from pipeline.bench.speed import pipeline_cmd
from pipeline.bench.synth import OPERATIONS, SyntheticPages, builtin_paragraphs
from pipeline.engines.dask import PartitionResult
from pipeline.engines.storyjoin import answers, candidate_edges, new_rows_by_partition
from pipeline.engines.storylinks import assign_rows
from pipeline.run import CHUNK_PAGES
from pipeline.sketch.shingles import char_shingle_sets
from pipeline.sketch.storyindex import StoryIndex
from pipeline.text.normalise import fold_all

_POOL: dict[int, tuple[list[np.ndarray], np.ndarray]] = {}  # per worker: paragraphs as word arrays


# --- 1. throughput -------------------------------------------------------------------------------


def throughput(n_pages: int, out: Path, seed: int = 0) -> dict:
    from pipeline.bench.pagegen import write_pages

    data = out / "data" / f"n{n_pages}-seed{seed}"
    write_pages(data, n_pages, seed=seed, replace_stale=True)
    runs = {
        "local-jobs1": ["--jobs", "1"],
        "local-jobs2": ["--jobs", "2"],
        "dask-workers1": ["--engine", "dask", "--workers", "1", "--partition-pages", "1000"],
        "dask-workers2": ["--engine", "dask", "--workers", "2", "--partition-pages", "1000"],
        "dask-workers1-p500": ["--engine", "dask", "--workers", "1", "--partition-pages", "500"],
    }
    report: dict = {"pages": n_pages, "runs": {}}
    for name, options in runs.items():
        target = out / "runs" / name
        result = measure([*pipeline_cmd(), "run", str(data), "--out", str(target), "--quiet", *options])
        summary = json.loads((target / "summary.json").read_text())
        result.pop("stdout")
        result.pop("stderr_tail")
        result |= {"pages_per_s": round(summary["pages"] / result["wall_s"], 1), "engine": summary["engine"]}
        report["runs"][name] = result
        say(f"{name:<20} {result['wall_s']:7.1f} s  {result['pages_per_s']:7.1f} pages/s")
    first = out / "runs" / "local-jobs1"
    report["tables_equal"] = all(_same_tables(first, out / "runs" / name) for name in runs)
    wall = {name: run["wall_s"] for name, run in report["runs"].items()}
    report["speedup"] = {
        name: {
            "vs_local_jobs1": round(wall["local-jobs1"] / w, 2),
            "vs_local_jobs2": round(wall["local-jobs2"] / w, 2),
        }
        for name, w in wall.items()
    }
    parts = {
        name: report["runs"][name]["engine"]["partitions"] for name in ("dask-workers1", "dask-workers1-p500")
    }
    extra = parts["dask-workers1-p500"] - parts["dask-workers1"]
    report["dask_seconds_per_partition"] = (
        round((wall["dask-workers1-p500"] - wall["dask-workers1"]) / extra, 3) if extra else None
    )
    report["dask_fixed_seconds_vs_local"] = round(wall["dask-workers1"] - wall["local-jobs1"], 2)
    return report


def _same_tables(left: Path, right: Path) -> bool:
    for table in ("paragraphs", "articles"):
        try:
            pd.testing.assert_frame_equal(
                pd.read_parquet(left / f"{table}.parquet"),
                pd.read_parquet(right / f"{table}.parquet"),
                check_exact=True,
            )
        except AssertionError:
            return False
    return True


# --- 2. same-story at scale ------------------------------------------------------------------------


def synthetic_bodies(first: int, n: int, seed: int) -> pd.DataFrame:
    """Pages ``first .. first + n`` of an endless synthetic stream, generated independently of the
    other partitions: page g is, with probability 0.3, a variant (`SyntheticPages`' operations) of
    the story of a uniformly chosen earlier page, else a story of its own. A story's text depends
    on its number alone, so any worker can make any page."""
    if seed not in _POOL:
        pool = [np.array(p.split(), dtype=object) for p in builtin_paragraphs(seed=seed)]
        _POOL[seed] = (pool, np.concatenate(pool))
    pool, vocab = _POOL[seed]
    maker = SyntheticPages(seed=seed)
    bodies, stories = [], []
    for g in range(first, first + n):
        rng = np.random.default_rng((seed, g))
        if g and rng.random() < maker.variant_rate:
            story = int(rng.integers(g))
            ops = sorted(set(rng.choice(OPERATIONS, size=int(rng.integers(1, 4)))))
            base = maker._story(pool, np.random.default_rng((seed, story, 1)), vocab)
            paragraphs = maker._variant(base, ops, rng, vocab)
        else:
            story = g
            paragraphs = [" ".join(p) for p in maker._story(pool, np.random.default_rng((seed, g, 1)), vocab)]
        bodies.append("\n\n".join(paragraphs))
        stories.append(story)
    ids = [f"s{g:08d}" for g in range(first, first + n)]
    return pd.DataFrame({"doc_id": ids, "body": bodies, "story": stories})


def timed_bodies(first: int, n: int, seed: int) -> tuple[pd.DataFrame, float]:
    start = time.perf_counter()
    return synthetic_bodies(first, n, seed), time.perf_counter() - start


def sign_synthetic(number: int, made: tuple[pd.DataFrame, float], settings: dict) -> PartitionResult:
    """A partition of synthetic articles, signed in 500-page chunks (as the pipeline's chunks)."""
    frame, generate_seconds = made
    n = len(frame)
    result = PartitionResult(number, [])
    result.seconds["generate"] = generate_seconds
    start = time.perf_counter()
    signer = StoryIndex(**settings)
    for lo in range(0, n, CHUNK_PAGES):
        result.chunks.append(signer.sign(frame.iloc[lo : lo + CHUNK_PAGES]))
        result.pages_per_chunk.append(min(CHUNK_PAGES, n - lo))
    result.seconds["sign"] = time.perf_counter() - start
    return result


def exact_sets(made: tuple[pd.DataFrame, float], first: int, settings: dict, only: np.ndarray | None = None):
    """Exact sampled-shingle sets (the ones MinHash estimates) of a partition's pages (`only`:
    those global page numbers)."""
    frame = made[0]
    if only is not None:
        frame = frame.iloc[only - first]
    values, offsets = char_shingle_sets(
        fold_all(list(frame["body"])), settings["shingle_chars"], settings["sample_mod"]
    )
    return values, offsets


def true_pairs(made: tuple[pd.DataFrame, float], first: int, settings: dict, sample: dict) -> np.ndarray:
    """(q, p) pairs with p in this partition, p < q, q in the sample, whose exact sets pass the
    index's rule (Jaccard >= min_jaccard, containment >= min_containment)."""
    from scipy import sparse

    values, offsets = exact_sets(made, first, settings)
    n = len(made[0])
    vocab = sample["vocab"]
    at = np.searchsorted(vocab, values).clip(max=len(vocab) - 1)
    hit = vocab[at] == values
    owner = np.repeat(np.arange(n), np.diff(offsets))
    part = sparse.csr_matrix((np.ones(int(hit.sum()), np.float32), (owner[hit], at[hit])), (n, len(vocab)))
    inter = (sample["matrix"] @ part.T).tocoo()
    q = sample["rows"][inter.row]
    p = first + inter.col.astype(np.int64)
    shared = inter.data.astype(np.float64)
    size_q, size_p = sample["sizes"][inter.row], np.diff(offsets)[inter.col].astype(np.float64)
    jac = shared / (size_q + size_p - shared)
    contain = shared / np.minimum(size_q, size_p)
    ok = (p < q) & (jac >= settings["min_jaccard"]) & (contain >= settings["min_containment"])
    return np.stack([q[ok], p[ok]], axis=1)


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss, not inherited from a forked parent)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _reset_peak_rss() -> None:
    """Start this process's VmHWM afresh (Linux: 5 > /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


def same_story(
    n_pages: int, workers: int = 2, partition_pages: int = 5000, sample: int = 500, seed: int = 0
) -> dict:
    from distributed import Client, LocalCluster, wait

    settings = StoryIndex().settings()
    spans = [
        (k, lo, min(partition_pages, n_pages - lo)) for k, lo in enumerate(range(0, n_pages, partition_pages))
    ]
    report: dict = {"pages": n_pages, "workers": workers, "partition_pages": partition_pages, "seconds": {}}
    _reset_peak_rss()  # the client's peak of this part only
    started = time.perf_counter()
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        report["seconds"]["cluster_start"] = round(time.perf_counter() - started, 2)
        start = time.perf_counter()
        # the bodies stay in the workers for the brute-force check (about 3 KB a page)
        made = [client.submit(timed_bodies, lo, n, seed, pure=False) for _, lo, n in spans]
        futures = [
            client.submit(sign_synthetic, k, m, settings, pure=False)
            for (k, _, _), m in zip(spans, made, strict=True)
        ]
        wait(futures)
        lights = client.gather([client.submit(PartitionResult.light, f) for f in futures])
        report["seconds"]["generate_and_sign_wall"] = round(time.perf_counter() - start, 2)
        report["seconds"]["generate_cpu"] = round(sum(x.seconds["generate"] for x in lights), 2)
        report["seconds"]["sign_cpu"] = round(sum(x.seconds["sign"] for x in lights), 2)
        start = time.perf_counter()
        index = StoryIndex()
        plan = assign_rows(index, [c for light in lights for c in light.chunks])
        new_rows = new_rows_by_partition(lights, plan)
        edges, candidates, sig_parts = candidate_edges(client, futures, new_rows, plan, index, settings)
        report["seconds"]["candidates_and_verify_wall"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        answer, _score = answers(client, edges, sig_parts, plan, index, settings)
        report["seconds"]["union_find_and_scores_wall"] = round(time.perf_counter() - start, 2)
        report["seconds"]["total_wall"] = round(time.perf_counter() - started, 2)
        report |= {
            "signed_pages": plan.n_rows,
            "candidate_pairs": candidates,
            "verified_pairs": len(edges),
            "linked_pages": int((answer >= 0).sum()),
            "peak_rss_mb": {"client": _peak_rss_mb(), "workers": sorted(client.run(_peak_rss_mb).values())},
        }
        report["lsh_vs_brute_force"] = _brute_force(
            client, spans, made, seed, settings, edges, lights, plan, sample
        )
    return report


def _brute_force(
    client, spans, made, seed: int, settings: dict, edges: pd.DataFrame, lights, plan, sample: int
) -> dict:
    """Recall and precision of the verified edges for `sample` query pages against exact sets."""
    from scipy import sparse

    chunks = [c for light in lights for c in light.chunks]
    pages_per_chunk = [n for light in lights for n in light.pages_per_chunk]
    # rows are the signed pages in page order (a page too short to sign has none)
    n_pages = sum(n for *_, n in spans)
    page_of_row = np.concatenate(
        [c.positions + first for c, first in zip(chunks, np.cumsum([0, *pages_per_chunk])[:-1], strict=True)]
    )
    row_of_page = np.full(n_pages, -1, dtype=np.int64)
    row_of_page[page_of_row] = np.arange(len(page_of_row))
    rng = np.random.default_rng(seed)
    rows = page_of_row[np.sort(rng.choice(plan.n_rows, size=min(sample, plan.n_rows), replace=False))]
    sets = []
    for (_, lo, n), bodies in zip(spans, made, strict=True):
        mine = rows[(rows >= lo) & (rows < lo + n)]
        if len(mine):
            sets.append(client.submit(exact_sets, bodies, lo, settings, mine))
    parts = client.gather(sets)
    values = np.concatenate([v for v, _ in parts])
    sizes = np.concatenate([np.diff(o) for _, o in parts]).astype(np.float64)
    vocab, columns = np.unique(values, return_inverse=True)
    owner = np.repeat(np.arange(len(rows)), sizes.astype(np.int64))
    matrix = sparse.csr_matrix((np.ones(len(columns), np.float32), (owner, columns)), (len(rows), len(vocab)))
    shared = client.scatter({"rows": rows, "sizes": sizes, "vocab": vocab, "matrix": matrix}, broadcast=True)
    found_pairs = client.gather(
        [
            client.submit(true_pairs, m, lo, settings, shared)
            for (_, lo, _), m in zip(spans, made, strict=True)
        ]
    )
    pairs = row_of_page[np.concatenate([np.zeros((0, 2), np.int64), *found_pairs])]
    truth = {tuple(x) for x in pairs[pairs[:, 1] >= 0].tolist()}
    picked = edges[edges["q"].isin(row_of_page[rows])]
    found = set(zip(picked["q"].tolist(), picked["r"].tolist(), strict=True))
    hit = len(truth & found)
    return {
        "sample_pages": len(rows),
        "true_pairs": len(truth),
        "found_pairs": len(found),
        "recall": round(hit / len(truth), 4) if truth else 1.0,
        "precision": round(hit / len(found), 4) if found else 1.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pages", type=int, default=4000, help="generated pages for the throughput part (0: skip)"
    )
    parser.add_argument(
        "--story-pages", type=int, default=100_000, help="synthetic same-story pages (0: skip)"
    )
    parser.add_argument("--story-workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=500, help="query pages checked by brute force")
    parser.add_argument("--out", type=Path, default=Path("out/bench-dask"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict = {"machine": machine(), "uptime_before": _uptime()}
    if args.pages:
        report["throughput"] = throughput(args.pages, args.out)
    if args.story_pages:
        report["same_story"] = same_story(args.story_pages, args.story_workers, sample=args.sample)
    report["uptime_after"] = _uptime()
    name = f"bench_dask-{args.pages}-{args.story_pages}.json"
    (args.out / name).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0


def _uptime() -> str:
    load = os.getloadavg()
    return f"load average: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}"


if __name__ == "__main__":
    raise SystemExit(main())
