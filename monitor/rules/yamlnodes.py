"""YAML read as nodes, so every value keeps the line it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monitor.rules.guard import inspect

MAX_MESSAGE = 300  # characters of one error message: a value quoted in it is cut, not expanded
MAX_KEY = 120
MAX_PROBLEMS = 1000  # errors reported for one set; the rest are counted


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Problems:
    """Every error found in a set of files, as ``file:line: key: message``."""

    items: list[tuple[str, int, str, str]] = field(default_factory=list)

    def add(self, file: str, node: yaml.Node | None, key: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.items.append((file, line, cut(key, MAX_KEY), cut(message, MAX_MESSAGE)))

    def at(self, file: str, line: int, message: str) -> None:
        """A problem of the file as a whole, or of a line no node stands for."""
        self.items.append((file, line, "", cut(message, MAX_MESSAGE)))

    def lines(self) -> list[str]:
        ordered = sorted(self.items, key=lambda i: (i[0], i[1]))
        out = [f"{f}:{n}: {k}: {m}" if k else f"{f}:{n}: {m}" for f, n, k, m in ordered[:MAX_PROBLEMS]]
        if len(ordered) > MAX_PROBLEMS:
            file, line = ordered[MAX_PROBLEMS][:2]
            out.append(f"{file}:{line}: ... and {len(ordered) - MAX_PROBLEMS} more errors")
        return out

    def __bool__(self) -> bool:
        return bool(self.items)


def compose(path: Path, problems: Problems, data: bytes | None = None,
            max_alias_nodes: int = 100_000) -> yaml.Node | None:
    """Parse one file into a node tree; syntax errors, bad encoding, tags and alias bombs become problems."""
    file = str(path)
    try:
        raw = path.read_bytes() if data is None else data
        text = raw.decode("utf-8")
    except OSError as exc:
        problems.add(file, None, "", f"cannot read file: {exc.strerror or exc}")
        return None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        message = f"not UTF-8: byte 0x{raw[exc.start]:02x} starts no UTF-8 character (save the file as UTF-8)"
        problems.at(file, line, message)
        return None
    try:
        root = _compose(text)
    except yaml.YAMLError as exc:
        problems.at(file, *_yaml_problem(text, exc))
        return None
    if root is not None:
        unsafe = inspect(root, max_alias_nodes)
        if unsafe is not None:
            problems.add(file, unsafe[0], "", unsafe[1])
            return None
    return root


def _compose(text: str) -> yaml.Node | None:
    """libyaml when present (fast, bounded nesting), else PyYAML's own parser."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.compose(text, Loader=loader)


def _yaml_problem(text: str, exc: yaml.YAMLError) -> tuple[int, str]:
    """(line, message) of a YAML error, in PyYAML's words (libyaml's are terser)."""
    try:
        yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exact:
        exc = exact
    except RecursionError:  # deeper than PyYAML's recursive parser goes: keep libyaml's words
        pass
    if not isinstance(exc, yaml.MarkedYAMLError):  # a reader error: a character YAML does not allow
        position = getattr(exc, "position", 0)
        return text.count("\n", 0, position) + 1, f"YAML syntax error: {str(exc).splitlines()[0][:200]}"
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    reason = exc.problem or str(exc)
    if exc.context and exc.context_mark is not None and exc.context_mark.line + 1 != line:
        reason += f" ({exc.context.replace('while parsing ', 'in ')} started at line "
        reason += f"{exc.context_mark.line + 1})"
    return line, f"YAML syntax error: {reason}"


class ValueProblem(Exception):
    """A node whose value cannot be built (an invalid ``!!int``, ``!!binary``...)."""

    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(message)
        self.node = node


def pairs(node: yaml.MappingNode) -> list[tuple[str, yaml.Node, yaml.Node]]:
    return [(str(k.value), k, v) for k, v in node.value]


def plain(node: yaml.Node) -> Any:
    """The Python value of a node (scalars typed by the YAML 1.1 resolver)."""
    try:
        return yaml.SafeLoader("").construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        raise ValueProblem(node, f"cannot read the value: {str(exc)[:200]}") from None


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"
