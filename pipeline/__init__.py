"""article-pipeline: raw text dumps of news pages -> clean, deduplicated, topic-labelled articles.

Library use::

    from pipeline import load_models, run_batch
    summary = run_batch(["dumps/"], "out/", models=load_models())

or stage by stage over DataFrames: `read.read_pages`, `segment.segment`,
`boilerplate.assign_roles`, `dedup.link_repeats`, `topic.label_topics`,
`articles.assemble_articles`, `stories.StoryIndex.link`, `write.OutputWriter`.
"""

__version__ = "0.1.0"

from .run import Models, load_models, process_chunk, run_batch

__all__ = ["Models", "__version__", "load_models", "process_chunk", "run_batch"]
