"""The backtest report in a real browser: headless Chromium runs its scripts, and the DOM it
leaves must hold drawn plotly charts, the filters and every alert once (issue 16).

Chromium is Debian's ``chromium`` package, installed by scripts/test.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_cli import SAMPLES, cli

ALIAS_ONLY = {"STORY_MONITOR_NLP__MODEL": "no_such_model"}


def chromium_dom(page: Path, fragment: str = "", height: int = 20000) -> str:
    """The DOM after the page's scripts ran (tall window: every chart scrolls into view)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "chromium is not installed: scripts/test installs Debian's chromium"
    result = subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--window-size=1280,{height}", "--virtual-time-budget=20000", "--dump-dom",
         page.as_uri() + fragment],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, object]]]:
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = cli("backtest", "--rules", "rules/", "--articles", str(SAMPLES), "--json", "--workers", "1",
                 "--html", str(out), env=ALIAS_ONLY)
    assert result.returncode == 0, result.stderr
    return out, [json.loads(line) for line in result.stdout.splitlines()]


def test_charts_are_drawn_and_filters_are_present(report: tuple[Path, list[dict[str, object]]]) -> None:
    page, alerts = report
    dom = chromium_dom(page)
    charts = re.findall(r'<div class="chart[^"]*js-plotly-plot"[^>]*id="(f\d+)"', dom) or \
        re.findall(r'<div class="chart[^"]*"[^>]*id="(f\d+)"[^>]*data-drawn="1"', dom)
    drawn = dom.count('class="main-svg"')
    expected = page.read_text().count("<div class=chart ")
    assert expected == 3  # a chart per rule with matches (the samples' one thread each: no more)
    assert len(charts) == expected and drawn >= 2 * expected  # each drawn by plotly (two svg layers)
    assert dom.count('class="trace bars"') >= 2 * expected  # matching volume above, the feed beneath
    assert dom.count('<path class="point"') == len(alerts)  # each alert's marker (samples: one thread a rule)
    for name in ("rule", "story", "kind", "severity"):
        assert re.search(rf'<select class="filter" name="{name}">', dom), name
    assert dom.count("<div class=\"alert ") == len(alerts)  # each alert once
    assert "alerts per story-day" in dom and "share of each kind" in dom
    assert "brennport-dock-strike" in dom and "harbourledger.example.com" in dom


def test_a_filter_in_the_link_hides_the_other_alerts(report: tuple[Path, list[dict[str, object]]]) -> None:
    page, alerts = report
    dom = chromium_dom(page, "#kind=silence")
    silences = sum(a["kind"] == "silence" for a in alerts)
    assert silences >= 1
    assert dom.count('data-kinds="silence" data-severity') == silences
    shown = re.findall(r'<div class="alert (?:info|warning|high|critical)" ', dom)
    hidden = re.findall(r'<div class="alert (?:info|warning|high|critical) hidden"', dom)
    assert len(shown) == silences and len(hidden) == len(alerts) - silences
    assert f"{silences} alerts shown" in dom


def test_a_rule_filter_keeps_that_rule_only(report: tuple[Path, list[dict[str, object]]]) -> None:
    page, alerts = report
    dom = chromium_dom(page, "#rule=greyfall-dam-dispute")
    assert '<section class="rule" data-rule="greyfall-dam-dispute">' in dom
    assert '<section class="rule hidden" data-rule="brennport-dock-strike">' in dom
    assert '<tr data-rule="brennport-dock-strike" class="hidden">' in dom
    mine = sum(a["rule"] == "greyfall-dam-dispute" for a in alerts)
    assert f"{mine} alerts shown" in dom


def test_the_page_needs_no_network(report: tuple[Path, list[dict[str, object]]]) -> None:
    page, _ = report
    text = page.read_text()
    assert "<script src" not in text and "cdn.plot.ly" not in text.split("<script>", 1)[0]
    assert text.count("<script>") == 2 and "Plotly" in text  # plotly.js inline once, and the page's script


@pytest.mark.slow
def test_five_thousand_alerts_render(tmp_path: Path) -> None:
    """The page stays usable at 5,000 alerts: every card, charts drawn as they come into view."""
    from monitor.report import write_html
    from monitor.rules import load_rules
    from tests.report_scale import synthetic

    ruleset = load_rules(["rules/"])
    run = synthetic(ruleset)
    page = tmp_path / "big.html"
    write_html(page, run, ruleset)
    size = page.stat().st_size
    assert size < 60_000_000, size  # measured: docs/benchmarks.md
    dom = chromium_dom(page, height=4000)
    assert dom.count('<div class="alert ') == 5000
    assert dom.count("js-plotly-plot") >= 1  # the charts in view are drawn ...
    assert dom.count('<div class="chart') > dom.count("js-plotly-plot")  # ... the rest when scrolled to
