"""``PhraseIndex.scan`` against the plain token-by-token scan it replaced, on real texts.

The index finds keywords with set intersections and offsets only where an alias may be;
this file keeps the obvious walk over ``tokenize`` as the reference, and both must give
the same keywords and the same alias hits (offsets, weak and surname flags, order).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.annotate.phrases import NO_HITS, AliasHit, PhraseIndex
from monitor.annotate.tokens import tokenize
from monitor.decode import decode
from monitor.model import Article
from monitor.rules import load_rules

ROOT = Path(__file__).resolve().parents[1]
UCI = ROOT.parent / "shared" / "data" / "uci-news-2014-03.jsonl"
if not UCI.is_file():  # a fresh clone has shared/ beside it; a developer checkout may be deeper
    UCI = Path("/work/shared/data/uci-news-2014-03.jsonl")
RULES = [ROOT / "rules", *(ROOT / "tests" / "fixtures").glob("*-rules.yaml")]


def reference(index: PhraseIndex, text: str) -> tuple[frozenset[str], tuple[AliasHit, ...]]:
    tokens = tokenize(text)
    keys = [t.key for t in tokens]
    shouting = sum(t.text.isupper() for t in tokens) > 0.6 * max(len(tokens), 1)
    keywords: set[str] = set()
    aliases = []
    for i, tok in enumerate(tokens):
        for length, phrases in index._keywords.get(tok.key, ()):
            keywords.update(phrases.get(tuple(keys[i : i + length]), ()))
        for words, actor, surname in index._aliases.get(tok.text, ()):
            if tuple(t.text for t in tokens[i : i + len(words)]) != words:
                continue
            last = tokens[i + len(words) - 1]
            weak = surname or shouting or (len(words) == 1 and tok.sentence_start and not tok.text.isupper())
            aliases.append(AliasHit(actor, tok.start, last.start + len(last.text), weak, surname))
    return frozenset(keywords), tuple(aliases)


def texts() -> list[str]:
    out = [
        "Washington's envoy met Syria's. U.S. strikes loom; SYRIA REJECTS US PLAN",
        "Lavrov. Sergei Lavrov said Lavrov's aides had left. Military threats",
        "The threat of force... Damascus", "Syrian", "", "US", "a strike",
        "ceasefire talks in Geneva. Astana",
    ]
    for path in (ROOT / "samples" / "articles.jsonl", ROOT / "tests" / "fixtures" / "syria-2013-09.jsonl",
                 UCI):
        for line in path.read_bytes().splitlines():
            article = decode(line)
            assert isinstance(article, Article), line[:200]
            out.append(article.text)
    return out


@pytest.mark.parametrize("rules", RULES, ids=lambda p: p.name)
def test_scan_finds_what_the_token_walk_finds(rules: Path) -> None:
    index = PhraseIndex(load_rules([rules]))
    corpus = texts()
    assert len(corpus) > 6_000
    found = 0
    for text in corpus:
        hits = index.scan(text)
        assert (hits.keywords, hits.aliases) == reference(index, text), text[:200]
        assert index.may_hit(text) == hits.any
        assert index.prefiltered(text) == (hits if hits.any else NO_HITS)
        found += hits.any
    assert found > 50  # the rules do concern these texts
