"""The measures of one benchmark run; each returns plain numbers for the JSON report."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.corpus import Doc, message, stream
from bench.services import Daemon, FakeSlack, Kafka, produce, story_of
from monitor.annotate.annotator import Annotator, model_batches
from monitor.rules import load_rules

DT_S = 1.0  # event time between two articles of a throughput stream: one a second
PROBE_WORD = "zqprobe"


@dataclass
class Env:
    """What every phase shares: the broker, the fake Slack, the corpus, the rules, the model."""

    out: Path
    kafka: Kafka
    slack: FakeSlack
    docs: list[Doc]
    rules: dict[str, Path]
    model: str
    run_id: str
    batch_size: int = 64  # nlp.batch_size and nlp.batch_chars, for the daemon and bare nlp.pipe alike
    batch_chars: int = 40_000
    profile: bool = False
    daemons: list[Daemon] = field(default_factory=list)

    def settings(self, name: str, rules: Path, **extra: str) -> dict[str, str]:
        base = {
            "STORY_MONITOR_KAFKA__BOOTSTRAP_SERVERS": self.kafka.bootstrap,
            "STORY_MONITOR_KAFKA__TOPIC": f"bench-{name}-{self.run_id}",
            "STORY_MONITOR_KAFKA__GROUP_ID": f"bench-{name}-{self.run_id}",
            "STORY_MONITOR_RULES__PATH": str(rules),
            "STORY_MONITOR_STATE__DIR": str(self.out / name / "state"),
            "STORY_MONITOR_NLP__MODEL": self.model,
            "STORY_MONITOR_NLP__BATCH_SIZE": str(self.batch_size),
            "STORY_MONITOR_NLP__BATCH_CHARS": str(self.batch_chars),
            "STORY_MONITOR_SLACK__TOKEN": "xoxb-test",
            "STORY_MONITOR_SLACK__BASE_URL": self.slack.base_url,
            "STORY_MONITOR_SLACK__DEFAULT_CHANNEL": "#bench",
            "STORY_MONITOR_SLACK__RATE_PER_S": "1000",
            "STORY_MONITOR_SLACK__BURST": "1000",
            "STORY_MONITOR_HTTP__PORT": "0",
            "STORY_MONITOR_LOG__FORMAT": "json",
            # event time runs ~100x faster than the wall clock here (one article = one second):
            # evict expired windows every 15 s of wall time, not every 600 s
            "STORY_MONITOR_STATE__MAINTENANCE_INTERVAL_S": "15",
        }
        return {**base, **extra}

    def start_daemon(self, name: str, settings: dict[str, str]) -> Daemon:
        self.kafka.create_topic(settings["STORY_MONITOR_KAFKA__TOPIC"])
        self.slack.reset()
        profile = self.out / f"profile-{name}.txt" if self.profile else None
        daemon = Daemon(self.out / name, settings, profile)
        self.daemons.append(daemon)
        daemon.wait_ready()
        return daemon


def daemon_components(rules: Path, nlp: Any) -> list[str]:
    """The spaCy components the daemon enables for these rules."""
    return Annotator(load_rules([rules]), nlp).components


def spacy_rate(nlp: Any, texts: list[str], batch_size: int = 64,
               batch_chars: int = 40_000) -> dict[str, float]:
    """Bare ``nlp.pipe`` over texts in memory, with the components already selected, in the
    batches the daemon makes of them (``model_batches``)."""
    with nlp.memory_zone():
        for _ in nlp.pipe(texts[:8], batch_size=batch_size):
            pass  # warm-up, untimed
    started = time.perf_counter()
    with nlp.memory_zone():
        for batch in model_batches(texts, batch_size, batch_chars):
            for _ in nlp.pipe(batch, batch_size=len(batch)):
                pass
    seconds = time.perf_counter() - started
    return {"docs": len(texts), "seconds": round(seconds, 3), "docs_per_s": round(len(texts) / seconds, 2)}


def throughput_values(docs: list[Doc], count: int, start: int = 0) -> Iterator[bytes]:
    """The stream as Kafka values, event time one second apart and ending about now."""
    base = time.time() - count * DT_S
    for i, (aid, doc) in enumerate(stream(docs, count, start)):
        yield message(aid, doc, base + i * DT_S)


def run_stream(env: Env, name: str, rules: Path, count: int, *, sample_s: float = 0.0,
               timeout_s: float = 3600.0, **settings: str) -> dict[str, Any]:
    """Produce ``count`` articles to a fresh topic and time the daemon until all are committed."""
    daemon = env.start_daemon(name, env.settings(name, rules, **settings))
    producer = env.kafka.producer()
    started = time.time()
    values = throughput_values(env.docs, count)
    sender = threading.Thread(target=produce, args=(producer, daemon.topic, values))
    sender.start()
    samples = wait_committed(daemon, count, timeout_s, sample_s)
    finished = time.time()
    sender.join()
    producer.close()
    delivered = wait_delivered(daemon, env.slack)
    daemon.stop()
    seconds = finished - started
    return {"articles": count, "seconds": round(seconds, 2), "docs_per_s": round(count / seconds, 2),
            **delivered, "rss_samples": samples}


Sample = tuple[float, int, float]  # wall time, articles committed, daemon RSS in MB


def wait_committed(daemon: Daemon, count: int, timeout_s: float, sample_s: float) -> list[Sample]:
    """Poll the daemon's committed offsets until ``count``; (time, committed, RSS MB) samples."""
    deadline = time.monotonic() + timeout_s
    samples: list[Sample] = []
    next_sample = 0.0
    while True:
        done = daemon.committed()
        now = time.monotonic()
        if sample_s and now >= next_sample:
            samples.append((round(time.time(), 2), done, round(daemon.rss_mb(), 2)))
            next_sample = now + sample_s
        if done >= count:
            return samples
        if now > deadline or daemon.proc.poll() is not None:
            raise RuntimeError(f"daemon committed {done}/{count} articles; see {daemon.log_path}")
        time.sleep(0.05)


def wait_delivered(daemon: Daemon, slack: FakeSlack, timeout_s: float = 60.0) -> dict[str, int]:
    """Wait for the outbox to drain; how many alerts the daemon queued and Slack received."""
    deadline = time.monotonic() + timeout_s
    while True:
        box = daemon.outbox()
        if (not box.get("pending") and not box.get("sending")) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return {"alerts_queued": sum(box.values()), "alerts_at_slack": len(slack.messages())}


def fit_slope(samples: list[Sample], warmup: int, buckets: int = 10) -> float | None:
    """Slope of resident memory against committed articles after ``warmup``, in MB per million.

    RSS swings by tens of MB within a batch (the model's arrays for a batch of long
    articles, freed when the batch ends), so the fit uses the floor: the lowest sample of
    each of ``buckets`` equal spans of articles. A span can miss its floor (every sample
    taken mid-batch), so the slope is Theil-Sen's (the median of the slopes between every
    two floors), which one such span does not move, not least squares, which it does.
    """
    ordered = rss_floors(samples, warmup, buckets)
    if len(ordered) < 3:
        return None
    slopes = [(y2 - y1) / (x2 - x1) for i, (x1, y1) in enumerate(ordered) for x2, y2 in ordered[i + 1:]
              if x2 > x1]
    return round(statistics.median(slopes) * 1_000_000, 2)


def rss_floors(samples: list[Sample], warmup: int, buckets: int = 10) -> list[tuple[int, float]]:
    """(committed articles, MB) of the lowest sample in each of ``buckets`` equal spans after ``warmup``."""
    points = [(n, mb) for _, n, mb in samples if n >= warmup]
    if len(points) < 3 or points[-1][0] == points[0][0]:
        return []
    low, high = points[0][0], points[-1][0]
    width = (high - low) / buckets
    floors: dict[int, tuple[int, float]] = {}
    for n, mb in points:
        b = min(buckets - 1, int((n - low) / width))
        if b not in floors or mb < floors[b][1]:
            floors[b] = (n, mb)
    return sorted(floors.values())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def paced_values(docs: list[Doc], count: int, every: int) -> Iterator[tuple[bytes, str | None]]:
    """The latency stream: every ``every``-th article is a probe with a story of its own, its
    marker word in the headline (a word at the foot of a long body is a passing mention, which
    the rule does not count: before, only probes on bodiless or one-line docs arrived)."""
    for i, (aid, doc) in enumerate(stream(docs, count)):
        probe = f"probe-{i}" if i % every == every - 1 else None
        if probe:
            doc = replace(doc, title=f"{doc.title} {PROBE_WORD}")
        yield message(aid, doc, time.time(), story_id=probe), probe


def send_paced(env: Env, topic: str, rate: float, values: Iterator[tuple[bytes, str | None]],
               sent: dict[str, float]) -> None:
    producer = env.kafka.producer()
    started = time.monotonic()
    for i, (value, probe) in enumerate(values):
        wait = started + i / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        if probe is not None:
            sent[probe] = time.time()
        producer.send(topic, value=value)
    producer.flush()
    producer.close()


def latency(env: Env, rules: Path, rate: float, count: int, every: int) -> dict[str, Any]:
    """Produce at ``rate`` articles/s; time from a probe's produce to its alert at the fake Slack."""
    daemon = env.start_daemon("latency", env.settings("latency", rules))
    sent: dict[str, float] = {}
    values = paced_values(env.docs, count, every)
    sender = threading.Thread(target=send_paced, args=(env, daemon.topic, rate, values, sent))
    sender.start()
    wait_committed(daemon, count, 3600, 0)
    sender.join()
    wait_delivered(daemon, env.slack)
    received = {story_of(m): m["received_wall"] for m in env.slack.messages()}
    daemon.stop()
    probes = sorted(sent, key=sent.__getitem__)
    warm = probes[len(probes) // 10:]  # the first tenth is warm-up
    lat = [received[p] - sent[p] for p in warm if p in received]
    missing = [p for p in probes if p not in received]
    return {"rate_docs_per_s": round(rate, 2), "articles": count, "probes": len(lat),
            "probes_missing": len(missing),
            "p50_s": round(percentile(lat, 0.5), 3) if lat else None,
            "p99_s": round(percentile(lat, 0.99), 3) if lat else None,
            "max_s": round(max(lat), 3) if lat else None,
            # every probe: seconds since the first was sent, its latency (None: never arrived)
            "series": [[round(sent[p] - sent[probes[0]], 1),
                        round(received[p] - sent[p], 3) if p in received else None] for p in probes]}


