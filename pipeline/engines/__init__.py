"""Engines that run the per-chunk stages (`pipeline.run.process_and_sign`) over a batch.

``local`` is `pipeline.run.run_batch` (one process, or ``--jobs`` forked workers); ``dask``
(`pipeline.engines.dask`) runs the same chunks on a Dask cluster and gives the same tables.
Modules: `readplan` (which pages each partition reads), `parts` (part files in OUT's new
version), `storylinks` and `storyjoin` (same-story links from a distributed LSH join), `dask`
(the run). `run_batch` here is the switch between them (the library's and the CLI's).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ENGINES = ("local", "dask")


def run_batch(
    inputs: list[str | Path],
    out: str | Path,
    models: Any,
    index_path: str | Path | None = None,
    strict: bool = False,
    engine: str = "local",
    **options: Any,
) -> dict[str, Any]:
    """Process every page under `inputs` into `out` with `engine`; returns the summary.

    ``engine="local"``: `pipeline.run.run_batch` (options: jobs, chunk_pages, progress, report,
    max_page_views). ``engine="dask"``: `pipeline.engines.dask.run_batch_dask` (options:
    scheduler, workers, partition_pages, chunk_pages, progress, report). Both give the same tables.
    """
    if engine == "local":
        from pipeline.run import run_batch as run_local

        return run_local(inputs, out, models, index_path, strict, **options)
    if engine == "dask":
        from pipeline.engines.dask import run_batch_dask

        return run_batch_dask(inputs, out, models, index_path, strict, **options)
    raise ValueError(f"unknown engine {engine!r} (one of {', '.join(ENGINES)})")
