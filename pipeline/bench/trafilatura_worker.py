"""trafilatura.extract over a list of page dumps, as its own process: the baseline `make bench`
compares article-pipeline with (each non-empty line wrapped in ``<p>``). Standard library and
trafilatura only, so that its start-up is trafilatura's.

    python -I pipeline/bench/trafilatura_worker.py LIST_FILE
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def trafilatura_worker(list_file: str) -> int:
    """Extract every page listed in `list_file` (one .txt path a line) with trafilatura.extract."""
    from html import escape

    import trafilatura

    paths = Path(list_file).read_text().split("\n")
    start = time.perf_counter()
    chars = 0
    for path in filter(None, paths):
        text = Path(path).read_text(encoding="utf-8")
        body = "".join(f"<p>{escape(line)}</p>" for line in text.splitlines() if line.strip())
        chars += len(trafilatura.extract(f"<html><body>{body}</body></html>") or "")
    loop = time.perf_counter() - start
    print(json.dumps({"pages": len(list(filter(None, paths))), "loop_s": loop, "chars_out": chars}))
    return 0


if __name__ == "__main__":
    raise SystemExit(trafilatura_worker(sys.argv[1]))
