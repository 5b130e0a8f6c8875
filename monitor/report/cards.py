"""The report's text: one card per alert (all its reasons, its articles) and the noise table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from monitor.model import Alert, ArticleRef
from monitor.report.charts import KIND_COLOURS, kinds
from monitor.rules.schema import RuleSet

MAX_ARTICLES = 25  # per card; the rest are counted


def card(a: Alert) -> str:
    """Each alert once: its kinds, severity, when, summary, reasons, changes and articles."""
    ks = kinds(a)
    badges = "".join(f"<span class=kind style='background:{KIND_COLOURS.get(k, '#333')}'>{escape(k)}</span>"
                     for k in ks)
    lines = [f"<div class='alert {a.severity}' data-rule='{escape(a.rule)}' data-story='{escape(a.story)}' "
             f"data-kinds='{escape(' '.join(ks))}' data-severity='{a.severity}'>",
             f"<div>{badges} <b>{a.severity}</b> · {a.at:%Y-%m-%d %H:%M} UTC · story "
             f"<code>{escape(a.story)}</code></div>",
             f"<div class=summary>{escape(a.summary)}</div>"]
    reasons = [r for r in _reasons(a) if r]
    if reasons:
        lines.append("<ul class=why>" + "".join(f"<li>{escape(r)}</li>" for r in reasons) + "</ul>")
    if a.changes is not None:
        for label, items in (("new actors", a.changes.new_actors), ("rising", a.changes.rising),
                             ("fading", a.changes.fading)):
            if items:
                terms = ", ".join(f"{i.term} ({len(i.articles)})" if i.articles else i.term for i in items)
                lines.append(f"<div class=meta>{label}: {escape(terms)}</div>")
    lines.append(_articles(a.articles))
    lines.append("</div>")
    return "\n".join(lines)


def _reasons(a: Alert) -> list[str]:
    """Each reason once, and not the summary again: ``name: text`` keeps the name when the
    text repeats the summary."""
    out: list[str] = []
    for part in a.reason.split("\n"):
        name, _, text = part.partition(": ")
        if text and a.summary.startswith(text.strip()[:60]):
            part = name
        if part.strip() and part not in out:
            out.append(part.strip())
    return out


def _articles(refs: Sequence[ArticleRef]) -> str:
    rows = []
    for ref in refs[:MAX_ARTICLES]:
        title = escape(ref.title)
        link = f"<a href='{escape(ref.url)}'>{title}</a>" if ref.url else title
        rows.append(f"<tr><td>{ref.published_at:%Y-%m-%d %H:%M}</td><td>{escape(ref.source or '')}</td>"
                    f"<td>{link}</td></tr>")
    extra = len(refs) - MAX_ARTICLES
    more = f"<tr><td colspan=3>and {extra} more</td></tr>" if extra > 0 else ""
    return f"<table class=articles>{''.join(rows)}{more}</table>" if rows else ""


def noise_table(alerts: Sequence[Alert], matches: Sequence[tuple[str, str, float]], ruleset: RuleSet) -> str:
    """Per rule: alerts, threads, story-days, alerts per story-day, and the share of each kind."""
    story_days: dict[str, set[tuple[str, str]]] = {}
    for rule_id, story, at in matches:
        day = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")
        story_days.setdefault(rule_id, set()).add((story, day))
    rows = []
    for rule in ruleset.rules:
        mine = [a for a in alerts if a.rule == rule.id]
        days = story_days.get(rule.id, set())
        threads = len({s for s, _ in days} | {a.story for a in mine})
        per_day = f"{len(mine) / len(days):.2f}" if days else "–"
        shares = Counter(k for a in mine for k in kinds(a))
        total = sum(shares.values())
        share = ", ".join(f"{k} {100 * n / total:.0f}%" for k, n in shares.most_common()) if total else "–"
        rid = escape(rule.id)
        rows.append(f"<tr data-rule='{rid}'><td><a href='#{rid}'>{rid}</a></td>"
                    f"<td>{len(mine)}</td><td>{threads}</td><td>{len(days)}</td><td>{per_day}</td>"
                    f"<td>{escape(share)}</td></tr>")
    head = ("<tr><th>rule</th><th>alerts</th><th>threads</th><th>story-days</th>"
            "<th>alerts per story-day</th><th>share of each kind</th></tr>")
    return f"<table class=noise>{head}{''.join(rows)}</table>"
