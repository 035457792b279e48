"""The HTML run report: ``OUT/report.html``, one self-contained file an analyst opens from disk.

Sections: a batch overview (pages, lines, lines per role, characters kept and dropped, in-page
duplicates by kind, same-story clusters, skipped inputs, seconds per stage, models and versions),
the topic (p_on of body lines with the threshold, on-topic articles first), a searchable table of
every page, and page views (every line of a page in order, coloured by role, with dup_of as a link
to the kept line, dup_score, topic, p_on and reason) for a bounded, deterministic sample of pages.
`write_page_view` writes the view of any page. The eval report (`make eval`) is built from the
same parts by `pipeline.evaluation.report`.

Everything is rendered by Jinja2 templates (``templates/``, autoescaped) from JSON-able data;
the charts are Vega-Lite specs drawn by the Vega JavaScript inlined in the file (see `bundle`).

The names below are imported on first use: a run with ``--no-report`` never imports Altair or
Jinja2.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "REPORT_NAME": ".render",
    "render_collected": ".render",
    "render_report": ".render",
    "write_page_view": ".render",
    "write_report": ".render",
    "ReportCollector": ".collect",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
