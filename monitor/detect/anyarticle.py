"""Any: every matching article about the story, at most one alert per ``min_interval`` per story.

An article that matches the rule but is not about its story (``Event.central``: most of the
rule's requirements in the headline or the lead) is counted as ``any:off_story`` and not
forwarded: a health-bill piece with a one-line jibe about tax returns is no tax-returns news.
An article that names one of the rule's words and nothing else of its topic, and that no
article of the story supports (``StoryState.held``, ``monitor.topic``), is ``any:off_topic``:
"bleach" in a court report under a rule on coral bleaching. One that names the story only
in its lead, as background (``Event.headlined``, ``monitor.relevance``), is ``any:background``.

An article whose lead (its first ``LEAD_TERMS`` terms, headline first) adds fewer than
``MIN_NEW`` words that say something (``monitor.detect.content``: rare in English, not the
rule's own) to what the story's articles of the last ``RECENT`` said is a repeat (a day-late
recap, a rewrite of the wire story) and is counted as ``any:repeat``, not forwarded. A lead
article shorter than a lead (a bare headline, a one-line stub) is a repeat only when it has
no word the story's last days did not have, common words included: "Alphaland summit ends"
after "... opens" is news in one common word; a stub that is yesterday's opening sentence
is not.
"""

from __future__ import annotations

from collections import Counter

from monitor.detect.base import Signal, cooled, mark_fired
from monitor.detect.content import content_of, is_own, own_features
from monitor.detect.features import features
from monitor.detect.state import Event, StoryState
from monitor.rules.schema import Rule

OFF_STORY, OFF_TOPIC, BACKGROUND, REPEAT = "off_story", "off_topic", "background", "repeat"
LEAD_TERMS = 20  # the headline and lead of an article, in terms
MIN_NEW = 2  # words an article's lead must add to the story's recent articles
RECENT = 2 * 86400.0  # what the story said in the last two days


class AnyDetector:
    """Forwards each matching article, rate-limited; the rest are counted as suppressed."""

    kind = "any"

    def __init__(self, counters: Counter[str] | None = None) -> None:
        self.counters: Counter[str] = counters if counters is not None else Counter()

    def _count(self, reason: str) -> None:
        self.counters[f"{self.kind}:{reason}"] += 1

    def observe(self, rule: Rule, state: StoryState, event: Event, now: float) -> list[Signal]:
        if event.at < now:
            return []  # a late article: the story has moved on since
        if not event.central:  # it names the story, but in passing: not an article about it
            self._count(OFF_STORY)
            return []
        if event.id in state.held:  # one of the rule's words, in another sense or story
            self._count(OFF_TOPIC)
            return []
        if not event.headlined:  # the story only recalled in the lead of a piece on something else
            self._count(BACKGROUND)
            return []
        if not cooled(state, self.kind, event.at, rule.any.min_interval.total_seconds()):
            slot = state.slot(self.kind)
            slot["suppressed"] = int(slot.get("suppressed", 0)) + 1
            return []
        if _repeat(rule, state, event):  # nothing the story's last days did not say
            self._count(REPEAT)
            return []
        mark_fired(state, self.kind, event.at)
        return [Signal(self.kind, event.at, "matching_article", "a new matching article", events=(event,))]

    def tick(self, rule: Rule, state: StoryState, now: float) -> list[Signal]:
        return []


def _repeat(rule: Rule, state: StoryState, event: Event) -> bool:
    """The article's lead says nothing the story's articles of the last ``RECENT`` did not."""
    earlier = [e for e in state.between(event.at - RECENT, event.at) if e.id != event.id]
    if not earlier or not event.terms:
        return False  # the story's first article, or one annotated without terms: cannot tell
    own = own_features(rule)
    mine = features(event)
    seen = set().union(*(features(e) for e in earlier))
    if len(event.terms) < LEAD_TERMS:  # a bare headline or a stub: any new word is a turn
        return not {t for t in mine.keys() - seen if not is_own(t, own)}
    lead = content_of((t for t in event.terms[:LEAD_TERMS] if t in mine), own)
    return len({w for t in lead - seen for w in t.split(" ")}) < MIN_NEW
