"""The backtest report at 5,000 alerts: page size, Python render time, Chromium load time.

    python bench/report_scale.py [--alerts N]

Synthetic alerts (tests/report_scale.py) over the rules in rules/; Chromium is headless
Debian ``chromium`` (scripts/test installs it); its time includes its own start, so the
samples' report is timed too as the baseline.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def chromium_seconds(page: Path) -> float:
    binary = shutil.which("chromium")
    assert binary, "chromium is not installed"
    started = time.perf_counter()
    subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600",
                    "--dump-dom", page.as_uri()], capture_output=True, check=True, timeout=600)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--alerts", type=int, default=5000)
    args = p.parse_args(argv)
    from monitor.app import backtest_run
    from monitor.report import write_html
    from monitor.rules import load_rules
    from monitor.settings import Settings
    from tests.report_scale import synthetic

    ruleset = load_rules([ROOT / "rules"])
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "samples.html"
        write_html(small, backtest_run(Settings(), ruleset, ROOT / "samples" / "articles.jsonl", nlp=None),
                   ruleset)
        big = Path(tmp) / "big.html"
        run = synthetic(ruleset, args.alerts)
        started = time.perf_counter()
        write_html(big, run, ruleset)
        render_s = time.perf_counter() - started
        print(f"alerts={args.alerts} page_mb={big.stat().st_size / 1e6:.1f} python_render_s={render_s:.1f} "
              f"chromium_s={chromium_seconds(big):.1f} samples_page_mb={small.stat().st_size / 1e6:.1f} "
              f"samples_chromium_s={chromium_seconds(small):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
