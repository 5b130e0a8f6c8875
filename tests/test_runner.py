"""The run loop's batch size: sized by time on the wall clock, fixed on the articles' clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

from monitor.app import App
from monitor.notify.console import CollectingNotifier
from monitor.rules import load_rules
from monitor.runner import BatchSizer
from monitor.settings import Settings
from monitor.sources.base import Record
from monitor.sources.jsonl import JsonlSource

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "articles.jsonl"


def test_the_batch_follows_seconds_per_record() -> None:
    sizer = BatchSizer(max_records=256, max_batch_s=2.0)
    assert sizer.next() == BatchSizer.FIRST  # nothing timed yet: a small first batch
    sizer.observe(32, 1.6)  # long articles through the model: 50 ms each
    assert sizer.next() == 40
    sizer.observe(40, 2.0)
    assert sizer.next() == 40
    sizer.observe(40, 0.04)  # then the prefilter skips everything: 1 ms each, averaged in
    assert sizer.next() == 78
    sizer.observe(78, 0.078)
    sizer.observe(256, 0.256)
    assert sizer.next() == 256  # never more than max_records
    sizer.observe(1, 30.0)  # one pathological article
    assert sizer.next() == 1  # never fewer than one
    sizer.observe(0, 5.0)  # an empty poll says nothing about records
    assert sizer.next() == 1


class Recording(JsonlSource):
    """The samples file, recording the size of every poll; stops the loop after ``polls``."""

    def __init__(self, path: Path, *, follow: bool, polls: int) -> None:
        super().__init__(path, follow=follow)
        self.sizes: list[int] = []
        self.polls = polls
        self.app: App | None = None

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        self.sizes.append(max_records)
        if len(self.sizes) >= self.polls and self.app is not None:
            self.app.runner.stop()
        return super().poll(max_records, min(timeout_s, 0.05))


def run(tmp_path: Path, *, follow: bool, max_batch_s: float) -> list[int]:
    settings = Settings(kafka={"max_poll_records": 8, "max_batch_s": max_batch_s})  # type: ignore[arg-type]
    source = Recording(SAMPLES, follow=follow, polls=6)
    app = App(settings, load_rules([ROOT / "rules"]), source, CollectingNotifier(), nlp=None,
              state_dir=tmp_path / "state", background_sender=False)
    source.app = app
    try:
        app.run()
    finally:
        app.close()
    return source.sizes


def test_a_followed_file_is_read_in_batches_sized_by_time(tmp_path: Path) -> None:
    # a target far below one record's time: one record a batch after the first
    assert run(tmp_path / "a", follow=True, max_batch_s=1e-9)[:4] == [8, 1, 1, 1]
    # a target far above: max_poll_records every time
    assert run(tmp_path / "b", follow=True, max_batch_s=1e6)[:4] == [8, 8, 8, 8]


def test_a_backtest_clock_keeps_fixed_batches_whatever_the_machine(tmp_path: Path) -> None:
    assert set(run(tmp_path, follow=False, max_batch_s=1e-9)) == {8}


def test_a_file_run_skips_and_counts_poison_lines_with_their_line_numbers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Lines that used to crash a replay (JSON nested 100,000 deep) are skipped, counted, located."""
    good = SAMPLES.read_text(encoding="utf-8").splitlines()
    surrogate = '{"id": "x", "title": "\\ud800", "published_at": "2026-01-01"}'
    bad = {3: "[" * 100_000 + "]" * 100_000, 6: surrogate, 9: good[0], 12: "null"}
    lines = list(good)
    for at, line in sorted(bad.items()):
        lines.insert(at - 1, line)  # at its 1-based line number
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = Settings()
    source = JsonlSource(path)
    app = App(settings, load_rules([ROOT / "rules"]), source, CollectingNotifier(), nlp=None,
              state_dir=tmp_path / "state", background_sender=False)
    with caplog.at_level("WARNING", logger="monitor.source"):
        try:
            app.run()
        finally:
            app.close()
    assert dict(source.rejected) == {"too_deep": 1, "bad_text": 1, "duplicate_id": 1, "not_object": 1}
    where = [r.where for r in caplog.records if r.getMessage() == "bad_article_line"]  # type: ignore[attr-defined]
    assert where == [f"{path}:{n}" for n in sorted(bad)]
    assert app.metrics.articles._value.get() == len(good)


def test_a_file_batch_never_ends_inside_one_publication_time(tmp_path: Path) -> None:
    """Batches of two over lines tied three at a time: each batch ends where a moment ends."""
    path = tmp_path / "in.jsonl"
    times = ["2026-01-01T10:00:00Z"] * 3 + ["2026-01-01T11:00:00Z"] * 3 + ["2026-01-01T12:00:00Z"]
    path.write_text("".join(f'{{"id": "a{i}", "title": "t", "published_at": "{t}"}}\n'
                            for i, t in enumerate(times)) + "not json\n")
    source = JsonlSource(path)
    sizes = []
    while batch := source.poll(2, 0.0):
        sizes.append([r.offset for r in batch])
    assert sizes == [[0, 1, 2], [3, 4, 5], [6, 7]]


class ExplodingTokenizer:
    """spaCy's own tokenizer, raising on one text: a valid article the model cannot take."""

    def __init__(self, inner: Tokenizer) -> None:
        self.inner = inner

    def __call__(self, text: str) -> Doc:
        if "KABOOM" in text:
            raise ValueError("the tokenizer met a text it could not take")
        return self.inner(text)


def test_an_article_the_annotator_raises_on_is_dead_lettered_and_the_rest_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A valid article whose text makes the spaCy pipeline raise: the batch is annotated again one
    article at a time, that one is rejected as ``annotate_failed`` with the error, and every other
    article gives exactly the alerts it gives without it."""
    nlp = spacy.blank("en")
    nlp.tokenizer = ExplodingTokenizer(nlp.tokenizer)
    good = SAMPLES.read_text(encoding="utf-8").splitlines()
    poison = json.loads(good[2]) | {"id": "kaboom-1"}
    poison["title"] += " KABOOM"

    def alerts(lines: list[str], name: str) -> tuple[list[tuple[str, str, str]], JsonlSource, App]:
        path = tmp_path / f"{name}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        source, sink = JsonlSource(path), CollectingNotifier()
        app = App(Settings(), load_rules([ROOT / "rules"]), source, sink, nlp=nlp,
                  state_dir=tmp_path / f"state-{name}", background_sender=False)
        try:
            app.run()
            app.finish()
        finally:
            app.close()
        return [(a.rule, a.kind, a.key) for a in sink.alerts], source, app

    clean, _, _ = alerts(good, "clean")
    with caplog.at_level("ERROR", logger="monitor.pipeline"):
        mixed, source, app = alerts([*good[:5], json.dumps(poison), *good[5:]], "mixed")
    assert len(clean) >= 5 and mixed == clean
    assert dict(source.rejected) == {"annotate_failed": 1}
    (failed,) = [r for r in caplog.records if r.getMessage() == "annotate_failed"]
    assert failed.article == "kaboom-1" and "ValueError" in failed.error  # type: ignore[attr-defined]
    assert app.metrics.decode_errors.labels(reason="annotate_failed")._value.get() == 1
