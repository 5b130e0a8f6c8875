"""The services depend on the ports of monitor/service/ports.py, never on App or on ``Any``.

mypy checks that App satisfies the ports (where ``attach(app)`` is called); this keeps the
services from sliding back: no import of monitor.app, and every parameter that takes the
daemon (``app``) or one of its parts (``sender``, ``store``) is typed with a port.
"""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest

from monitor.service import ports

SERVICE = Path(__file__).resolve().parent.parent / "monitor" / "service"
HOSTS = {"app", "sender", "store"}  # parameter names that stand for the daemon or a part of it
PORTS = {name for name, value in vars(ports).items()
         if isinstance(value, type) and getattr(value, "_is_protocol", False)}


def parameters(tree: ast.AST) -> list[tuple[str, str, int]]:
    """(name, annotation, line) of every function parameter in the module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for arg in node.args.args + node.args.kwonlyargs:
                text = ast.unparse(arg.annotation) if arg.annotation is not None else ""
                found.append((arg.arg, text, node.lineno))
    return found


@pytest.mark.parametrize("path", sorted(SERVICE.glob("*.py")), ids=lambda p: p.name)
def test_services_take_ports(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.module != "monitor.app", f"{path.name}:{node.lineno}: imports App"
    for name, annotation, line in parameters(tree):
        if name in HOSTS:
            assert annotation in PORTS, f"{path.name}:{line}: {name}: {annotation or 'untyped'}"


def test_the_ports_are_protocols_with_what_the_hosts_read() -> None:
    assert {"ProbeHost", "ReloadHost", "DigestHost", "JobsHost", "ServiceHost"} <= PORTS
    members = {name for name in dir(ports.ServiceHost) if not name.startswith("_")}
    assert {"runner", "source", "pipeline", "store", "sender", "settings", "metrics",
            "build_rules", "apply_rules", "services", "state_dir"} <= members
    assert not hasattr(ports.ProbeHost, "store")  # a probe reads no state
    assert typing.get_type_hints(ports.DigestHost.store.fget)["return"] is ports.StatePort
