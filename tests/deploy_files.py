"""Readers for the deployment files, shared by test_deploy_static.py and test_deploy_scale.py.

Each reader parses one format the way its tool does, as far as these files need it, and the
checks compare what they find with ``monitor.settings`` and ``monitor.cli``.
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from monitor.cli import parser
from monitor.settings import HttpSettings, KafkaSettings, Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
PORT = HttpSettings().port
DRAIN_S = KafkaSettings().drain_timeout_s
ENV_PREFIX = "STORY_MONITOR_"
SLACK_ENV = {"SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL"}  # read by load_settings itself
Manifests = dict[tuple[str, str], dict[str, Any]]  # (kind, name) -> document
Unit = dict[str, list[tuple[str, str]]]  # section -> (key, value) in file order
# Issue 15's roles, for `run --role` until monitor.cli has the option (then its choices rule).
CONTRACT_ROLES = ("all", "annotate", "detect")


# --- environment variables against the settings model --------------------------------------

def setting_path(name: str) -> tuple[str, ...]:
    """``STORY_MONITOR_KAFKA__TOPIC`` -> ("kafka", "topic"), checked field by field."""
    assert name.startswith(ENV_PREFIX), name
    parts = tuple(p.lower() for p in name[len(ENV_PREFIX):].split("__"))
    model: Any = Settings
    for i, part in enumerate(parts):
        assert isinstance(model, type) and issubclass(model, BaseModel), f"{name}: too deep"
        assert part in model.model_fields, f"{name}: no setting {'.'.join(parts[:i + 1])}"
        model = model.model_fields[part].annotation
    assert not (isinstance(model, type) and issubclass(model, BaseModel)), f"{name}: names a section"
    return parts


def check_env(env: dict[str, str]) -> Settings:
    """Every Story Monitor variable names a real setting, and the literal values validate."""
    nested: dict[str, Any] = {}
    for name, value in env.items():
        if name in SLACK_ENV or not name.startswith(ENV_PREFIX):
            continue
        section, key = setting_path(name)
        if "${" not in value:
            nested.setdefault(section, {})[key] = value
    return load_settings(overrides=nested)


def seconds(text: str) -> float:
    """systemd / compose durations: ``45``, ``45s``, ``1min``, ``1m30s``."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text.strip())
    assert parts, text
    return sum(float(n) * units[u] for n, u in parts)


def matches_topic(kafka: KafkaSettings) -> str:
    """The matches topic of issue 15: ``kafka.matches_topic``, by default ``<topic>.matches``."""
    named = getattr(kafka, "matches_topic", None)
    return named if isinstance(named, str) and named else f"{kafka.topic}.matches"


# --- Dockerfile ----------------------------------------------------------------------------

def dockerfile(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", "\n".join(
        line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")
    ))
    out = []
    for line in text.splitlines():
        if line.strip():
            op, _, args = line.strip().partition(" ")
            out.append((op.upper(), " ".join(args.split())))
    return out


def docker_facts() -> dict[str, Any]:
    """deploy/Dockerfile: every step, the final stage, its ENV and its last value of each op."""
    steps = dockerfile(DEPLOY / "Dockerfile")
    stages = [i for i, (op, _) in enumerate(steps) if op == "FROM"]
    final = steps[stages[-1]:]
    env: dict[str, str] = {}
    for op, args in final:
        if op == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", args)))
    return {"steps": steps, "final": final, "env": env,
            "final_ops": {op: args for op, args in final}}


# --- the command line ----------------------------------------------------------------------

def _run_parser() -> argparse.ArgumentParser:
    sub = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["run"]


def cli_roles() -> tuple[str, ...] | None:
    """The choices of ``run --role`` in monitor.cli, or None while it has no such option."""
    for action in _run_parser()._actions:
        if "--role" in action.option_strings:
            assert action.choices is not None, "--role without choices"
            return tuple(action.choices)
    return None


def run_role(args: list[str]) -> str:
    """The role a ``story-monitor ...`` argument list runs, parsed by monitor.cli itself."""
    assert args[:1] == ["run"], args
    roles = cli_roles()
    if roles is not None:
        return str(getattr(parser().parse_args(args), "role", None) or "all")
    rest, role = list(args), "all"
    if "--role" in rest:  # the option is not in the CLI yet: the contract's values, the rest parsed
        i = rest.index("--role")
        role = rest[i + 1]
        del rest[i:i + 2]
    assert role in CONTRACT_ROLES, role
    parser().parse_args(rest)
    return role


# --- systemd and compose -------------------------------------------------------------------

def read_unit(path: Path, instance: str | None = None) -> Unit:
    """A unit file's sections; ``%i`` in a template becomes ``instance``."""
    sections: Unit = {}
    current = None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
            continue
        key, _, value = line.partition("=")
        assert current is not None and key and _, line
        if instance is not None:
            value = value.replace("%i", instance)
        assert "%" not in value.replace("%%", ""), f"{path.name}: {line}: unexpected specifier"
        current.append((key, value))
    return sections


def unit_command(unit: Unit) -> list[str]:
    program, *args = shlex.split(dict(unit["Service"])["ExecStart"])
    assert Path(program).name == "story-monitor", program
    return args


def interpolate(value: str) -> str:
    """Compose's ``${NAME:-default}`` with nothing set: the default (``$$`` is a plain ``$``)."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value).replace("$$", "$")


# compose merge: these are replaced by the override file, every other sequence is appended
REPLACED = {"command", "entrypoint", "test"}


def merge_compose(base: Any, top: Any, key: str = "") -> Any:
    """Compose's merge of an override file over a base file (docs.docker.com, "Merge")."""
    if isinstance(base, dict) and isinstance(top, dict):
        out = dict(base)
        for name, value in top.items():
            out[name] = merge_compose(base[name], value, name) if name in base else value
        return out
    if isinstance(base, list) and isinstance(top, list) and key not in REPLACED:
        return base + [item for item in top if item not in base]
    return top


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def kustomize(directory: Path) -> Manifests:
    """The documents a kustomization lists, by (kind, name); every YAML file there is listed."""
    kustomization = load_yaml(directory / "kustomization.yaml")
    found = {}
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all((directory / name).read_text()):
            found[(doc["kind"], doc["metadata"]["name"])] = doc
    listed = {p.name for p in directory.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == set(kustomization["resources"])
    return found
