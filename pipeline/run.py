"""Orchestration: the stages in order, over chunks of pages, into one output folder.

    read -> segment -> boilerplate -> batch evidence (titles, copies) -> dedup -> topic
         -> assemble -> same-story -> write

Every stage is a function over a DataFrame; the state they need (models, the same-story index)
is passed in explicitly, so another engine can run `process_chunk` over partitions of a dump.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__, config
from .articles import assemble_articles
from .batchevidence import body_from_copies, teasers_from_batch_titles
from .boilerplate import assign_roles
from .dedup import INPAGE_PARAMS, link_repeats
from .modelstore import load_model
from .read import Page, Problem, discover, iter_pages, pages_frame
from .segment import segment
from .stories import StoryIndex
from .topic import label_topics
from .write import OutputWriter

CHUNK_PAGES = 500
"""Pages processed together: large enough for vectorised stages, small enough for bounded memory
and for --jobs to balance (3,600 pages: 1.49x on 2 cores with 1,000-page chunks, 1.58x with 500).
Every stage's result for a page depends on that page alone, except the batch evidence (a line that
is another page's title of the chunk is a teaser; copies of one story share their body:
pipeline.batchevidence); the chunks are fixed
(input order, this many pages, whatever --jobs is) so that its evidence, the Parquet row groups
and with them the files' bytes are the same on every run."""


class BadInputError(Exception):
    """--strict met a bad page: the run fails and nothing is written."""


@dataclass(frozen=True)
class Models:
    """The fitted models a run applies, with their cards (which say what they are)."""

    topic: Any
    topic_card: dict[str, Any]
    lines: Any = None
    lines_card: dict[str, Any] = field(default_factory=dict)


def load_models(topic_path: str | Path | None = None, lines_path: str | Path | None = None) -> Models:
    """Load the topic model (default models/topic.joblib) and the line-role model if shipped."""
    topic, topic_card = load_model(topic_path or config.default_topic_model())
    lines_path = Path(lines_path or config.default_line_model())
    lines, lines_card = load_model(lines_path) if lines_path.exists() else (None, {})
    return Models(topic=topic, topic_card=topic_card, lines=lines, lines_card=lines_card)


def process_chunk(pages: pd.DataFrame, models: Models) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Run the per-page stages over a chunk of pages (schema PAGES).

    Returns
    -------
    (lines, articles, seconds per stage): lines has every PARAGRAPHS column (plus working
    columns); articles every ARTICLES column but the same-story ones.
    """
    seconds: dict[str, float] = {}

    def timed(name: str, stage, *args):
        start = time.perf_counter()
        result = stage(*args)
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
        return result

    lines = timed("segment", segment, pages)
    lines = timed("boilerplate", assign_roles, lines, models.lines)
    lines = timed("batch-titles", teasers_from_batch_titles, lines, pages)
    lines = timed("batch-copies", body_from_copies, lines)
    lines = timed("dedup", link_repeats, lines)
    lines = timed("topic", label_topics, lines, models.topic)
    articles = timed("assemble", assemble_articles, pages, lines)
    return lines, articles, seconds


def chunked(items: Iterable[Page | Problem], size: int, problems: list[Problem]) -> Iterator[list[Page]]:
    """Pages of `items` in lists of `size`; problems are collected into `problems` on the way."""
    chunk: list[Page] = []
    for item in items:
        if isinstance(item, Problem):
            problems.append(item)
            print(f"warning: {item}", file=sys.stderr)
            continue
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def process_chunks(
    chunks: Iterable[list[Page]], models: Models, jobs: int = 1
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]]:
    """(lines, articles, seconds) of every chunk, in order, on `jobs` worker processes.

    At most 2 x jobs chunks are in flight, so memory stays bounded however large the dump.
    """
    frames = (pages_frame(chunk) for chunk in chunks)
    if jobs <= 1:
        for pages in frames:
            yield process_chunk(pages, models)
        return
    context = multiprocessing.get_context("fork")  # workers inherit the loaded models
    with context.Pool(jobs, initializer=_init_worker, initargs=(models,)) as pool:
        pending: deque = deque()
        for pages in frames:
            pending.append(pool.apply_async(_process_in_worker, (pages,)))
            if len(pending) >= 2 * jobs:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


_worker_models: Models | None = None  # set once per worker process by _init_worker


def _init_worker(models: Models) -> None:
    global _worker_models
    _worker_models = models
    # one process per core: native thread pools (OpenMP in gradient boosting, BLAS) would
    # otherwise start a thread per core in every worker and oversubscribe the machine
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _process_in_worker(pages: pd.DataFrame):
    assert _worker_models is not None
    return process_chunk(pages, _worker_models)


def run_batch(
    inputs: Iterable[str | Path],
    out: str | Path,
    models: Models,
    index_path: str | Path | None = None,
    strict: bool = False,
    jobs: int = 1,
    chunk_pages: int = CHUNK_PAGES,
    progress: bool | None = None,
    engine: str = "local",
    **engine_options: Any,
) -> dict[str, Any]:
    """Process every page under `inputs` into `out`; returns the summary written there.

    ``engine="dask"`` runs the same chunks on a Dask cluster, with the same tables
    (`pipeline.engines.dask.run_batch_dask`; `engine_options`: scheduler, workers, partition_pages).
    """
    if engine == "dask":
        from .engines.dask import run_batch_dask

        return run_batch_dask(
            inputs,
            out,
            models,
            index_path,
            strict,
            chunk_pages=chunk_pages,
            progress=progress,
            **engine_options,
        )
    if engine != "local" or engine_options:
        raise ValueError(f"engine {engine!r} with options {sorted(engine_options)}: not supported")
    started = time.perf_counter()
    files = discover(inputs)
    index = StoryIndex.load(index_path) if index_path else StoryIndex()
    problems: list[Problem] = []
    totals: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    bar = _progress_bar(len(files), progress)
    with OutputWriter(out) as writer:
        chunks = chunked(iter_pages(_ticking(files, bar)), chunk_pages, problems)
        for lines, articles, chunk_seconds in process_chunks(chunks, models, jobs):
            if strict and problems:
                break
            start = time.perf_counter()
            articles = index.link(articles)
            chunk_seconds["same-story"] = time.perf_counter() - start
            start = time.perf_counter()
            writer.write(lines, articles)
            chunk_seconds["write"] = time.perf_counter() - start
            seconds.update(chunk_seconds)
            _count(totals, lines, articles)
        if strict and problems:
            raise BadInputError(
                f"{len(problems)} bad input(s), first: {problems[0]} (--strict: nothing written)"
            )
        summary = _summary(files, problems, totals, seconds, models, index, started)
        summary["engine"] = {"name": "local", "jobs": jobs, "chunk_pages": chunk_pages}
        writer.commit(summary)
    if index_path:
        index.save(index_path)
    bar.close()
    return summary


def _count(totals: Counter[str], lines: pd.DataFrame, articles: pd.DataFrame) -> None:
    totals["pages"] += len(articles)
    totals["lines"] += len(lines)
    totals["empty_pages"] += int((articles["n_lines"] == 0).sum())
    dup_kinds = lines["reason"].str.extract(r"dup:([\w-]+)", expand=False)
    for prefix, column in (("role", lines["role"]), ("topic", lines["topic"]), ("dup", dup_kinds)):
        totals.update({f"{prefix}:{k}": int(v) for k, v in column.value_counts().items()})
    totals["same_story_pages"] += int(articles["dup_of_doc"].notna().sum())


def _summary(files, problems, totals, seconds, models, index, started) -> dict[str, Any]:
    from .modelstore import library_versions

    def section(prefix: str) -> dict[str, int]:
        return {k.split(":", 1)[1]: v for k, v in sorted(totals.items()) if k.startswith(prefix)}

    return {
        "files": len(files),
        "pages": totals["pages"],
        "empty_pages": totals["empty_pages"],
        "lines": totals["lines"],
        "roles": section("role:"),
        "topics": section("topic:"),
        "duplicates": {**section("dup:"), "same_story_pages": totals["same_story_pages"]},
        "skipped": [str(p) for p in problems if p.skipped],
        "warnings": [str(p) for p in problems if not p.skipped],
        "seconds": {k: round(v, 4) for k, v in sorted(seconds.items())}
        | {"total": round(time.perf_counter() - started, 4)},
        "minhash": {"in_page": INPAGE_PARAMS.as_dict(), "same_story": index.params()},
        "models": {
            "topic": {
                "sha256": models.topic_card.get("sha256"),
                "threshold": models.topic_card.get("threshold"),
            },
            "lines": {"sha256": models.lines_card.get("sha256")},
        },
        "versions": {"article-pipeline": __version__, **library_versions()},
    }


def _progress_bar(total: int, enabled: bool | None):
    from tqdm import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(total=total, unit="file", disable=not enabled, file=sys.stderr)


def _ticking(files: list[Path], bar) -> Iterator[Path]:
    for path in files:
        yield path
        bar.update(1)
