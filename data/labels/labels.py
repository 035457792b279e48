"""Make and check line-gold pages of our own (same format as ../shared/corpus/sea-dev).

    python data/labels/labels.py new  SET/ID --url URL --query "the search it came from"
        reads SET/ID.txt and writes SET/ID.json with one entry per non-empty line
        (role/topic/dup_of left null, to be filled in by the labeller)
    python data/labels/labels.py check [SET ...]
        re-reads every .txt and asserts its .json matches it byte for byte, that every label
        is valid, and that no URL is in ../shared/corpus/used-urls.txt or used twice

Standard library only, so it runs before the project's environment exists. The used-urls list
is read from $ARTICLE_PIPELINE_SHARED (default ../shared beside the repository).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROLES = {"title", "body", "caption", "boilerplate", "teaser", "comment"}
TOPICS = {"on", "off"}
HERE = Path(__file__).resolve().parent


def read_text(path: Path) -> str:
    # newline="" keeps \r\n as it is, so line numbers are str.splitlines()'s
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def page_lines(text: str) -> list[dict]:
    """Every non-empty line, numbered from 1 as ``str.splitlines()`` counts (blank lines too)."""
    return [{"n": n, "text": line} for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def url_key(url: str) -> str:
    """Compare URLs without scheme, ``www.``, trailing slash or case of the host."""
    rest = url.strip().split("://", 1)[-1]
    host, _, path = rest.partition("/")
    host = host.lower().removeprefix("www.").removeprefix("m.")
    return f"{host}/{path}".rstrip("/")


def used_urls() -> set[str]:
    shared = Path(os.environ.get("ARTICLE_PIPELINE_SHARED", HERE.parents[2] / "shared"))
    path = shared / "corpus" / "used-urls.txt"
    if not path.exists():
        raise SystemExit(f"labels: error: {path} not found (set ARTICLE_PIPELINE_SHARED)")
    return {url_key(u) for u in path.read_text(encoding="utf-8").split() if u}


def new(stem: Path, url: str, query: str) -> None:
    txt = stem.with_suffix(".txt")
    lines = [{**ln, "role": None, "topic": None, "dup_of": None} for ln in page_lines(read_text(txt))]
    doc = {"id": stem.name, "url": url, "query": query, "lines": lines}
    stem.with_suffix(".json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(f"{stem.with_suffix('.json')}: {len(lines)} lines to label")


def check_page(json_path: Path, banned: set[str]) -> list[str]:
    """Problems of one labelled page, as ``FILE: message`` strings (empty when it is sound)."""
    where = str(json_path)
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    txt = json_path.with_suffix(".txt")
    problems = []
    if doc.get("id") != json_path.stem:
        problems.append(f"{where}: id {doc.get('id')!r} is not the file name")
    if not str(doc.get("url", "")).startswith(("http://", "https://")):
        problems.append(f"{where}: no url")
    elif url_key(doc["url"]) in banned:
        problems.append(f"{where}: url is in used-urls.txt: {doc['url']}")
    if not txt.exists():
        return [*problems, f"{where}: {txt.name} missing"]
    expected = page_lines(read_text(txt))
    got = [{"n": ln.get("n"), "text": ln.get("text")} for ln in doc.get("lines", [])]
    if got != expected:
        problems.append(f"{where}: lines do not match {txt.name} (re-run `new`, keep the labels)")
    numbers = {ln["n"] for ln in expected}
    for ln in doc.get("lines", []):
        at = f"{where}: line {ln.get('n')}"
        role, topic, dup = ln.get("role"), ln.get("topic"), ln.get("dup_of")
        if role not in ROLES:
            problems.append(f"{at}: role {role!r} not one of {sorted(ROLES)}")
        if role == "boilerplate" and topic is not None:
            problems.append(f"{at}: boilerplate has topic {topic!r}, must be null")
        if role in ROLES - {"boilerplate"} and topic not in TOPICS:
            problems.append(f"{at}: topic {topic!r} must be 'on' or 'off' for role {role}")
        if dup is not None and (dup not in numbers or dup >= ln["n"]):
            problems.append(f"{at}: dup_of {dup!r} is not an earlier labelled line")
    return problems


def check(sets: list[Path]) -> int:
    banned = used_urls()
    problems, seen, n_pages = [], {}, 0
    for folder in sets:
        for json_path in sorted(folder.glob("*.json")):
            if json_path.name == "clusters.json":
                continue
            n_pages += 1
            problems += check_page(json_path, banned)
            key = url_key(json.loads(json_path.read_text(encoding="utf-8")).get("url", ""))
            if key in seen:
                problems.append(f"{json_path}: same url as {seen[key]}")
            seen[key] = json_path
    for p in problems:
        print(p, file=sys.stderr)
    print(f"labels: {n_pages} pages checked, {len(problems)} problems")
    return 1 if problems or not n_pages else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labels.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_new = sub.add_parser("new", help="write ID.json from ID.txt, labels empty")
    p_new.add_argument("stem", type=Path, help="SET/ID (without .txt)")
    p_new.add_argument("--url", required=True)
    p_new.add_argument("--query", default="")
    p_check = sub.add_parser("check", help="check every labelled page")
    p_check.add_argument("sets", nargs="*", type=Path)
    args = parser.parse_args(argv)
    if args.command == "new":
        new(args.stem.with_suffix("") if args.stem.suffix == ".txt" else args.stem, args.url, args.query)
        return 0
    sets = args.sets or sorted(p for p in HERE.iterdir() if p.is_dir() and not p.name.startswith("."))
    return check(sets)


if __name__ == "__main__":
    sys.exit(main())
