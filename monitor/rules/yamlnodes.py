"""YAML read as nodes, so every value keeps the line it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass
class Problems:
    """Every error found in a set of files, as ``file:line: key: message``."""

    items: list[tuple[str, int, str, str]] = field(default_factory=list)

    def add(self, file: str, node: yaml.Node | None, key: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.items.append((file, line, key, message))

    def lines(self) -> list[str]:
        ordered = sorted(self.items, key=lambda i: (i[0], i[1]))
        return [f"{f}:{n}: {k}: {m}" if k else f"{f}:{n}: {m}" for f, n, k, m in ordered]

    def __bool__(self) -> bool:
        return bool(self.items)


def compose(path: Path, problems: Problems) -> yaml.Node | None:
    """Parse one file into a node tree; syntax errors become problems."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(str(path), None, "", f"cannot read file: {exc}")
        return None
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = exc.problem or str(exc)
        if exc.context and exc.context_mark is not None and exc.context_mark.line + 1 != line:
            reason += f" ({exc.context.replace('while parsing ', 'in ')} started at line "
            reason += f"{exc.context_mark.line + 1})"
        problems.items.append((str(path), line, "", f"YAML syntax error: {reason}"))
        return None


def pairs(node: yaml.MappingNode) -> list[tuple[str, yaml.Node, yaml.Node]]:
    return [(str(k.value), k, v) for k, v in node.value]


def plain(node: yaml.Node) -> Any:
    """The Python value of a node (scalars typed by the YAML 1.1 resolver)."""
    return yaml.SafeLoader(
        ""
    ).construct_object(node, deep=True)


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"
