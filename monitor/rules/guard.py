"""Limits that keep hostile rule files cheap to refuse: sizes, alias expansion, tags.

A YAML alias repeats a node without repeating its text, so nine levels of nine aliases
stand for 387 million nodes in a few hundred bytes; every later step (reading values,
error messages that quote them) pays for the expansion. The node tree is walked once,
iteratively, before anything reads it: the nodes its aliases add when expanded are
counted (``rules.max_alias_nodes``), recursive aliases and tags other than plain YAML's
(``!!python/object/apply``, ``!custom``) are refused, each with its line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

PLAIN_TAGS = frozenset(yaml.SafeLoader.yaml_constructors) - {None}
_LONG = "tag:yaml.org,2002:"


@dataclass(frozen=True)
class RuleLimits:
    """How large a rule set may be: per file, all files together, and what aliases may add."""

    max_file_bytes: int = 5 * 1_048_576
    max_total_bytes: int = 20 * 1_048_576
    max_alias_nodes: int = 100_000

    @classmethod
    def of(cls, settings: Any) -> RuleLimits:
        """From ``rules`` settings (anything with the three attributes)."""
        return cls(settings.max_file_bytes, settings.max_total_bytes, settings.max_alias_nodes)


def inspect(root: yaml.Node, max_alias_nodes: int) -> tuple[yaml.Node, str] | None:
    """The first node that makes the tree unsafe to read, with why; None when it is fine."""
    sizes: dict[int, int] = {}  # node id -> nodes in its subtree with aliases expanded
    ancestors: set[int] = set()
    distinct = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        kids = children(node)
        if finished:
            ancestors.discard(key)
            sizes[key] = 1 + sum(sizes[id(k)] for k in kids)
            if sizes[key] - distinct > max_alias_nodes:
                return node, (f"YAML aliases here expand to more than {max_alias_nodes} nodes "
                              "(rules.max_alias_nodes); write the values out or use fewer aliases")
            continue
        if key in sizes:
            continue
        if key in ancestors:
            return node, "recursive YAML alias (a node that contains itself)"
        if node.tag not in PLAIN_TAGS:
            return node, f"unsupported YAML tag {short_tag(node.tag)!r} (rule files are plain YAML)"
        ancestors.add(key)
        distinct += 1
        stack.append((node, True))
        stack.extend((k, False) for k in reversed(kids) if id(k) not in sizes)
    return None


def children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def short_tag(tag: str) -> str:
    return "!!" + tag[len(_LONG):] if tag.startswith(_LONG) else tag
