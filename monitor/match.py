"""The match stage: a pure function of an annotated article and the rule set."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from monitor.model import Annotated, Match
from monitor.rules.schema import MatchSpec, Rule, RuleSet


def matches_spec(item: Annotated, spec: MatchSpec) -> bool:
    actors, keywords = item.actors, item.keywords
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
        self._by_actor: dict[str, list[int]] = defaultdict(list)
        self._by_keyword: dict[str, list[int]] = defaultdict(list)
        for i, rule in enumerate(self.rules):
            spec = rule.match
            # one requirement that every match must meet is enough to find the rule
            if spec.actors:
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
        found: set[int] = set()
        for actor in item.actors:
            found.update(self._by_actor.get(actor, ()))
        for keyword in item.keywords:
            found.update(self._by_keyword.get(keyword, ()))
        return [self.rules[i] for i in sorted(found)]

    def match(self, items: Iterable[Annotated]) -> list[Match]:
        """Every (rule, article) pair where the article satisfies the rule, in input order."""
        out: list[Match] = []
        for item in items:
            if item.actors or item.keywords:
                out.extend(
                    Match(rule.id, item) for rule in self.candidates(item) if matches_spec(item, rule.match)
                )
        return out


def match(items: Iterable[Annotated], rules: Iterable[Rule]) -> list[Match]:
    """Reference form of matching: every rule against every article."""
    rules = [r for r in rules if r.enabled]
    return [Match(r.id, item) for item in items for r in rules if matches_spec(item, r.match)]
