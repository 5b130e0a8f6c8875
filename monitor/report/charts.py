"""The report's charts: a rule's or a story thread's matching articles over time, the whole
feed beneath, and each alert as a marker coloured by its kind (plotly figures as JSON)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

import plotly.graph_objects as go
from plotly.subplots import make_subplots

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


def _series(times: Sequence[float], size: float) -> tuple[list[datetime], list[int]]:
    counts = Counter(int(t // size) for t in times)
    keys = sorted(counts)
    # a bar stands over the middle of its bucket, so it covers the hours it counts
    return [datetime.fromtimestamp((k + 0.5) * size, UTC) for k in keys], [counts[k] for k in keys]


def figure(title: str, matches: Sequence[float], feed: Sequence[float], alerts: Sequence[Alert],
           size: float) -> str:
    """One chart as plotly JSON: matching volume (top), feed volume (bottom), alert markers."""
    unit = {HOUR: "hour", 6 * HOUR: "6 hours"}.get(size, "day")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.06)
    x, y = _series(matches, size)
    fig.add_trace(go.Bar(x=x, y=y, name=f"matching articles per {unit}", marker_color="#9ecae1",
                         showlegend=False), row=1, col=1)
    fx, fy = _series(feed, size)
    fig.add_trace(go.Bar(x=fx, y=fy, name=f"feed per {unit}", marker_color="#d9d9d9", showlegend=False),
                  row=2, col=1)
    per_bucket = Counter(int(t // size) for t in matches)
    stacked: Counter[int] = Counter()
    by_kind: dict[str, tuple[list[datetime], list[float], list[str]]] = {}
    for alert in alerts:
        slot = int(alert.at.timestamp() // size)
        stacked[slot] += 1  # alerts of one bucket stand one above the other, not on top of each other
        xs, ys, texts = by_kind.setdefault(kinds(alert)[0], ([], [], []))
        xs.append(alert.at)
        ys.append(per_bucket.get(slot, 0) + 0.6 * stacked[slot])
        texts.append(f"{' + '.join(kinds(alert))} · {alert.at:%Y-%m-%d %H:%M}<br>{alert.summary[:140]}")
    for kind, (xs, ys, texts) in sorted(by_kind.items()):
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", name=kind, text=texts, hoverinfo="text",
                                 marker={"color": KIND_COLOURS.get(kind, "#333"), "size": 10,
                                         "line": {"width": 1, "color": "#fff"}}), row=1, col=1)
    fig.update_layout(title={"text": title, "font": {"size": 13}}, height=300, bargap=0.05,
                      margin={"l": 40, "r": 10, "t": 34, "b": 24},
                      legend={"orientation": "h", "y": 1.14, "x": 1, "xanchor": "right"},
                      template="plotly_white")
    fig.update_yaxes(title_text="matching", row=1, col=1)
    fig.update_yaxes(title_text="feed", row=2, col=1)
    return str(fig.to_json())
