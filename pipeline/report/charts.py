"""Vega-Lite specs (built with Altair) of the report's charts, as plain dicts ready for JSON.

Every chart that shows roles colours them with `ROLE_COLOURS`, the same colours the page views
and tables use, so a colour means one role everywhere in the report.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from pipeline.schema import ROLES

ROLE_COLOURS = {
    "title": "#1f4e9c",
    "body": "#2a8a3e",
    "caption": "#8a5cc2",
    "teaser": "#e07b16",
    "comment": "#c23b7a",
    "boilerplate": "#8c8c8c",
}
"""One colour per role (schema.ROLES), in charts, page views and legends alike."""

REPEAT_COLOUR = "#9fd4a8"
"""Body lines dropped as repeats of another line of their page: a pale body colour."""

ON_COLOUR, OFF_COLOUR, MARK_COLOUR = "#2a8a3e", "#b0b7c3", "#d62728"

WIDTH = 380
Spec = dict[str, Any]


def _spec(chart: alt.TopLevelMixin) -> Spec:
    # validation costs ~40 ms a chart and the specs are built by this module only
    spec = chart.configure_view(stroke=None).configure_axis(labelFontSize=12, titleFontSize=12)
    return spec.to_dict(validate=False)


def _hbar(frame: pd.DataFrame, label: str, value: str, colours: dict[str, str], title: str) -> Spec:
    """Horizontal bars, one per row of `frame` in its order, coloured by label from `colours`."""
    order = frame[label].tolist()
    whole = pd.api.types.is_integer_dtype(frame[value])
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y(f"{label}:N", sort=order, title=None),
            # counts get whole-number ticks (no "0.2 lines"), seconds keep theirs
            x=alt.X(f"{value}:Q", title=title, axis=_count_axis(frame[value]) if whole else alt.Axis()),
            color=alt.Color(
                f"{label}:N",
                scale=alt.Scale(domain=list(colours), range=list(colours.values())),
                legend=None,
            ),
            tooltip=[alt.Tooltip(f"{label}:N"), alt.Tooltip(f"{value}:Q", format=",")],
        )
        .properties(width=WIDTH, height=max(60, 24 * len(frame)))
    )
    return _spec(chart)


def roles_chart(role_counts: dict[str, int]) -> Spec:
    """Lines per role, in schema order."""
    frame = pd.DataFrame({"role": list(ROLES), "lines": [int(role_counts.get(r, 0)) for r in ROLES]})
    return _hbar(frame, "role", "lines", ROLE_COLOURS, "lines")


def chars_chart(kept_dropped: list[dict[str, Any]]) -> Spec:
    """Characters kept in the articles and dropped, by why: rows {"what", "role", "chars"}."""
    frame = pd.DataFrame(kept_dropped, columns=["what", "role", "chars"])
    colours = {
        what: REPEAT_COLOUR if role == "repeat" else ROLE_COLOURS.get(role, OFF_COLOUR)
        for what, role in zip(frame["what"], frame["role"], strict=True)
    }
    return _hbar(frame[["what", "chars"]], "what", "chars", colours, "characters")


def _count_axis(values: pd.Series) -> alt.Axis:
    """Whole-number ticks: small counts get every integer listed (Vega's tickMinStep alone still
    drew "0 1 1 2 2" for a maximum of 2)."""
    top = int(values.max()) if len(values) else 0
    if top <= 10:
        return alt.Axis(values=list(range(top + 1)), format=",d")
    return alt.Axis(tickMinStep=1, format=",d")


def counts_chart(counts: dict[str, int], label: str, value: str, colour: str) -> Spec:
    """Plain bars of `counts` (e.g. duplicate kinds, seconds per stage), in the given order."""
    frame = pd.DataFrame({label: list(counts), value: list(counts.values())})
    return _hbar(frame, label, value, dict.fromkeys(counts, colour), value)


def cluster_sizes_chart(sizes: dict[int, int]) -> Spec:
    """Same-story clusters per size (pages in the cluster)."""
    frame = pd.DataFrame({"pages in cluster": list(sizes), "clusters": list(sizes.values())})
    chart = (
        alt.Chart(frame)
        .mark_bar(color=ROLE_COLOURS["title"])
        .encode(
            x=alt.X("pages in cluster:O", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("clusters:Q", axis=alt.Axis(tickMinStep=1, format="d")),
            tooltip=["pages in cluster:O", "clusters:Q"],
        )
        .properties(width=min(WIDTH, 50 + 50 * len(frame)), height=160)
    )
    return _spec(chart)


def p_on_chart(bins: list[dict[str, Any]], threshold: float | None) -> Spec:
    """Histogram of body lines' p_on (rows {"start", "end", "lines"}), the threshold marked."""
    frame = pd.DataFrame(bins, columns=["start", "end", "lines"])
    cut = 0.5 if threshold is None else threshold
    frame["side"] = ["on" if start >= cut else "off" for start in frame["start"]]
    bars = (
        alt.Chart(frame)
        .mark_bar(binSpacing=0)
        .encode(
            x=alt.X("start:Q", bin="binned", title="p_on of body lines", scale=alt.Scale(domain=[0, 1])),
            x2="end:Q",
            y=alt.Y("lines:Q", title="lines"),
            color=alt.Color(
                "side:N",
                scale=alt.Scale(domain=["off", "on"], range=[OFF_COLOUR, ON_COLOUR]),
                legend=alt.Legend(title=None, orient="top-left"),
            ),
            tooltip=[alt.Tooltip("start:Q", format=".2f"), alt.Tooltip("end:Q", format=".2f"), "lines:Q"],
        )
    )
    layers = [bars]
    if threshold is not None:
        rule = pd.DataFrame({"threshold": [round(float(threshold), 4)]})
        layers.append(
            alt.Chart(rule)
            .mark_rule(color=MARK_COLOUR, strokeDash=[4, 3], size=2)
            .encode(x="threshold:Q", tooltip=["threshold:Q"])
        )
    return _spec(alt.layer(*layers).properties(width=WIDTH + 120, height=180))


def confusion_chart(cells: list[dict[str, Any]], roles: list[str]) -> Spec:
    """Gold role (rows) against predicted role (columns): rows {"gold", "predicted", "lines", "share"}."""
    frame = pd.DataFrame(cells, columns=["gold", "predicted", "lines", "share"])
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:N", sort=roles, axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y("gold:N", sort=roles),
    )
    heat = base.mark_rect().encode(
        color=alt.Color("share:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), legend=None),
        tooltip=["gold:N", "predicted:N", "lines:Q", alt.Tooltip("share:Q", format=".0%")],
    )
    text = base.mark_text(fontSize=12).encode(
        text="lines:Q",
        color=alt.condition("datum.share > 0.5", alt.value("white"), alt.value("#222")),
    )
    return _spec(alt.layer(heat, text).properties(width=72 * len(roles), height=30 * len(roles)))


def pr_chart(points: list[dict[str, float]], marked: dict[str, float] | None) -> Spec:
    """Precision against recall of "on" (rows {"recall", "precision"}), the threshold's point marked."""
    frame = pd.DataFrame(points, columns=["recall", "precision"])
    line = (
        alt.Chart(frame)
        .mark_line(interpolate="step-after", color=ROLE_COLOURS["title"])
        .encode(
            x=alt.X("recall:Q", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("precision:Q", scale=alt.Scale(domain=[0, 1])),
        )
    )
    layers = [line]
    if marked is not None:
        layers.append(
            alt.Chart(pd.DataFrame([marked]))
            .mark_point(filled=True, size=80, color=MARK_COLOUR)
            .encode(x="recall:Q", y="precision:Q", tooltip=list(marked))
        )
    return _spec(alt.layer(*layers).properties(width=260, height=220))
