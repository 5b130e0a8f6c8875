"""Small builders for tests: articles, annotated items and rules without YAML files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.model import Annotated, Article, Match
from monitor.rules.schema import ActorDef, MatchSpec, Rule, RuleSet, Threshold

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)

# sentences about nothing any test rule follows: the body of an article that is about
# something else, or the rest of one whose lead is about the story
FILLER = [
    "The council met on Monday to discuss the budget for the coming year.",
    "Several members asked for more time to read the proposals.",
    "A vote on the new library is expected before the summer.",
    "Residents have written letters about the plans for the old market.",
    "The mayor said she would answer questions at the next meeting.",
    "Parking charges in the centre will stay the same for now.",
    "A report on school meals is due to be published in the spring.",
    "The council also agreed to repair two bridges on the ring road.",
]
# the head of a dock-strike rule file: its actor and the rule's match
DOCK_STRIKE = """
actors:
  brennport: {name: Port of Brennport, aliases: [Brennport, Port of Brennport]}
rules:
  - id: dock-strike
    match: {actors: [brennport], keywords: [strike, walkout]"""


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def article(id: str, hours: float = 0.0, title: str = "", body: str | None = None, **kw: object) -> Article:
    return Article(id=id, title=title or f"headline {id}", published_at=at(hours), body=body, **kw)  # type: ignore[arg-type]


def item(
    id: str, hours: float, *, actors: tuple[str, ...] = ("a",), keywords: tuple[str, ...] = ("strike",),
    story_id: str | None = None, terms: tuple[str, ...] = (),
) -> Annotated:
    return Annotated(
        article(id, hours, story_id=story_id), {a: a.title() for a in actors}, frozenset(keywords), terms
    )


def rule(id: str = "r", *, count: int = 3, window_h: float = 6, cooldown_h: float = 1, **kw: object) -> Rule:
    spec = kw.pop("match", MatchSpec(actors=("a",), keywords=("strike",)))
    return Rule(
        id=id, match=spec, threshold=Threshold(count, timedelta(hours=window_h)),  # type: ignore[arg-type]
        cooldown=timedelta(hours=cooldown_h), **kw,  # type: ignore[arg-type]
    )


def ruleset(*rules: Rule) -> RuleSet:
    actors = {a: ActorDef(a, a.title(), (a.title(),)) for a in ("a", "b", "c")}
    return RuleSet(actors=actors, rules=rules)


def matches(rule_id: str, *items: Annotated) -> list[Match]:
    return [Match(rule_id, i) for i in items]
