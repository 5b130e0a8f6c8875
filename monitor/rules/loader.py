"""Load rule files into a RuleSet, reporting every error of every file at once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

from monitor.errors import RuleError
from monitor.rules.fields import RuleReader, did_you_mean, read_str_list
from monitor.rules.guard import RuleLimits
from monitor.rules.schema import ActorDef, Rule, RuleSet, Silence
from monitor.rules.silences import link_silences, read_silences
from monitor.rules.yamlnodes import Problems, ValueProblem, compose, is_null, pairs, plain

TOP_KEYS = ("actors", "rules", "silences")
ACTOR_KEYS = ("name", "aliases")


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """The YAML files named, directories expanded (sorted, recursive)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(
                p for p in path.rglob("*")
                if p.suffix in (".yaml", ".yml") and p.is_file()
                # hidden entries: Kubernetes ConfigMap "..data" links, editor lock files
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            ))
        else:
            found.append(path)
    return found


def check_paths(paths: Sequence[str | Path], limits: RuleLimits | None = None) -> list[str]:
    """Every error of the files, as ``file:line: key: message``; empty when all are valid."""
    try:
        load_rules(paths, limits)
    except RuleError as exc:
        return exc.errors
    return []


def load_rules(paths: Sequence[str | Path], limits: RuleLimits | None = None) -> RuleSet:
    """Read, validate and link the rule files; raise RuleError with all problems."""
    limits = limits or RuleLimits()
    problems = Problems()
    files = rule_files(paths)
    if not files:
        raise RuleError([f"{', '.join(map(str, paths))}: no rule files (*.yaml, *.yml) found"])
    contents = read_files(files, limits, problems)
    actors: dict[str, ActorDef] = {}
    where: dict[str, tuple[str, yaml.Node]] = {}
    readers: list[RuleReader] = []
    silences: list[tuple[str, yaml.Node, Silence | None]] = []
    for path in files:
        if not path.is_file():
            problems.add(str(path), None, "", "no such file")
            continue
        if path not in contents:
            continue
        root = compose(path, problems, contents[path], limits.max_alias_nodes)
        if root is None or is_null(root):
            continue
        try:
            _read_file(str(path), root, (actors, where), readers, problems)
            if isinstance(root, yaml.MappingNode):
                for key, _, vnode in pairs(root):
                    if key == "silences":
                        silences += [(str(path), n, s) for n, s in read_silences(str(path), vnode, problems)]
        except ValueProblem as exc:  # the rest of this file is not read; the other files are
            problems.add(str(path), exc.node, "", str(exc))
        except Exception as exc:  # a loader bug a file found: refused like any invalid file
            problems.at(str(path), 1, f"cannot read the rules: {type(exc).__name__}: {exc}")
    _check_aliases(actors, where, problems)
    rules = _finish(readers, actors, problems)
    linked = link_silences(silences, {r.id: r for r in rules}, problems)
    if problems:
        raise RuleError(problems.lines())
    return RuleSet(actors=dict(actors), rules=tuple(rules), files=tuple(map(str, files)), silences=linked)


def read_files(files: list[Path], limits: RuleLimits, problems: Problems) -> dict[Path, bytes]:
    """The bytes of each file within the limits; a file or a set too large is refused unread."""
    out: dict[Path, bytes] = {}
    total = 0
    for path in files:
        if not path.is_file():
            continue  # reported as missing by the caller
        try:
            size = path.stat().st_size
            if size <= limits.max_file_bytes:
                with path.open("rb") as f:
                    data = f.read(limits.max_file_bytes + 1)  # a file growing while read is cut here
                size = len(data)
        except OSError as exc:
            problems.at(str(path), 1, f"cannot read file: {exc.strerror or exc}")
            continue
        if size > limits.max_file_bytes:
            problems.at(str(path), 1, f"file of {size:,} bytes, more than rules.max_file_bytes "
                                      f"({limits.max_file_bytes:,}): not read")
            continue
        total += size
        if total > limits.max_total_bytes:
            problems.at(str(path), 1, f"the rule files reach {total:,} bytes with this one, more than "
                                      f"rules.max_total_bytes ({limits.max_total_bytes:,}): not read")
            return {}
        out[path] = data
    return out


def _read_file(
    file: str,
    root: yaml.Node,
    table: tuple[dict[str, ActorDef], dict[str, tuple[str, yaml.Node]]],
    readers: list[RuleReader],
    problems: Problems,
) -> None:
    if not isinstance(root, yaml.MappingNode):
        problems.add(file, root, "", "expected a mapping with 'actors' and/or 'rules'")
        return
    for key, knode, vnode in pairs(root):
        if key == "actors":
            _read_actors(file, vnode, table, problems)
        elif key == "silences":
            continue  # read by load_rules, linked once every rule is known
        elif key == "rules":
            if not isinstance(vnode, yaml.SequenceNode):
                problems.add(file, vnode, "rules", "expected a list of rules")
                continue
            readers.extend(RuleReader(file, item, problems) for item in vnode.value)
        else:
            problems.add(file, knode, key, "unknown key" + did_you_mean(key, TOP_KEYS))


def _read_actors(
    file: str,
    node: yaml.Node,
    table: tuple[dict[str, ActorDef], dict[str, tuple[str, yaml.Node]]],
    problems: Problems,
) -> None:
    actors, lines = table
    if is_null(node):
        return
    if not isinstance(node, yaml.MappingNode):
        problems.add(file, node, "actors", "expected a mapping of actor ids")
        return
    for actor_id, knode, vnode in pairs(node):
        where = f"actors.{actor_id}"
        if actor_id in actors:
            problems.add(file, knode, where, "duplicate actor id")
            continue
        if not isinstance(vnode, yaml.MappingNode):
            problems.add(file, vnode, where, "expected a mapping with 'name' and 'aliases'")
            continue
        name: str = actor_id
        aliases: tuple[str, ...] = ()
        for key, k2, v2 in pairs(vnode):
            if key == "name":
                value = plain(v2)
                if not isinstance(value, str) or not value.strip():
                    problems.add(file, v2, f"{where}.name", "expected a non-empty string")
                else:
                    name = value.strip()
            elif key == "aliases":
                aliases = read_str_list(file, v2, f"{where}.aliases", problems, lower=False)
            else:
                problems.add(
                    file, k2, f"{where}.{key}", "unknown key" + did_you_mean(key, ACTOR_KEYS)
                )
        if not aliases:
            aliases = (name,)
        actors[actor_id] = ActorDef(id=actor_id, name=name, aliases=tuple(aliases))
        lines[actor_id] = (file, knode)


def _check_aliases(
    actors: dict[str, ActorDef], lines: dict[str, tuple[str, yaml.Node]], problems: Problems
) -> None:
    owner: dict[str, str] = {}
    for actor in actors.values():
        for alias in actor.aliases:
            other = owner.setdefault(alias, actor.id)
            if other != actor.id:
                file, node = lines[actor.id]
                problems.add(
                    file, node, f"actors.{actor.id}.aliases",
                    f"alias {alias!r} is also an alias of {other!r}",
                )


def _finish(
    readers: list[RuleReader], actors: dict[str, ActorDef], problems: Problems
) -> list[Rule]:
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for reader in readers:
        try:
            rule = reader.read(actors)
        except ValueProblem as exc:
            problems.add(reader.file, exc.node, "", str(exc))
            continue
        if reader.rule_id is not None and reader.rule_id in seen:
            problems.add(
                reader.file, reader.id_node, "id",
                f"duplicate rule id {reader.rule_id!r} (first defined at {seen[reader.rule_id]})",
            )
            continue
        if reader.rule_id is not None:
            seen[reader.rule_id] = f"{reader.file}:{reader.id_node.start_mark.line + 1}"
        if rule is not None:
            rules.append(rule)
    return rules
