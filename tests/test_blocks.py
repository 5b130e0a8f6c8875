"""Block Kit rendering: golden files per alert kind, Slack's limits, escaping and whole-item cuts.

Regenerate the golden files after an intended change with ``UPDATE_GOLDEN=1 pytest tests/test_blocks.py``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakeslack import FakeSlack
from slack_fixtures import notifier, ref, samples

from monitor.notify.blocks import (
    FIELD_MAX,
    HEADER_MAX,
    MAX_BLOCKS,
    SECTION_MAX,
    TEXT_MAX,
    TITLE_MAX,
    Message,
    clip,
    escape,
    fit_items,
    link,
    render,
    render_parent,
    render_plain,
)

GOLDEN = Path(__file__).parent / "golden" / "blocks"
SAMPLES = samples()
LINK = re.compile(r"<https?://[^<>|\s]+\|[^<>]*>")


def rendered(name: str) -> dict[str, Any]:
    alert = SAMPLES[name]
    full, parent, plain = render(alert), render_parent(alert), render_plain(alert)
    return {"text": full.text, "blocks": full.blocks,
            "parent": {"text": parent.text, "blocks": parent.blocks}, "plain": plain.text}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_golden(name: str) -> None:
    path = GOLDEN / f"{name}.json"
    got = rendered(name)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert path.is_file(), f"{path} missing: run with UPDATE_GOLDEN=1"
    assert got == json.loads(path.read_text(encoding="utf-8"))


def texts(message: Message) -> Iterator[str]:
    for block in message.blocks:
        if "text" in block:
            yield block["text"]["text"]
        yield from (f["text"] for f in block.get("fields", ()))
        yield from (e["text"] for e in block.get("elements", ()))


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("render_fn", [render, render_parent])
def test_within_slack_limits_and_links_whole(name: str, render_fn: Any) -> None:
    message = render_fn(SAMPLES[name])
    assert 1 <= len(message.blocks) <= MAX_BLOCKS
    assert sum(len(t) for t in texts(message)) <= TEXT_MAX
    assert 0 < len(message.text) <= TEXT_MAX
    for block in message.blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= HEADER_MAX
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= SECTION_MAX
            assert all(len(f["text"]) <= FIELD_MAX for f in block.get("fields", ()))
    for text in texts(message):
        bare = LINK.sub("", text)
        assert "<" not in bare and ">" not in bare, f"broken markup in {text[:200]!r}"


def test_user_text_is_escaped() -> None:
    assert escape("a <b> & c") == "a &lt;b&gt; &amp; c"
    alert = SAMPLES["long_headlines"]
    summary = render(alert).blocks[1]["text"]["text"]
    assert "<b>" not in summary and "&lt;b&gt;" in summary


def test_clip_never_cuts_an_entity() -> None:
    for limit in range(2, 30):
        out = clip("&&&&&&&&&&&&&&&&&&&&", limit)
        assert len(out) <= limit
        assert re.fullmatch(r"(&amp;)*…?", out), out


@pytest.mark.parametrize(("items", "limit", "expected"), [
    (["one", "two", "three"], 100, "H\none\ntwo\nthree"),
    (["one", "two", "three"], 20, "H\none\n… and 2 more"),
    (["one", "two"], 10, "H\n… and 2 more"),
    ([], 10, "H"),
])
def test_fit_items_cuts_whole_items(items: list[str], limit: int, expected: str) -> None:
    assert fit_items("H", items, limit) == expected


def test_fit_items_counts_hidden_items() -> None:
    assert fit_items("H", ["a", "b"], 100, hidden=5) == "H\na\nb\n… and 5 more"


def test_long_headline_is_cut_before_it_becomes_a_link() -> None:
    long = ref(1, title="x" * 5000 + " <end>", url="https://e.example/a b|c?d=1&e=2")
    text = link(long)
    assert LINK.fullmatch(text), text
    assert text.startswith("<https://e.example/a%20b%7Cc?d=1&amp;e=2|")
    assert len(text.split("|", 1)[1]) <= TITLE_MAX + 1
    assert link(ref(2, url="javascript:alert(1)")) == "Brennport dockers walk out, day 2"
    assert link(ref(3, url="https://e.example/" + "z" * 2000)) == "Brennport dockers walk out, day 3"


def test_many_articles_show_the_newest_and_count_the_rest() -> None:
    blocks = render(SAMPLES["many_articles"]).blocks
    headlines = next(b["text"]["text"] for b in blocks if b.get("text", {}).get("text", "").startswith(
        "*Top headlines*"))
    assert headlines.endswith("… and 190 more")
    assert "day 0>" in headlines and "day 199>" not in headlines
    actors = next(b for b in blocks if "fields" in b)["fields"][0]["text"]
    assert actors.startswith("*Actors*\nActor 0, Actor 1") and re.search(r"… and \d+ more$", actors)


def test_changes_list_each_term_with_the_articles_that_carry_it() -> None:
    blocks = render(SAMPLES["shift"]).blocks
    changed = [b["text"]["text"] for b in blocks if b.get("text", {}).get("text", "").startswith(
        "*What changed")]
    assert [c.split("*")[1] for c in changed] == [
        "What changed — new actors", "What changed — rising", "What changed — fading"]
    assert "(divergence 0.62)" in changed[0]
    assert "• *sanctions* — <https://courier.example.org/dam/6|Greyfall Dam talks, report 6>" in changed[1]


def test_parent_shows_latest_state() -> None:
    parent = render_parent(SAMPLES["shift"])
    state = parent.blocks[2]["text"]["text"]
    assert state.startswith("*Latest:* Framing shift · 2026-03-02 17:49 UTC · 5 articles")
    change = "new actor: Ilse Marchetti; new: sanctions, threat of force; fading: water sharing"
    assert f"*Last change:* {change}" in state


def test_slack_accepts_every_rendering() -> None:
    """The fake checks Block Kit limits the way Slack does (invalid_blocks otherwise)."""
    with FakeSlack() as fake:
        slack = notifier(fake)
        for alert in SAMPLES.values():
            for message in (render(alert), render_parent(alert), render_plain(alert)):
                slack.post("#golden", message)
        assert len(fake.messages_in("#golden")) == 3 * len(SAMPLES)
