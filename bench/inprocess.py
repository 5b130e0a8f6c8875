"""Measures run inside this process, through the daemon's own App on a JSON Lines source.

The App is the daemon minus Kafka and Slack (alerts are collected, not sent): annotate,
match, window state, detect and the SQLite store with its per-batch commits all run.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.corpus import Doc, message, stream
from monitor.app import App
from monitor.model import Alert
from monitor.notify.console import CollectingNotifier
from monitor.rules import load_rules
from monitor.settings import Settings
from monitor.sources.jsonl import JsonlSource

EPOCH = 1_483_228_800.0  # 2017-01-01T00:00:00Z: event time of the first article of a slice


def write_slice(path: Path, docs: list[Doc], count: int) -> Path:
    """The first ``count`` articles of the stream as JSON Lines, one second apart."""
    with path.open("wb") as f:
        for i, (aid, doc) in enumerate(stream(docs, count)):
            f.write(message(aid, doc, EPOCH + i) + b"\n")
    return path


@dataclass(frozen=True)
class AppRun:
    seconds: float
    alerts: list[Alert]
    matches: int  # (rule, article) pairs


def run_app(rules: Path, articles: Path, nlp: Any, model: str, *, prefilter: bool = True,
            batch_size: int = 64, batch_chars: int = 40_000) -> AppRun:
    """Seconds to take ``articles`` through the pipeline and store; the alerts raised.

    The same steps as ``App.run`` with the clock started after ``restore`` (start-up).
    """
    nlp_settings = {"model": model, "prefilter": prefilter, "batch_size": batch_size,
                    "batch_chars": batch_chars}
    settings = Settings(nlp=nlp_settings)  # type: ignore[arg-type]
    ruleset = load_rules([rules])
    collector = CollectingNotifier()
    with tempfile.TemporaryDirectory(prefix="bench-app-") as directory:
        app = App(settings, ruleset, JsonlSource(articles), collector, nlp=nlp, state_dir=Path(directory),
                  background_sender=False)
        try:
            app.runner.restore()  # start-up (state load, rule fingerprints) is not throughput
            started = time.perf_counter()
            app.runner.run()
            seconds = time.perf_counter() - started
            app.finish()
        finally:
            app.close()
    counted = app.metrics.matches.collect()
    matches = sum(s.value for m in counted for s in m.samples if s.name.endswith("_total"))
    return AppRun(seconds, list(collector.alerts), int(matches))


def prefilter_check(rules: Path, articles: Path, count: int, nlp: Any, model: str,
                    batch_size: int = 64, batch_chars: int = 40_000) -> dict[str, Any]:
    """The same slice with the prefilter on and off: the alerts must be identical."""
    on, off = (
        [a.public() for a in run_app(rules, articles, nlp, model, prefilter=p, batch_size=batch_size,
                                       batch_chars=batch_chars).alerts]
        for p in (True, False)
    )
    return {"articles": count, "alerts": len(on), "alerts_without_prefilter": len(off),
            "identical": on == off}


def rules_overhead(few: Path, many: Path, articles: Path, count: int, nlp: Any, model: str,
                   rounds: int = 2, batch_size: int = 64, batch_chars: int = 40_000) -> dict[str, Any]:
    """Best of ``rounds`` alternating runs of the 10-rule and the 1,000-rule sets on one slice."""
    best: dict[str, AppRun] = {}
    for _ in range(rounds):
        for name, rules in (("10", few), ("1000", many)):
            run = run_app(rules, articles, nlp, model, batch_size=batch_size, batch_chars=batch_chars)
            if name not in best or run.seconds < best[name].seconds:
                best[name] = run
    out: dict[str, Any] = {"articles": count,
                           "path": "in-process App (JsonlSource -> pipeline -> SQLite store), no Kafka"}
    for name, run in best.items():
        out[f"rules_{name}"] = {"docs_per_s": round(count / run.seconds, 2), "matches": run.matches,
                                "alerts": len(run.alerts)}
    out["overhead"] = round(best["1000"].seconds / best["10"].seconds - 1, 4)
    return out
