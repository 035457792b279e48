"""The Vega, Vega-Lite and vega-embed JavaScript that every report embeds, built once per machine.

Why Vega-Lite (through Altair) and not Plotly: the report must open from file:// with no network,
so the plotting library's JavaScript is inlined in every report. vl-convert's bundle of Vega,
Vega-Lite and vega-embed is 0.9 MB; plotly.min.js is about 4.7 MB, five times as much in every
report and for a browser to parse. Both ship their JavaScript inside a PyPI wheel (no download at
run time), and Vega-Lite specs are plain JSON, so the charts' data goes into the page as JSON.

vl-convert builds the bundle with its embedded JavaScript runtime, which takes 2-3 s: more than the
report's whole budget on a 3,600-page run. The bundle depends only on vl-convert's version, so it
is built once and kept in the user's cache folder (``$XDG_CACHE_HOME/article-pipeline``); the file
is the same bytes every time, so reports stay deterministic whether it was cached or not.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from pathlib import Path


def cache_dir() -> Path:
    """Where the built bundle is kept: ``$XDG_CACHE_HOME/article-pipeline`` (``~/.cache/...``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "article-pipeline"


@functools.cache
def vega_bundle() -> str:
    """The JavaScript defining ``window.vegaEmbed`` (and ``vega``, ``vegaLite``), safe inside a
    ``<script>`` element."""
    import vl_convert

    key = hashlib.sha256(
        f"{vl_convert.__version__}|{vl_convert.get_vega_version()}|{vl_convert.get_vega_embed_version()}".encode()
    ).hexdigest()[:16]
    cached = cache_dir() / f"vega-bundle-{key}.js"
    try:
        return cached.read_text(encoding="utf-8")
    except OSError:
        pass
    # "</script" would end the inline element early; the bundle has none today, and a later one
    # with it still loads once the slash is escaped (the same string to JavaScript)
    bundle = vl_convert.javascript_bundle().replace("</script", "<\\/script")
    _store(cached, bundle)
    return bundle


def _store(path: Path, text: str) -> None:
    """Write `text` to `path` atomically; an unwritable cache only costs the next run 2-3 s."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as f:
            f.write(text)
        os.replace(f.name, path)
    except OSError:
        pass
