"""Per rule and story: the articles in its windows and each detector's small state."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from monitor.model import Annotated, Match
from monitor.topic import lead_words, supports

SUPPORT_SCAN = 200  # the story's newest articles a lone one is compared with


@dataclass(frozen=True, slots=True)
class Event:
    """One matching article as a story's windows remember it (times are epoch seconds)."""

    at: float
    id: str
    title: str
    source: str | None = None
    url: str | None = None
    actors: tuple[tuple[str, str], ...] = ()  # (id, display name)
    terms: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    why: str = ""  # why the rule counts the article ("Syria in the headline")
    cast: tuple[tuple[str, float, str], ...] = ()  # its most salient other actors: id, salience, sentence
    copy_of: str | None = None  # a syndicated copy of this earlier article (monitor.detect.copies)
    central: bool = True  # most requirements of the rule in its headline or lead (``monitor.relevance``)
    lone: bool = False  # names one term of the rule and nothing else of its topic (``monitor.topic``)
    headlined: bool = True  # the rule's story in its headline or throughout (``monitor.relevance``)

    @classmethod
    def of(cls, item: Annotated, match: Match | None = None) -> Event:
        a = item.article
        return cls(
            at=a.published_at.timestamp(), id=a.id, title=a.title, source=a.source, url=a.url,
            actors=tuple(sorted(item.actors.items())), terms=item.terms,
            keywords=tuple(sorted(item.keywords)),
            why=match.why if match else "", cast=match.cast if match else (),
            central=match.central if match else True, lone=match.lone if match else False,
            headlined=match.headlined if match else True,
        )

    def salience(self, actor: str) -> float:
        return next((s for a, s, _ in self.cast if a == actor), 0.0)

    def sentence(self, actor: str) -> str:
        return next((q for a, _, q in self.cast if a == actor), "")

    def to_json(self) -> list[Any]:
        row = [self.at, self.id, self.title, self.source, self.url, [list(p) for p in self.actors],
               list(self.terms), list(self.keywords), self.why, [list(c) for c in self.cast]]
        if not self.headlined:
            return [*row, self.copy_of, self.central, self.lone, False]
        if self.lone:
            return [*row, self.copy_of, self.central, True]
        if not self.central:
            return [*row, self.copy_of, False]
        return [*row, self.copy_of] if self.copy_of is not None else row

    @classmethod
    def from_json(cls, data: list[Any]) -> Event:
        at, id_, title, source, url, actors, terms, keywords = data[:8]
        why, cast = (data[8], data[9]) if len(data) >= 10 else ("", [])  # state saved before either
        copy_of = data[10] if len(data) > 10 else None
        central = bool(data[11]) if len(data) > 11 else True
        lone = bool(data[12]) if len(data) > 12 else False
        headlined = bool(data[13]) if len(data) > 13 else True
        pairs = tuple((a, b) for a, b in actors)
        return cls(at, id_, title, source, url, pairs, tuple(terms), tuple(keywords), why,
                   tuple((a, float(s), q) for a, s, q in cast), copy_of, central, lone, headlined)


@dataclass
class StoryState:
    """What one story of one rule needs to decide; events stay sorted by event time.

    ``count`` counts distinct texts: a syndicated copy (``Event.copy_of``) counts once, at
    its first appearance, so threshold and spike see "5 distinct" in "7 articles from 5
    outlets". ``times``, ``between`` and iteration hold every article.

    A lone article (``Event.lone``: one word of the rule, nothing else of its topic) is
    ``held``: in the story, not counted and carried by no alert, until another article of
    the story shares its subject (``monitor.topic.supports``); then it counts from its time.
    """

    rule: str
    story: str
    events: list[Event] = field(default_factory=list)
    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)
    times: list[float] = field(default_factory=list)  # event times, parallel to events
    distinct: list[float] = field(default_factory=list)  # times of the events that are no copy
    held: set[str] = field(default_factory=set)  # lone events no other article supports yet
    _leads: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    def add(self, event: Event) -> bool:
        """Insert in event-time order; False when this article is already counted."""
        if event.id in self.ids:
            return False
        self.ids.add(event.id)
        where = bisect.bisect_right(self.times, event.at)
        self.times.insert(where, event.at)
        self.events.insert(where, event)
        for held in [e for e in self.events[-SUPPORT_SCAN:] if e.id in self.held] if self.held else ():
            if self._supports(held, event):
                self.held.discard(held.id)
                self._count(held)
        if event.lone and not any(self._supports(event, e) for e in self.events[-SUPPORT_SCAN:]):
            self.held.add(event.id)
        else:
            self._count(event)
        return True

    def _count(self, event: Event) -> None:
        if event.copy_of is None or event.copy_of not in self.ids:
            bisect.insort_right(self.distinct, event.at)

    def _supports(self, a: Event, b: Event) -> bool:
        """Another article, not a copy of this one, on its subject."""
        if a is b or a.copy_of == b.id or b.copy_of == a.id or (a.copy_of and a.copy_of == b.copy_of):
            return False
        return supports(self._lead(a), self._lead(b))

    def _lead(self, event: Event) -> frozenset[str]:
        found = self._leads.get(event.id)
        if found is None:
            own = frozenset(w for k in event.keywords for w in k.split(" "))
            found = self._leads[event.id] = lead_words(event.terms, own)
        return found

    def counted(self, start: float, end: float) -> list[Event]:
        """``between`` less the held lone articles: what the story's counts and alerts carry."""
        return [e for e in self.between(start, end) if e.id not in self.held]

    def between(self, start: float, end: float) -> list[Event]:
        """Events with start < at <= end."""
        t = self.times
        return self.events[bisect.bisect_right(t, start) : bisect.bisect_right(t, end)]

    def count(self, start: float, end: float) -> int:
        """Distinct articles with start < at <= end (syndicated copies once)."""
        t = self.distinct
        return bisect.bisect_right(t, end) - bisect.bisect_right(t, start)

    @property
    def latest(self) -> float | None:
        return self.events[-1].at if self.events else None

    def evict(self, before: float) -> int:
        """Forget events at or before ``before``; returns how many went."""
        cut = bisect.bisect_right(self.times, before)
        for e in self.events[:cut]:
            self.ids.discard(e.id)
            self.held.discard(e.id)
            self._leads.pop(e.id, None)
        del self.events[:cut]
        del self.times[:cut]
        del self.distinct[: bisect.bisect_right(self.distinct, before)]
        return cut

    def slot(self, kind: str) -> dict[str, Any]:
        return self.detectors.setdefault(kind, {})

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)
