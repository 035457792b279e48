"""Engines that run the per-chunk stages (`pipeline.run.process_chunk`) over a batch.

``local`` is `pipeline.run.run_batch` itself (one process, or ``--jobs`` forked workers);
``dask`` (`pipeline.engines.dask`) runs the same chunks on a Dask cluster and gives the same
tables. Modules: `readplan` (which pages each partition reads), `parts` (part files in OUT's new
version), `storylinks` (same-story links from a distributed LSH join), `dask` (the run).
"""

ENGINES = ("local", "dask")
