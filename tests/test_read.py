"""Read stage on bad input: encodings, binary files, limits, malformed records, hostile ids."""

from __future__ import annotations

import codecs
import gzip
import json
import time

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.errors import InputError
from pipeline.stages.decode import decode
from pipeline.stages.read import Page, Problem, discover, iter_pages, read_pages
from pipeline.stages.segment import segment

TEXT = "Café au lait – naïve “quoted” text\r\nsecond line, déjà vu\rthird\n\nlast line\n"


def read_one(path) -> tuple[pd.DataFrame, list[Problem]]:
    return read_pages([path])


@pytest.mark.parametrize(
    ("encoded", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16-be"),
        (codecs.BOM_UTF32_LE + TEXT.encode("utf-32-le"), "utf-32-le"),
        (TEXT.encode("cp1252"), "cp1252"),
    ],
    ids=["utf8", "utf8-bom", "utf16le-bom", "utf16be-bom", "utf32le-bom", "cp1252"],
)
def test_encodings_are_decoded_and_recorded(tmp_path, encoded, encoding):
    (tmp_path / "page.txt").write_bytes(encoded)
    pages, problems = read_one(tmp_path)
    assert problems == []
    assert pages.loc[0, "text"] == TEXT  # no BOM, line endings kept as given
    assert pages.loc[0, "encoding"] == encoding


@pytest.mark.parametrize(
    "text",
    [
        "Grüße aus Köln, schön!\nÀ bientôt, garçon.\n",  # short: detectors often guess cp1250/cp1257
        "Das Mädchen aß Käse. Überall Öl und Süßes, à la française.\n" * 30,
    ],
)
def test_latin1_is_decoded(tmp_path, text):
    (tmp_path / "page.txt").write_bytes(text.encode("latin-1"))
    pages, problems = read_one(tmp_path)
    assert problems == [] and pages.loc[0, "text"] == text
    assert codecs.lookup(pages.loc[0, "encoding"]).name in {"cp1252", "iso8859-1", "latin-1"}


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r", "\u2028", "\x85"])
def test_any_line_ending_numbers_lines_as_splitlines(tmp_path, ending):
    lines = ["Title here", "", "   ", "Body paragraph one.", "Body two"]
    text = ending.join(lines) + ending
    (tmp_path / "page.txt").write_bytes(text.encode("utf-8"))
    pages, _ = read_one(tmp_path)
    rows = segment(pages)
    assert rows["line_no"].tolist() == [1, 4, 5]
    assert rows["text"].tolist() == [text.splitlines()[n - 1] for n in rows["line_no"]]


def test_mostly_utf8_with_a_bad_byte_is_kept_with_a_warning(tmp_path):
    raw = "Tiếng Việt có dấu. ".encode() * 20 + b"\xff\xfe broken\n"
    (tmp_path / "vi.txt").write_bytes(raw)
    pages, problems = read_one(tmp_path)
    assert pages.loc[0, "encoding"] == "utf-8" and pages.loc[0, "text"].startswith("Tiếng Việt")
    assert "\ufffd" in pages.loc[0, "text"]
    assert len(problems) == 1 and not problems[0].skipped and "vi.txt" in str(problems[0])


def test_undecodable_bytes_never_raise():
    for raw in (bytes(range(128, 256)) * 10, b"\x81\x8d\x8f\x90\x9d" * 50, b"\xc3" * 3, b"abc\xed\xa0\x80"):
        decoded = decode(raw)
        assert isinstance(decoded.text, str) and not decoded.text.startswith("\ufeff")
        decoded.text.encode("utf-8")  # writable to Parquet: no lone surrogates


def png_bytes() -> bytes:
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)) * 8


@pytest.mark.parametrize(
    "raw",
    [png_bytes(), b"\x00\x01\x02text\x00\x00" * 200, "UTF-16 without BOM".encode("utf-16-le")],
    ids=["png", "nul-heavy", "utf16-no-bom"],
)
def test_binary_files_are_skipped_naming_the_file(tmp_path, raw):
    (tmp_path / "image.txt").write_bytes(raw)
    (tmp_path / "ok.txt").write_text("A real page.\n")
    pages, problems = read_one(tmp_path)
    assert pages["doc_id"].tolist() == ["ok"]
    assert [p.skipped for p in problems] == [True]
    assert str(problems[0]).startswith(f"{tmp_path / 'image.txt'}: ") and "binary" in str(problems[0])


def test_a_stray_nul_does_not_make_a_page_binary(tmp_path):
    (tmp_path / "p.txt").write_bytes(b"A long enough line of text. " * 20 + b"\x00 and more text\n")
    pages, problems = read_one(tmp_path)
    assert problems == [] and "\x00" in pages.loc[0, "text"]


def test_empty_and_whitespace_pages_are_read_but_give_no_lines(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_text(" \n\t\r\n\u3000\n", encoding="utf-8")
    pages, problems = read_one(tmp_path)
    assert problems == [] and sorted(pages["doc_id"]) == ["blank", "empty"]
    assert len(segment(pages)) == 0


def test_huge_single_line_page_is_rejected_without_reading_it(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTICLE_PIPELINE_MAX_PAGE_BYTES", "8000000")
    with open(tmp_path / "huge.txt", "wb") as stream:
        stream.truncate(20_000_000)  # sparse: 20 MB of NULs, rejected on size before any read
    (tmp_path / "huge2.txt").write_bytes(b"word " * 4_000_000)
    start = time.perf_counter()
    pages, problems = read_one(tmp_path)
    assert time.perf_counter() - start < 2
    assert len(pages) == 0 and len(problems) == 2
    assert all("too large" in p.reason and "ARTICLE_PIPELINE_MAX_PAGE_BYTES" in p.reason for p in problems)


def test_huge_single_line_page_is_processed_under_a_raised_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTICLE_PIPELINE_MAX_PAGE_BYTES", "25000000")
    (tmp_path / "huge.txt").write_bytes(b"word " * 4_000_000)
    start = time.perf_counter()
    pages, problems = read_one(tmp_path)
    lines = segment(pages)
    assert time.perf_counter() - start < 10
    assert problems == [] and len(lines) == 1 and len(lines.loc[0, "text"]) == 20_000_000


def test_page_of_a_million_lines_is_rejected_by_the_line_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTICLE_PIPELINE_MAX_PAGE_LINES", "200000")
    (tmp_path / "long.txt").write_bytes(b"x\n" * 1_000_000)
    # a million line breaks but few non-empty lines: counted exactly, kept
    (tmp_path / "sparse.txt").write_bytes(b"\n" * 1_000_000 + b"text\n")
    start = time.perf_counter()
    pages, problems = read_one(tmp_path)
    assert time.perf_counter() - start < 5
    assert pages["doc_id"].tolist() == ["sparse"]
    assert len(problems) == 1 and "long.txt" in problems[0].source
    assert "1000000 lines" in problems[0].reason and "ARTICLE_PIPELINE_MAX_PAGE_LINES" in problems[0].reason


def test_line_limit_is_configurable(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTICLE_PIPELINE_MAX_PAGE_LINES", "3")
    records = [{"id": "three", "text": "a\nb\nc"}, {"id": "four", "text": "a\nb\nc\nd"}]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    pages, problems = read_one(tmp_path)
    assert pages["doc_id"].tolist() == ["three"]
    assert [p.source for p in problems] == [f"{tmp_path / 'a.jsonl'}:2"]


def write_lines(path, lines: list[bytes]) -> None:
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_jsonl_bad_records_are_reported_with_line_and_skipped(tmp_path):
    path = tmp_path / "batch.jsonl"
    write_lines(
        path,
        [
            codecs.BOM_UTF8 + b'{"id": "a", "text": "\\ufeffFirst page", "url": "http://x/a"}',
            b'{"id": "b", "text": "unterminated',
            b"[1, 2]",
            b'{"text": "no id"}',
            b'{"id": "c"}',
            b'{"id": "d", "text": 42}',
            b"",
            b'{"id": 7, "text": "integer id"}',
            b"[" * 100_000,
            b'{"id": "e", "text": "lone \\ud800 surrogate"}',
        ],
    )
    pages, problems = read_one(path)
    assert pages["doc_id"].tolist() == ["a", "7", "e"]
    assert pages.loc[0, "text"] == "First page" and pages.loc[0, "url"] == "http://x/a"
    assert pages.loc[2, "text"] == "lone \ufffd surrogate"
    lines = [int(p.source.rsplit(":", 1)[1]) for p in problems]
    assert lines == [2, 3, 4, 5, 6, 9] and all(p.skipped for p in problems)
    assert all(str(p).startswith(f"{path}:") and "\n" not in str(p) for p in problems)
    assert "malformed JSON" in problems[0].reason and "no id" in problems[2].reason
    assert "no text" in problems[3].reason and "int" in problems[4].reason


def test_jsonl_record_over_the_size_limit_is_skipped_in_bounded_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTICLE_PIPELINE_MAX_PAGE_BYTES", "1000")
    path = tmp_path / "big.jsonl"
    big = json.dumps({"id": "big", "text": "x" * 50_000}).encode()
    write_lines(path, [big, b'{"id": "ok", "text": "t"}'])
    pages, problems = read_one(path)
    assert pages["doc_id"].tolist() == ["ok"]
    assert [p.source for p in problems] == [f"{path}:1"] and "too large" in problems[0].reason


def test_truncated_gzip_keeps_complete_records(tmp_path):
    records = b"".join(b'{"id": "r%d", "text": "page %d"}\n' % (i, i) for i in range(2000))
    data = gzip.compress(records)
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    (tmp_path / "zz.txt").write_text("after the broken file\n")
    pages, problems = read_one(tmp_path)
    kept = pages["doc_id"].tolist()
    assert 0 < len(kept) - 1 < 2000 and kept[-1] == "zz"
    assert kept[:-1] == [f"r{i}" for i in range(len(kept) - 1)]  # a complete prefix, in order
    assert len(problems) == 1 and "cut.jsonl.gz" in str(problems[0]) and "truncated" in problems[0].reason


def test_corrupt_gzip_is_reported(tmp_path):
    (tmp_path / "bad.jsonl.gz").write_bytes(b"not gzip at all")
    pages, problems = read_one(tmp_path)
    assert len(pages) == 0 and len(problems) == 1 and "bad.jsonl.gz" in str(problems[0])


def test_csv_records_bom_multiline_and_bad_rows(tmp_path):
    path = tmp_path / "pages.csv"
    body = 'id,text,url\na,"multi\nline page",http://x/a\nb,too,many,fields\n\nc,\ufeffok,\n,no id,\n'
    path.write_bytes(codecs.BOM_UTF8 + body.encode())
    pages, problems = read_one(path)
    assert pages["doc_id"].tolist() == ["a", "c"]
    assert pages["text"].tolist() == ["multi\nline page", "ok"]
    assert pages["url"].tolist()[0] == "http://x/a" and pd.isna(pages["url"].tolist()[1])
    assert [p.source for p in problems] == [f"{path}:4", f"{path}:7"]


def test_csv_in_cp1252_is_decoded(tmp_path):
    path = tmp_path / "pages.csv"
    path.write_bytes('id,text\n1,"Café – naïve, déjà vu"\n'.encode("cp1252"))
    pages, problems = read_one(path)
    assert problems == [] and pages.loc[0, "text"] == "Café – naïve, déjà vu"
    assert pages.loc[0, "encoding"] == "cp1252"


def test_csv_without_id_or_text_column_is_one_problem(tmp_path):
    (tmp_path / "other.csv").write_text("name,body\n1,2\n3,4\n")
    pages, problems = read_one(tmp_path)
    assert len(pages) == 0 and len(problems) == 1 and "no id / text column" in problems[0].reason


def test_parquet_bad_rows_and_files(tmp_path):
    table = pa.table({"id": ["a", None, "c"], "text": ["page a", "no id", None], "url": ["u", None, None]})
    pq.write_table(table, tmp_path / "a.parquet")
    pq.write_table(pa.table({"id": ["x"], "text": [1]}), tmp_path / "b.parquet")
    pq.write_table(pa.table({"id": ["x"]}), tmp_path / "c.parquet")
    (tmp_path / "d.parquet").write_bytes(b"PAR1 garbage")
    pages, problems = read_one(tmp_path)
    assert pages["doc_id"].tolist() == ["a"]
    assert [str(p).split(": ", 1)[0] for p in problems] == [
        f"{tmp_path / 'a.parquet'}:2",
        f"{tmp_path / 'a.parquet'}:3",
        f"{tmp_path / 'b.parquet'}:1",
        str(tmp_path / "c.parquet"),
        str(tmp_path / "d.parquet"),
    ]


def test_duplicate_ids_are_renamed_deterministically_and_reported(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "p.txt").write_text("first\n")
    (tmp_path / "b" / "p.txt").write_text("second\n")
    lines = [{"id": "p", "text": "third"}, {"id": "p#2", "text": "fourth"}]
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    pages, problems = read_one(tmp_path)
    assert pages["doc_id"].tolist() == ["p", "p#2", "p#3", "p#2#2"]
    assert pages["text"].str.strip().tolist() == ["first", "second", "third", "fourth"]
    assert len(problems) == 3 and not any(p.skipped for p in problems)
    assert "duplicate id 'p' kept as 'p#2'" in problems[0].reason


def test_hostile_ids_are_kept_as_data(tmp_path):
    hostile = ["../../x", "/", "a\x00b", "y" * 10_000, "line\nbreak", "C:\\\\evil"]
    (tmp_path / "h.jsonl").write_text("".join(json.dumps({"id": h, "text": "t"}) + "\n" for h in hostile))
    pages, problems = read_one(tmp_path)
    assert problems == [] and pages["doc_id"].tolist() == hostile


def test_hostile_duplicate_id_warning_is_one_short_line(tmp_path):
    long_id = "z\n" * 5000
    (tmp_path / "h.jsonl").write_text(json.dumps({"id": long_id, "text": "t"}) + "\n" * 2, encoding="utf-8")
    (tmp_path / "i.jsonl").write_text(json.dumps({"id": long_id, "text": "t"}) + "\n", encoding="utf-8")
    _, problems = read_one(tmp_path)
    assert len(problems) == 1 and "\n" not in str(problems[0]) and len(str(problems[0])) < 400


def test_undecodable_file_name_becomes_a_valid_id(tmp_path):
    name = b"caf\xe9.txt"
    try:
        with open(tmp_path.as_posix().encode() + b"/" + name, "wb") as stream:
            stream.write(b"text\n")
    except OSError:
        pytest.skip("file system refuses non-UTF-8 names")
    pages, _ = read_one(tmp_path)
    assert pages.loc[0, "doc_id"] == "caf\ufffd"
    assert "\n" not in str(Problem(pages.loc[0, "source"], "x"))


def test_missing_input_and_hidden_folders(tmp_path):
    with pytest.raises(InputError, match="input not found"):
        discover([tmp_path / "nope"])
    (tmp_path / ".out.versions" / "v1").mkdir(parents=True)
    (tmp_path / ".out.versions" / "v1" / "paragraphs.parquet").write_bytes(b"")
    (tmp_path / "page.txt").write_text("x\n")
    (tmp_path / "notes.md").write_text("x\n")
    assert discover([tmp_path]) == [tmp_path / "page.txt"]


def test_file_vanishing_mid_batch_is_a_problem(tmp_path):
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.txt").write_text(f"{name}\n")
    files = discover([tmp_path])
    files[1].unlink()
    items = list(iter_pages(files))
    assert [i.doc_id for i in items if isinstance(i, Page)] == ["a", "c"]
    assert [str(i).split(":")[0] for i in items if isinstance(i, Problem)] == [str(files[1])]


def test_explicit_unsupported_file_is_reported(tmp_path):
    (tmp_path / "doc.pdf").write_bytes(b"%PDF-1.4")
    pages, problems = read_pages([tmp_path / "doc.pdf"])
    assert len(pages) == 0 and "unsupported file type" in problems[0].reason
