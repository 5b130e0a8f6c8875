"""Builders for the Slack delivery tests: alerts, notifiers over the fake, outbox helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fakeslack import FakeSlack
from pydantic import SecretStr

from monitor.detect.engine import Delta
from monitor.model import Alert, ArticleRef, Changes, TermChange
from monitor.notify.outbox import Outbox
from monitor.notify.sender import Pacing, Sender
from monitor.notify.slack import SlackNotifier, ThreadStore, web_client
from monitor.settings import SlackSettings
from monitor.state.store import Store

T0 = datetime(2026, 3, 2, 17, 45, tzinfo=UTC)
FAST = Pacing(rate=20.0, burst=2, retry_base_s=0.05, retry_max_s=0.5)
TOKEN = "xoxb-test"


def ref(i: int, hours: float = 0.0, **kw: Any) -> ArticleRef:
    values: dict[str, Any] = {
        "id": f"port-{i:03d}", "title": f"Brennport dockers walk out, day {i}",
        "published_at": T0 - timedelta(hours=hours), "source": "Harbour Ledger",
        "url": f"https://harbourledger.example.com/{i}",
    }
    values.update(kw)
    return ArticleRef(**values)


def alert(n: int = 0, *, story: str = "brennport-dock-strike", channel: str | None = "#ports-desk",
          kind: str = "threshold", **kw: Any) -> Alert:
    """A threshold alert by default; ``n`` makes the key and time distinct."""
    values: dict[str, Any] = {
        "rule": "brennport-dock-strike",
        "kind": kind, "at": T0 + timedelta(minutes=n), "story": story, "severity": "warning",
        "summary": "3 articles in 6h: Norvania + strike, walkout",
        "reason": "threshold_reached: 3 articles in 6h >= 3", "description": "Dock strike at Brennport",
        "channel": channel, "actors": ("Norvania", "Harbour Workers Federation"),
        "keywords": ("strike", "walkout"), "count": 3, "threshold": 3, "window_s": 21600.0,
        "articles": (ref(2, 2.0), ref(3, 1.0), ref(4, 0.0)),
    }
    values.update(kw)
    values.setdefault("key", f"{values['rule']}:{kind}:{n:04d}:{story}")
    return Alert(**values)


def samples() -> dict[str, Alert]:
    """One alert per kind, plus very long headlines and 200 articles: the golden cases."""
    changes = Changes(
        rising=(TermChange(term="sanctions", score=0.41, articles=("dam-006", "dam-007")),
                TermChange(term="threat of force", score=0.33, articles=("dam-008",))),
        fading=(TermChange(term="water sharing", score=-0.27, articles=("dam-001", "dam-002")),),
        new_actors=(TermChange(term="Ilse Marchetti", score=1.0, articles=("dam-007", "dam-008")),),
        divergence=0.62)
    dam = tuple(ref(i, 30 - i, id=f"dam-{i:03d}", title=f"Greyfall Dam talks, report {i}",
                    source="Talmora Courier", url=f"https://courier.example.org/dam/{i}")
                for i in range(1, 9))
    common = {"rule": "greyfall-dam-dispute", "story": "greyfall-dam-dispute", "channel": "#diplomacy-desk",
              "description": "Greyfall Dam dispute between Veskaria and Talmora, and how it is framed",
              "actors": ("Veskaria", "Talmora"), "keywords": ("dam", "Greyfall"), "articles": dam,
              "threshold": None, "window_s": 86400.0}
    long_title = "Brennport <port> & harbour: " + "a very long headline about the strike " * 40
    return {
        "threshold": alert(1),
        "spike": alert(2, kind="spike", severity="high", summary="9 articles in 6h, 4.5x the 7d baseline",
                       reason="spike: 9 in 6h against 2.0 expected", count=9, threshold=None),
        "new_actor": alert(3, kind="new_actor", summary="new actor: Ilse Marchetti", count=3,
                           reason="new_actor: Ilse Marchetti in 2 articles of the last 24h",
                           changes=Changes(new_actors=changes.new_actors), **common),
        "shift": alert(4, kind="shift", summary="framing shifted: sanctions, threat of force",
                       reason="shift: divergence 0.62 above 0.35", count=5, changes=changes, **common),
        "silence": alert(5, kind="silence", severity="info", summary="no article for 24h",
                         reason="silence: last article 24h ago", count=0, threshold=None, articles=()),
        "any": alert(6, kind="any", severity="info", summary="new article: Brennport pickets", count=None,
                     threshold=None, window_s=None, articles=(ref(9),), reason="any: a matching article"),
        "resolved": alert(7, kind="resolved", severity="info", summary="back below threshold: 1 in 6h",
                          reason="resolved: 1 article in 6h < 3", count=1),
        "long_headlines": alert(8, description="x & y " * 400, summary="<b>" * 500,
                                articles=tuple(ref(i, i, title=long_title + str(i),
                                                   url="https://e.example/?a=1&b=" + "z" * 900)
                                               for i in range(12))),
        "threshold_spike": alert(10, kinds=("threshold", "spike"), reasons=(
            "threshold_reached: 3 articles in 6h >= 3",
            "rate_above_baseline: 3 articles in 6h, 6.0x the usual 0.5 per 6h (14 in the 7d before)")),
        "many_articles": alert(9, count=200, articles=tuple(ref(i, i / 10) for i in range(200)),
                               actors=tuple(f"Actor {i}" for i in range(300))),
    }


def commit(directory: Path | str, *alerts: Alert) -> int:
    """Put alerts in the outbox the way the run loop does."""
    store = Store(directory)
    try:
        return store.commit({}, Delta(), alerts)
    finally:
        store.close()


def settings(fake: FakeSlack, **kw: Any) -> SlackSettings:
    values: dict[str, Any] = {"token": SecretStr(TOKEN), "base_url": fake.base_url, "timeout_s": 2.0}
    values.update(kw)
    return SlackSettings(**values)


def notifier(fake: FakeSlack, directory: Path | str | None = None, **kw: Any) -> SlackNotifier:
    slack = settings(fake, **kw)
    threads = ThreadStore.at(directory) if directory is not None else ThreadStore()
    return SlackNotifier(web_client(slack), threads, slack.default_channel)


def sender(directory: Path | str, notify: Any, pacing: Pacing = FAST, **kw: Any) -> Sender:
    """A sender on the state of ``directory`` (a state directory or a ``postgresql://`` URL)."""
    return Sender(Outbox(directory), notify, pacing, **kw)


def statuses(directory: Path | str) -> dict[str, tuple[str, str | None]]:
    """Alert key -> (outbox status, last error)."""
    outbox = Outbox(directory)
    try:
        return outbox.statuses()
    finally:
        outbox.close()


def keys(messages: list[dict[str, Any]]) -> list[str]:
    """The alert keys carried by messages' metadata, in order."""
    return [m["metadata"]["event_payload"]["key"] for m in messages if m.get("metadata")]
