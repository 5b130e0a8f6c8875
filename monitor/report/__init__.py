"""The backtest report: one self-contained HTML page (plotly.js inline, no network) to decide
from whether a rule needs tuning: charts per rule and story thread, noise indicators, every
alert once with its reasons and articles, and filters by rule, story, kind and severity."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from plotly.offline import get_plotlyjs

from monitor.model import Alert
from monitor.report.cards import card, noise_table
from monitor.report.charts import bucket_size, figure, kinds
from monitor.rules.durations import format_duration
from monitor.rules.schema import Rule, RuleSet

if TYPE_CHECKING:
    from monitor.app import Backtest

MAX_THREAD_CHARTS = 40  # per rule; the busiest threads, the others are counted
_ASSETS = Path(__file__).parent


def render_html(
    run: Backtest | Sequence[Alert], ruleset: RuleSet, title: str = "Story Monitor backtest"
) -> str:
    """The page for a backtest (or a bare list of alerts: volumes then come from their articles)."""
    if isinstance(run, Sequence):
        alerts: Sequence[Alert] = run
        matches = [(a.rule, a.story, r.published_at.timestamp()) for a in alerts for r in a.articles]
        feed: Sequence[float] = [at for _, _, at in matches]
    else:
        alerts, feed, matches = run.alerts, run.feed, run.matches
    figures: dict[str, str] = {}
    sections = [_rule_section(rule, alerts, feed, matches, figures) for rule in ruleset.rules]
    head = (f"<!doctype html><meta charset=utf-8><title>{escape(title)}</title>"
            f"<style>{(_ASSETS / 'report.css').read_text()}</style>")
    body = [f"<h1>{escape(title)}</h1>", f"<p id=count>{len(alerts)} alerts</p>", _filters(alerts, ruleset),
            "<h2>Noise per rule</h2>", noise_table(alerts, matches, ruleset), *sections]
    data = json.dumps(figures).replace("</", "<\\/")
    scripts = (f"<script>{get_plotlyjs()}</script>"
               f"<script type=application/json id=figures>{data}</script>"
               f"<script>{(_ASSETS / 'report.js').read_text()}</script>")
    return head + "\n".join(body) + scripts


def write_html(path: Path, run: Backtest | Sequence[Alert], ruleset: RuleSet) -> None:
    path.write_text(render_html(run, ruleset), encoding="utf-8")


def _rule_section(rule: Rule, alerts: Sequence[Alert], feed: Sequence[float],
                  matches: Sequence[tuple[str, str, float]], figures: dict[str, str]) -> str:
    mine = [a for a in alerts if a.rule == rule.id]
    by_story: dict[str, list[float]] = defaultdict(list)
    for rid, story, at in matches:
        if rid == rule.id:
            by_story[story].append(at)
    size = bucket_size(feed)
    state = "" if rule.enabled else " (disabled)"
    out = [f"<section class=rule data-rule='{escape(rule.id)}'>",
           f"<h2 id='{escape(rule.id)}'>{escape(rule.id)}{state}</h2>",
           f"<p class=meta>{escape(rule.description)} — threshold {rule.threshold.count} in "
           f"{format_duration(rule.threshold.window)}, detect: {escape(', '.join(rule.detect))} — "
           f"{len(mine)} alerts, {sum(map(len, by_story.values()))} matching articles in "
           f"{len(by_story)} threads</p>"]
    everything = [t for ts in by_story.values() for t in ts]
    if everything or mine:
        out.append(_chart(figures, f"{rule.id}: all threads", everything, feed, mine, size, rule.id, "*"))
    threads = sorted(by_story, key=lambda s: (-sum(a.story == s for a in mine), -len(by_story[s]), s))
    if len(threads) > 1:
        for story in threads[:MAX_THREAD_CHARTS]:
            story_alerts = [a for a in mine if a.story == story]
            out.append(_chart(figures, f"thread {story}", by_story[story], feed, story_alerts, size,
                              rule.id, story))
        if len(threads) > MAX_THREAD_CHARTS:
            out.append(f"<p class=meta>{len(threads) - MAX_THREAD_CHARTS} quieter threads not drawn</p>")
    out.extend(card(a) for a in mine)
    out.append("</section>")
    return "\n".join(out)


def _chart(figures: dict[str, str], title: str, matches: Sequence[float], feed: Sequence[float],
           alerts: Sequence[Alert], size: float, rule: str, story: str) -> str:
    key = f"f{len(figures)}"
    figures[key] = figure(title, matches, feed, alerts, size)
    return (f"<div class=chart id={key} data-rule='{escape(rule)}' data-story='{escape(story)}' "
            f"data-kinds='*' data-severity='*'></div>")


def _filters(alerts: Sequence[Alert], ruleset: RuleSet) -> str:
    options: dict[str, list[str]] = {
        "rule": [r.id for r in ruleset.rules],
        "story": sorted({a.story for a in alerts}),
        "kind": sorted({k for a in alerts for k in kinds(a)}),
        "severity": [s for s in ("info", "warning", "high", "critical") if s in {a.severity for a in alerts}],
    }
    selects = []
    for name, values in options.items():
        opts = "".join(f"<option>{escape(v)}</option>" for v in values)
        selects.append(f"<label>{name} <select class=filter name={name}><option value=''>all</option>"
                       f"{opts}</select></label>")
    return f"<form id=filters>{' '.join(selects)}</form>"
