"""Read one rule's YAML node into a Rule, collecting every problem with its line."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from datetime import timedelta
from typing import Any

import yaml

from monitor.rules.durations import parse_duration
from monitor.rules.schema import (
    DETECTORS,
    SEVERITIES,
    ActorDef,
    AnyParams,
    MatchSpec,
    NewActorParams,
    Rule,
    ShiftParams,
    SilenceParams,
    SpikeParams,
    Threshold,
)
from monitor.rules.yamlnodes import Problems, is_null, pairs, plain

RULE_KEYS = (
    "id", "description", "match", "threshold", "detect", "cooldown", "severity", "notify",
    "enabled", "notify_resolved", *[d for d in DETECTORS if d != "threshold"],
)
MATCH_KEYS = ("actors", "any_actors", "keywords", "all_keywords", "exclude", "min_relevance", "all")
_SELECTORS = ("actors", "any_actors", "keywords", "all_keywords")
PARAMS: Mapping[str, type] = {
    "threshold": Threshold, "spike": SpikeParams, "new_actor": NewActorParams,
    "shift": ShiftParams, "silence": SilenceParams, "any": AnyParams,
}
_RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_CHANNEL = re.compile(r"(#[a-z0-9_\-]{1,80}|[CGD][A-Z0-9]{6,})")


def did_you_mean(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (expected one of: {', '.join(known)})"


def read_str_list(
    file: str, node: yaml.Node, key: str, problems: Problems, *, lower: bool = True
) -> tuple[str, ...]:
    if is_null(node):
        return ()
    if not isinstance(node, yaml.SequenceNode):
        problems.add(file, node, key, "expected a list of strings, e.g. [a, b]")
        return ()
    out: list[str] = []
    for item in node.value:
        value = plain(item)
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            problems.add(file, item, key, f"expected a string, got {value!r}")
            continue
        text = " ".join(str(value).split())
        if not text:
            problems.add(file, item, key, "empty string")
            continue
        out.append(text.lower() if lower else text)
    return tuple(dict.fromkeys(out))


class RuleReader:
    """Reads one item of ``rules:``; ``read`` returns None when the rule has errors."""

    def __init__(self, file: str, node: yaml.Node, problems: Problems) -> None:
        self.file = file
        self.node = node
        self.id_node: yaml.Node = node
        self.problems = problems
        self.rule_id: str | None = None
        self._errors = 0

    def _bad(self, node: yaml.Node | None, key: str, message: str) -> None:
        self._errors += 1
        self.problems.add(self.file, node, key, message)

    def read(self, actors: Mapping[str, ActorDef]) -> Rule | None:
        if not isinstance(self.node, yaml.MappingNode):
            self._bad(self.node, "rules", "each rule must be a mapping with at least 'id' and 'match'")
            return None
        values: dict[str, Any] = {}
        nodes: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, knode, vnode in pairs(self.node):
            if key in nodes:
                self._bad(knode, key, "duplicate key in this rule")
            nodes[key] = (knode, vnode)
        for key, (knode, vnode) in nodes.items():
            if key not in RULE_KEYS:
                self._bad(knode, key, "unknown key" + did_you_mean(key, RULE_KEYS))
                continue
            values[key] = self._value(key, vnode, actors)
        rule_id = values.get("id")
        if "id" in nodes:
            self.id_node = nodes["id"][1]
            self.rule_id = rule_id if isinstance(rule_id, str) else None
        else:
            self._bad(self.node, "id", "missing: every rule needs a unique, stable id")
        if "match" not in nodes:
            self._bad(self.node, "match", "missing: say which actors and keywords the rule follows")
        detect = values.get("detect", ("threshold",))
        for name in PARAMS:
            if name in nodes and name != "threshold" and name not in detect:
                self._bad(nodes[name][0], name, f"parameters given but {name!r} is not in detect")
        if self._errors or not isinstance(rule_id, str):
            return None
        values["channel"] = values.pop("notify", None)
        values["origin"] = f"{self.file}:{self.node.start_mark.line + 1}"
        return Rule(**values)

    def _value(self, key: str, node: yaml.Node, actors: Mapping[str, ActorDef]) -> Any:
        if key == "match":
            return self._match(node, actors)
        if key in PARAMS:
            return self._params(key, node)
        if key == "detect":
            return self._detect(node)
        if key == "notify":
            return self._notify(node)
        value = plain(node)
        if key == "id":
            if not isinstance(value, str) or not _RULE_ID.fullmatch(value):
                self._bad(node, key, "expected letters, digits, '-', '_' or '.' (at most 100)")
            return value
        if key == "description":
            if not isinstance(value, str):
                self._bad(node, key, "expected a string")
            return str(value or "").strip()
        if key == "cooldown":
            return self._duration(node, key, allow_zero=True)
        if key == "severity":
            if value not in SEVERITIES:
                self._bad(node, key, f"{value!r} is not one of {', '.join(SEVERITIES)}")
            return value
        if not isinstance(value, bool):  # enabled, notify_resolved
            self._bad(node, key, f"expected true or false, got {value!r}")
        return bool(value)

    def _duration(self, node: yaml.Node, key: str, *, allow_zero: bool = False) -> timedelta:
        value = plain(node)
        if allow_zero and value in (0, "0"):
            return timedelta(0)
        try:
            return parse_duration(value)
        except ValueError as exc:
            self._bad(node, key, str(exc))
            return timedelta(seconds=1)

    def _match(self, node: yaml.Node, actors: Mapping[str, ActorDef]) -> MatchSpec:
        if not isinstance(node, yaml.MappingNode):
            self._bad(node, "match", "expected a mapping: actors, any_actors, keywords, ...")
            return MatchSpec()
        values: dict[str, Any] = {}
        keys: dict[str, yaml.Node] = {}
        for key, knode, vnode in pairs(node):
            where = f"match.{key}"
            if key not in MATCH_KEYS:
                self._bad(knode, where, "unknown key" + did_you_mean(key, MATCH_KEYS))
                continue
            keys[key] = knode
            if key == "min_relevance":
                values[key] = self._fraction(vnode, where)
                continue
            if key == "all":
                values[key] = self._all(vnode)
                continue
            before = len(self.problems.items)
            items = read_str_list(self.file, vnode, where, self.problems, lower=False)
            self._errors += len(self.problems.items) - before
            if not key.endswith("actors"):  # keywords fold case; those written as names are kept apart
                names = [i.lower() for i in items if i != i.lower()]
                values["names"] = tuple(dict.fromkeys((*values.get("names", ()), *names)))
                items = tuple(dict.fromkeys(i.lower() for i in items))
            if key.endswith("actors"):
                for item, inode in zip(items, getattr(vnode, "value", []), strict=False):
                    if item not in actors:
                        hint = did_you_mean(item, sorted(actors)) if actors else " (no actors defined)"
                        self._bad(inode, where, f"unknown actor id {item!r}{hint}")
            values[key] = items
        spec = MatchSpec(**values)
        if spec.all:
            for key in (k for k in (*_SELECTORS, "min_relevance") if k in keys):
                self._bad(keys[key], f"match.{key}", "not with 'all: true' (only 'exclude' may go with it)")
        elif "all" not in keys and not (spec.actors or spec.any_actors or spec.keywords or spec.all_keywords):
            self._bad(node, "match", "empty: give at least one of actors, any_actors, keywords, all_keywords"
                      " (or all: true)")
        return spec

    def _fraction(self, node: yaml.Node, where: str) -> float | None:
        value = plain(node)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            self._bad(node, where, f"expected a number from 0 (every match) to 1, got {value!r}")
            return None
        return float(value)

    def _all(self, node: yaml.Node) -> bool:
        value = plain(node)
        if value is not True:
            self._bad(node, "match.all", f"expected true (or leave the key out), got {value!r}")
        return value is True

    def _detect(self, node: yaml.Node) -> tuple[str, ...]:
        if isinstance(node, yaml.ScalarNode):
            node = yaml.SequenceNode("tag:yaml.org,2002:seq", [node], node.start_mark, node.end_mark)
        items = read_str_list(self.file, node, "detect", self.problems)
        for item, inode in zip(items, getattr(node, "value", []), strict=False):
            if item not in DETECTORS:
                self._bad(inode, "detect", f"unknown detector {item!r}" + did_you_mean(item, DETECTORS))
        if not items:
            self._bad(node, "detect", f"empty: name at least one of {', '.join(DETECTORS)}")
        return items

    def _notify(self, node: yaml.Node) -> str | None:
        value = plain(node)
        slack = value.get("slack") if isinstance(value, dict) else None
        if not isinstance(value, dict) or set(value) - {"slack"} or not isinstance(slack, dict):
            self._bad(node, "notify", "expected {slack: {channel: '#name'}}")
            return None
        if set(slack) - {"channel"}:
            extra = sorted(set(slack) - {"channel"})[0]
            self._bad(node, f"notify.slack.{extra}", "unknown key" + did_you_mean(extra, ["channel"]))
        channel = slack.get("channel")
        if channel is not None and (not isinstance(channel, str) or not _CHANNEL.fullmatch(channel)):
            self._bad(node, "notify.slack.channel", f"{channel!r} is not '#name' or a channel id")
        return channel

    def _params(self, name: str, node: yaml.Node) -> Any:
        cls = PARAMS[name]
        default = cls()
        if not isinstance(node, yaml.MappingNode):
            self._bad(node, name, "expected a mapping of parameters")
            return default
        known = [f.name for f in fields(cls)]
        changes: dict[str, Any] = {}
        for key, knode, vnode in pairs(node):
            where = f"{name}.{key}"
            if key not in known:
                self._bad(knode, where, "unknown key" + did_you_mean(key, known))
                continue
            current = getattr(default, key)
            if isinstance(current, timedelta):  # zero is allowed where it is the default
                changes[key] = self._duration(vnode, where, allow_zero=not current)
                continue
            value = plain(vnode)
            if isinstance(value, bool) or not isinstance(value, int | float):
                self._bad(vnode, where, f"expected a number, got {value!r}")
            elif isinstance(current, int) and (not isinstance(value, int) or value < 1):
                self._bad(vnode, where, f"must be a whole number of at least 1, got {value!r}")
            elif value < 0:
                self._bad(vnode, where, f"must not be negative, got {value!r}")
            else:
                changes[key] = value
        return replace(default, **changes)
