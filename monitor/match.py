"""The match stage: a pure function of an annotated article and the rule set.

An article that meets a rule's requirements counts for the rule only when they are
central to it (``relevance``, ``monitor/relevance.py``): a passing mention deep in a long
piece is not coverage of the story.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from monitor.model import Annotated, Match
from monitor.relevance import cast, level_of, relevance
from monitor.rules.schema import MatchSpec, Rule, RuleSet
from monitor.topic import lone


def matches_spec(item: Annotated, spec: MatchSpec) -> bool:
    actors, keywords = item.actors, item.keywords
    if spec.all:  # every article of the feed, less the excluded
        return not any(k in keywords for k in spec.exclude)
    return (
        all(a in actors for a in spec.actors)
        and (not spec.any_actors or any(a in actors for a in spec.any_actors))
        and (not spec.keywords or any(k in keywords for k in spec.keywords))
        and all(k in keywords for k in spec.all_keywords)
        and not any(k in keywords for k in spec.exclude)
    )


class Matcher:
    """Rules indexed by what they require, so an article is checked only against rules it can meet."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.rules = ruleset.enabled
        self.below = 0  # matches left out for too low a relevance (a metric's reason)
        self._by_actor: dict[str, list[int]] = defaultdict(list)
        self._by_keyword: dict[str, list[int]] = defaultdict(list)
        self._every: list[int] = []  # ``all: true`` rules: candidates for every article
        for i, rule in enumerate(self.rules):
            spec = rule.match
            # one requirement that every match must meet is enough to find the rule
            if spec.all:
                self._every.append(i)
            elif spec.actors:
                self._by_actor[spec.actors[0]].append(i)
            elif spec.all_keywords:
                self._by_keyword[spec.all_keywords[0]].append(i)
            elif spec.keywords:
                for k in spec.keywords:
                    self._by_keyword[k].append(i)
            else:
                for a in spec.any_actors:
                    self._by_actor[a].append(i)

    def candidates(self, item: Annotated) -> list[Rule]:
        found: set[int] = set(self._every)
        for actor in item.actors:
            found.update(self._by_actor.get(actor, ()))
        for keyword in item.keywords:
            found.update(self._by_keyword.get(keyword, ()))
        return [self.rules[i] for i in sorted(found)]

    def match(self, items: Iterable[Annotated]) -> list[Match]:
        """Every (rule, article) pair where the article satisfies the rule, in input order."""
        out: list[Match] = []
        for item in items:
            if item.actors or item.keywords or self._every:
                for rule in self.candidates(item):
                    if matches_spec(item, rule.match):
                        found = counted(item, rule)
                        if found is None:
                            self.below += 1
                        else:
                            out.append(found)
        return out


def counted(item: Annotated, rule: Rule) -> Match | None:
    """The match of an article that meets the rule, or None when it is not central enough."""
    rel = relevance(item, rule.match)
    if rel.score < level_of(rule.match):
        return None
    others = cast(item, rule.match) if "new_actor" in rule.detect else ()
    return Match(rule.id, item, rel.score, rel.why, others, rel.central, lone(item, rule), rel.headlined)


def match(items: Iterable[Annotated], rules: Iterable[Rule]) -> list[Match]:
    """Reference form of matching: every rule against every article."""
    rules = [r for r in rules if r.enabled]
    found = (counted(item, r) for item in items for r in rules if matches_spec(item, r.match))
    return [m for m in found if m is not None]
