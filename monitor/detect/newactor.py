"""New actor: someone named in at least ``min_articles`` recent articles and not in the baseline.

Actors are the ids annotation gives: rule actors linked by alias, and ``person:<surname>``,
``org:<name>``, ``place:<name>`` for the others, so name variants ("Sergei"/"Sergey
Lavrov", "Mr Lavrov") are one id and never new. When NER gives one name two ids ("Lavrov"
tagged an organisation once), a name that is another's tail counts as the same actor: it is
not new when the other is in the baseline, and the two are told as one. Press credits (the
outlet naming itself, wire agencies) are no actors (``features.story_actors``).

The baseline is the ``baseline`` before the ``recent`` window; while it holds fewer than
``min_baseline`` articles the story is still assembling its cast and nobody counts as new.
The check runs on each article; each actor is told once and stays announced for
``recent + baseline`` (after which it would be in the baseline anyway). Inside the cooldown
nothing is announced: the actors are told with the first article after it, if still recent.
"""

from __future__ import annotations

from collections import defaultdict

from monitor.detect.base import Signal, cooled, mark_fired
from monitor.detect.features import display_name, same_name, story_actors
from monitor.detect.state import Event, StoryState
from monitor.model import Changes, TermChange
from monitor.rules.durations import format_duration
from monitor.rules.schema import Rule

MAX_LISTED = 8  # actors named in one alert; the rest are counted in the explanation


class NewActorDetector:
    """Names actors who walk into a story, with the articles that bring them."""

    kind = "new_actor"

    def observe(self, rule: Rule, state: StoryState, event: Event, now: float) -> list[Signal]:
        p = rule.new_actor
        recent_s, baseline_s = p.recent.total_seconds(), p.baseline.total_seconds()
        slot = state.slot(self.kind)
        announced: dict[str, float] = {
            a: t for a, t in slot.get("announced", {}).items() if t > now - recent_s - baseline_s
        }
        slot["announced"] = announced
        baseline = state.between(now - recent_s - baseline_s, now - recent_s)
        if len(baseline) < p.min_baseline:
            return []
        cast = {a: n for e in baseline for a, n in story_actors(e)}
        known = set(cast) | set(announced)
        recent = state.between(now - recent_s, now)
        carriers = _carriers(recent, {a for e in recent for a, _ in story_actors(e)} - known)
        new = {
            a: es for a, es in _merge_variants(carriers).items()
            if len(es) >= p.min_articles and not any(same_name(_name(a, es), n) for n in cast.values())
        }
        if not new:
            return []
        if not cooled(state, self.kind, now, rule.cooldown.total_seconds()):
            slot["deferred"] = int(slot.get("deferred", 0)) + 1  # told with a later article
            return []
        for actor in new:
            announced[actor] = now
        mark_fired(state, self.kind, now)
        return [_signal(self.kind, now, new, len(baseline), format_duration(p.baseline))]

    def tick(self, rule: Rule, state: StoryState, now: float) -> list[Signal]:
        return []  # an actor walks in with an article, never with the clock


def _carriers(recent: list[Event], wanted: set[str]) -> dict[str, list[Event]]:
    """For each wanted actor, the recent articles that name it, in time order."""
    out: dict[str, list[Event]] = defaultdict(list)
    if not wanted:
        return out
    for e in recent:
        for actor, _ in e.actors:
            if actor in wanted:
                out[actor].append(e)
    return out


def _merge_variants(carriers: dict[str, list[Event]]) -> dict[str, list[Event]]:
    """One entry per actor when NER gave a name two ids ('Lavrov' as an org, 'Sergey Lavrov')."""
    out: dict[str, list[Event]] = {}
    for actor in sorted(carriers, key=lambda a: (-len(_name(a, carriers[a])), a)):
        host = next((h for h in out if same_name(_name(h, out[h]), _name(actor, carriers[actor]))), None)
        if host is None:
            out[actor] = list(carriers[actor])
        else:
            merged = {e.id: e for e in out[host] + carriers[actor]}
            out[host] = sorted(merged.values(), key=lambda e: (e.at, e.id))
    return out


def _name(actor: str, events: list[Event]) -> str:
    return display_name(actor, events)


def _signal(kind: str, now: float, new: dict[str, list[Event]], baseline: int, span: str) -> Signal:
    ranked = sorted(new.items(), key=lambda kv: (-len(kv[1]), _name(kv[0], kv[1])))
    changes = tuple(
        TermChange(term=_name(a, es), score=float(len(es)), articles=tuple(e.id for e in es))
        for a, es in ranked[:MAX_LISTED]
    )
    listed = ", ".join(
        f"{c.term} ({len(c.articles)} article{'s' if len(c.articles) != 1 else ''})" for c in changes
    )
    more = f" and {len(ranked) - MAX_LISTED} more" if len(ranked) > MAX_LISTED else ""
    events = {e.id: e for _, es in ranked[:MAX_LISTED] for e in es}
    return Signal(
        kind, now, "new_actor",
        f"new in the story: {listed}{more}; not named in the {baseline} article"
        f"{'s' if baseline != 1 else ''} of the {span} before",
        events=tuple(sorted(events.values(), key=lambda e: (e.at, e.id))),
        count=len(ranked), changes=Changes(new_actors=changes),
    )
