"""The backtest report: one static HTML page an analyst can open before shipping a rule."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from html import escape
from pathlib import Path

from monitor.model import Alert
from monitor.rules.durations import format_duration
from monitor.rules.schema import RuleSet

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse}td,th{padding:.2em .6em;text-align:left;border-bottom:1px solid #eee}
.alert{border-left:4px solid #999;padding:.3em .8em;margin:.8em 0;background:#fafafa}
.info{border-color:#4a90d9}.warning{border-color:#e0a800}.high{border-color:#e8590c}
.critical{border-color:#c92a2a}.meta{color:#666;font-size:.9em}.bar{fill:#4a90d9}
"""


def render_html(alerts: Sequence[Alert], ruleset: RuleSet, title: str = "Story Monitor backtest") -> str:
    """A self-contained page: totals per rule and kind, a timeline per rule, every alert explained."""
    by_rule: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts:
        by_rule[alert.rule].append(alert)
    parts = [f"<!doctype html><meta charset=utf-8><title>{escape(title)}</title><style>{_STYLE}</style>",
             f"<h1>{escape(title)}</h1>", _totals(alerts, ruleset)]
    for rule in ruleset.rules:
        found = by_rule.get(rule.id, [])
        state = "" if rule.enabled else " (disabled)"
        parts.append(f"<h2 id='{escape(rule.id)}'>{escape(rule.id)}{state}</h2>")
        parts.append(f"<p class=meta>{escape(rule.description)} — "
                     f"threshold {rule.threshold.count} in {format_duration(rule.threshold.window)}, "
                     f"detect: {escape(', '.join(rule.detect))} — {len(found)} alerts</p>")
        if found:
            parts.append(_timeline(found))
        parts.extend(_alert(a) for a in found)
    return "\n".join(parts)


def write_html(path: Path, alerts: Sequence[Alert], ruleset: RuleSet) -> None:
    path.write_text(render_html(alerts, ruleset), encoding="utf-8")


def _totals(alerts: Sequence[Alert], ruleset: RuleSet) -> str:
    counts = Counter((a.rule, a.kind) for a in alerts)
    kinds = sorted({k for _, k in counts})
    head = "".join(f"<th>{escape(k)}</th>" for k in kinds)
    rows = []
    for rule in ruleset.rules:
        cells = "".join(f"<td>{counts.get((rule.id, k), '')}</td>" for k in kinds)
        rows.append(f"<tr><td><a href='#{escape(rule.id)}'>{escape(rule.id)}</a></td>{cells}</tr>")
    return f"<table><tr><th>rule</th>{head}</tr>{''.join(rows)}</table><p>{len(alerts)} alerts</p>"


def _timeline(alerts: list[Alert], width: int = 600, height: int = 40) -> str:
    """Alerts of one rule on a time axis, as inline SVG ticks."""
    times = [a.at.timestamp() for a in alerts]
    start, end = min(times), max(times)
    span = max(end - start, 1.0)
    ticks = "".join(
        f"<rect class=bar x='{(t - start) / span * (width - 4):.1f}' y='4' width='4' height='{height - 8}'>"
        f"<title>{escape(a.kind)} {a.at:%Y-%m-%d %H:%M}</title></rect>"
        for t, a in zip(times, alerts, strict=True)
    )
    return (f"<svg width='{width}' height='{height}' role='img'>{ticks}</svg>"
            f"<div class=meta>{_day(start)} … {_day(end)}</div>")


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _alert(a: Alert) -> str:
    lines = [f"<div class='alert {a.severity}'><b>{escape(a.kind)}</b> · {a.at:%Y-%m-%d %H:%M} UTC · "
             f"story <code>{escape(a.story)}</code><br>{escape(a.summary)}",
             f"<div class=meta>{escape(a.reason)}</div>"]
    if a.changes is not None:
        for label, items in (("new actors", a.changes.new_actors), ("rising", a.changes.rising),
                             ("fading", a.changes.fading)):
            if items:
                lines.append(f"<div>{label}: {escape(', '.join(i.term for i in items))}</div>")
    links = []
    for ref in a.articles[-10:]:
        text = escape(ref.title) + (f" — {escape(ref.source)}" if ref.source else "")
        links.append(f"<li><a href='{escape(ref.url)}'>{text}</a></li>" if ref.url else f"<li>{text}</li>")
    lines.append(f"<ul>{''.join(links)}</ul></div>")
    return "\n".join(lines)
