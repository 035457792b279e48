"""``make bench``: throughput and memory of whole pipeline runs against trafilatura (issue 6).

For every size N: generate N pages (`pipeline.bench.pagegen`, cached under OUT/data), run
``article-pipeline run DIR --out ... --jobs 1 --quiet`` as its own process pinned to one core
(``taskset -c 0`` when present), and record wall time (start-up and model loading included),
pages/s, MB/s, peak RSS and milliseconds per page per stage (from the run's summary.json). Then:

- ``--jobs 2`` on the jobs-check size (default: the largest size up to 10,000): speed-up, the
  median ratio of ``--jobs-pairs`` back-to-back (``--jobs 1``, ``--jobs 2``) pairs, and whether
  every run wrote byte-identical Parquet files;
- trafilatura.extract over the first ``--traf-pages`` generated pages (each non-empty line wrapped
  in ``<p>``), also a whole process pinned to one core, start-up included; the ratio
  article-pipeline pages/s / trafilatura pages/s is printed for every N (issue 6: >= 2, aim 3);
- with ``--index``: the same-story index's bytes per page;
- `pipeline.bench.index`: its results (LSH against brute force, index bytes/page).

Writes OUT/bench.json and OUT/bench.png (time and peak RSS against N, log-log) and prints a table.

Usage::

    python -m pipeline.bench                        # sizes 1000,3600,10000: a few minutes on 2 cores
    python -m pipeline.bench --sizes 1000,10000,100000
    python -m pipeline.bench --full                 # 1k, 10k, 100k, 1M (`make bench-full`; ~9 GB of text)

``--full`` is the scale run of issue 12: sizes above the jobs-check size run on every core
(``--big-jobs``, default all) and keep the same-story index (``--index``), so its peak memory
(every process of the run summed) is the whole run's, index included.

Processes are measured by `pipeline.bench.process`; trafilatura runs as its own process
(`pipeline/bench/trafilatura_worker.py`), whose start-up is part of its measure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from pipeline.bench.process import machine, measure, pinned, say

DEFAULT_SIZES = (1000, 3600, 10000)
"""3,600 is issue 6's judged run; 1k and 10k show how time grows with N."""

FULL_SIZES = (1000, 10_000, 100_000, 1_000_000)

JOBS_CHECK_MAX = 10_000
"""The --jobs 2 check runs on the largest size up to this (a 2-core run of 1M pages is not needed)."""

JOBS_PAIRS = 3
"""Back-to-back (--jobs 1, --jobs 2) pairs of the jobs check; its speed-up is their median ratio."""

TRAF_PAGES = 2000

OK_EXIT_CODES = (0, 3)  # 3: some inputs skipped, still a complete run


# --- pipeline runs -----------------------------------------------------------------------------


def pipeline_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("article-pipeline")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "pipeline.cli"]


def run_pipeline(data: Path, out: Path, jobs: int = 1, index: Path | None = None) -> dict:
    """One pinned pipeline process over `data`; the measures and the run's own stage timings."""
    cmd = [*pipeline_cmd(), "run", str(data), "--out", str(out), "--jobs", str(jobs), "--quiet"]
    if index is not None:
        cmd += ["--index", str(index)]
    result = measure(pinned(cmd, "0" if jobs == 1 else f"0-{jobs - 1}"))
    result.pop("stdout")
    result["jobs"] = jobs
    summary_path = out / "summary.json"
    if result["exit_code"] not in OK_EXIT_CODES or not summary_path.exists():
        result["error"] = result["stderr_tail"].strip().splitlines()[-1:] or ["no summary.json"]
        return result
    summary = json.loads(summary_path.read_text())
    pages = max(summary["pages"], 1)
    seconds = summary["seconds"]
    stages = {k: v for k, v in seconds.items() if k != "total"}
    result.update(
        pages=summary["pages"],
        lines=summary["lines"],
        pages_per_s=round(summary["pages"] / result["wall_s"], 1),
        # CPU seconds (user + system) resist other load on the machine better than wall time
        pages_per_cpu_s=round(summary["pages"] / max(result["cpu_s"], 1e-9), 1),
        ms_per_page=round(1000 * result["wall_s"] / pages, 3),
        run_total_s=seconds.get("total"),
        # what the process spent outside run_batch: interpreter, imports, model loading
        startup_s=round(result["wall_s"] - seconds.get("total", 0.0), 3),
        # issue 13: the run report's share of the run (budget 5 %; 0 with --no-report)
        report_share=round(seconds.get("report", 0.0) / max(seconds.get("total", 0.0), 1e-9), 4),
        stage_ms_per_page={k: round(1000 * v / pages, 3) for k, v in stages.items()}
        | {"read+other": round(1000 * (seconds.get("total", 0.0) - sum(stages.values())) / pages, 3)},
        output_sha256={name: _sha256(out / name) for name in ("paragraphs.parquet", "articles.parquet")},
    )
    if jobs > 1:
        result["note"] = "peak_rss_mb is the largest process; peak_tree_rss_mb sums the workers"
    if index is not None:
        result["index_bytes"] = _size(index)
        result["index_bytes_per_page"] = round(result["index_bytes"] / pages, 1)
    return result


def _sha256(path: Path) -> str | None:
    if not path.exists():
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


# --- trafilatura ---------------------------------------------------------------------------------


def run_trafilatura(pages: list[Path], work: Path) -> dict:
    """trafilatura over `pages` as one process pinned to core 0 (start-up included)."""
    try:
        from importlib.metadata import version

        traf_version = version("trafilatura")
    except Exception:
        return {
            "available": False,
            "reason": "trafilatura not installed: pip install -r requirements-bench.lock",
        }
    list_file = work / "trafilatura-pages.txt"
    list_file.write_text("\n".join(str(p) for p in pages) + "\n")
    # -I: the worker's folder must not shadow top-level modules
    cmd = [sys.executable, "-I", str(Path(__file__).with_name("trafilatura_worker.py")), str(list_file)]
    result = measure(pinned(cmd, "0"))
    out = result.pop("stdout").strip().splitlines()
    if result["exit_code"] != 0 or not out:
        return {"available": False, "reason": result["stderr_tail"].strip().splitlines()[-1:]} | result
    inner = json.loads(out[-1])
    n = max(inner["pages"], 1)
    return result | {
        "available": True,
        "version": traf_version,
        "pages": inner["pages"],
        "pages_per_s": round(inner["pages"] / result["wall_s"], 1),
        "pages_per_cpu_s": round(inner["pages"] / max(result["cpu_s"], 1e-9), 1),
        "ms_per_page": round(1000 * result["wall_s"] / n, 3),
        "ms_per_page_without_startup": round(1000 * inner["loop_s"] / n, 3),
    }


# --- the benchmark -----------------------------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    sizes = sorted({int(s.replace("_", "")) for s in text.split(",") if s.strip()})
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("sizes must be positive integers, e.g. 1000,10000")
    return sizes


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=list(DEFAULT_SIZES), help="page counts N")
    parser.add_argument(
        "--full", action="store_true", help="sizes 1k,10k,100k,1M with --index (about an hour, ~9 GB of data)"
    )
    parser.add_argument(
        "--big-jobs",
        type=int,
        help=f"--jobs of the runs above {JOBS_CHECK_MAX:,} pages (default: 1; with --full every core)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="results folder")
    parser.add_argument("--data", type=Path, help="generated pages (default OUT/data, reused when present)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--jobs-check", type=int, help="N for the --jobs 2 run (default: largest <= 10k; 0: skip)"
    )
    parser.add_argument(
        "--jobs-pairs",
        type=positive_int,
        default=JOBS_PAIRS,
        help="back-to-back pairs of the --jobs 2 check",
    )
    parser.add_argument("--traf-pages", type=int, default=TRAF_PAGES, help="trafilatura sample (0: skip)")
    parser.add_argument("--index", action="store_true", help="also measure the same-story index size")
    parser.add_argument("--dedup-pages", type=int, default=2000, help="pages for the index bench (0: skip)")
    parser.add_argument("--gen-jobs", type=int, default=os.cpu_count() or 1, help="generator processes")
    parser.add_argument("--no-plot", action="store_true")
    return parser


def bench(args: argparse.Namespace) -> dict:
    from pipeline.bench.pagegen import Vocabulary, write_pages

    sizes = list(FULL_SIZES) if args.full else args.sizes
    index_runs = args.index or args.full
    big_jobs = args.big_jobs or ((os.cpu_count() or 1) if args.full else 1)
    out: Path = args.out
    data_root: Path = args.data or out / "data"
    runs_dir = out / "runs"
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(runs_dir, ignore_errors=True)
    runs_dir.mkdir(parents=True)
    vocab = Vocabulary.auto()
    report: dict = {
        "machine": machine(),
        "settings": {
            "sizes": sizes,
            "seed": args.seed,
            "vocabulary": vocab.source,
            "command": " ".join(
                pinned([*pipeline_cmd(), "run", "DIR", "--out", "OUT", "--jobs", "1", "--quiet"])
            ),
        },
        "runs": [],
    }

    def dataset(n: int, fmt: str = "auto") -> tuple[Path, dict]:
        folder = data_root / f"n{n}-seed{args.seed}-{fmt.replace('.', '')}"
        start = time.perf_counter()
        manifest = write_pages(
            folder, n, seed=args.seed, fmt=fmt, jobs=args.gen_jobs, vocab=vocab, replace_stale=True
        )
        say(
            f"data  N={n:>9,}  {manifest['format']:<8} {manifest['bytes'] / 1e6:8.1f} MB  "
            f"({time.perf_counter() - start:.1f} s)"
        )
        return folder, manifest

    for n in sizes:
        folder, manifest = dataset(n)
        index = runs_dir / f"index-{n}" if index_runs else None
        jobs = big_jobs if n > JOBS_CHECK_MAX else 1
        run = run_pipeline(folder, runs_dir / f"out-{n}", jobs=jobs, index=index)
        run |= {"n": n, "format": manifest["format"], "input_bytes": manifest["bytes"]}
        if "pages" in run:
            run["mb_per_s"] = round(manifest["bytes"] / 1e6 / run["wall_s"], 2)
        report["runs"].append(run)
        say(_run_line(run))

    jobs_n = (
        args.jobs_check
        if args.jobs_check is not None
        else max([n for n in sizes if n <= JOBS_CHECK_MAX], default=0)
    )
    if jobs_n:
        report["jobs"] = _jobs_check(jobs_n, dataset, report["runs"], runs_dir, args.jobs_pairs)

    if args.traf_pages:
        folder, _ = dataset(args.traf_pages, fmt="txt")  # the first pages of every data set
        pages = sorted(folder.rglob("*.txt"), key=lambda p: p.as_posix())
        report["trafilatura"] = run_trafilatura(pages, runs_dir)
        traf = report["trafilatura"]
        say(f"trafilatura  {traf.get('pages_per_s', '-')} pages/s" if traf["available"] else traf["reason"])
        if traf["available"]:
            done = [r for r in report["runs"] if "pages" in r]
            report["ratio_vs_trafilatura"] = {
                str(r["n"]): round(r["pages_per_s"] / traf["pages_per_s"], 2) for r in done
            }
            report["cpu_ratio_vs_trafilatura"] = {
                str(r["n"]): round(r["pages_per_cpu_s"] / traf["pages_per_cpu_s"], 2) for r in done
            }

    if args.dedup_pages:
        report["dedup"] = _dedup_bench(args.dedup_pages, out / "dedup")

    (out / "bench.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    if not args.no_plot:
        plot(report, out / "bench.png")
    print(table(report))
    return report


def _jobs_check(n: int, dataset, runs: list[dict], runs_dir: Path, pairs: int = JOBS_PAIRS) -> dict:
    """``--jobs 2`` against ``--jobs 1`` on N pages, in `pairs` back-to-back pairs.

    This machine's speed drifts by 20 % and more over minutes (other tenants of its host); a pair's
    two runs meet the same conditions, so each pair gives one ratio and the speed-up is their
    median. Outputs must be identical in every run, the size's own --jobs 1 run included.
    """
    folder, _ = dataset(n)
    reference = next((r for r in runs if r["n"] == n and "pages" in r), None)
    check: dict = {"n": n, "pairs": []}
    for _ in range(pairs):
        single = run_pipeline(folder, runs_dir / f"out-{n}-jobs1", jobs=1)
        double = run_pipeline(folder, runs_dir / f"out-{n}-jobs2", jobs=2)
        check["pairs"].append({"jobs1": single, "jobs2": double})
        if "pages" not in single or "pages" not in double:
            break
        say(f"jobs 2  N={n:,}  pair: {single['wall_s']:.1f} s / {double['wall_s']:.1f} s")
    done = [p for p in check["pairs"] if "pages" in p["jobs1"] and "pages" in p["jobs2"]]
    shown = check["pairs"][-1]  # the runs shown: the last pair when one failed, else the median one
    if len(done) == len(check["pairs"]):
        ratios = [p["jobs1"]["wall_s"] / p["jobs2"]["wall_s"] for p in done]
        digests = {json.dumps(r["output_sha256"]) for p in done for r in p.values()}
        if reference is not None:
            digests.add(json.dumps(reference["output_sha256"]))
        check["pair_speedups"] = [round(r, 3) for r in ratios]
        check["speedup"] = round(statistics.median(ratios), 2)
        check["identical_output"] = len(digests) == 1
        shown = done[sorted(range(len(ratios)), key=ratios.__getitem__)[len(ratios) // 2]]
    check["jobs1_wall_s"] = shown["jobs1"]["wall_s"]
    check["jobs2"] = shown["jobs2"]
    speedup, same = check.get("speedup", "-"), check.get("identical_output", "-")
    say(f"jobs 2  N={n:,}  speed-up {speedup} (median of {len(done)} pairs)  identical {same}")
    return check


def _dedup_bench(n_pages: int, out_dir: Path) -> dict:
    from pipeline.bench import index as index_bench

    start = time.perf_counter()
    try:
        result = index_bench.run(n_pages, out_dir)
    except Exception as err:  # a broken optional part must not lose the rest of the report
        return {"available": False, "reason": f"{type(err).__name__}: {err}"}
    return {"available": True, "n_pages": n_pages, "wall_s": round(time.perf_counter() - start, 2)} | result


def _run_line(run: dict) -> str:
    if "pages" not in run:
        return f"run   N={run['n']:>9,}  FAILED (exit {run['exit_code']}): {run.get('error')}"
    return (
        f"run   N={run['n']:>9,}  jobs {run['jobs']}  {run['wall_s']:8.1f} s  "
        f"{run['pages_per_s']:8.1f} pages/s  "
        f"{run['peak_tree_rss_mb']:8.0f} MB  report {100 * run.get('report_share', 0.0):.1f} %"
    )


def table(report: dict) -> str:
    """The results as a short text table."""
    stages = sorted({k for r in report["runs"] for k in r.get("stage_ms_per_page", {})})
    head = (
        f"{'N':>9} {'jobs':>4} {'wall s':>8} {'pages/s':>8} {'p/cpu-s':>8} {'MB/s':>6} {'RSS MB':>7} "
        f"{'start s':>7} "
        f"{'x traf':>6} {'x cpu':>6} | " + " ".join(f"{s[:9]:>9}" for s in stages) + "  (ms/page)"
    )
    rows = [head, "-" * len(head)]
    ratios = report.get("ratio_vs_trafilatura", {})
    cpu_ratios = report.get("cpu_ratio_vs_trafilatura", {})
    for r in report["runs"]:
        if "pages" not in r:
            rows.append(f"{r['n']:>9} FAILED exit {r['exit_code']}: {r.get('error')}")
            continue
        per = r["stage_ms_per_page"]
        key = str(r["n"])
        rows.append(
            f"{r['n']:>9} {r['jobs']:>4} {r['wall_s']:>8.1f} {r['pages_per_s']:>8.1f} "
            f"{r['pages_per_cpu_s']:>8.1f} "
            f"{r['mb_per_s']:>6.2f} {r['peak_tree_rss_mb']:>7.0f} {r['startup_s']:>7.2f} "
            f"{ratios.get(key, '-'):>6} {cpu_ratios.get(key, '-'):>6} | "
            + " ".join(f"{per.get(s, 0):>9.3f}" for s in stages)
        )
    traf = report.get("trafilatura")
    if traf and traf.get("available"):
        rows.append(
            f"trafilatura {traf['version']}: {traf['pages']} pages, {traf['pages_per_s']} pages/s, "
            f"{traf['pages_per_cpu_s']} pages/cpu-s ({traf['ms_per_page']} ms/page, "
            f"{traf['peak_rss_mb']:.0f} MB); target ratio >= 2 (aim 3)"
        )
    jobs = report.get("jobs")
    if jobs:
        rows.append(
            f"--jobs 2 on N={jobs['n']}: speed-up {jobs.get('speedup', '-')} (median of back-to-back pairs "
            f"{jobs.get('pair_speedups', '-')}; target >= 1.8), "
            f"identical output: {jobs.get('identical_output', '-')}"
        )
    dedup = report.get("dedup")
    if dedup and dedup.get("available"):
        shown = {k: v for k, v in dedup.items() if isinstance(v, int | float | str | bool)}
        rows.append("dedup: " + ", ".join(f"{k} {v}" for k, v in sorted(shown.items())))
    load = report["machine"]["load_average_at_start"]
    rows.append(
        f"load average at start {load} on {report['machine']['cpus']} cores (wall times need an idle box)"
    )
    return "\n".join(rows)


def plot(report: dict, path: Path) -> None:
    """Wall time and peak RSS against N, log-log, with a linear-in-N guide and trafilatura's time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in report["runs"] if "pages" in r]
    if not runs:
        return
    n = [r["n"] for r in runs]
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4))
    jobs = sorted({r["jobs"] for r in runs})
    ax_t.loglog(n, [r["wall_s"] for r in runs], "o-", label="article-pipeline wall s")
    for r in runs:
        ax_t.annotate(
            f"--jobs {r['jobs']}",
            (r["n"], r["wall_s"]),
            fontsize=7,
            xytext=(4, -10),
            textcoords="offset points",
        )
    ax_t.loglog(n, [r["cpu_s"] for r in runs], "o:", color="C0", alpha=0.6, label="article-pipeline CPU s")
    ax_t.loglog(n, [runs[-1]["wall_s"] * x / n[-1] for x in n], ":", color="grey", label="linear in N")
    traf = report.get("trafilatura", {})
    if traf.get("available"):
        ax_t.loglog(n, [x / traf["pages_per_s"] for x in n], "s--", label="trafilatura (at its pages/s)")
    cores = "one core" if jobs == [1] else f"{max(jobs)} cores above {JOBS_CHECK_MAX:,} pages"
    ax_t.set(xlabel="pages N", ylabel="seconds", title=f"Time, {cores} (wall; CPU dotted)")
    ax_t.legend(fontsize=8)
    ax_m.loglog(n, [r["peak_tree_rss_mb"] for r in runs], "o-", color="C3", label="peak RSS, all processes")
    ax_m.axhline(8192, color="grey", ls=":", label="8 GB budget")
    ax_m.set(xlabel="pages N", ylabel="peak RSS (MB)", title="Memory")
    ax_m.legend(fontsize=8)
    for ax in (ax_t, ax_m):
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    report = bench(args)
    failed = [r["n"] for r in report["runs"] if "pages" not in r]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
