"""``story-monitor rules explain``: find the article, explain it (monitor/explain.py), print."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from monitor.decode import DecodeError, decode
from monitor.errors import MonitorError
from monitor.explain import Explanation, every_rule, explain
from monitor.model import Article
from monitor.rules import load_rules
from monitor.settings import Settings


def run_explain(settings: Settings, args: argparse.Namespace) -> int:
    from monitor.annotate.annotator import Annotator
    from monitor.app import model_for

    ruleset = load_rules([settings.rules.path])
    article = find_article(_lines(args.articles), args.id)
    nlp = settings.nlp
    annotator = Annotator(every_rule(ruleset), model_for(nlp.model), batch_size=nlp.batch_size,
                          batch_chars=nlp.batch_chars, prefilter=nlp.prefilter, max_chars=nlp.max_chars)
    found = explain(article, ruleset, annotator)
    for item in found:
        if args.json:
            print(json.dumps(item.public(), ensure_ascii=False))
        else:
            print(render(item) + "\n")
    return 0


def _lines(where: str) -> Iterable[tuple[str, bytes]]:
    if where == "-":
        for n, line in enumerate(sys.stdin.buffer, 1):
            yield f"<stdin>:{n}", line
        return
    path = Path(where)
    if not path.is_file():
        raise MonitorError(f"{path}: no such file")
    with path.open("rb") as f:
        for n, line in enumerate(f, 1):
            yield f"{path}:{n}", line


def find_article(lines: Iterable[tuple[str, bytes]], wanted: str | None) -> Article:
    """The article with id ``wanted``; without an id, the only article there is."""
    seen: list[Article] = []
    for where, line in lines:
        if not line.strip():
            continue
        result = decode(line.rstrip(b"\r\n"))
        if isinstance(result, DecodeError):
            if wanted is None:
                raise MonitorError(f"{where}: {result.reason}: {result.detail}")
            continue
        if wanted is None or result.id == wanted:
            seen.append(result)
            if wanted is not None:
                return result
    if wanted is None and len(seen) == 1:
        return seen[0]
    if wanted is None:
        raise MonitorError(f"{len(seen)} articles: say which one with --id")
    raise MonitorError(f"no article with id {wanted!r}")


def render(e: Explanation) -> str:
    head = f"{e.rule}: {'MATCH' if e.matched else 'no match'}" + (
        "" if e.enabled else " (rule disabled: as it would match once enabled)")
    lines = [head]
    for c in e.conditions:
        found = ", ".join(c.found) or "none"
        lines.append(f"  {'ok  ' if c.ok else 'FAIL'} {c.name} [{', '.join(c.wanted)}]: found {found}")
    for a in e.actors:
        state = "linked" if a.linked else f"not linked: {a.note}"
        lines.append(f"  actor {a.actor} via {a.via} {a.variant!r} ({state}) in {a.place.section}: "
                     f"{a.place.sentence}")
    for k in e.keywords:
        lines.append(f"  keyword {k.keyword!r} as {k.form!r} in {k.place.section}: {k.place.sentence}")
    for k in e.exclusions:
        lines.append(f"  excluded by {k.keyword!r} as {k.form!r} in {k.place.section}: {k.place.sentence}")
    if e.relevance is not None:
        r = e.relevance
        lines.append(f"  {'ok  ' if r.ok else 'FAIL'} relevance {r.score:.2f} (level {r.level:.2f})"
                     + (f": {r.why}" if r.why else ""))
    lines.extend(f"  why not: {f}" for f in e.failed)
    others = sorted({f"{a.actor} ({a.variant!r})" for a in e.others})
    if others:
        lines.append(f"  also found, not in the rule: {', '.join(others)}")
    return "\n".join(lines)
