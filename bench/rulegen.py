"""Benchmark rules, generated from the corpus so that who is concerned is controlled.

Three rule sets, written as YAML into a directory the daemon reads:
- ``every``: 10 rules whose keywords cover every article (a greedy set cover over frequent
  content words), so the model runs on each one, plus actor rules as in real use.
- ``firehose``: 10 rules (2 on rare actors, 8 on rare keywords) that together concern
  about 5% of the articles.
- ``rules1000``: the 10 firehose rules plus 990 rules of 10 two-word keywords each, taken
  from phrases that occur only in articles the firehose rules already concern: the same
  articles reach the model, so the comparison isolates the cost of the rule count.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import yaml
from spacy.lang.en.stop_words import STOP_WORDS

from bench.corpus import Doc
from monitor.annotate.phrases import PhraseIndex
from monitor.annotate.terms import BOILERPLATE
from monitor.annotate.tokens import tokenize
from monitor.rules import load_rules

Actors = dict[str, tuple[str, list[str]]]  # id -> (name, aliases)
CHANNEL = "#bench"
UCI = Path(__file__).resolve().parents[2] / "shared" / "data" / "uci-news-2014-03.jsonl"
EVERY_ACTORS: Actors = {
    "russia": ("Russia", ["Russia", "Moscow", "Kremlin"]),
    "syria": ("Syria", ["Syria", "Damascus", "Syrian"]),
    "united-states": ("United States",
                      ["US", "U.S.", "United States", "America", "Washington", "White House"]),
    "donald-trump": ("Donald Trump", ["Donald Trump", "Donald J. Trump"]),
}
FIREHOSE_ACTORS: Actors = {
    "sergei-lavrov": ("Sergei Lavrov", ["Sergei Lavrov", "Sergey Lavrov"]),
    "kazakhstan": ("Kazakhstan", ["Kazakhstan", "Astana"]),
}


@dataclass(frozen=True)
class Profile:
    """Per article: folded word keys, surface words, and adjacent content-word pairs."""

    keys: list[set[str]]
    words: list[set[str]]
    pairs: list[set[tuple[str, str]]]  # every adjacent pair of keys
    surface: dict[str, str]  # key -> a lower-case surface form that folds to it

    @classmethod
    def of(cls, docs: list[Doc]) -> Profile:
        keys, words, pairs = [], [], []
        forms: dict[str, Counter[str]] = {}
        shared: set[str] = set()  # keys a stop word or a short word also folds to
        for doc in docs:
            toks = tokenize(doc.text)
            keys.append({t.key for t in toks})
            words.append({t.text for t in toks})
            pairs.append({(a.key, b.key) for a, b in pairwise(toks)})
            for t in toks:
                if _content(t.text):
                    forms.setdefault(t.key, Counter())[t.text.lower()] += 1
                else:
                    shared.add(t.key)
        surface = {k: c.most_common(1)[0][0] for k, c in forms.items() if k not in shared}
        return cls(keys, words, pairs, surface)


def _content(word: str) -> bool:
    low = word.lower()
    return (len(low) > 3 and low.isascii() and low.isalpha()
            and low not in STOP_WORDS and low not in BOILERPLATE)


def cover_keywords(p: Profile) -> list[str]:
    """Frequent content words, chosen greedily until every article has one."""
    left = set(range(len(p.keys)))
    df: dict[str, set[int]] = {}
    for i, ks in enumerate(p.keys):
        for k in ks:
            if k in p.surface:
                df.setdefault(k, set()).add(i)
    chosen: list[str] = []
    while left:
        best = max(df, key=lambda k: (len(df[k] & left), k))
        gain = df[best] & left
        if not gain:
            break  # an article with no content word at all: nothing can cover it
        chosen.append(best)
        left -= gain
    return [p.surface[k] for k in chosen]


def rare_keywords(p: Profile, target: float, taken: set[int], seed: int = 7) -> list[str]:
    """Rare content words (in 0.1% to 0.4% of articles) added until ``target`` of articles are hit."""
    n = len(p.keys)
    df: dict[str, set[int]] = {}
    for i, ks in enumerate(p.keys):
        for k in ks:
            if k in p.surface and len(k) > 4:
                df.setdefault(k, set()).add(i)
    pool = sorted(k for k, d in df.items() if 0.001 * n <= len(d) <= 0.004 * n)
    random.Random(seed).shuffle(pool)
    hit, chosen = set(taken), []
    for k in pool:
        if len(hit) >= target * n:
            break
        if len(hit | df[k]) <= target * n * 1.02:
            chosen.append(p.surface[k])
            hit |= df[k]
    return chosen


def alias_hits(p: Profile, actors: Actors) -> set[int]:
    """Articles holding every word of an alias, or the surname of a two-word name."""
    needs: list[set[str]] = []
    for _, aliases in actors.values():
        for alias in aliases:
            words = [t.text for t in tokenize(alias)]
            needs += [set(words), {w.upper() for w in words}]
            if len(words) >= 2:
                needs.append({words[-1]})
    return {i for i, ws in enumerate(p.words) if any(need <= ws for need in needs)}


def phrase_keywords(p: Profile, concerned: set[int], count: int, share: float = 0.05,
                    seed: int = 11) -> list[str]:
    """``count`` phrases: a ``share`` of them two words found only in ``concerned`` articles (so
    a concerned article matches a few more rules, as with overlapping desks), the rest two or
    three words of 2014 headlines (the UCI file) that no article of the corpus contains."""
    where: dict[tuple[str, str], set[int]] = {}
    for i, ps in enumerate(p.pairs):
        for pair in ps:
            where.setdefault(pair, set()).add(i)
    inside = sorted({f"{p.surface[a]} {p.surface[b]}" for (a, b), docs in where.items()
                     if docs <= concerned and a in p.surface and b in p.surface})
    rng = random.Random(seed)
    rng.shuffle(inside)
    chosen = inside[: int(count * share)]
    outside = _headline_phrases(set(where))
    rng.shuffle(outside)
    chosen += outside[: count - len(chosen)]
    if len(chosen) < count:
        raise RuntimeError(f"only {len(chosen)} benchmark phrases found; need {count}")
    return chosen


def _headline_phrases(corpus_pairs: set[tuple[str, str]]) -> list[str]:
    """Runs of two or three content words of the UCI headlines that the corpus never has."""
    out: set[str] = set()
    if not UCI.is_file():
        raise RuntimeError(f"{UCI} not found: the benchmark reads ../shared/data beside the repository")
    for line in UCI.read_text(encoding="utf-8").splitlines():
        toks = [t for t in tokenize(json.loads(line)["title"])]
        for i in range(len(toks) - 1):
            for run in (toks[i : i + 2], toks[i : i + 3]):
                keys = [t.key for t in run]
                if len(run) > 1 and all(_content(t.text) for t in run) \
                        and not all(pair in corpus_pairs for pair in pairwise(keys)):
                    out.add(" ".join(t.text.lower() for t in run))
    return sorted(out)


def rule(rid: str, *, keywords: list[str] = (), actors: list[str] = (),  # type: ignore[assignment]
         count: int = 2, window: str = "1h", cooldown: str = "1h", detect: tuple[str, ...] = ("threshold",),
         description: str | None = None) -> dict[str, object]:
    match: dict[str, object] = {}
    if actors:
        match["actors"] = list(actors)
    if keywords:
        match["keywords"] = list(keywords)
    out: dict[str, object] = {
        "id": rid, "description": f"benchmark rule {rid}" if description is None else description,
        "match": match,
        "threshold": {"count": count, "window": window}, "detect": list(detect),
        "cooldown": cooldown, "severity": "info", "notify": {"slack": {"channel": CHANNEL}},
    }
    if "any" in detect:
        out["any"] = {"min_interval": "1s"}
    return out


def keyword_count(rule: dict[str, object]) -> int:
    match = rule["match"]
    assert isinstance(match, dict)
    return len(match.get("keywords", ()))


def write(directory: Path, actors: Actors, rules: list[dict[str, object]]) -> Path:
    """Write actors.yaml and rules.yaml into ``directory`` and check they load."""
    directory.mkdir(parents=True, exist_ok=True)
    table = {aid: {"name": name, "aliases": aliases} for aid, (name, aliases) in actors.items()}
    (directory / "actors.yaml").write_text(yaml.safe_dump({"actors": table}, sort_keys=False))
    (directory / "rules.yaml").write_text(yaml.safe_dump({"rules": rules}, sort_keys=False, width=200))
    load_rules([directory])
    return directory


def spread(words: list[str], buckets: int) -> list[list[str]]:
    return [words[i::buckets] for i in range(buckets) if words[i::buckets]]


def every_rules(p: Profile) -> tuple[Actors, list[dict[str, object]]]:
    cover = cover_keywords(p)
    rules = [rule(f"every-{i}", keywords=kws, count=5) for i, kws in enumerate(spread(cover, 7))]
    rules += [
        rule("every-russia-syria", actors=["russia", "syria"], count=5),
        rule("every-us", actors=["united-states"], keywords=cover[:5], count=5),
        rule("every-trump", actors=["donald-trump"], count=5),
    ]
    return EVERY_ACTORS, rules


def firehose_rules(p: Profile, target: float = 0.05) -> tuple[Actors, list[dict[str, object]]]:
    rare = rare_keywords(p, target, alias_hits(p, FIREHOSE_ACTORS))
    rules = [rule("fh-lavrov", actors=["sergei-lavrov"]), rule("fh-kazakhstan", actors=["kazakhstan"])]
    rules += [rule(f"fh-{i}", keywords=kws) for i, kws in enumerate(spread(rare, 8))]
    return FIREHOSE_ACTORS, rules


def many_rules(p: Profile, base: list[dict[str, object]], concerned: set[int], total: int = 1000,
               per_rule: int = 10) -> list[dict[str, object]]:
    phrases = phrase_keywords(p, concerned, (total - len(base)) * per_rule)
    extra = [rule(f"many-{i}", keywords=phrases[i * per_rule:(i + 1) * per_rule])
             for i in range(total - len(base))]
    return base + extra


def concerned(index: PhraseIndex, docs: list[Doc]) -> set[int]:
    """Articles that at least one keyword or alias of the rule set concerns (the prefilter's view)."""
    return {i for i, d in enumerate(docs) if index.scan(d.text).any}
