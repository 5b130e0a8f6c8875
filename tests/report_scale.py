"""A synthetic backtest of 5,000 alerts (12 rules, 400 threads, 90 days) for the report's
scale test (tests/test_report.py) and measurement (bench/report_scale.py). No real text."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from monitor.app import Backtest
from monitor.model import Alert, ArticleRef, Changes, TermChange
from monitor.rules.schema import RuleSet

KINDS = ("threshold", "spike", "new_actor", "shift", "silence")
START = datetime(2026, 1, 1, tzinfo=UTC)


def synthetic(ruleset: RuleSet, alerts: int = 5000, seed: int = 7) -> Backtest:
    """``alerts`` alerts spread over the rules of ``ruleset``, 400 threads and 90 days."""
    rnd = random.Random(seed)
    rules = [r.id for r in ruleset.rules]
    stories = [(rules[i % len(rules)], f"{rules[i % len(rules)]}-thread-{i}") for i in range(400)]
    feed = [(START + timedelta(minutes=rnd.uniform(0, 90 * 1440))).timestamp() for _ in range(40_000)]
    matches = [(*stories[rnd.randrange(len(stories))], t) for t in rnd.sample(feed, 20_000)]
    out = []
    for n in range(alerts):
        rule, story = stories[rnd.randrange(len(stories))]
        at = START + timedelta(minutes=rnd.uniform(0, 90 * 1440))
        kind = KINDS[n % len(KINDS)]
        refs = tuple(ArticleRef(id=f"a-{n}-{j}", title=f"Synthetic headline {n}.{j} about {story}",
                                published_at=at - timedelta(hours=j), source=f"Outlet {j % 7}",
                                url=f"https://news.example.org/{n}/{j}") for j in range(rnd.randint(2, 8)))
        changes = Changes(new_actors=(TermChange(term=f"Person {n}", score=1.0, articles=(refs[0].id,)),)) \
            if kind == "new_actor" else None
        out.append(Alert(key=f"{rule}:{kind}:{n}", rule=rule, kind=kind, at=at, story=story,
                         severity=("info", "warning", "high")[n % 3], summary=f"{kind} in {story} ({n})",
                         reason=f"{kind}_reason: synthetic signal {n}", articles=refs, changes=changes))
    out.sort(key=lambda a: a.at)
    return Backtest(out, sorted(feed), matches)
