"""``silences:`` in rule files: hold back a known story's alerts until a given time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import yaml

from monitor.decode import parse_time
from monitor.rules.fields import did_you_mean, read_str_list
from monitor.rules.schema import DETECTORS, Rule, Silence
from monitor.rules.yamlnodes import Problems, is_null, pairs, plain

SILENCE_KEYS = ("rule", "story", "kinds", "until", "reason")


def read_silences(file: str, node: yaml.Node, problems: Problems) -> list[tuple[yaml.Node, Silence | None]]:
    """Parse each silence; cross-references to rules are checked later by ``link_silences``."""
    if is_null(node):
        return []
    if not isinstance(node, yaml.SequenceNode):
        problems.add(file, node, "silences", "expected a list of {rule, until, reason}")
        return []
    return [(item, _one(file, item, problems)) for item in node.value]


def _one(file: str, node: yaml.Node, problems: Problems) -> Silence | None:
    if not isinstance(node, yaml.MappingNode):
        problems.add(file, node, "silences", "each silence is a mapping: rule, until, reason")
        return None
    before = len(problems.items)
    values: dict[str, object] = {}
    for key, knode, vnode in pairs(node):
        where = f"silences.{key}"
        if key not in SILENCE_KEYS:
            problems.add(file, knode, where, "unknown key" + did_you_mean(key, SILENCE_KEYS))
        elif key == "kinds":
            kinds = read_str_list(file, vnode, where, problems)
            for kind in kinds:
                if kind not in (*DETECTORS, "resolved"):
                    problems.add(file, vnode, where, f"unknown kind {kind!r}" + did_you_mean(kind, DETECTORS))
            values[key] = kinds
        elif key == "until":
            values[key] = _until(file, vnode, problems)
        else:
            value = plain(vnode)
            if not isinstance(value, str) or not value.strip():
                problems.add(file, vnode, where, "expected a non-empty string")
            values[key] = str(value).strip()
    for required in ("rule", "until"):
        if required not in values:
            problems.add(file, node, f"silences.{required}", "missing")
    if len(problems.items) > before:
        return None
    return Silence(origin=f"{file}:{node.start_mark.line + 1}", **values)  # type: ignore[arg-type]


def _until(file: str, node: yaml.Node, problems: Problems) -> datetime | None:
    value = plain(node)
    if isinstance(value, datetime):  # YAML already read an ISO timestamp
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    parsed = parse_time(value) if isinstance(value, str) else None
    if parsed is None:
        problems.add(file, node, "silences.until", f"{value!r} is not a time like 2026-03-03T12:00:00Z")
    return parsed


def link_silences(
    found: list[tuple[str, yaml.Node, Silence | None]], rules: Mapping[str, Rule], problems: Problems
) -> tuple[Silence, ...]:
    """Keep the silences whose rule exists; report the others at their line."""
    out: list[Silence] = []
    for file, node, silence in found:
        if silence is None:
            continue
        if silence.rule not in rules:
            hint = did_you_mean(silence.rule, sorted(rules)) if rules else ""
            problems.add(file, node, "silences.rule", f"unknown rule id {silence.rule!r}{hint}")
            continue
        out.append(silence)
    return tuple(out)
