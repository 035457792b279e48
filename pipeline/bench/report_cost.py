"""What the run report costs: the benchmark's pages run with and without the report, in one process.

The pages are the speed benchmark's (`pipeline.bench`: `pipeline.pagegen`'s generated whole-page
dumps, 3,600 by default, in the same cache folder, so a ``make bench`` data set is reused). One
process loads the models once and alternates runs without and with the report (`--repeats` times
each), pinned to one core as the benchmark's runs are; it prints the median wall and CPU seconds of
both and the report's share, and the report's own seconds from summary.json.

Usage::

    python -m pipeline.bench.report_cost [--pages 3600] [--repeats 2] [--data bench-results/data]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

BUDGET = 0.05
"""Issue 13: the report may add at most 5 % to the run's time."""


def measure(folder: Path, repeats: int) -> dict:
    """Median seconds of runs over `folder` without and with the report, and the report's share."""
    from pipeline import load_models, run_batch

    models = load_models()
    wall: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    own: list[float] = []
    with tempfile.TemporaryDirectory() as work:
        for _ in range(repeats):
            for report in (False, True):
                start, start_cpu = time.perf_counter(), time.process_time()
                summary = run_batch(
                    [folder], Path(work) / f"out-{report}", models, progress=False, report=report
                )
                wall[report].append(time.perf_counter() - start)
                cpu[report].append(time.process_time() - start_cpu)
                if report:
                    own.append(summary["seconds"]["report"])
                    size = (Path(work) / "out-True" / "report.html").stat().st_size
    result = {
        "pages": summary["pages"],
        "repeats": repeats,
        "wall_s": {"without": statistics.median(wall[False]), "with": statistics.median(wall[True])},
        "cpu_s": {"without": statistics.median(cpu[False]), "with": statistics.median(cpu[True])},
        "report_s": statistics.median(own),
        "runs_wall_s": {
            "without": [round(t, 2) for t in wall[False]],
            "with": [round(t, 2) for t in wall[True]],
        },
        "runs_cpu_s": {
            "without": [round(t, 2) for t in cpu[False]],
            "with": [round(t, 2) for t in cpu[True]],
        },
        "report_bytes": size,
    }
    result["ratio_wall"] = result["wall_s"]["with"] / result["wall_s"]["without"] - 1
    result["ratio_cpu"] = result["cpu_s"]["with"] / result["cpu_s"]["without"] - 1
    result["ratio_own"] = result["report_s"] / result["wall_s"]["without"]
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}


def main(argv: list[str] | None = None) -> int:
    from pipeline.bench.pagegen import Vocabulary, write_pages

    parser = argparse.ArgumentParser(
        prog="python -m pipeline.bench.report_cost", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--pages", type=int, default=3600, help="generated pages (default 3,600, as make bench)"
    )
    parser.add_argument("--repeats", type=int, default=2, help="runs of each kind (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=Path("bench-results/data"), help="generated pages cache")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as make bench's runs
    folder = args.data / f"n{args.pages}-seed{args.seed}-auto"  # make bench's folder for these pages
    write_pages(folder, args.pages, seed=args.seed, vocab=Vocabulary.auto(), replace_stale=True)
    result = measure(folder, args.repeats)
    print(json.dumps(result, indent=2, sort_keys=True))
    verdict = "within" if result["ratio_wall"] <= BUDGET else "OVER"
    print(
        f"report cost on {result['pages']:,} pages: {100 * result['ratio_wall']:+.1f} % wall "
        f"({100 * result['ratio_cpu']:+.1f} % CPU; the report's own seconds "
        f"{100 * result['ratio_own']:.1f} % of a run), {verdict} the {100 * BUDGET:.0f} % budget"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
