"""One message per story-moment: signals of one story, close in event time and drawn from
mostly the same articles, go out as one alert carrying every reason.

An alert of a moment kind (threshold, spike, shift, new_actor, any: ``detect/kinds.py``) is
held until event time has moved past ``at + hold_s`` (a later article, or a clock tick
after that moment; an ``any`` alert waits only for the rest of its instant, so a forwarded
article is not delayed but still carries the threshold it completes); a signal of the
same rule and story that comes in meanwhile, within ``hold_s`` of it and sharing at least
``overlap`` of the smaller set of articles, joins it. The merged alert keeps the first
alert's key, ``kind`` and numbers, lists every kind in ``kinds`` and every reason in
``reasons``, joins the summaries, and supports the union of the articles. Held alerts are saved with the
offsets, so a restart or a batch boundary between two signals changes nothing, and a
replay cannot post twice: the key is the first signal's, which a replay computes again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from monitor.detect.kinds import INSTANT_KINDS, MOMENT_KINDS
from monitor.model import Alert, Changes

SAME_MOMENT = "same_moment"
WEAK_ALONE = "weak_alone"
ALONE_SALIENCE = 1.5  # a new_actor no other signal joins needs its first actor this salient


@dataclass(frozen=True, slots=True)
class MomentParams:
    """How close two signals must be to be one story-moment."""

    hold_s: float = 300.0
    overlap: float = 0.5


@dataclass(frozen=True, slots=True)
class Moments:
    """Alerts waiting for the rest of their story-moment, oldest first."""

    held: tuple[Alert, ...] = ()


def _ids(alert: Alert) -> set[str]:
    return {a.id for a in alert.articles}


class MomentMerger:
    """Pure steps over ``Moments``: offer new alerts, release the ones whose moment is over."""

    def __init__(self, params: MomentParams | None = None, merged: Counter[str] | None = None) -> None:
        self.p = params or MomentParams()
        self.merged: Counter[str] = merged if merged is not None else Counter()

    def offer(self, m: Moments, alerts: list[Alert]) -> tuple[Moments, list[Alert]]:
        """Hold or merge each alert; alerts of other kinds pass straight through."""
        held, out = list(m.held), []
        for alert in alerts:
            if alert.kind not in MOMENT_KINDS:
                out.append(alert)
                continue
            i = next((i for i, h in enumerate(held) if self._joins(h, alert)), None)
            if i is None:
                held.append(alert)
            else:
                held[i] = merge(held[i], alert)
                self.merged[f"merged:{SAME_MOMENT}"] += 1
        return Moments(tuple(held)), out

    def release(self, m: Moments, now: float) -> tuple[Moments, list[Alert]]:
        """Alerts whose moment ended before ``now`` (all of them with ``now`` infinite)."""
        done = [h for h in m.held if h.at.timestamp() + self._hold(h) < now
                or (h.kind in INSTANT_KINDS and h.at.timestamp() <= now)]
        keep = tuple(h for h in m.held if h not in done)
        weak = [h for h in done if not strong_enough(h)]
        self.merged[f"new_actor:{WEAK_ALONE}"] += len(weak)
        return Moments(keep), [h for h in done if h not in weak]

    def _hold(self, alert: Alert) -> float:
        """How long an alert waits: ``hold_s``, or only its own instant for an instant kind
        (``any`` forwards an article at once: it joins the signals of that same moment, all of
        which the engine offers in one call, since a batch never ends inside an instant)."""
        return 0.0 if alert.kind in INSTANT_KINDS else self.p.hold_s

    def _joins(self, held: Alert, alert: Alert) -> bool:
        if (held.rule, held.story) != (alert.rule, alert.story) or alert.kind in held.kinds:
            return False
        if abs(alert.at.timestamp() - held.at.timestamp()) > min(self._hold(held), self._hold(alert)):
            return False
        a, b = _ids(held), _ids(alert)
        return bool(a and b) and len(a & b) >= self.p.overlap * min(len(a), len(b))


def strong_enough(alert: Alert) -> bool:
    """Any alert but a lone new_actor, and that one when its first actor is salient enough
    (or when its articles were annotated without positions, so that no salience is known)."""
    if tuple(alert.kinds or (alert.kind,)) != ("new_actor",) or alert.changes is None:
        return True
    placed = [c for c in alert.changes.new_actors if c.context]
    return not placed or max(c.score for c in placed) >= ALONE_SALIENCE


def merge(first: Alert, other: Alert) -> Alert:
    """``first`` with ``other``'s kind, reason, summary and articles added; key and kind kept."""
    seen = _ids(first)
    articles = sorted([*first.articles, *(a for a in other.articles if a.id not in seen)],
                      key=lambda a: a.published_at)
    severities = ("info", "warning", "high", "critical")
    return replace_alert(
        first, kinds=(*first.kinds, other.kind), reasons=(*first.reasons, other.reason),
        summary=f"{first.summary}; {other.summary}",
        articles=tuple(articles), changes=merge_changes(first.changes, other.changes),
        severity=max(first.severity, other.severity, key=severities.index),
    )


def merge_changes(a: Changes | None, b: Changes | None) -> Changes | None:
    """What moved, from both: a shift's rising and fading terms and a new actor's names."""
    if a is None or b is None:
        return a or b
    seen = {c.term for c in a.new_actors}
    return Changes(rising=a.rising or b.rising, fading=a.fading or b.fading,
                   new_actors=(*a.new_actors, *(c for c in b.new_actors if c.term not in seen)),
                   divergence=a.divergence if a.divergence is not None else b.divergence)


def replace_alert(alert: Alert, **changes: object) -> Alert:
    return alert.model_copy(update=changes)

