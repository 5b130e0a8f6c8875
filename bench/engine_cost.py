"""What the engine costs per match when one rule follows many stories (CPU time, no model).

    python bench/engine_cost.py [--articles N] [--repeat K]

The whole full-text corpus (``bench/corpus.py``), annotated without the model (terms from
tokens, so it takes seconds), goes under one rule ``match: {all: true}`` through ``Engine``
(grouping, window state, threshold and spike), ``--repeat`` times with the ids changed and
the times shifted; evicting after each batch as the daemon does on its schedule, or with
``--no-evict`` never (as ``bench/quality.py`` runs, so story states pile up). Prints the
engine's milliseconds per match over each pass and the stories and story states at its end.
docs/benchmarks.md ("Engine per match") has the figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.quality import FEED, fulltext
from monitor.annotate.annotator import Annotator
from monitor.detect.engine import Engine
from monitor.match import Matcher
from monitor.model import Match
from monitor.rules.schema import RuleSet

BATCH = 256


def matches(limit: int) -> list[Match]:
    """The corpus in corpus order, annotated without the model and matched under ``FEED``."""
    articles, _ = fulltext({}, distractors=True)
    articles = articles[:limit]
    ruleset = RuleSet(rules=(FEED,))
    annotator, matcher = Annotator(ruleset, None), Matcher(ruleset)
    out: list[Match] = []
    for start in range(0, len(articles), BATCH):
        out += matcher.match(annotator.annotate(articles[start:start + BATCH]))
    return out


def shifted(found: list[Match], k: int, span: timedelta) -> list[Match]:
    """The ``k``-th pass: the same matches under new ids, ``k`` spans of time later."""
    if k == 0:
        return found
    out = []
    for m in found:
        a = m.item.article
        article = replace(a, id=f"{a.id}-{k}", published_at=a.published_at + k * span)
        out.append(replace(m, item=replace(m.item, article=article)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=3824)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-evict", action="store_true",
                        help="never evict (as bench/quality.py runs): every story's state stays")
    args = parser.parse_args(argv)
    found = matches(args.articles)
    span = found[-1].item.article.published_at - found[0].item.article.published_at + timedelta(days=1)
    engine = Engine(RuleSet(rules=(FEED,)), grace_s=float("inf") if args.no_evict else 600.0)
    for k in range(args.repeat):
        batch = shifted(found, k, span)
        began = time.process_time()
        for start in range(0, len(batch), BATCH):
            engine.process(batch[start:start + BATCH])
            if not args.no_evict:
                engine.evict(engine.watermark)  # the daemon evicts on a schedule
        spent = time.process_time() - began
        stories = len(engine.stories.rules[FEED.id].clusters)
        print(f"pass {k}: {len(batch)} matches, {1000 * spent / len(batch):.2f} ms/match, "
              f"{stories} stories, {len(engine.states)} story states")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
