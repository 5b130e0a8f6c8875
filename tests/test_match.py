"""Matching is a pure function of the annotated article and the rules: every operator, as a table."""

from __future__ import annotations

import pytest
from builders import item, rule, ruleset

from monitor.match import Matcher, match
from monitor.rules.schema import MatchSpec

CASES = [
    # (spec, actors in article, keywords in article, matches?)
    (MatchSpec(actors=("a", "b")), ("a", "b"), (), True),
    (MatchSpec(actors=("a", "b")), ("a",), (), False),
    (MatchSpec(any_actors=("a", "b")), ("b",), (), True),
    (MatchSpec(any_actors=("a", "b")), ("c",), (), False),
    (MatchSpec(actors=("a",), any_actors=("b", "c")), ("a", "c"), (), True),
    (MatchSpec(actors=("a",), any_actors=("b", "c")), ("a",), (), False),
    (MatchSpec(keywords=("strike", "walkout")), (), ("walkout",), True),
    (MatchSpec(keywords=("strike", "walkout")), (), ("picket",), False),
    (MatchSpec(all_keywords=("strike", "port")), (), ("strike", "port"), True),
    (MatchSpec(all_keywords=("strike", "port")), (), ("strike",), False),
    (MatchSpec(keywords=("strike",), exclude=("football",)), (), ("strike", "football"), False),
    (MatchSpec(keywords=("strike",), exclude=("football",)), (), ("strike",), True),
    (MatchSpec(actors=("a",), keywords=("strike",)), ("a",), ("strike",), True),
    (MatchSpec(actors=("a",), keywords=("strike",)), ("a",), (), False),
    (MatchSpec(actors=("a",), keywords=("strike",)), (), ("strike",), False),
    (
        MatchSpec(actors=("a",), keywords=("x", "y"), all_keywords=("z",), exclude=("w",)),
        ("a",),
        ("y", "z"),
        True,
    ),
    # a feed rule: every article, with or without actors and keywords, less the excluded
    (MatchSpec(all=True), (), (), True),
    (MatchSpec(all=True), ("a",), ("strike",), True),
    (MatchSpec(all=True, exclude=("football",)), (), ("football",), False),
    (MatchSpec(all=True, exclude=("football",)), ("a",), ("strike",), True),
]


@pytest.mark.parametrize(("spec", "actors", "keywords", "expected"), CASES)
def test_operators(
    spec: MatchSpec, actors: tuple[str, ...], keywords: tuple[str, ...], expected: bool
) -> None:
    r = rule(match=spec)
    it = item("1", 0, actors=actors, keywords=keywords)
    assert bool(match([it], [r])) is expected
    assert bool(Matcher(ruleset(r)).match([it])) is expected  # the indexed matcher agrees


def test_indexed_matcher_equals_reference_on_many_rules() -> None:
    rules = []
    for i in range(60):
        spec = MatchSpec(
            actors=("a",) if i % 3 == 0 else (),
            any_actors=("b", "c") if i % 3 == 1 else (),
            keywords=(f"k{i % 7}", "strike") if i % 2 else (f"k{i % 5}",),
            all_keywords=("port",) if i % 5 == 0 else (),
            exclude=("football",) if i % 4 == 0 else (),
        )
        rules.append(rule(f"r{i}", match=spec))
    items = [
        item(
            str(j),
            j,
            actors=tuple("abc"[: j % 4]),
            keywords=tuple(
                k for k in ("strike", "port", "football", f"k{j % 7}", f"k{j % 5}") if hash((k, j)) % 2
            ),
        )
        for j in range(80)
    ]
    reference = [(m.rule_id, m.item.article.id) for m in match(items, rules)]
    indexed = [(m.rule_id, m.item.article.id) for m in Matcher(ruleset(*rules)).match(items)]
    assert sorted(indexed) == sorted(reference) and reference


def test_disabled_rules_do_not_match() -> None:
    r = rule(enabled=False)
    assert Matcher(ruleset(r)).match([item("1", 0)]) == []
