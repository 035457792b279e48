"""article-pipeline: raw text dumps of news pages -> clean, deduplicated, topic-labelled articles.

Library use::

    from pipeline import load_models, run_batch
    summary = run_batch(["dumps/"], "out/", models=load_models())

``run_batch(..., engine="dask")`` runs the same chunks on a Dask cluster (`pipeline.engines`),
or stage by stage over DataFrames, in the order `run.process_chunk` applies them (one module
each in `pipeline.stages`): `read.read_pages`, `segment.segment`, `roles.assign_roles`,
`batch_evidence.teasers_from_batch_titles` / `body_from_copies`, `repeats.link_repeats`,
`topics.label_topics`, `articles.assemble_articles`, `stories.link_stories`,
`write.OutputWriter`.

The package's folders: `stages` (what a run does), `text` and `sketch` (the text normalisation,
shingling, MinHash and LSH the stages share), `learn` (the line-role and topic estimators, their
features and persistence), `training` and `evaluation` (what `make train` / `make eval` run;
never imported by a run) and `bench` (`make bench`).
"""

__version__ = "0.1.0"

__all__ = ["Models", "__version__", "load_models", "process_chunk", "run_batch"]

_API = {
    "Models": "pipeline.learn.store",
    "load_models": "pipeline.learn.store",
    "process_chunk": "pipeline.run",
    "run_batch": "pipeline.engines",
}


def __getattr__(name: str):
    # The API is imported on first use (PEP 562), so that importing any part of the package, or
    # `article-pipeline --help`, does not pay for pandas, scikit-learn and datasketch first.
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
