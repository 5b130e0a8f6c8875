"""Turn a detector's signal into an explained Alert with a key that is stable across replays."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from monitor.detect.base import Signal
from monitor.detect.state import Event
from monitor.model import Alert, ArticleRef
from monitor.rules.durations import format_duration
from monitor.rules.schema import Rule, RuleSet

MAX_ARTICLES = 50


def alert_key(rule: str, story: str, kind: str, at: float) -> str:
    stamp = datetime.fromtimestamp(at, UTC).strftime("%Y%m%dT%H%M%SZ")
    digest = hashlib.sha256(f"{rule}\x00{story}\x00{kind}\x00{at:.3f}".encode()).hexdigest()[:12]
    return f"{rule}:{kind}:{stamp}:{digest}"


def build_alert(rule: Rule, ruleset: RuleSet, story: str, signal: Signal) -> Alert:
    events = signal.events[-MAX_ARTICLES:]
    actors = _actor_names(rule, ruleset, events)
    keywords = tuple(sorted({k for e in events for k in e.keywords if k in rule.match.phrases}))
    return Alert(
        key=alert_key(rule.id, story, _key_kind(signal), signal.at),
        rule=rule.id,
        kind=signal.kind,  # type: ignore[arg-type]
        at=datetime.fromtimestamp(signal.at, UTC),
        story=story,
        severity=rule.severity,  # type: ignore[arg-type]
        summary=_summary(signal, actors, keywords),
        reason=f"{signal.reason}: {signal.explanation}",
        description=rule.description,
        channel=rule.channel,
        actors=actors,
        keywords=keywords,
        count=signal.count,
        threshold=signal.threshold,
        window_s=signal.window_s,
        articles=tuple(_ref(e) for e in events),
        changes=signal.changes,
    )


def _key_kind(signal: Signal) -> str:
    """A ``resolved`` signal names the detector it ends, so two endings at once keep two keys."""
    of = signal.extra.get("of")
    return f"{signal.kind}-{of}" if of else signal.kind


def _actor_names(rule: Rule, ruleset: RuleSet, events: tuple[Event, ...]) -> tuple[str, ...]:
    present = {a for e in events for a, _ in e.actors}
    wanted = list(rule.match.actors) + [a for a in rule.match.any_actors if a in present]
    return tuple(ruleset.actors[a].name for a in dict.fromkeys(wanted) if a in ruleset.actors)


def _summary(signal: Signal, actors: tuple[str, ...], keywords: tuple[str, ...]) -> str:
    about = ", ".join(actors) or "matching coverage"
    if keywords:
        about += " + " + ", ".join(keywords)
    if signal.kind == "threshold" and signal.window_s:
        return f"{coverage(signal.events, signal.count)} in {format_duration(signal.window_s)}: {about}"
    if signal.kind == "spike" and signal.events:
        return f"{signal.explanation} ({coverage(signal.events, signal.count)}): {about}"
    return f"{signal.explanation}: {about}"


def coverage(events: tuple[Event, ...], distinct: int | None = None) -> str:
    """'7 articles from 5 outlets (2 syndicated copies counted once)': how many articles, from
    how many outlets, and how many of them are copies of another (``Event.copy_of``)."""
    n = len(events)
    text = f"{n} article{'' if n == 1 else 's'}"
    outlets = len({e.source for e in events if e.source})
    if outlets:
        text += f" from {outlets} outlet{'' if outlets == 1 else 's'}"
    copies = sum(1 for e in events if e.copy_of is not None)
    if copies and (distinct is None or distinct < n):
        text += f" ({copies} syndicated cop{'y' if copies == 1 else 'ies'} counted once)"
    return text


def _ref(e: Event) -> ArticleRef:
    return ArticleRef(
        id=e.id, title=e.title, source=e.source, url=e.url,
        published_at=datetime.fromtimestamp(e.at, UTC), why=e.why or None,
    )
