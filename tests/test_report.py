"""The HTML run report (issue 13): deterministic, true to summary.json, self-contained, escaped;
the CLI's report command, --no-report and a run with no page."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from pipeline import cli
from pipeline.errors import ReportError
from pipeline.report import render_report, write_page_view, write_report
from pipeline.report.render import collect_out
from pipeline.scoring.corpora import load_gold_lines

from .conftest import shared_path
from .report_helpers import (
    HOSTILE,
    Resources,
    chart_specs,
    chart_values,
    make_report_batch,
    run_cli,
    view_of,
    view_rows,
)


@pytest.fixture(scope="module")
def report_out(tmp_path_factory) -> Path:
    """OUT of the CLI over make_report_batch (exit 3: the binary file is skipped)."""
    root = tmp_path_factory.mktemp("report")
    out = root / "out"
    code = cli.main(["run", str(make_report_batch(root / "in")), "--out", str(out), "--quiet"])
    assert code == cli.EXIT_SKIPPED
    return out


def test_the_run_writes_a_report_into_its_output(report_out):
    assert (report_out / "report.html").is_file()
    summary = json.loads((report_out / "summary.json").read_text())
    assert summary["seconds"]["report"] > 0
    assert summary["seconds"]["total"] >= summary["seconds"]["report"]


def test_two_renders_of_one_out_are_byte_identical(report_out, tmp_path):
    first = write_report(report_out).read_bytes()
    second = write_report(report_out).read_bytes()
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()
    for block in re.findall(
        r'<script type="application/json" id="[\w-]+">(.*?)</script>', first.decode(), re.S
    ):
        json.loads(block, parse_constant=lambda name: pytest.fail(f"{name} in the report's JSON"))


def test_chunked_rebuild_equals_one_render_of_the_whole_tables(report_out):
    """The row-group path that `report OUT` and the run take gives the in-memory render's bytes."""
    summary = json.loads((report_out / "summary.json").read_text())
    whole = render_report(
        pd.read_parquet(report_out / "paragraphs.parquet"),
        pd.read_parquet(report_out / "articles.parquet"),
        summary,
        name=report_out.name,
    )
    assert write_report(report_out).read_text(encoding="utf-8") == whole


def test_report_holds_the_numbers_of_summary_json(report_out):
    summary = json.loads((report_out / "summary.json").read_text())
    html = write_report(report_out).read_text(encoding="utf-8")
    specs = chart_specs(html)
    roles = {row["role"]: row["lines"] for row in chart_values(specs["roles"])}
    assert {k: v for k, v in roles.items() if v} == summary["roles"]
    dups = {row["kind"]: row["lines"] for row in chart_values(specs["duplicates"])}
    assert dups == {k: v for k, v in summary["duplicates"].items() if k != "same_story_pages"}
    stages = {row["stage"]: row["seconds"] for row in chart_values(specs["seconds"])}
    assert stages == {k: v for k, v in summary["seconds"].items() if k != "total"}
    assert f"<b>{summary['pages']}</b><span>pages from {summary['files']} files" in html
    assert summary["skipped"] and all(s.replace("'", "&#39;") in html for s in summary["skipped"])
    assert summary["models"]["topic"]["sha256"][:12] in html


def test_same_story_page_has_a_view_linking_its_original(report_out):
    articles = pd.read_parquet(report_out / "articles.parquet")
    copy = articles[articles["dup_of_doc"].notna()]
    assert copy["doc_id"].tolist() == ["zz_copy"], "the batch should hold one same-story copy"
    html = write_report(report_out).read_text(encoding="utf-8")
    header, rows = view_of(html, "zz_copy")
    assert "same story as" in header and copy["dup_of_doc"].iloc[0] in header
    lines = pd.read_parquet(report_out / "paragraphs.parquet").query("doc_id == 'zz_copy'")
    assert [r[0] for r in rows] == lines["line_no"].tolist() and [r[1] for r in rows] == lines[
        "text"
    ].tolist()
    assert [r[2] for r in rows] == lines["role"].tolist()
    assert [r[3] for r in rows] == [None if pd.isna(d) else int(d) for d in lines["dup_of"]]


def test_page_text_is_escaped(report_out):
    html = write_report(report_out).read_text(encoding="utf-8")
    assert HOSTILE not in html and "<b>bold</b>" not in html
    _, rows = view_of(html, "markup")
    assert HOSTILE in [r[1] for r in rows]  # the data itself is intact


def test_no_resource_is_fetched_from_outside_the_file(report_out):
    parser = Resources()
    parser.feed(write_report(report_out).read_text(encoding="utf-8"))
    assert [ref for ref in parser.refs if not ref.startswith("data:")] == []


def test_bounded_sample_of_page_views_takes_flagged_pages_first(report_out):
    pages = collect_out(report_out, max_page_views=1).pages()
    flagged = set(pages.loc[pages["dup_of_doc"].notna() | (pages["body_like"] > 0), "doc_id"])
    assert "zz_copy" in flagged and flagged < set(pages["doc_id"])
    html = write_report(report_out, max_page_views=1).read_text(encoding="utf-8")
    assert html.count('<section class="pageview"') == 1
    shown = [doc for doc in pages["doc_id"] if f"<dd><code>{doc}</code></dd>" in html]
    assert len(shown) == 1 and shown[0] in flagged


def test_every_page_with_lines_gets_a_view_when_the_batch_is_small(report_out):
    html = write_report(report_out).read_text(encoding="utf-8")
    articles = pd.read_parquet(report_out / "articles.parquet")
    assert (articles["n_lines"] == 0).sum() == 1
    assert html.count('<section class="pageview"') == (articles["n_lines"] > 0).sum() == 4


def test_report_command_page_view_and_bad_id(report_out, tmp_path, capsys):
    dest = tmp_path / "view.html"
    code, out, err = run_cli(capsys, "report", str(report_out), "--page", "markup", "--dest", str(dest))
    assert code == cli.EXIT_OK and err == "" and str(dest) in out
    view = dest.read_text(encoding="utf-8")
    assert HOSTILE not in view and HOSTILE in [r[1] for r in view_of(view, "markup")[1]]
    code, out, err = run_cli(capsys, "report", str(report_out), "--page", "no-such-page")
    assert code == cli.EXIT_FAIL and out == ""
    assert err.count("\n") == 1 and "no page 'no-such-page'" in err
    with pytest.raises(ReportError):
        write_page_view(report_out, "no-such-page")


def test_report_command_rebuilds_and_refuses_a_folder_that_is_not_an_out(report_out, tmp_path, capsys):
    (report_out / "report.html").unlink()
    code, _, _ = run_cli(capsys, "report", str(report_out), "--max-pages", "3")
    assert code == cli.EXIT_OK and (report_out / "report.html").is_file()
    code, _, err = run_cli(capsys, "report", str(tmp_path))
    assert code == cli.EXIT_FAIL and err.count("\n") == 1 and "not a run output" in err


def test_no_report_writes_none(tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, _ = run_cli(
        capsys, "run", str(make_report_batch(tmp_path / "in")), "--out", str(out), "--no-report"
    )
    assert code == cli.EXIT_SKIPPED
    assert not (out / "report.html").exists() and "report.html" not in stdout
    assert "report" not in json.loads((out / "summary.json").read_text())["seconds"]


def test_the_terminal_summary_names_the_report(tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, _ = run_cli(capsys, "run", str(make_report_batch(tmp_path / "in")), "--out", str(out))
    assert code == cli.EXIT_SKIPPED and f"open {out}/report.html" in stdout


@pytest.mark.parametrize("inputs", ["empty-folder", "no-page-files"])
def test_inputs_without_a_page_exit_3_and_leave_out_untouched(report_out, tmp_path, capsys, inputs):
    folder = tmp_path / "in"
    folder.mkdir()
    if inputs == "no-page-files":
        (folder / "a.jsonl").write_text("")  # a records file with no record
        (folder / "notes.md").write_text("not an input format")
    before = {p.name: p.read_bytes() for p in report_out.iterdir()}
    target = os.readlink(report_out)
    code, out, err = run_cli(capsys, "run", str(folder), "--out", str(report_out), "--quiet")
    assert code == cli.EXIT_SKIPPED and out == ""
    assert err.count("\n") == 1 and err.startswith("warning: no page in the inputs")
    assert os.readlink(report_out) == target
    assert {p.name: p.read_bytes() for p in report_out.iterdir()} == before
    fresh = tmp_path / "fresh"
    code, _, _ = run_cli(capsys, "run", str(folder), "--out", str(fresh), "--quiet")
    assert code == cli.EXIT_SKIPPED and not fresh.exists() and not (tmp_path / ".fresh.versions").exists()


def test_eval_writes_a_report_with_confusion_pr_curve_and_worst_pages(tmp_path, capsys):
    seeds = shared_path("seeds")
    out = tmp_path / "e"
    code = cli.main(
        ["eval", "--gold", str(seeds), "--out", str(out), "--model", str(copy_topic_model(tmp_path))]
    )
    assert code == cli.EXIT_OK and f"eval report: {out / 'report.html'}" in capsys.readouterr().out
    html = (out / "report.html").read_text(encoding="utf-8")
    specs = chart_specs(html)
    cells = pd.DataFrame(chart_values(specs["seeds-confusion"]))
    gold = load_gold_lines(seeds)
    assert cells["lines"].sum() == len(gold)
    assert dict(cells.groupby("gold")["lines"].sum()[lambda s: s > 0]) == dict(
        gold["gold_role"].value_counts()
    )
    layers = specs["seeds-pr"]["layer"]
    assert len(layers) == 2  # the curve and the pipeline's own operating point
    assert "Worst pages by body F1" in html and html.count('<section class="pageview"') >= 1
    assert 'data-gold="1"' in html
    views = view_rows(html)
    gold_of = dict(zip(zip(gold["doc_id"], gold["line_no"], strict=True), gold["gold_role"], strict=True))
    doc = re.search(r"<dd><code>([^<]+)</code></dd>", html).group(1)
    assert [r[8] for r in views[0]] == [gold_of.get((doc, r[0])) for r in views[0]]


def copy_topic_model(tmp_path: Path) -> Path:
    """The shipped topic model, copied (eval writes its PR curve beside the model it is given)."""
    import shutil

    from pipeline import config

    for suffix in (".joblib", ".json"):
        shutil.copy(config.default_topic_model().with_suffix(suffix), tmp_path / f"topic{suffix}")
    return tmp_path / "topic.joblib"


def test_the_collector_finds_roles_and_pages_as_pandas_would():
    import numpy as np

    from pipeline.report.collect import _page_of_lines, _role_codes
    from pipeline.schema import ROLES

    roles = pd.Series(pd.array(["body", None, "teaser", "other", "title", "body"], dtype="string"))
    assert np.array_equal(_role_codes(roles), [ROLES.index("body"), -1, ROLES.index("teaser"), -1, 0, 1])
    pages = pd.Series(pd.array(["a", "b", "c", "d"], dtype="string"))
    # page b has no line; a line of an unknown page, lines without a doc_id, a page seen again
    lines = pd.Series(pd.array(["a", "a", "c", "c", "c", "x", "d", None, None, "a"], dtype="string"))
    assert np.array_equal(_page_of_lines(pages, lines), pd.Index(pages).get_indexer(lines))
    assert len(_page_of_lines(pages, lines.iloc[:0])) == 0
