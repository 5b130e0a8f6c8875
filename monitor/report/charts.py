"""The report's charts: a rule's or a story thread's matching articles over time, the whole
feed beneath, and each alert as a marker coloured by its kind (plotly figures as JSON)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from html import escape
from typing import Any

from plotly.subplots import make_subplots
from plotly.utils import PlotlyJSONEncoder

from monitor.model import Alert

KIND_COLOURS = {"threshold": "#1f77b4", "spike": "#d62728", "new_actor": "#2ca02c", "shift": "#9467bd",
                "silence": "#7f7f7f", "any": "#17becf", "resolved": "#bcbd22"}
HOUR, DAY = 3600.0, 86400.0


def kinds(alert: Alert) -> tuple[str, ...]:
    """Every signal an alert carries (``kinds`` when the alert has it), the first being ``kind``."""
    return tuple(getattr(alert, "kinds", None) or (alert.kind,))


def bucket_size(feed: Sequence[float]) -> float:
    """Bars of an hour for a feed of up to two days, of six hours up to two weeks, else of a day."""
    span = max(feed) - min(feed) if feed else 0.0
    return HOUR if span <= 2 * DAY else 6 * HOUR if span <= 14 * DAY else DAY


def _series(times: Sequence[float], size: float) -> tuple[list[str], list[int]]:
    counts = Counter(int(t // size) for t in times)
    keys = sorted(counts)
    # a bar stands over the middle of its bucket, so it covers the hours it counts
    return [_iso((k + 0.5) * size) for k in keys], [counts[k] for k in keys]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


@lru_cache(maxsize=1)
def _layout() -> str:
    """Two rows on one time axis, made once by plotly; each chart fills in its title and data."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.06)
    fig.update_layout(height=300, bargap=0.05, margin={"l": 40, "r": 10, "t": 34, "b": 24},
                      legend={"orientation": "h", "y": 1.14, "x": 1, "xanchor": "right"},
                      template="plotly_white")
    fig.update_yaxes(title_text="matching", row=1, col=1)
    fig.update_yaxes(title_text="feed", row=2, col=1)
    return json.dumps(fig.to_plotly_json()["layout"], cls=PlotlyJSONEncoder)


def figure(title: str, matches: Sequence[float], feed: Sequence[float], alerts: Sequence[Alert],
           size: float) -> str:
    """One chart as plotly JSON: matching volume (top), feed volume (bottom), alert markers.

    Traces are written as plotly's JSON schema directly: building a validated ``go.Figure``
    per chart took 50 s for the 200 charts of 5,000 alerts (docs/benchmarks.md)."""
    unit = {HOUR: "hour", 6 * HOUR: "6 hours"}.get(size, "day")
    x, y = _series(matches, size)
    fx, fy = _series(feed, size)
    data: list[dict[str, Any]] = [
        {"type": "bar", "x": x, "y": y, "name": f"matching articles per {unit}", "showlegend": False,
         "marker": {"color": "#9ecae1"}, "xaxis": "x", "yaxis": "y"},
        {"type": "bar", "x": fx, "y": fy, "name": f"feed per {unit}", "showlegend": False,
         "marker": {"color": "#d9d9d9"}, "xaxis": "x2", "yaxis": "y2"},
    ]
    per_bucket = Counter(int(t // size) for t in matches)
    stacked: Counter[int] = Counter()
    by_kind: dict[str, tuple[list[str], list[float], list[str]]] = {}
    for alert in alerts:
        slot = int(alert.at.timestamp() // size)
        stacked[slot] += 1  # alerts of one bucket stand one above the other, not on top of each other
        xs, ys, texts = by_kind.setdefault(kinds(alert)[0], ([], [], []))
        xs.append(_iso(alert.at.timestamp()))
        ys.append(per_bucket.get(slot, 0) + 0.6 * stacked[slot])
        summary = escape(alert.summary[:140])
        texts.append(f"{' + '.join(kinds(alert))} · {alert.at:%Y-%m-%d %H:%M}<br>{summary}")
    for kind, (xs, ys, texts) in sorted(by_kind.items()):
        data.append({"type": "scatter", "mode": "markers", "x": xs, "y": ys, "name": kind, "text": texts,
                     "hoverinfo": "text", "xaxis": "x", "yaxis": "y",
                     "marker": {"color": KIND_COLOURS.get(kind, "#333"), "size": 10,
                                "line": {"width": 1, "color": "#fff"}}})
    layout = json.loads(_layout())
    layout["title"] = {"text": escape(title), "font": {"size": 13}}
    return json.dumps({"data": data, "layout": layout})
