"""Round-4 classes (docs/quality.md "Round 4"), on fictional articles run through the real
annotation (aliases, no model), matching and engine: a threshold is set off by new articles
about the story, never by re-counting one already alerted or by a passing mention of news
days old; a spike's baseline is only time the feed was collected in full."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from builders import DOCK_STRIKE, FILLER, T0, article

from monitor.annotate.annotator import Annotator
from monitor.detect.engine import Engine
from monitor.detect.feed import FeedParams
from monitor.match import Matcher
from monitor.model import Alert, Article
from monitor.rules import load_rules
from monitor.rules.schema import RuleSet

H = 3600.0
RULES = DOCK_STRIKE + """}
    threshold: {count: 2, window: %s}
    detect: [%s]
    cooldown: 1h
"""
LEADS = [
    "Dockers at Brennport began a strike at dawn over the new shift pattern.",
    "The strike at Brennport entered its second day as talks with the port board stalled.",
    "Pickets stood at every gate of the Port of Brennport as the strike spread to the cranes.",
    "Ferry crews at Brennport joined the strike, and lorries queued on the coast road.",
]


def about(n: int) -> tuple[str, str]:
    """An article on the strike (a different one for each ``n``: no two are copies)."""
    return f"Brennport strike: day {n + 1}", LEADS[n % len(LEADS)] + " " + " ".join(FILLER[n:] + FILLER[:n])


ABOUT = about(0)
# the strike named in passing deep in a piece on something else, with the port named again
PASSING = ("Council budget round-up", " ".join(FILLER) + " Brennport was quiet after last week's strike."
           " The strike had closed the Port of Brennport for a day. Traders at Brennport said the strike"
           " cost them little.")


def _rules(tmp_path: Path, window: str, detect: str) -> RuleSet:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES % (window, detect), encoding="utf-8")
    return load_rules([path])


def _play(rules: RuleSet, articles: list[tuple[str, float, tuple[str, str]]]) -> tuple[list[Alert], Engine]:
    annotator, matcher, engine = Annotator(rules, None), Matcher(rules), Engine(rules)
    alerts: list[Alert] = []
    for id_, hours, (title, body) in articles:
        when = T0 + timedelta(hours=hours)
        a = Article(id=id_, title=title, body=body, published_at=when, source=f"s{id_}")
        alerts += engine.process(matcher.match(annotator.annotate([a])))
    return alerts, engine


def test_a_threshold_does_not_recount_the_article_an_any_alert_already_carried(tmp_path: Path) -> None:
    """Yesterday's alerted piece plus today's is not '2 articles in 2d' again: the desk has the
    first; the new one goes out as itself (round 4: a survivor's account, a new angle)."""
    rules = _rules(tmp_path, "2d", "threshold, any")
    alerts, engine = _play(rules, [("a", 0, about(0)), ("b", 24, about(1))])
    assert [(a.kind, [x.id for x in a.articles]) for a in alerts] == [("any", ["a"]), ("any", ["b"])]
    assert engine.counters["threshold:already_told"] == 1
    # two new articles about it at once (a day-dated feed) are a build: the threshold fires
    alerts, engine = _play(rules, [("a", 0, about(0)), ("b", 24, about(1)), ("c", 24, about(2))])
    assert [(a.kind, [x.id for x in a.articles]) for a in alerts][-1] == ("threshold", ["b", "c"])


def test_a_threshold_without_a_prior_alert_counts_every_article(tmp_path: Path) -> None:
    alerts, engine = _play(_rules(tmp_path, "2d", "threshold"), [("a", 0, about(0)), ("b", 24, about(1))])
    assert [a.kind for a in alerts] == ["threshold"] and engine.counters["threshold:already_told"] == 0


def test_a_passing_mention_does_not_set_off_a_threshold_for_news_days_old(tmp_path: Path) -> None:
    """The article about the strike is six days old; the piece that completes the count names
    it in passing: no alert (round 4: a detention piece naming the Rohingya, a week late)."""
    rules = _rules(tmp_path, "7d", "threshold")
    alerts, engine = _play(rules, [("a", 0, ABOUT), ("late", 6 * 24, PASSING)])
    assert alerts == [] and engine.counters["threshold:passing_trigger"] == 1
    # the same passing piece the next day, with the news fresh, completes the count
    alerts, _ = _play(rules, [("a", 0, ABOUT), ("next", 24, PASSING)])
    assert [a.kind for a in alerts] == ["threshold"]


SPIKE_RULES = DOCK_STRIKE + """}
    spike: {recent: 1d, baseline: 12d, factor: 3, min_count: 3, warmup: 3d}
    detect: [spike]
    cooldown: 1h
"""


def _spike(tmp_path: Path, per_day_before: int) -> tuple[list[Alert], Engine]:
    """A feed of ``per_day_before`` articles a day for 14 days, then 100 a day; the story: one
    article 12 days back, then three on the last day."""
    path = tmp_path / "rules.yaml"
    path.write_text(SPIKE_RULES, encoding="utf-8")
    rules = load_rules([path])
    annotator, matcher = Annotator(rules, None), Matcher(rules)
    engine = Engine(rules, grace_s=H, feed=FeedParams(window=timedelta(days=1), min_expected=5))
    alerts: list[Alert] = []

    def story(id_: str, day: int, n: int) -> None:
        title, body = about(n)
        a = Article(id=id_, title=title, body=body, published_at=T0 + timedelta(days=day), source=id_)
        engine.observe_feed([a])
        alerts.extend(engine.process(matcher.match(annotator.annotate([a]))))

    story("first", 4, 0)
    for day in range(1, 17):
        n = per_day_before if day < 15 else 100
        engine.observe_feed([article(f"f{day}-{i}", day * 24.0) for i in range(n)])
    for i in range(3):
        story(f"now{i}", 16, i + 1)
    return alerts, engine


def test_a_spike_against_days_the_feed_was_barely_collected_is_not_claimed(tmp_path: Path) -> None:
    """'None in the 12 days before' is no news when the feed itself had 3 articles a day then
    and has 100 now (round 4: a baseline made of the weeks before collection began)."""
    alerts, engine = _spike(tmp_path, per_day_before=3)
    assert [a.kind for a in alerts] == [] and engine.counters["spike:feed_degraded"] >= 1
    alerts, _ = _spike(tmp_path, per_day_before=60)  # a feed collected in full all along
    assert [a.kind for a in alerts] == ["spike"]



# --- passing mentions: a title is not the story's word; a shared surname is not hers ---------

TITLE_RULES = """
actors:
  okafor: {name: Ada Okafor, aliases: [Ada Okafor, Okafor]}
rules:
  - id: okafor-adviser
    match: {actors: [okafor], keywords: [adviser]}
"""


def _placed(tmp_path: Path, title: str, body: str) -> dict[str, tuple[int, ...]]:
    path = tmp_path / "rules.yaml"
    path.write_text(TITLE_RULES, encoding="utf-8")
    a = Article(id="t", title=title, body=body, published_at=T0)
    return dict(Annotator(load_rules([path]), None).annotate([a])[0].where.keywords)


def test_a_keyword_that_is_a_name_s_title_is_not_placed(tmp_path: Path) -> None:
    """'senior adviser Ada Okafor' names who she is, not the story of her job (round 4:
    'adviser Kellyanne Conway' in every piece quoting her made an adviser-role rule match)."""
    body = ("The harbour board met on Monday. Senior adviser Ada Okafor said the cranes were old. "
            + " ".join(FILLER))
    assert "adviser" not in _placed(tmp_path, "Harbour board meets", body)
    about = "Ada Okafor was named the board's adviser on Monday. She starts in May. " + " ".join(FILLER)
    assert _placed(tmp_path, "Harbour board meets", about)["adviser"] == (1,)
    after = "The harbour board named an adviser. Okafor starts in May. " + " ".join(FILLER)
    assert _placed(tmp_path, "Harbour board meets", after)["adviser"] == (1,)  # a sentence ends between


def test_a_surname_that_is_another_actor_s_own_alias_is_not_claimed() -> None:
    """'Trump' alone is the president's alias and only his daughter's surname: it is his."""
    from monitor.annotate.annotator import _shared_surname
    from monitor.annotate.phrases import AliasHit

    president = AliasHit("us-president", 0, 5, False, False)
    daughter = AliasHit("ivanka", 0, 5, True, True)
    assert _shared_surname(daughter, (president, daughter))
    assert not _shared_surname(president, (president, daughter))
    assert not _shared_surname(daughter, (daughter, AliasHit("us-president", 20, 25, False, False)))
