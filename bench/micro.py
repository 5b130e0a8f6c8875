"""Micro-benchmark of the annotate stage without the model: what every article pays (CPU time).

    python bench/micro.py [--articles N]

For each benchmark rule set: microseconds per article for the prefilter and keyword/alias
matching (``Annotator.annotate`` with no model), and how many articles it keeps for the
model. Run it before and after a change to ``monitor/annotate``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import corpus
from bench.rulesets import build
from monitor.annotate.annotator import Annotator
from monitor.decode import decode
from monitor.model import Article
from monitor.rules import load_rules


def articles(docs: list[corpus.Doc], count: int) -> list[Article]:
    out = []
    for i, (aid, doc) in enumerate(corpus.stream(docs, count)):
        art = decode(corpus.message(aid, doc, 1_483_228_800.0 + i))
        assert isinstance(art, Article)
        out.append(art)
    return out


def time_annotate(rules: Path, items: list[Article], rounds: int = 5) -> tuple[float, int]:
    annotator = Annotator(load_rules([rules]), None)
    annotator.annotate(items[:64])  # warm the fold cache
    best = float("inf")
    for _ in range(rounds):
        annotator.skipped = 0
        started = time.process_time()
        for i in range(0, len(items), 256):
            annotator.annotate(items[i : i + 256])
        best = min(best, time.process_time() - started)
    return best / len(items) * 1e6, len(items) - annotator.skipped


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--articles", type=int, default=3824)
    args = p.parse_args()
    docs = corpus.load()
    paths = build(docs, Path(__file__).resolve().parent / "out" / "rules")["paths"]
    items = articles(docs, args.articles)
    for name in ("every", "firehose", "many"):
        us, kept = time_annotate(paths[name], items)
        print(f"{name:9} {us:8.1f} us/article  kept for the model: {kept}/{len(items)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
