"""``--workers N`` annotates on N processes and gives exactly the alerts of one (issue 16)."""

from __future__ import annotations

import json

import pytest

from monitor.annotate.parallel import MIN_CHUNK, chunks
from tests.test_cli import ROOT, SAMPLES, cli

FIRST_RUN = ROOT / "tests" / "fixtures" / "first-run"


@pytest.mark.parametrize(("n", "workers", "sizes"), [
    (10, 2, [10]),  # too few to share
    (2 * MIN_CHUNK, 2, [MIN_CHUNK, MIN_CHUNK]),
    (256, 2, [32] * 8),
    (45, 3, [8, 8, 8, 8, 8, 5]),
    (100, 1, [100]),
])
def test_chunks_are_consecutive_and_cover_the_batch(n: int, workers: int, sizes: list[int]) -> None:
    items = list(range(n))
    parts = chunks(items, workers)  # type: ignore[arg-type]
    assert [len(p) for p in parts] == sizes
    assert [x for p in parts for x in p] == items


@pytest.mark.slow
def test_two_workers_give_the_alerts_of_one_with_the_real_model() -> None:
    """The samples (45 articles: six chunks a batch) and the real model, one worker and two."""
    one = cli("backtest", "--rules", "rules/", "--articles", str(SAMPLES), "--json", "--workers", "1")
    two = cli("backtest", "--rules", "rules/", "--articles", str(SAMPLES), "--json", "--workers", "2")
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    assert "nlp_workers_started" in two.stderr and "nlp_workers_started" not in one.stderr
    assert one.stdout.count("\n") >= 7  # the alerts of samples/README.md
    assert two.stdout == one.stdout


@pytest.mark.slow
def test_workers_with_an_actor_only_ner_finds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A fan-out (5 articles is one chunk; 20 copies are several) keeps NER-found actors."""
    lines = (FIRST_RUN / "articles.jsonl").read_text().splitlines()
    copies = [json.loads(line) | {"id": f"{json.loads(line)['id']}-{n}"} for n in range(4) for line in lines]
    articles = tmp_path / "a.jsonl"  # fresh ids: a repeated id is dead-lettered as duplicate_id
    articles.write_text("".join(json.dumps(a) + "\n" for a in copies))
    args = ("backtest", "--rules", str(FIRST_RUN / "rules.yaml"), "--articles", str(articles), "--json")
    one, two = cli(*args, "--workers", "1"), cli(*args, "--workers", "2")
    assert "nlp_workers_started" in two.stderr
    assert two.stdout == one.stdout and "Marta Lindqvist" in one.stdout


def test_workers_must_be_positive() -> None:
    result = cli("backtest", "--rules", "rules/", "--articles", str(SAMPLES), "--workers", "0")
    assert result.returncode == 2 and "--workers 0: must be 1 or more" in result.stderr


@pytest.mark.slow
def test_ctrl_c_stops_a_parallel_backtest_without_a_traceback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """SIGINT reaches the whole process group; workers leave it to the parent, which exits 130."""
    import os
    import signal
    import subprocess
    import sys
    import time

    lines = SAMPLES.read_text().splitlines()
    articles = tmp_path / "many.jsonl"
    articles.write_text("\n".join(lines * 100) + "\n")  # 4,500: minutes of work
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORY_MONITOR_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "backtest", "--rules", "rules/", "--articles", str(articles),
         "--json", "--workers", "2"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, start_new_session=True)
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "nlp_workers_started" in line:
            break
    time.sleep(15)  # the workers are up and annotating
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C on a terminal does
    rest = proc.stderr.read()
    assert proc.wait(timeout=300) == 130
    assert "Traceback" not in "".join(seen) + rest
