"""The daily digest: the day's alerts (from the outbox) and the stories that grew most."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as dtime

from monitor.detect.state import StoryState
from monitor.errors import ConfigError
from monitor.service.ports import DigestHost, StatePort
from monitor.service.post import Poster

DAY_S = 86_400.0
TOP_STORIES = 5
META_KEY = "digest_day"


def parse_at(text: str) -> dtime:
    """``slack.digest_at`` as a UTC time of day, ``HH:MM``."""
    try:
        hours, minutes = (int(p) for p in text.split(":"))
        return dtime(hours, minutes, tzinfo=UTC)
    except ValueError:
        raise ConfigError(f"slack.digest_at: expected HH:MM (UTC), got {text!r}") from None


def due_day(now: datetime, at: dtime, last: date | None) -> date | None:
    """The day whose digest is due at ``now``, or None: once a day, at or after ``at``."""
    if now.astimezone(UTC).timetz() < at or (last is not None and last >= now.date()):
        return None
    return now.date()


@dataclass(frozen=True, slots=True)
class AlertCount:
    rule: str
    kind: str
    count: int


@dataclass(frozen=True, slots=True)
class Growth:
    """How much a story grew: articles in the last day against the day before."""

    rule: str
    story: str
    recent: int
    before: int


def day_alerts(store: StatePort, start: float, end: float) -> list[AlertCount]:
    """Alerts queued in ``[start, end)`` (wall time), by rule and kind."""
    return [AlertCount(r, k, n) for r, k, n in store.alert_counts(start, end)]


def growth(states: Mapping[tuple[str, str], StoryState], end: float, top: int = TOP_STORIES) -> list[Growth]:
    """The stories with the most more articles in the day before ``end`` than in the day before that."""
    found = []
    for (rule, story), state in states.items():
        recent = state.count(end - DAY_S, end)
        before = state.count(end - 2 * DAY_S, end - DAY_S)
        if recent > before:
            found.append(Growth(rule, story, recent, before))
    found.sort(key=lambda g: (-(g.recent - g.before), -g.recent, g.rule, g.story))
    return found[:top]


def render(day: date, alerts: list[AlertCount], grew: list[Growth]) -> str:
    """Slack mrkdwn text of the digest."""
    lines = [f"*Story Monitor digest for {day:%A %d %B %Y}* (24 h to the digest time, UTC)"]
    total = sum(a.count for a in alerts)
    lines.append(f"*Alerts:* {total}" if total else "*Alerts:* none")
    by_rule: dict[str, list[AlertCount]] = {}
    for a in alerts:
        by_rule.setdefault(a.rule, []).append(a)
    for rule, counts in by_rule.items():
        kinds = ", ".join(f"{c.kind} {c.count}" for c in counts)
        lines.append(f"• `{rule}`: {sum(c.count for c in counts)} ({kinds})")
    lines.append("*Stories that grew most:*" if grew else "*Stories that grew most:* none")
    for g in grew:
        story = g.rule if g.story == g.rule else f"{g.rule} / {g.story}"
        lines.append(f"• `{story}`: {g.recent} articles in the last 24 h ({g.before} the day before)")
    return "\n".join(lines)


class Digest:
    """Posts the digest once a day at ``slack.digest_at`` (UTC); runs on the loop thread."""

    def __init__(self, app: DigestHost, poster: Poster, channel: str, at: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.poster = poster
        self.channel = channel
        self.at = parse_at(at)
        self.clock = clock

    def run(self) -> bool:
        """Post when due (and not yet posted today, across restarts); True when posted."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        day = due_day(now, self.at, self._last())
        if day is None:
            return False
        end = datetime.combine(day, self.at).timestamp()
        store = self.app.store
        text = render(day, day_alerts(store, end - DAY_S, end), growth(self.app.pipeline.engine.states, end))
        self._remember(day)  # at most once a day: a failed post is logged, not repeated
        self.poster.post(self.channel, text, what="digest")
        return True

    def _last(self) -> date | None:
        value = self.app.store.get_meta(META_KEY)
        return None if value is None else date.fromisoformat(value)

    def _remember(self, day: date) -> None:
        self.app.store.put_meta(META_KEY, day.isoformat())
