"""Render reports with Jinja2 (autoescaped: page text is data, never markup) and write them
atomically. The public functions are re-exported by `pipeline.report`."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from pipeline.errors import ReportError
from pipeline.files import atomic_write_text
from pipeline.report import charts
from pipeline.report.bundle import vega_bundle
from pipeline.report.collect import ARTICLE_COLUMNS, LINE_COLUMNS, ReportCollector
from pipeline.report.context import build_context, line_rows, page_view

REPORT_NAME = "report.html"


@functools.cache
def environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(role_colours=charts.ROLE_COLOURS, repeat_colour=charts.REPEAT_COLOUR)
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "separators": (",", ":")}
    return env


def render(template: str, **context: Any) -> str:
    """`template` with `context`, the Vega bundle and the shared styles inlined."""
    needs_charts = bool(context.get("charts"))
    return (
        environment()
        .get_template(template)
        .render(vega_bundle=vega_bundle() if needs_charts else "", **context)
    )


def render_collected(collector: ReportCollector, summary: dict[str, Any], name: str = "OUT") -> str:
    """The report of a batch gathered by `collector` (the run feeds it chunk by chunk)."""
    return render("report.html.j2", **build_context(collector, summary, name))


def render_report(
    paragraphs: pd.DataFrame,
    articles: pd.DataFrame,
    summary: dict[str, Any],
    *,
    name: str = "OUT",
    max_page_views: int = 200,
) -> str:
    """The whole report as one self-contained HTML string (deterministic: same inputs, same text).

    Parameters
    ----------
    paragraphs, articles : the run's tables (schema PARAGRAPHS, ARTICLES), pages in input order
    summary : the run's summary.json
    name : what the report calls the output (its folder name)
    max_page_views : pages whose full view is embedded (see pipeline.report.collect)
    """
    collector = ReportCollector(max_page_views=max_page_views)
    collector.add(paragraphs, articles)
    return render_collected(collector, summary, name)


def _check_out(out: Path) -> dict[str, Any]:
    for name in ("paragraphs.parquet", "articles.parquet", "summary.json"):
        if not (out / name).is_file():
            raise ReportError(f"not a run output (no {name}): {out}")
    try:
        return json.loads((out / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ReportError(f"cannot read {out / 'summary.json'}: {err}") from None


def collect_out(out: Path, max_page_views: int = 200) -> ReportCollector:
    """Feed OUT's tables to a collector block by block (one Parquet row group of lines at a time),
    so a rebuild needs no more memory than the run did."""
    collector = ReportCollector(max_page_views=max_page_views)
    articles = pq.read_table(out / "articles.parquet", columns=ARTICLE_COLUMNS).to_pandas()
    position = {doc: i for i, doc in enumerate(articles["doc_id"])}
    done, carry = 0, None
    for block in _row_groups(out / "paragraphs.parquet", LINE_COLUMNS):
        block = pd.concat([carry, block], ignore_index=True) if carry is not None else block
        if block.empty:
            continue
        # the block's last page may go on in the next row group: keep it for then
        last = block["doc_id"].iloc[-1]
        carry = block[block["doc_id"] == last]
        block = block[block["doc_id"] != last]
        end = position[last]
        collector.add(block, articles.iloc[done:end])
        done = end
    collector.add(carry if carry is not None else pd.DataFrame(columns=LINE_COLUMNS), articles.iloc[done:])
    return collector


def _row_groups(table: Path, columns: list[str]) -> Iterator[pd.DataFrame]:
    """The row groups of a table written as one file (local engine) or as a folder of part
    files (Dask engine), in order."""
    for path in sorted(table.glob("*.parquet")) if table.is_dir() else [table]:
        parts = pq.ParquetFile(path)
        for group in range(parts.num_row_groups):
            yield parts.read_row_group(group, columns=columns).to_pandas()


def write_report(out: Path, *, max_page_views: int = 200) -> Path:
    """(Re)build OUT/report.html from OUT's tables and summary.json; returns its path."""
    out = Path(out)
    summary = _check_out(out)
    html = render_collected(collect_out(out, max_page_views), summary, name=out.name)
    return atomic_write_text(out / REPORT_NAME, html)


def write_page_view(out: Path, doc_id: str, dest: Path | None = None) -> Path:
    """Write the view of one page of OUT (every line, coloured by role, with its decisions).

    `dest` defaults to ``OUT/page-<sha1 of doc_id, 12 hex>.html`` (ids are data, never paths).
    """
    out = Path(out)
    summary = _check_out(out)
    articles = pq.read_table(
        out / "articles.parquet", columns=ARTICLE_COLUMNS, filters=[("doc_id", "==", doc_id)]
    )
    if articles.num_rows == 0:
        raise ReportError(f"no page {doc_id!r} in {out}")
    lines = pq.read_table(
        out / "paragraphs.parquet", columns=LINE_COLUMNS, filters=[("doc_id", "==", doc_id)]
    )
    collector = ReportCollector(max_page_views=1)
    collector.add(lines.to_pandas(), articles.to_pandas())
    page = collector.pages().iloc[0].to_dict()
    view = page_view(0, page, line_rows(collector.sampled_lines().sort_values("line_no")), {})
    threshold = (summary.get("models") or {}).get("topic", {}).get("threshold")
    dest = (
        Path(dest)
        if dest is not None
        else out / f"page-{hashlib.sha1(doc_id.encode()).hexdigest()[:12]}.html"
    )
    html = render("page.html.j2", name=out.name, view=view, threshold=threshold, charts={})
    return atomic_write_text(dest, html)
