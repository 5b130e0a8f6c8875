"""``rules explain``: for every rule, whether an article matches and the evidence (issue 16)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from monitor.annotate.annotator import Annotator
from monitor.cli_explain import find_article
from monitor.explain import explain
from monitor.rules import load_rules
from tests.test_cli import ROOT, SAMPLES, cli

FIRST_RUN = ROOT / "tests" / "fixtures" / "first-run"
ALIAS_ONLY = {"STORY_MONITOR_NLP__MODEL": "no_such_model"}


def by_rule(stdout: str) -> dict[str, dict[str, Any]]:
    return {o["rule"]: o for o in map(json.loads, stdout.splitlines())}


def test_one_rule_matches_and_another_fails_on_a_missing_actor() -> None:
    """port-003: the dock-strike rule matches; us-syria-military has the keyword, not the actors."""
    result = cli("rules", "explain", "--rules", "rules/", "--articles", str(SAMPLES), "--id", "port-003",
                 "--json", env=ALIAS_ONLY)
    assert result.returncode == 0, result.stderr
    rules = by_rule(result.stdout)
    assert set(rules) == {r.id for r in load_rules(["rules/"]).rules}  # every rule, disabled ones too
    dock = rules["brennport-dock-strike"]
    assert dock["matched"] is True and dock["failed"] == []
    assert {"actor": "brennport", "linked": True, "via": "alias", "variant": "Port of Brennport",
            "place": {"section": "lead", "sentence": (
                "Crane crews at the Port of Brennport stopped work on Monday afternoon, hours before the "
                "official start of the strike, after managers tried to bring forward two departures.")},
            "note": ""} in dock["actors"]
    headline = {"section": "headline", "sentence": "Strike starts early as crane crews down tools"}
    assert {"keyword": "strike", "form": "Strike", "place": headline} in dock["keywords"]
    assert any(k["keyword"] == "stoppage" and k["place"]["section"] == "body" for k in dock["keywords"])

    syria = rules["us-syria-military"]
    assert syria["matched"] is False
    assert syria["failed"] == ["actors: not in the article: united-states, syria"]
    actors = next(c for c in syria["conditions"] if c["name"] == "actors")
    assert actors["ok"] is False and actors["missing"] == ["united-states", "syria"]
    keywords = next(c for c in syria["conditions"] if c["name"] == "keywords")
    assert keywords["ok"] is True and keywords["found"] == ["strike"]


def test_an_exclusion_that_fires_is_shown_with_its_sentence() -> None:
    result = cli("rules", "explain", "--rules", "rules/", "--articles", str(SAMPLES), "--id", "misc-008",
                 "--json", env=ALIAS_ONLY)
    escalation = by_rule(result.stdout)["greyfall-dam-escalation"]
    assert escalation["matched"] is False and escalation["failed"] == ["exclude: found: flood drill"]
    assert escalation["exclusions"][0]["form"] == "flood drill"
    assert escalation["exclusions"][0]["place"]["section"] == "headline"


def test_one_article_on_stdin_and_the_text_form() -> None:
    line = next(ln for ln in SAMPLES.read_text().splitlines() if '"port-003"' in ln)
    result = subprocess.run([sys.executable, "-m", "monitor", "rules", "explain", "--rules", "rules/",
                             "--articles", "-"], input=line, capture_output=True, text=True, cwd=ROOT,
                            env={"PATH": "/usr/bin:/bin", "STORY_MONITOR_NLP__MODEL": "no_such_model"},
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "brennport-dock-strike: MATCH" in result.stdout
    assert "us-syria-military: no match" in result.stdout
    assert "why not: actors: not in the article: united-states, syria" in result.stdout
    assert "keyword 'strike' as 'Strike' in headline: Strike starts early" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("--id", "nope"), "no article with id 'nope'"),
    ((), "45 articles: say which one with --id"),
])
def test_a_missing_article_is_a_clear_error(args: tuple[str, ...], message: str) -> None:
    result = cli("rules", "explain", "--rules", "rules/", "--articles", str(SAMPLES), *args, env=ALIAS_ONLY)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_ner_entities_confirm_aliases_and_name_others(nlp: Any) -> None:
    """The real model: the entity over a sentence-initial alias, and a person no alias names."""
    ruleset = load_rules([FIRST_RUN / "rules.yaml"])
    lines = ((f"a:{i}", ln) for i, ln in enumerate((FIRST_RUN / "articles.jsonl").read_bytes().splitlines()))
    article = find_article(lines, "k-004")
    (found,) = explain(article, ruleset, Annotator(ruleset, nlp))
    assert found.matched
    entity = next(a for a in found.actors if a.via == "entity")
    assert (entity.actor, entity.variant, entity.linked) == ("kelderhaven", "Kelderhaven", True)
    assert entity.note.endswith("confirms the alias") and entity.place.section == "headline"
    assert any(o.variant == "Marta Lindqvist" and o.actor.startswith("person:") for o in found.others)
    alias_only = explain(article, ruleset, Annotator(ruleset, None))[0]
    assert alias_only.matched and not alias_only.others and all(a.via == "alias" for a in alias_only.actors)


def test_a_disabled_rule_is_explained_as_it_would_match_once_enabled() -> None:
    """okafor-watch is disabled; port-014 names the minister, and its keywords are looked for too."""
    result = cli("rules", "explain", "--rules", "rules/", "--articles", str(SAMPLES), "--id", "port-014",
                 "--json", env=ALIAS_ONLY)
    okafor = by_rule(result.stdout)["okafor-watch"]
    assert okafor["enabled"] is False and okafor["matched"] is True, okafor
    assert any(a["actor"] == "adaeze-okafor" and a["linked"] for a in okafor["actors"])


def test_a_passing_mention_meets_the_conditions_but_not_the_relevance(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The rule's actor and keyword are there, once each, deep in a long body: the conditions
    are met, the relevance is below the rule's level, and explain says so with both figures."""
    filler = " ".join(f"Council members discussed item {i} of the harbour budget." for i in range(12))
    article = {"id": "x-1", "title": "Ferry timetable changes for the spring season",
               "published_at": "2026-03-02T10:00:00Z",
               "body": f"{filler} Elsewhere, a strike at the Port of Brennport was mentioned in passing."}
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(article) + "\n")
    result = cli("rules", "explain", "--rules", "rules/", "--articles", str(path), "--json", env=ALIAS_ONLY)
    assert result.returncode == 0, result.stderr
    dock = by_rule(result.stdout)["brennport-dock-strike"]
    assert all(c["ok"] for c in dock["conditions"])
    assert dock["matched"] is False
    rel = dock["relevance"]
    assert rel["ok"] is False and rel["score"] < rel["level"] == 0.5
    assert dock["failed"] and dock["failed"][-1].startswith("relevance: ")
    text = cli("rules", "explain", "--rules", "rules/", "--articles", str(path), env=ALIAS_ONLY).stdout
    assert "FAIL relevance" in text and "level 0.50" in text
    matched = by_rule(cli("rules", "explain", "--rules", "rules/", "--articles", str(SAMPLES), "--id",
                          "port-003", "--json", env=ALIAS_ONLY).stdout)["brennport-dock-strike"]
    assert matched["relevance"]["ok"] is True and "in the headline" in matched["relevance"]["why"]
