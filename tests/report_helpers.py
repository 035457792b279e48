"""A small batch with every kind of thing the report shows, run once per test session."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from pipeline import cli, config

SEEDS = config.REPO_ROOT / "seeds"
HOSTILE = "<script>alert('x')</script> & <b>bold</b>"


def make_report_batch(folder: Path) -> Path:
    """Both seed pages, a republished copy of one (a same-story page), a page whose text is
    markup, an empty page and a binary file (a skipped input)."""
    folder.mkdir(parents=True)
    seeds = sorted(SEEDS.glob("*.txt"))
    for seed in seeds:
        (folder / seed.name).write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    story = seeds[1].read_text(encoding="utf-8")
    (folder / "zz_copy.txt").write_text("Home | News | Sport\n" + story, encoding="utf-8")
    (folder / "markup.txt").write_text(f"Headline of a page\n{HOSTILE}\n" + "word " * 40, encoding="utf-8")
    (folder / "empty.txt").write_text("")  # a page with no line
    (folder / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    return folder


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


class Resources(HTMLParser):
    """Every resource reference of a page: script src, link href, CSS url(...) in styles."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.refs.append(values["src"])
        if tag == "link" and values.get("href"):
            self.refs.append(values["href"])
        if tag in ("img", "iframe", "source") and values.get("src"):
            self.refs.append(values["src"])
        self.refs += re.findall(r"url\(\s*['\"]?([^)'\"]*)", values.get("style") or "")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.refs += re.findall(r"url\(\s*['\"]?([^)'\"]*)", data)


def chart_specs(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="chart-specs">(.*?)</script>', html, re.S)
    assert found, "no chart specs in the report"
    return json.loads(found.group(1))


def chart_values(spec: dict) -> list[dict]:
    """The data rows of a single-view spec (Altair puts them in "datasets")."""
    return next(iter(spec["datasets"].values()))


def view_rows(html: str) -> list[list[list]]:
    """The line rows of every page view of a report, by view number."""
    found = re.search(r'<script type="application/json" id="view-rows">(.*?)</script>', html, re.S)
    assert found, "no page view rows in the report"
    return json.loads(found.group(1))


def view_of(html: str, doc_id: str) -> tuple[str, list[list]]:
    """The header markup and the line rows of the view of `doc_id`."""
    at = html.index(f"<dd><code>{doc_id}</code></dd>")
    start = html.rindex('<section class="pageview', 0, at)
    header = html[start : html.index("</section>", at)]
    number = int(re.search(r'data-view="(\d+)"', header).group(1))
    return header, view_rows(html)[number]
