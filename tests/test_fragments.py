"""Split stories mended: a quiet fragment folds into the story it split from (monitor/detect/fragments.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from builders import T0, item, matches, rule, ruleset
from test_stories import docks, flights

from monitor.app import App
from monitor.detect.clusters import Cluster, RuleStories
from monitor.detect.engine import Engine
from monitor.detect.fragments import ABSORB, Fold, plan
from monitor.detect.stories import StoryAssigner
from monitor.model import Annotated
from monitor.notify.console import CollectingNotifier
from monitor.rules import load_rules
from monitor.rules.schema import MatchSpec, Rule
from monitor.settings import Settings
from monitor.sources.jsonl import JsonlSource


def feed_rule() -> Rule:
    return rule("feed", match=MatchSpec(all=True), window_h=72)


def two_stories() -> list[Annotated]:
    return [docks(f"d{i}", i, i) for i in range(6)] + [flights(f"f{i}", 6 + i, i) for i in range(6)]


# the dock strike told from the pickets' side: a few of the story's words and its actors,
# the rest its own, so it opens a story of its own when it arrives
SIDE = item("side", 30, actors=("a", "b"),
            terms=("dock", "crane", "union", "picket", "family", "wage", "hardship"))
WEATHER = item("rain", 31, actors=(), terms=("weather", "forecast", "rain", "wind", "storm", "flood"))


def stories(engine: Engine) -> dict[str, list[str]]:
    return {story: [e.id for e in state.events] for (_, story), state in sorted(engine.states.items())}


def test_a_quiet_fragment_folds_into_the_story_it_split_from() -> None:
    r = feed_rule()
    engine = Engine(ruleset(r), grace_s=86400)
    engine.process(matches(r.id, *two_stories(), SIDE, WEATHER))
    assert stories(engine)["feed/picket-3"] == ["side"]  # on arrival it fits no story
    engine.take_delta()
    engine.process(matches(r.id, flights("f6", 56, 6)))  # a day later the feed moves on
    got = stories(engine)
    assert got["feed"] == ["d0", "d1", "d2", "d3", "d4", "d5", "side"]
    assert "feed/picket-3" not in got
    assert got["feed/rain-4"] == ["rain"]  # like no larger story: a small story is a story
    assert engine.counters["stories_merged:fragment"] == 1
    delta = engine.take_delta()
    assert [(rule_id, story, e.id) for rule_id, story, e in delta.moved] == [("feed", "feed", "side")]
    assert ("feed", "feed/picket-3") in delta.dropped_stories
    names = [c.name for c in engine.stories.rules["feed"].clusters]
    assert names == ["feed", "feed/airline-2", "feed/rain-4"]


def test_a_fragment_folds_only_once_quiet_for_a_day() -> None:
    r = feed_rule()
    engine = Engine(ruleset(r), grace_s=86400)
    engine.process(matches(r.id, *two_stories(), SIDE, flights("f6", 40, 6)))  # 10 h after it
    assert stories(engine)["feed/picket-3"] == ["side"]
    assert engine.counters["stories_merged:fragment"] == 0


def test_a_redelivered_article_of_a_fold_is_a_duplicate() -> None:
    r = feed_rule()
    engine = Engine(ruleset(r), grace_s=3 * 86400)  # not late, a redelivery
    engine.process(matches(r.id, *two_stories(), SIDE, flights("f6", 56, 6)))
    before = stories(engine)
    assert "side" in before["feed"]
    engine.process(matches(r.id, SIDE))
    assert engine.counters["duplicate"] == 1 and stories(engine) == before


def test_folds_are_the_same_across_a_restart() -> None:
    r, items = feed_rule(), [*two_stories(), SIDE, WEATHER, flights("f6", 56, 6), flights("f7", 57, 7)]

    def run(assigner: StoryAssigner, batch: list[Annotated]) -> list[tuple[str, str]]:
        out = []
        for it in batch:
            out += [(f.story, f.into) for f in assigner.absorb(r, it.article.published_at.timestamp())]
            placed = assigner.place(r, it)
            assigner.commit(r, placed)
            out.append((it.article.id, placed.story))
        return out

    once = run(StoryAssigner(), items)
    assert ("feed/picket-3", "feed") in once
    for cut in range(1, len(items)):
        first = StoryAssigner()
        got = run(first, items[:cut])
        second = StoryAssigner()
        second.restore(json.loads(json.dumps(first.to_json())))
        assert got + run(second, items[cut:]) == once, cut


def test_a_narrow_rule_never_folds_the_story_named_after_it() -> None:
    words = {"dock": 1.0, "crane": 1.0, "union": 1.0}
    own, fragment, big = Cluster("r", 0, 0, 1, dict(words)), Cluster("r/pay-3", 0, 0, 2, dict(words)), \
        Cluster("r/dock-2", 0, 0, 5, dict(words))
    stories = RuleStories(clusters=[own, big, fragment])
    now = 2 * 86400.0
    assert plan("r", stories, now, 0.0, keep="r") == [Fold("r", "r/pay-3", "r/dock-2", 1.0)]
    assert [f.story for f in plan("r", stories, now, 0.0, keep="")] == ["r", "r/pay-3"]
    assert plan("r", stories, 1.5 * 86400 - 1, 0.0, keep="r") != []  # quiet for a day: folds
    assert plan("r", stories, 86400 - 1, 0.0, keep="r") == []  # not yet quiet for a day
    unlike = RuleStories(clusters=[Cluster("r/rain-3", 0, 0, 1, {"rain": 1.0}), big])
    assert ABSORB > 0 and plan("r", unlike, now, 0.0, keep="r") == []


FEED_RULES = """\
rules:
  - id: feed
    match: {all: true}
    threshold: {count: 50, window: 3d}
    detect: [threshold]
"""
DOCKS = ["Brennport dock strike enters third day as cranes stand idle",
         "Brennport dockers reject pay offer, strike goes on",
         "Dock strike: Brennport port union says talks have failed",
         "Cranes idle at Brennport as dock strike hits container traffic",
         "Brennport port operator offers new pay deal to striking dockers",
         "Container ships queue off Brennport as dock strike continues"]
PILOTS = ["Skyline pilots vote to walk out over rosters",
          "Skyline cancels flights as pilots strike over rosters",
          "Pilots at Skyline airline begin two-day walkout",
          "Skyline passengers stranded as pilot walkout grounds flights",
          "Skyline airline and pilots return to talks on rosters",
          "Skyline pilots end walkout after rosters deal"]


def test_the_daemon_counts_each_fold_in_its_metrics(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "feed.yaml").write_text(FEED_RULES)

    def line(id_: str, title: str, hours: float) -> str:
        at = (T0 + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return json.dumps({"id": id_, "title": title, "published_at": at}) + "\n"

    stream = [line(f"d{i}", t, i) for i, t in enumerate(DOCKS)]  # other news of the feed
    stream += [line(f"p{i}", t, 6 + i) for i, t in enumerate(PILOTS)]
    stream += [line("side", "Families of stranded Skyline passengers count the cost", 30),
               line("next", "Skyline pilots back at work", 56)]
    (tmp_path / "in.jsonl").write_text("".join(stream))
    app = App(Settings(), load_rules([tmp_path / "rules"]), JsonlSource(tmp_path / "in.jsonl"),
              CollectingNotifier(), nlp=None, state_dir=tmp_path / "state", background_sender=False)
    try:
        app.run()
        app.finish()
    finally:
        app.close()
    held = {story: [e.id for e in state.events] for (_, story), state in app.pipeline.engine.states.items()}
    assert held["feed/skyline-6"] == [*(f"p{i}" for i in range(6)), "side"]  # opened feed/count-7, folded
    assert app.metrics.stories_merged.labels(reason="fragment")._value.get() == 1
