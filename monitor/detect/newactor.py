"""New actor: someone named in at least ``min_articles`` recent articles and never before in the story.

Actors are the ids annotation gives: rule actors linked by alias, and ``person:<surname>``,
``org:<name>``, ``place:<name>`` for the others, so name variants ("Sergei"/"Sergey
Lavrov", "Mr Lavrov") are one id and never new. When NER gives one name two ids ("Lavrov"
tagged an organisation once), a name that is another's tail counts as the same actor: it is
not new when the other is known, and the two are told as one. Press credits (the outlet
naming itself, wire agencies) are no actors (``features.story_actors``); outlets cited as
sources, reporters, page furniture and mis-tagged common words never reach this far
(``annotate/furniture.py``, ``names.not_an_actor``).

"Never before" is the story's whole life, not only the baseline: the detector keeps every
actor it has seen in the story with when it was first and last seen (``SEEN_MAX`` of them,
the longest unseen forgotten first), so an actor named ten days ago is not new again.
While the baseline holds fewer than ``min_baseline`` articles the story is still
assembling its cast and nobody counts as new.

Candidates are ranked by salience in the new articles (headline, lead, mentions, standing
next to the rule's actors: ``relevance.cast``), summed over the articles that name them;
the alert shows the ``MAX_LISTED`` most salient, each with the sentence that brings it in.
A quoted source (``detect/speakers.py``: the speaker of an attribution with a source's role,
"said Jane Roe, head of the monitoring group") ranks below every candidate that acts, and
sources alone raise no alert (``new_actor:speaker_only``).
Each actor is told once and stays announced for ``recent + baseline``. Nor is an actor new
whom an earlier message of the story already showed: every article that names it went out
with that message, or one of them did with the name in its headline ("Court orders arrest
of Leila de Lima"), counted as ``new_actor:already_told``. Inside the cooldown
nothing is announced: the actors are told with the first article after it, if still recent.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from monitor.detect import cast as newcomers
from monitor.detect.base import Signal, cooled, mark_fired
from monitor.detect.features import display_name, name_tokens, same_name, story_actors
from monitor.detect.known import KnownNames
from monitor.detect.speakers import speaker_only
from monitor.detect.state import Event, StoryState
from monitor.detect.threshold import ThresholdDetector, note_told, told_until
from monitor.model import Changes, TermChange
from monitor.rules.durations import format_duration
from monitor.rules.schema import Rule

# (this story, actor ids, since, until) -> articles of the feed's other stories naming each
Elsewhere = Callable[[StoryState, set[str], float, float], Mapping[str, int]]
Aliases = Callable[[str], tuple[str, ...]]  # a rule actor's name and aliases
MAX_LISTED = 3  # actors named in one alert, most salient first; the rest are counted
SEEN_MAX = 600  # actors remembered per story over its life
UNRANKED = 0.05  # salience of a mention outside an article's most salient actors


class NewActorDetector:
    """Names actors who walk into a story, with the articles that bring them."""

    kind = "new_actor"

    def __init__(self, counters: Counter[str] | None = None, elsewhere: Elsewhere | None = None,
                 aliases: Aliases | None = None) -> None:
        self.counters = counters  # candidates not announced, by reason (``detect/cast.py``)
        self.elsewhere = elsewhere  # the rest of the feed: how many of its articles name an actor
        self.aliases = aliases  # the rule's own actors' names: "Erdogan" in "Recep Tayyip Erdogan"

    def observe(self, rule: Rule, state: StoryState, event: Event, now: float) -> list[Signal]:
        p = rule.new_actor
        recent_s, baseline_s = p.recent.total_seconds(), p.baseline.total_seconds()
        slot = state.slot(self.kind)
        announced: dict[str, float] = {
            a: t for a, t in slot.get("announced", {}).items() if t > now - recent_s - baseline_s
        }
        slot["announced"] = announced
        seen = _remember(slot, event)
        baseline = state.between(now - recent_s - baseline_s, now - recent_s)
        if len(baseline) < p.min_baseline:
            return []
        recent = state.counted(now - recent_s, now)
        before = {a: v[2] for a, v in seen.items() if float(v[0]) <= now - recent_s}
        new = _candidates(rule, baseline, recent, before, set(announced), self._own_names(rule))
        new = self._keep(slot, new, now, recent_s + baseline_s, self._contexts(rule, state, new, now))
        new = self._untold(state, new, now)
        if not new:
            return []
        if not cooled(state, self.kind, now, rule.cooldown.total_seconds()):
            slot["deferred"] = int(slot.get("deferred", 0)) + 1  # told with a later article
            return []
        if all(speaker_only(_name(a, es), es, a) for a, es in new.items()):
            if self.counters is not None:  # quoted sources alone: nobody new acts in the story
                self.counters["new_actor:speaker_only"] += 1
            return []
        for actor in new:
            announced[actor] = now
        mark_fired(state, self.kind, now)
        return [_signal(self.kind, now, new, len(baseline), format_duration(p.baseline))]

    def _contexts(self, rule: Rule, state: StoryState, new: dict[str, list[Event]], now: float
                  ) -> dict[str, newcomers.Context]:
        need = rule.new_actor.min_articles
        if not new or self.elsewhere is None:
            return {a: newcomers.Context(need) for a in new}
        since = now - (rule.new_actor.recent + rule.new_actor.baseline).total_seconds()
        others = self.elsewhere(state, set(new), since, now)
        return {a: newcomers.Context(need, others.get(a, 0)) for a in new}

    def _keep(self, slot: dict[str, Any], new: dict[str, list[Event]], now: float,
              span: float, contexts: dict[str, newcomers.Context]) -> dict[str, list[Event]]:
        """The candidates ``detect/cast.py`` lets through; each one left out counted once a span."""
        left: dict[str, float] = {a: t for a, t in slot.get("left_out", {}).items() if t > now - span}
        kept, reasons = newcomers.keep(new, {a: _name(a, es) for a, es in new.items()}, contexts)
        for actor, reason in reasons.items():
            if actor not in left and self.counters is not None:
                self.counters[f"new_actor:{reason}"] += 1
            left.setdefault(actor, now)
        slot["left_out"] = left
        return kept

    def _untold(self, state: StoryState, new: dict[str, list[Event]], now: float) -> dict[str, list[Event]]:
        """The candidates no earlier message of the story showed the desk."""
        note_told(state, state.slot(ThresholdDetector.kind))
        told = told_until(state, now)
        kept = {}
        for actor, events in new.items():
            shown, name = [e for e in events if e.at <= told], _name(actor, events)
            if shown and (len(shown) == len(events) or any(_in_title(name, e) for e in shown)):
                if self.counters is not None:
                    self.counters["new_actor:already_told"] += 1
                continue
            kept[actor] = events
        return kept

    def tick(self, rule: Rule, state: StoryState, now: float) -> list[Signal]:
        return []  # an actor walks in with an article, never with the clock

    def _own_names(self, rule: Rule) -> list[str]:
        """The rule's actors as the rule files name them, so that NER's fuller form of one is
        not new ("Recep Tayyip Erdogan" for an actor with the alias "Erdogan"). A one-word alias
        that ends a fuller one ("Trump" of "Donald Trump") stays out: "Ivanka Trump" is new."""
        if self.aliases is None:
            return []
        out = []
        for actor in (*rule.match.actors, *rule.match.any_actors):
            names = self.aliases(actor)
            lasts = {n.split()[-1] for n in names if len(n.split()) > 1}
            out += [n for n in names if len(n.split()) > 1 or n not in lasts]
        return out


def _in_title(name: str, event: Event) -> bool:
    """The actor's surname (a name's last word) is a word of the article's headline."""
    words = name.lower().split()
    return bool(words) and words[-1] in re.findall(r"[^\W_]+", event.title.lower())


def _candidates(rule: Rule, baseline: list[Event], recent: list[Event], before: dict[str, str],
                announced: set[str], own_names: Sequence[str] = ()) -> dict[str, list[Event]]:
    """Recent actors in ``min_articles`` articles whom the story, the rule and its keywords never named."""
    cast = {a: n for e in baseline for a, n in story_actors(e)}
    own = set(rule.match.actors) | set(rule.match.any_actors)
    known = set(cast) | announced | set(before) | own
    names = KnownNames([*cast.values(), *before.values(), *own_names,
                         *(n for e in recent for a, n in e.actors if a in own)])
    terms = {name_tokens(k) for k in (*rule.match.keywords, *rule.match.all_keywords)}
    carriers = _carriers(recent, {a for e in recent for a, _ in story_actors(e)} - known)
    return {
        a: es for a, es in _merge_variants(carriers).items()
        if len(es) >= rule.new_actor.min_articles and not names.has(_name(a, es))
        and name_tokens(_name(a, es)) not in terms
    }


def _remember(slot: dict[str, Any], event: Event) -> dict[str, list[Any]]:
    """Every actor seen in the story: id -> [first seen, last seen, name], at most SEEN_MAX."""
    seen: dict[str, list[Any]] = slot.setdefault("seen", {})
    for actor, name in story_actors(event):
        if actor in seen:
            first, last, _ = seen[actor]
            seen[actor] = [min(float(first), event.at), max(float(last), event.at), name]
        else:
            seen[actor] = [event.at, event.at, name]
    if len(seen) > SEEN_MAX:
        keep = sorted(seen, key=lambda a: (-float(seen[a][1]), a))[:SEEN_MAX]
        slot["seen"] = seen = {a: seen[a] for a in keep}
    return seen


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


def _salience(actor: str, events: list[Event]) -> float:
    return sum(max(e.salience(actor), UNRANKED) for e in events)


def _sentence(actor: str, events: list[Event]) -> str | None:
    best = max(events, key=lambda e: (e.salience(actor), -e.at))
    return best.sentence(actor) or None


def _signal(kind: str, now: float, new: dict[str, list[Event]], baseline: int, span: str) -> Signal:
    def rank(kv: tuple[str, list[Event]]) -> tuple[bool, float, int, str]:  # sources after who acts
        return speaker_only(_name(*kv), kv[1], kv[0]), -_salience(*kv), -len(kv[1]), _name(*kv)

    ranked = sorted(new.items(), key=rank)
    changes = tuple(
        TermChange(term=_name(a, es), score=round(_salience(a, es), 3), articles=tuple(e.id for e in es),
                   context=_sentence(a, es))
        for a, es in ranked[:MAX_LISTED]
    )
    listed = ", ".join(
        f"{c.term} ({len(c.articles)} article{'s' if len(c.articles) != 1 else ''})" for c in changes
    )
    more = f" and {len(ranked) - MAX_LISTED} less central" if len(ranked) > MAX_LISTED else ""
    events = {e.id: e for _, es in ranked[:MAX_LISTED] for e in es}
    return Signal(
        kind, now, "new_actor",
        f"new in the story: {listed}{more}; never named in it before ({baseline} article"
        f"{'s' if baseline != 1 else ''} in the {span} before)",
        events=tuple(sorted(events.values(), key=lambda e: (e.at, e.id))),
        count=len(ranked), changes=Changes(new_actors=changes),
    )
