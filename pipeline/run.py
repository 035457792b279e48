"""Orchestration: the stages in order, over chunks of pages, into one output folder.

    read -> segment -> roles -> batch evidence (titles, copies) -> repeats -> topics
         -> articles -> stories -> write

(one module each in `pipeline.stages`). Each stage module also reports its own statistics
(`role_counts`, `repeat_counts`...), gathered per chunk into summary.json.

Every stage is a function over a DataFrame; the state they need (models, the same-story index)
is passed in explicitly, so another engine can run `process_and_sign` over partitions of a dump.
"""

from __future__ import annotations

import itertools
import multiprocessing
import sys
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from pipeline import __version__
from pipeline.errors import BadInputError, NoPagesError
from pipeline.handoff import FileHandoff
from pipeline.learn.store import Models
from pipeline.sketch.storyindex import SignedChunk, StoryIndex
from pipeline.stages.articles import article_counts, assemble_articles
from pipeline.stages.batch_evidence import body_from_copies, teasers_from_batch_titles
from pipeline.stages.read import Page, Problem, discover, iter_pages, pages_frame
from pipeline.stages.repeats import INPAGE_PARAMS, link_repeats, repeat_counts
from pipeline.stages.roles import assign_roles, role_counts
from pipeline.stages.segment import segment
from pipeline.stages.stories import link_stories, sign_stories, story_counts
from pipeline.stages.topics import label_topics, topic_counts
from pipeline.stages.write import OutputWriter

CHUNK_PAGES = 500
"""Pages processed together: large enough for vectorised stages, small enough for bounded memory
and for --jobs to balance (3,600 pages: 1.49x on 2 cores with 1,000-page chunks, 1.58x with 500).
Every stage's result for a page depends on that page alone, except the batch evidence (a line that
is another page's title of the chunk is a teaser; copies of one story share their body:
pipeline.stages.batch_evidence); the chunks are fixed
(input order, this many pages, whatever --jobs is) so that its evidence, the Parquet row groups
and with them the files' bytes are the same on every run."""


class StageTimer:
    """Seconds spent in each stage, summed over chunks: the one way stages are timed."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - start


def process_chunk(pages: pd.DataFrame, models: Models) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Run the per-page stages over a chunk of pages (schema PAGES).

    Returns
    -------
    (lines, articles, seconds per stage): lines has every PARAGRAPHS column (plus working
    columns); articles every ARTICLES column but the same-story ones.
    """
    timer = StageTimer()
    with timer("segment"):
        lines = segment(pages)
    with timer("roles"):
        lines = assign_roles(lines, models.lines)
    with timer("batch-titles"):
        lines = teasers_from_batch_titles(lines, pages)
    with timer("batch-copies"):
        lines = body_from_copies(lines)
    with timer("repeats"):
        lines = link_repeats(lines)
    with timer("topics"):
        lines = label_topics(lines, models.topic)
    with timer("articles"):
        articles = assemble_articles(pages, lines)
    return lines, articles, dict(timer.seconds)


ProcessedChunk = tuple[pd.DataFrame, pd.DataFrame, dict[str, float], SignedChunk]
"""(lines, articles, seconds per stage, the articles' same-story signatures) of one chunk."""


def process_and_sign(pages: pd.DataFrame, models: Models, signer: StoryIndex) -> ProcessedChunk:
    """`process_chunk`, then the page-local half of the stories stage (`sign_stories`, timed as
    "stories"): what any engine's worker does with a chunk before the same-story links."""
    lines, articles, seconds = process_chunk(pages, models)
    start = time.perf_counter()
    signed = sign_stories(articles, signer)
    seconds["stories"] = time.perf_counter() - start
    return lines, articles, seconds, signed


def chunk_statistics(lines: pd.DataFrame, articles: pd.DataFrame) -> Counter[str]:
    """What the chunk's stages report of their output, as ``section:key`` counts for summary.json."""
    stats: Counter[str] = Counter({"lines": len(lines)})
    stats.update(article_counts(articles))
    for section, counts in (
        ("role", role_counts(lines)),
        ("topic", topic_counts(lines)),
        ("dup", repeat_counts(lines) | story_counts(articles)),
    ):
        stats.update({f"{section}:{key}": n for key, n in counts.items()})
    return stats


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
    chunks: Iterable[list[Page]], models: Models, signer: StoryIndex, jobs: int = 1
) -> Iterator[ProcessedChunk]:
    """`process_and_sign` of every chunk, in order, on `jobs` worker processes.

    At most 2 x jobs chunks are in flight, so memory stays bounded however large the dump; their
    pages and results go through files in memory (`FileHandoff`), not multiprocessing's pipes.
    `signer` holds the same-story settings only (``StoryIndex(**index.settings())``).
    """
    frames = (pages_frame(chunk) for chunk in chunks)
    if jobs <= 1:
        for pages in frames:
            yield process_and_sign(pages, models, signer)
        return
    context = multiprocessing.get_context("fork")  # workers inherit the loaded models
    with (
        FileHandoff.temporary() as handoff,
        context.Pool(jobs, initializer=_init_worker, initargs=(models, signer, handoff)) as pool,
    ):
        pending: deque = deque()
        for pages in frames:
            pending.append(pool.apply_async(_process_in_worker, (handoff.put(pages),)))
            if len(pending) >= 2 * jobs:
                yield handoff.take(pending.popleft().get())
        while pending:
            yield handoff.take(pending.popleft().get())


_worker_state: tuple[Models, StoryIndex, FileHandoff] | None = None  # set by _init_worker


def _init_worker(models: Models, signer: StoryIndex, handoff: FileHandoff) -> None:
    global _worker_state
    _worker_state = (models, signer, handoff)
    # one process per core: native thread pools (OpenMP in gradient boosting, BLAS) would
    # otherwise start a thread per core in every worker and oversubscribe the machine
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _process_in_worker(pages_file: str) -> str:
    """The chunk handed off as `pages_file`, processed; returns the file of its result."""
    assert _worker_state is not None
    models, signer, handoff = _worker_state
    return handoff.put(process_and_sign(handoff.take(pages_file), models, signer))


# `jobs` is the number of cores a run uses, this process included: its native thread pools (BLAS
# in the linear scorers, OpenMP in the trees) get one thread, as the workers' do. A second BLAS
# thread on the same core made each small matrix product ~80x slower (0.09 -> 7.5 ms), its wake-up
# and spinning competing with the work it was started for.
@threadpool_limits.wrap(limits=1)
def run_batch(
    inputs: Iterable[str | Path],
    out: str | Path,
    models: Models,
    index_path: str | Path | None = None,
    strict: bool = False,
    jobs: int = 1,
    chunk_pages: int = CHUNK_PAGES,
    progress: bool | None = None,
    report: bool = True,
    max_page_views: int = 200,
) -> dict[str, Any]:
    """Process every page under `inputs` into `out` on this machine (``jobs`` processes); returns
    the summary written there. `pipeline.engines.run_batch` chooses between this and Dask.

    With `report`, OUT/report.html (pipeline.report) is written into the new version before it
    becomes OUT, and its seconds are summary["seconds"]["report"]. Raises NoPagesError, with
    OUT untouched, when the inputs hold no page.
    """
    started = time.perf_counter()
    files = discover(inputs)
    index = StoryIndex.load(index_path) if index_path else StoryIndex()
    problems: list[Problem] = []
    totals: Counter[str] = Counter()
    timer = StageTimer()
    bar = progress_bar(len(files), progress)
    chunks = chunked(iter_pages(_ticking(files, bar)), chunk_pages, problems)
    first = next(chunks, None)  # before OutputWriter: no page, nothing touched beside OUT
    if first is None and not (strict and problems):
        bar.close()
        raise NoPagesError(f"no page in the inputs ({len(files)} file(s)): nothing written, OUT untouched")
    collector = _report_collector(report, max_page_views)
    report_timer = StageTimer()  # apart from the stages: the report shows their seconds, not its own
    with OutputWriter(out) as writer:
        chunks = itertools.chain([first], chunks) if first is not None else iter(())
        signer = StoryIndex(**index.settings())
        # closed on the way out, even on a break: the workers stop and the hand-off folder goes
        with closing(process_chunks(chunks, models, signer, jobs)) as results:
            for lines, articles, chunk_seconds, signed in results:
                if strict and problems:
                    break
                timer.seconds.update(chunk_seconds)
                with timer("stories"):
                    articles = link_stories(articles, index, signed)
                with timer("write"):
                    writer.write(lines, articles)
                totals.update(chunk_statistics(lines, articles))
                if collector is not None:
                    with report_timer("report"):
                        collector.add(lines, articles)
        if strict and problems:
            raise BadInputError(
                f"{len(problems)} bad input(s), first: {problems[0]} (--strict: nothing written)"
            )
        summary = build_summary(files, problems, totals, timer.seconds, models, index, started)
        summary["engine"] = {"name": "local", "jobs": jobs, "chunk_pages": chunk_pages}
        if collector is not None:
            collected = report_timer.seconds["report"]
            write_report_into(collector, summary, writer.version, Path(out).name, started, collected)
        writer.commit(summary)
    if index_path:
        index.save(index_path)
    bar.close()
    return summary


def _report_collector(report: bool, max_page_views: int):
    if not report:
        return None
    from pipeline.report import ReportCollector

    return ReportCollector(max_page_views=max_page_views)


def write_report_into(
    collector, summary: dict[str, Any], version: Path, name: str, started: float, collected: float
) -> None:
    """report.html into the version folder (any engine). The summary it shows lacks only the report's own
    seconds (`collected` while the chunks went by, then rendering), added as "report" after."""
    start = time.perf_counter()  # the imports (Altair, Jinja2) are part of what the report costs
    from pipeline.files import atomic_write_text
    from pipeline.report import REPORT_NAME, render_collected

    atomic_write_text(version / REPORT_NAME, render_collected(collector, summary, name))
    seconds = summary["seconds"]
    seconds["report"] = round(collected + time.perf_counter() - start, 4)
    summary["seconds"] = dict(sorted(seconds.items())) | {"total": round(time.perf_counter() - started, 4)}


def build_summary(
    files: list[Path],
    problems: list[Problem],
    totals: Counter[str],
    seconds: Counter[str],
    models: Models,
    index: StoryIndex,
    started: float,
) -> dict[str, Any]:
    """summary.json of a run: what the stages counted (`chunk_statistics`), the skipped inputs,
    seconds per stage, the parameters and models used (any engine)."""
    from pipeline.learn.store import library_versions

    def section(prefix: str) -> dict[str, int]:
        return {k.split(":", 1)[1]: v for k, v in sorted(totals.items()) if k.startswith(prefix)}

    return {
        "files": len(files),
        "pages": totals["pages"],
        "empty_pages": totals["empty_pages"],
        "lines": totals["lines"],
        "roles": section("role:"),
        "topics": section("topic:"),
        "duplicates": section("dup:"),
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


def progress_bar(total: int, enabled: bool | None) -> Any:
    """A tqdm bar on stderr, shown when stderr is a terminal (or `enabled`); else a `HiddenBar`."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return HiddenBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="file", file=sys.stderr)


class HiddenBar:
    """The bar of a run that shows none: it counts nothing, and tqdm (40-90 ms of imports) is
    not loaded."""

    unit = "file"

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _ticking(files: list[Path], bar) -> Iterator[Path]:
    for path in files:
        yield path
        bar.update(1)
