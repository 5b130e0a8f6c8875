"""Rule files: every kind of mistake is reported with file, line and key, all at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.errors import RuleError
from monitor.rules import check_paths, load_rules
from monitor.rules.durations import format_duration, parse_duration
from monitor.rules.guard import RuleLimits

BAD = Path(__file__).parent / "rules_bad"
ROOT = Path(__file__).parent.parent

# one bad file per kind of error, with its exact message and line
PINNED = {
    "syntax.yaml": [
        "5: YAML syntax error: expected ',' or ']', but got ':' (in a flow sequence started at line 4)"
    ],
    "unknown_key.yaml": ["5: treshold: unknown key (did you mean 'threshold'?)"],
    "unknown_actor.yaml": ["8: match.actors: unknown actor id 'russa' (expected one of: syria)"],
    "duplicate_id.yaml": [
        f"4: id: duplicate rule id 'twice' (first defined at {BAD / 'duplicate_id.yaml'}:2)"
    ],
    "bad_duration.yaml": [
        "4: threshold.window: invalid duration '6 hours' (write e.g. 90s, 15m, 6h, 2d)",
        "5: cooldown: invalid duration '2x' (write e.g. 90s, 15m, 6h, 2d)",
    ],
    "count_below_one.yaml": ["4: threshold.count: must be a whole number of at least 1, got 0"],
    "empty_match.yaml": [
        "4: match: empty: give at least one of actors, any_actors, keywords, all_keywords (or all: true)"
    ],
    # hostile files: refused at once, in a short line, never expanded or run
    "alias_bomb.yaml": [
        "7: YAML aliases here expand to more than 100000 nodes (rules.max_alias_nodes); "
        "write the values out or use fewer aliases"
    ],
    "python_tag.yaml": [
        "3: unsupported YAML tag '!!python/object/apply:os.system' (rule files are plain YAML)"
    ],
    "recursive_alias.yaml": ["2: recursive YAML alias (a node that contains itself)"],
    "not_utf8.yaml": ["4: not UTF-8: byte 0xe9 starts no UTF-8 character (save the file as UTF-8)"],
    "bad_int.yaml": ["4: cannot read the value: invalid literal for int() with base 10: 'three'"],
    "control_char.yaml": [
        "3: YAML syntax error: unacceptable character #x0007: special characters are not allowed"
    ],
    "all_with_actors.yaml": [
        "6: match.actors: not with 'all: true' (only 'exclude' may go with it)",
        "7: match.keywords: not with 'all: true' (only 'exclude' may go with it)",
    ],
    "all_not_true.yaml": ["4: match.all: expected true (or leave the key out), got 'yes please'"],
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_each_bad_file_is_reported_with_line_and_key(name: str) -> None:
    path = BAD / name
    assert check_paths([path]) == [f"{path}:{line}" for line in PINNED[name]]


def test_all_errors_of_a_file_are_reported_at_once() -> None:
    path = BAD / "many_errors.yaml"
    errors = check_paths([path])
    assert [e.split(": ", 2)[1] for e in errors] == [
        "actors.us.alias", "match.actors", "match.keyword", "threshold.count",
        "threshold.window", "detect", "severity", "notify.slack.channel",
    ]
    assert all(e.startswith(f"{path}:") for e in errors)
    assert f"{path}:9: match.actors: unknown actor id 'uk'" in errors[1]


def test_example_rules_are_valid_and_typed() -> None:
    ruleset = load_rules([ROOT / "rules"])
    assert len(ruleset.enabled) >= 3
    for rule in ruleset.rules:
        assert rule.match.actors or rule.match.any_actors or rule.match.keywords or rule.match.all_keywords
        for actor in rule.match.actors + rule.match.any_actors:
            assert actor in ruleset.actors
    with pytest.raises(AttributeError):
        ruleset.rules[0].id = "changed"  # type: ignore[misc]


def test_actors_defined_in_another_file_of_the_set(tmp_path: Path) -> None:
    (tmp_path / "a_actors.yaml").write_text("actors:\n  x: {name: X Land, aliases: [Xland]}\n")
    (tmp_path / "b_rules.yaml").write_text("rules:\n  - id: r\n    match: {actors: [x]}\n")
    ruleset = load_rules([tmp_path])
    assert ruleset.rules[0].match.actors == ("x",)
    assert ruleset.actors["x"].aliases == ("Xland",)


def test_keywords_are_stored_lower_case_and_defaults_apply(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text("rules:\n  - id: r\n    match: {keywords: [Military  Force]}\n")
    rule = load_rules([tmp_path]).rules[0]
    assert rule.match.keywords == ("military force",) and rule.match.names == ("military force",)
    assert rule.threshold.count == 3 and rule.threshold.window == timedelta(hours=6)
    assert rule.detect == ("threshold",)


def test_shared_alias_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "actors:\n  a: {name: A, aliases: [Alpha]}\n  b: {name: B, aliases: [Alpha]}\n"
    )
    assert check_paths([tmp_path]) == [
        f"{tmp_path / 'r.yaml'}:3: actors.b.aliases: alias 'Alpha' is also an alias of 'a'"
    ]


def test_rule_error_lists_every_file(tmp_path: Path) -> None:
    with pytest.raises(RuleError) as caught:
        load_rules([BAD / "unknown_key.yaml", BAD / "count_below_one.yaml"])
    assert len(caught.value.errors) == 2


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("6h", 21600), ("2d", 172800), ("1w", 604800), ("1h30m", 5400)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds
    assert parse_duration(format_duration(seconds)).total_seconds() == seconds


@pytest.mark.parametrize("text", ["6", "6 hours", "h", "-1h", "0m", "", True, None, 3.5])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_rules_check_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(ROOT / "rules")]) == 0
    assert "ok:" in capsys.readouterr().out
    assert main(["rules", "check", str(BAD / "unknown_key.yaml"), str(ROOT / "rules")]) == 1
    err = capsys.readouterr().err
    assert "unknown_key.yaml:5: treshold: unknown key" in err
    assert "Traceback" not in err


def test_hidden_entries_and_editor_files_are_not_rules(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text("rules:\n  - id: r\n    match: {keywords: [x]}\n")
    (tmp_path / ".#r.yaml").write_text("rules: [broken")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "r.yaml").write_text("rules:\n  - id: r\n    match: {keywords: [x]}\n")
    assert [r.id for r in load_rules([tmp_path]).rules] == ["r"]


HOSTILE = ("alias_bomb.yaml", "python_tag.yaml", "recursive_alias.yaml", "not_utf8.yaml", "bad_int.yaml",
           "control_char.yaml")


@pytest.mark.parametrize("name", HOSTILE)
def test_rules_check_refuses_a_hostile_file_with_one_line_and_exit_1(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rules", "check", str(BAD / name)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.splitlines() == [f"{BAD / name}:{PINNED[name][0]}", "1 error"]


def test_size_limits_refuse_files_unread(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("actors:\n  x: {name: X Land, aliases: [Xland]}\n" + "#" * 3000 + "\n")
    (tmp_path / "b.yaml").write_text("rules:\n  - id: r\n    match: {actors: [x]}\n" + "#" * 3000 + "\n")
    assert load_rules([tmp_path], RuleLimits(max_file_bytes=4000, max_total_bytes=8000)).rules
    a, b = ((tmp_path / n).stat().st_size for n in ("a.yaml", "b.yaml"))
    assert check_paths([tmp_path], RuleLimits(max_file_bytes=2000)) == [
        f"{tmp_path / 'a.yaml'}:1: file of {a:,} bytes, more than rules.max_file_bytes (2,000): not read",
        f"{tmp_path / 'b.yaml'}:1: file of {b:,} bytes, more than rules.max_file_bytes (2,000): not read",
    ]
    assert check_paths([tmp_path], RuleLimits(max_total_bytes=5000)) == [
        f"{tmp_path / 'b.yaml'}:1: the rule files reach {a + b:,} bytes with this one, more than "
        "rules.max_total_bytes (5,000): not read"]


def test_error_messages_are_cut_and_aliases_within_the_limit_work(tmp_path: Path) -> None:
    long_id = "x" * 5000
    (tmp_path / "r.yaml").write_text(
        "words: &w [strike, walkout]\n"
        f"rules:\n  - id: ok\n    match: {{keywords: *w}}\n  - id: bad\n    match: {{actors: [{long_id}]}}\n")
    errors = check_paths([tmp_path])
    assert len(errors) == 2 and all(len(e) < len(str(tmp_path)) + 400 for e in errors)
    assert errors[1].endswith("…") and "words: unknown key" in errors[0]


def test_a_feed_rule_follows_every_article_less_the_excluded(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - id: feed\n    match: {all: true, exclude: [Horoscope]}\n    detect: [threshold, spike]\n"
    )
    spec = load_rules([tmp_path]).rules[0].match
    assert spec.all and spec.exclude == ("horoscope",) and not spec.actors and not spec.keywords
