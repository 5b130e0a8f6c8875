"""The scale-out deployment files (issue 15), checked without Docker or a cluster.

docker-compose.scale.yml over docker-compose.yml, deploy/k8s/scale/ and the systemd template
units: every ``STORY_MONITOR_*`` variable names a setting and validates, every command line
parses with monitor.cli (``run --role`` against its choices), the topics, consumer groups
and the PostgreSQL URL agree with one another, and the single process stays the default.
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
    check_env,
    cli_roles,
    docker_facts,
    interpolate,
    kustomize,
    load_yaml,
    matches_topic,
    merge_compose,
    read_unit,
    run_role,
    seconds,
    unit_command,
)

from monitor.rules import load_rules
from monitor.settings import Settings, load_settings
from monitor.sources.membership import instance_id
from monitor.state.db import is_postgres

ROLES = ("annotate", "detect")


def test_the_role_reader_refuses_what_the_cli_would() -> None:
    for role in cli_roles() or ROLES:
        assert run_role(["run", "--role", role]) == role
    assert run_role(["run"]) == "all"
    with pytest.raises((AssertionError, SystemExit)):
        run_role(["run", "--role", "annotator"])
    with pytest.raises(SystemExit):
        run_role(["run", "--rôle", "detect"])


# --- systemd template units ----------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_systemd_templates_run_one_role_per_instance(role: str) -> None:
    path = DEPLOY / f"story-monitor-{role}@.service"
    units = {port: read_unit(path, instance=port) for port in ("9311", "9312")}
    seen = set()
    for port, unit in units.items():
        service = dict(unit["Service"])
        assert run_role(unit_command(unit)) == role
        env = dict(v.split("=", 1) for k, v in unit["Service"] if k == "Environment")
        settings = check_env(env)
        assert settings.http.port == int(port)
        state = str(settings.state.dir)
        assert service["ReadWritePaths"].split() == [state] == [f"/var/lib/{service['StateDirectory']}"]
        seen.add(state)
        assert seconds(service["TimeoutStopSec"]) >= DRAIN_S + 10
        assert service["KillSignal"] == "SIGTERM" and service["Restart"] == "on-failure"
        assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"  # rules hot reload in both roles
        assert service["DynamicUser"] == "yes" and service["ProtectSystem"] == "strict"
        assert settings.kafka.group_instance_id == "auto"  # kept in the instance's own state dir
    assert len(seen) == 2  # two instances never share a state directory (or a group member id)


def test_systemd_templates_keep_the_single_units_hardening() -> None:
    single = dict(read_unit(DEPLOY / "story-monitor.service")["Service"])
    varying = {"ExecStart", "Environment", "EnvironmentFile", "StateDirectory", "ReadWritePaths"}
    for role in ROLES:
        unit = read_unit(DEPLOY / f"story-monitor-{role}@.service", instance="9311")
        service = dict(unit["Service"])
        assert {k: v for k, v in service.items() if k not in varying} == \
            {k: v for k, v in single.items() if k not in varying}, role
    detect = read_unit(DEPLOY / "story-monitor-detect@.service", instance="9321")
    files = [v for k, v in detect["Service"] if k == "EnvironmentFile"]
    assert "-/etc/story-monitor/detect.env" in files  # where its state.url (a secret) lives


# --- docker-compose.scale.yml --------------------------------------------------------------

@pytest.fixture(scope="module")
def scaled() -> dict[str, Any]:
    return merge_compose(load_yaml(REPO / "docker-compose.yml"), load_yaml(REPO / "docker-compose.scale.yml"))


def compose_settings(service: dict[str, Any]) -> Settings:
    return check_env({k: interpolate(str(v)) for k, v in service["environment"].items()})


def test_compose_single_process_stays_the_default() -> None:
    base = load_yaml(REPO / "docker-compose.yml")["services"]
    assert all("profiles" not in s for s in base.values())  # `docker compose up`: all of it
    assert "command" not in base["story-monitor"]
    assert run_role(yaml.safe_load(docker_facts()["final_ops"]["CMD"])) == "all"


def test_compose_scale_runs_the_roles_instead_of_the_single_process(scaled: dict[str, Any]) -> None:
    services = scaled["services"]
    assert services["story-monitor"]["profiles"] == ["single"]  # off: it would alert a second time
    annotate, detect = services["annotate"], services["detect"]
    assert run_role(annotate["command"]) == "annotate" and run_role(detect["command"]) == "detect"
    assert annotate["deploy"]["replicas"] == 2 and detect.get("deploy", {}).get("replicas", 1) == 1
    for name in ROLES:
        service = services[name]
        assert (REPO / service["build"]["context"] / service["build"]["dockerfile"]) == DEPLOY / "Dockerfile"
        assert service["image"] == services["story-monitor"]["image"]
        assert service["depends_on"]["topics"]["condition"] == "service_completed_successfully"
        assert service["healthcheck"]["test"][1:3] == ["story-monitor", "healthcheck"]
        assert seconds(service["stop_grace_period"]) >= DRAIN_S + 10
        settings = compose_settings(service)
        assert settings.http.port == PORT
        assert instance_id(settings.kafka, None) is None  # replicas: dynamic members
        [(host, target)] = [p.rsplit(":", 1) for p in service["ports"]]
        first, _, last = host.partition("-")
        assert target == str(PORT) and int(last or first) - int(first) + 1 >= 2, name  # room for 2


def test_compose_scale_topics_and_postgres_agree(scaled: dict[str, Any]) -> None:
    services = scaled["services"]
    annotate, detect = compose_settings(services["annotate"]), compose_settings(services["detect"])
    assert annotate.kafka.topic == detect.kafka.topic and annotate.kafka.group_id == detect.kafka.group_id
    [script] = services["topics"]["command"]
    created = script.split("for topic in ")[1].split(";")[0].split()
    partitions = int(re.search(r"--partitions (\d+)", script)[1])  # type: ignore[index]
    for topic in (detect.kafka.topic, detect.kafka.dead_letter_topic, matches_topic(detect.kafka)):
        assert topic in created, topic
    assert services["annotate"]["deploy"]["replicas"] <= partitions  # a worker more would sit idle
    url = detect.state.url
    assert url is not None and is_postgres(url) and annotate.state.url is None
    pg = services["postgres"]
    env = {k: interpolate(str(v)) for k, v in pg["environment"].items()}
    assert url == (f"postgresql://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@postgres:5432/"
                   f"{env['POSTGRES_DB']}")
    assert "${POSTGRES_PASSWORD:-" in services["detect"]["environment"]["STORY_MONITOR_STATE__URL"]
    assert services["detect"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert pg["healthcheck"]["test"][1] == "pg_isready"
    assert any(v.startswith("postgres-data:") for v in pg["volumes"]) and "postgres-data" in scaled["volumes"]


# --- deploy/k8s/scale ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def k8s() -> Manifests:
    return kustomize(DEPLOY / "k8s" / "scale")


def pod(k8s: Manifests, kind: str, role: str) -> dict[str, Any]:
    spec: dict[str, Any] = k8s[(kind, f"story-monitor-{role}")]["spec"]["template"]["spec"]
    return spec


def config(k8s: Manifests, tmp_path: Path) -> Settings:
    path = tmp_path / "monitor.yaml"
    path.write_text(k8s[("ConfigMap", "story-monitor-config")]["data"]["monitor.yaml"])
    return load_settings(path)


WORKLOADS = (("Deployment", "annotate"), ("StatefulSet", "detect"))


@pytest.mark.parametrize(("kind", "role"), WORKLOADS)
def test_k8s_roles_probes_env_and_secrets(k8s: Manifests, kind: str, role: str) -> None:
    spec = pod(k8s, kind, role)
    [c] = spec["containers"]
    assert run_role(c["args"]) == role
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": PORT}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"),
                        ("startupProbe", "/healthz")):
        assert c[probe]["httpGet"]["path"] == path and ports[c[probe]["httpGet"]["port"]] == PORT, probe
    assert spec["terminationGracePeriodSeconds"] > DRAIN_S
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert str(spec["securityContext"]["runAsUser"]) == docker_facts()["final_ops"]["USER"].split(":")[0]
    settings = check_env({e["name"]: e.get("value", "") for e in c["env"]})
    assert instance_id(settings.kafka, None) is None or role == "detect"  # detect: the pod's name
    for e in c["env"]:
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["key"] in k8s[("Secret", ref["name"])]["stringData"], e["name"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in c["volumeMounts"]}
    assert "emptyDir" in mounts[str(settings.state.dir)]  # no state on the pod: PostgreSQL has it
    assert mounts[str(settings.rules.path)]["configMap"]["name"] == "story-monitor-rules"
    assert mounts["/etc/story-monitor/monitor.yaml"]["configMap"]["name"] == "story-monitor-config"
    assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"]


def test_k8s_detect_is_two_static_members_with_state_in_postgres(k8s: Manifests) -> None:
    detect = k8s[("StatefulSet", "story-monitor-detect")]["spec"]
    assert detect["replicas"] == 2
    governing = k8s[("Service", detect["serviceName"])]["spec"]
    assert governing["clusterIP"] == "None"
    assert governing["selector"].items() <= detect["template"]["metadata"]["labels"].items()
    env = {e["name"]: e for e in pod(k8s, "StatefulSet", "detect")["containers"][0]["env"]}
    member = env["STORY_MONITOR_KAFKA__GROUP_INSTANCE_ID"]["valueFrom"]
    assert member["fieldRef"]["fieldPath"] == "metadata.name"  # the pod's stable name
    ref = env["STORY_MONITOR_STATE__URL"]["valueFrom"]["secretKeyRef"]
    url = k8s[("Secret", ref["name"])]["stringData"][ref["key"]]
    assert is_postgres(url) and check_env({"STORY_MONITOR_STATE__URL": url}).state.url == url
    pdb = k8s[("PodDisruptionBudget", "story-monitor-detect")]["spec"]
    assert pdb["selector"]["matchLabels"] == detect["selector"]["matchLabels"]


def test_k8s_annotate_scales_on_its_groups_lag(k8s: Manifests, tmp_path: Path) -> None:
    hpa = k8s[("HorizontalPodAutoscaler", "story-monitor-annotate")]["spec"]
    target = hpa["scaleTargetRef"]
    assert (target["kind"], target["name"]) in k8s
    assert k8s[(target["kind"], target["name"])]["spec"]["replicas"] <= hpa["maxReplicas"]
    [metric] = hpa["metrics"]
    external = metric["external"]
    assert metric["type"] == "External" and external["metric"]["name"] == "story_monitor_consumer_lag"
    labels = k8s[(target["kind"], target["name"])]["spec"]["template"]["metadata"]["labels"]
    selector = {k.replace(".", "_").replace("/", "_").replace("-", "_"): v for k, v in labels.items()}
    assert external["metric"]["selector"]["matchLabels"].items() <= selector.items()  # as scraped
    assert external["metric"]["selector"]["matchLabels"] == {"app_kubernetes_io_component": "annotate"}
    comment = (DEPLOY / "k8s" / "scale" / "hpa.yaml").read_text()
    assert f"{config(k8s, tmp_path).kafka.group_id}-annotate" in comment  # the group KEDA would read
    assert external["target"]["type"] == "AverageValue" and int(external["target"]["averageValue"]) > 0
    assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
    annotations = k8s[("Deployment", "story-monitor-annotate")]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(PORT)


def test_k8s_scale_config_and_rules_load(k8s: Manifests, tmp_path: Path) -> None:
    settings = config(k8s, tmp_path)
    assert settings.http.port == PORT and settings.nlp.workers == 1
    assert settings.state.url is None  # from the Secret, never in a ConfigMap
    single = kustomize(DEPLOY / "k8s")
    rules = k8s[("ConfigMap", "story-monitor-rules")]["data"]
    assert rules == single[("ConfigMap", "story-monitor-rules")]["data"]  # one example, not two
    (tmp_path / "rules").mkdir()
    for name, text in rules.items():
        (tmp_path / "rules" / name).write_text(text)
    assert [r.id for r in load_rules([tmp_path / "rules"]).rules] == ["brennport-dock-strike"]


def test_readmes_say_how_to_scale_out() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Scaling out\n", 1)[1].split("\n## ", 1)[0]
    for needle in ("docker-compose.scale.yml", "deploy/k8s/scale", "story-monitor-annotate@",
                   "story-monitor-detect@", "--role annotate", "--role detect", "partitions"):
        assert needle in section, needle
    deploy = (DEPLOY / "README.md").read_text()
    assert "\n## Scaling out\n" in deploy
    for path in re.findall(r"`((?:deploy/|docker-compose)[\w./@-]+)`", section + deploy):
        assert (REPO / path.rstrip("/")).exists(), path
