"""The order of the measures and the report they make: one JSON object."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any

from bench import corpus, phases
from bench.inprocess import prefilter_check, rules_overhead, write_slice

STEPS = ("spacy", "e2e", "latency", "firehose", "prefilter", "rules", "roles", "detect")
TARGETS = {"ratio_vs_spacy": ">= 0.85", "firehose_speedup": ">= 10", "latency_p99_s": "<= 5",
           "rss_slope_mb_per_million": "<= 50", "rules_1000_overhead": "< 0.10",
           "roles_speedup": ">= 1.6", "detect_matches_per_s": ">= 2000",
           "detect_stage_matches_per_busy_s": ">= 2000", "detect_stage_matches_per_s": ">= 2000"}


@dataclass(frozen=True)
class Sizes:
    """Article counts of each measure."""

    e2e: int  # bare spaCy and end to end, every article concerned
    latency_s: float  # length of the paced run
    probe_every: int
    firehose: int  # ~5% concerned; also the memory run
    rss_warmup: int
    rss_sample_s: float
    prefilter_slice: int
    rules_slice: int
    rules_rounds: int
    roles: int = 0  # 2 annotate + 1 detect against one process (0: not measured)
    detect: int = 0  # the detect stage alone, in process, over these articles' matches (0: not measured)


QUICK = Sizes(e2e=100, latency_s=40, probe_every=5, firehose=5_000, rss_warmup=1_500, rss_sample_s=0.5,
              prefilter_slice=150, rules_slice=1_500, rules_rounds=1)
FULL = Sizes(e2e=1_500, latency_s=180, probe_every=10, firehose=100_000, rss_warmup=20_000, rss_sample_s=2.0,
             prefilter_slice=600, rules_slice=3_824, rules_rounds=3, roles=1_000,
             detect=1_000)


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def measure(env: phases.Env, sizes: Sizes, nlp: Any, steps: set[str]) -> dict[str, Any]:
    """Run the measures asked for, in an order where each can use the ones before."""
    out: dict[str, Any] = {"components": phases.daemon_components(env.rules["every"], nlp)}
    if steps & {"spacy", "e2e"}:
        spacy_and_e2e(env, sizes, nlp, "e2e" in steps, out)
    if "latency" in steps:
        capacity = out.get("e2e", out.get("spacy", {"docs_per_s": 10.0}))["docs_per_s"]
        rate = 0.7 * capacity
        say(f"latency at {rate:.1f} articles/s (70% of {capacity})")
        count = max(50, int(rate * sizes.latency_s))
        out["latency"] = phases.latency(env, env.rules["latency"], rate, count, sizes.probe_every)
        say(f"  p50 {out['latency']['p50_s']} s, p99 {out['latency']['p99_s']} s")
    if "firehose" in steps:
        say(f"firehose of {sizes.firehose} articles (~5% concerned), sampling RSS")
        out["firehose"] = phases.run_stream(env, "firehose", env.rules["firehose"], sizes.firehose,
                                            sample_s=sizes.rss_sample_s)
        say(f"  {out['firehose']['docs_per_s']} docs/s")
    in_process(env, sizes, nlp, steps, out)
    if "roles" in steps and sizes.roles:
        from bench.roles import roles

        say(f"scale-out: 2 annotate + 1 detect against one process, {sizes.roles} articles")
        out["roles"] = roles(env, env.rules["every"], sizes.roles)
        r = out["roles"]
        say(f"  speedup {r['speedup']}, detect alone {r['detect_matches_per_s']} matches/s")
    if "detect" in steps and sizes.detect:
        out["detect"] = detect_alone(env, sizes.detect)
    return out


def detect_alone(env: phases.Env, articles: int) -> dict[str, Any]:
    """``bench/detect_stage.py``: one detect worker in this process, three rounds, its own PostgreSQL."""
    from bench.detect_stage import detect_stage
    from bench.roles import Postgres

    say(f"detect stage alone: the matches of {articles} articles, 3 rounds into fresh databases")
    pg = Postgres(env.out / "postgres-detect")
    pg.start()
    try:  # the records are kept beside the run directories: made once, read by every run
        found = detect_stage(env.kafka, pg, env.rules["every"], env.out.parent, articles, 3, env.model)
    finally:
        pg.stop()
    say(f"  {found['matches_per_busy_s']} matches/busy s, {found['matches_per_stage_s']} without idle tail")
    return found


def spacy_and_e2e(env: phases.Env, sizes: Sizes, nlp: Any, e2e: bool, out: dict[str, Any]) -> None:
    """Bare nlp.pipe, then the daemon, then bare nlp.pipe again: the faster bare run is the reference."""
    texts = [d.text[:20_000] for _, d in corpus.stream(env.docs, sizes.e2e)]
    say(f"bare nlp.pipe over {len(texts)} articles, components {out['components']}, "
        f"batches of at most {env.batch_size} articles and {env.batch_chars} characters")
    out["spacy"] = phases.spacy_rate(nlp, texts, env.batch_size, env.batch_chars)
    say(f"  {out['spacy']['docs_per_s']} docs/s")
    if not e2e:
        return
    say("end to end through Kafka, every article concerned")
    out["e2e"] = phases.run_stream(env, "e2e", env.rules["every"], sizes.e2e)
    again = phases.spacy_rate(nlp, texts, env.batch_size, env.batch_chars)
    say(f"  {out['e2e']['docs_per_s']} docs/s; bare nlp.pipe again: {again['docs_per_s']} docs/s")
    out["spacy_runs"] = [out["spacy"]["docs_per_s"], again["docs_per_s"]]
    out["spacy"] = max(out["spacy"], again, key=lambda r: r["docs_per_s"])


def in_process(env: phases.Env, sizes: Sizes, nlp: Any, steps: set[str], out: dict[str, Any]) -> None:
    if "prefilter" in steps:
        say(f"prefilter on and off, slice of {sizes.prefilter_slice} articles")
        path = write_slice(env.out / "slice-prefilter.jsonl", env.docs, sizes.prefilter_slice)
        out["prefilter"] = prefilter_check(env.rules["firehose"], path, sizes.prefilter_slice, nlp, env.model,
                                           env.batch_size, env.batch_chars)
        say(f"  identical: {out['prefilter']['identical']} ({out['prefilter']['alerts']} alerts)")
    if "rules" in steps:
        say(f"1,000 rules against 10, slice of {sizes.rules_slice} articles")
        path = write_slice(env.out / "slice-rules.jsonl", env.docs, sizes.rules_slice)
        out["rules"] = rules_overhead(env.rules["firehose"], env.rules["many"], path, sizes.rules_slice, nlp,
                                      env.model, sizes.rules_rounds, env.batch_size, env.batch_chars)
        say(f"  overhead {out['rules']['overhead']:.1%}")


def report(m: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """The headline numbers first, then counts, then every detail."""
    def get(step: str, key: str) -> Any:
        return m[step][key] if step in m else None

    spacy, e2e, fh = get("spacy", "docs_per_s"), get("e2e", "docs_per_s"), get("firehose", "docs_per_s")
    samples = m["firehose"].pop("rss_samples") if "firehose" in m else []
    if "e2e" in m:
        m["e2e"].pop("rss_samples")
    return {
        "spacy_docs_per_s": spacy,
        "e2e_docs_per_s": e2e,
        "ratio_vs_spacy": round(e2e / spacy, 3) if e2e and spacy else None,
        "firehose_docs_per_s": fh,
        "firehose_speedup": round(fh / spacy, 2) if fh and spacy else None,
        "prefilter_alerts_identical": get("prefilter", "identical"),
        "latency_p50_s": get("latency", "p50_s"),
        "latency_p99_s": get("latency", "p99_s"),
        "rss_slope_mb_per_million": phases.fit_slope(samples, sizes.rss_warmup) if samples else None,
        "rules_1000_overhead": get("rules", "overhead"),
        "roles_speedup": get("roles", "speedup"),
        "detect_matches_per_s": get("roles", "detect_matches_per_s"),
        "detect_matches_per_busy_s": get("roles", "detect_matches_per_busy_s"),
        "detect_stage_matches_per_busy_s": get("detect", "matches_per_busy_s"),
        "detect_stage_matches_per_s": get("detect", "matches_per_stage_s"),
        "articles": {"spacy": get("spacy", "docs"), "e2e": get("e2e", "articles"),
                     "latency": get("latency", "articles"), "firehose": get("firehose", "articles"),
                     "rss_after_warmup": max(0, (get("firehose", "articles") or 0) - sizes.rss_warmup),
                     "prefilter_slice": get("prefilter", "articles"),
                     "rules_slice": get("rules", "articles")},
        "components": m["components"],
        "details": {**{k: v for k, v in m.items() if k != "components"}, "rss_samples": samples,
                    "rss_floors": phases.rss_floors(samples, sizes.rss_warmup) if samples else []},
    }
