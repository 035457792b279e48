"""The run report in a real headless browser: the charts draw, nothing fails in the console, no
request leaves the file, the search filters the pages table, and a page view opens.

Needs Chromium (Debian's ``chromium``) and the ``playwright`` package: ``make test-browser``
installs both and runs this file. Screenshots go to the test's tmp folder, and a copy of each to
/tmp/report-shots/ for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipeline import cli

from .report_helpers import make_report_batch

CHROMIUM = Path(os.environ.get("ARTICLE_PIPELINE_CHROMIUM", "/usr/bin/chromium"))
SHOTS = Path("/tmp/report-shots")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: `make test-browser` installs it (apt-get install chromium)")
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright not installed: `make test-browser` installs it"
    )
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser):
    """Open a file:// URL with every request routed: file:// goes through, anything else is
    aborted and recorded; console errors and uncaught exceptions are recorded too."""
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    seen: dict[str, list[str]] = {"outside": [], "errors": []}

    def route(route) -> None:
        url = route.request.url
        if url.startswith(("file://", "data:")):
            route.continue_()
        else:
            seen["outside"].append(url)
            route.abort()

    page.route("**/*", route)
    page.on(
        "console", lambda message: seen["errors"].append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))

    def go(path: Path, anchor: str = ""):
        page.goto(path.as_uri() + anchor)
        return page, seen

    yield go
    page.close()


def screenshot(page, tmp_path: Path, name: str, full: bool = True) -> Path:
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=full)
    assert shot.stat().st_size > 10_000
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SHOTS / name)
    return shot


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    out = root / "out"
    assert (
        cli.main(["run", str(make_report_batch(root / "in")), "--out", str(out), "--quiet"])
        == cli.EXIT_SKIPPED
    )
    return out / "report.html"


def test_report_draws_its_charts_offline(open_page, report, tmp_path):
    page, seen = open_page(report)
    containers = page.locator("[data-chart]")
    assert containers.count() >= 5
    for i in range(containers.count()):
        containers.nth(i).locator("svg, canvas").first.wait_for(timeout=15_000)
    marks = page.locator("[data-chart] svg .mark-rect path, [data-chart] svg .mark-rect rect")
    assert marks.count() > 0, "the bar charts drew no bars"
    screenshot(page, tmp_path, "report.png")
    assert seen["errors"] == []
    assert seen["outside"] == []


def test_pages_table_filters_and_a_page_view_opens(open_page, report, tmp_path):
    page, seen = open_page(report)
    rows = page.locator("#page-table tbody tr")
    assert rows.count() == 5
    page.fill("#page-search", "zz_co")
    assert rows.count() == 1
    rows.first.locator("a").click()
    view = page.locator(".pageview:target")
    assert view.is_visible() and "zz_copy" in view.inner_text()
    assert view.locator("tr[id]").count() > 5
    screenshot(page, tmp_path, "report-page-view.png", full=False)
    repeat = view.locator("tr.r-repeat a").first  # a repeated line links to the line kept
    kept = repeat.get_attribute("href")
    repeat.click()
    assert page.locator("tr.hit").get_attribute("id") == kept.lstrip("#")
    assert seen["errors"] == [] and seen["outside"] == []
