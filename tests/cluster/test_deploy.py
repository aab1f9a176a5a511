"""The container files: Dockerfile, .dockerignore and deploy/compose.yaml, checked without Docker."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from hypertube.cluster.registry import Node
from hypertube.cluster.traefik import HEALTH_CHECK, dynamic_config
from hypertube.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent.parent
COMPOSE = ROOT / "deploy" / "compose.yaml"
SECRET_NAMES = re.compile(r"SECRET|PASSWORD|_KEY$|TOKEN")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def app_nodes(compose: dict) -> dict[str, dict]:
    return {name: s for name, s in compose["services"].items() if s.get("image", "").startswith("hypertube")}


def test_compose_has_proxy_database_cache_and_two_nodes(compose):
    services = compose["services"]
    assert services["traefik"]["image"].startswith("traefik:v3")
    assert "--providers.docker=true" in services["traefik"]["command"]
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"].startswith("redis:")
    assert len(app_nodes(compose)) >= 2
    volume, _, target = services["postgres"]["volumes"][0].partition(":")
    assert target == "/var/lib/postgresql/data" and volume in compose["volumes"]
    for name, service in services.items():
        assert service["healthcheck"]["test"], f"{name} has no health check"


def test_each_node_has_its_identity_volume_and_traefik_labels(compose):
    ids = set()
    for name, node in app_nodes(compose).items():
        env, labels = node["environment"], node["labels"]
        node_id = env["HYPERTUBE_NODE_ID"]
        ids.add(node_id)
        assert env["HYPERTUBE_NODE_URL"] == f"http://{name}:8000"
        assert env["HYPERTUBE_REDIS_URL"].startswith("redis://redis:")
        assert "/healthz" in " ".join(node["healthcheck"]["test"])
        assert node["volumes"][0].split(":")[0] in compose["volumes"]
        assert {"postgres", "redis"} <= set(node["depends_on"])
        assert labels["traefik.enable"] == "true"
        assert labels["traefik.http.services.app.loadbalancer.server.port"] == "8000"
        assert labels["traefik.http.services.live.loadbalancer.sticky.cookie.name"]
        assert labels["traefik.http.routers.live.rule"] == "PathPrefix(`/socket.io`)"
        stream = labels[f"traefik.http.routers.stream-{node_id}.rule"]
        assert f"Query(`node`, `{node_id}`)" in stream
        assert labels[f"traefik.http.routers.stream-{node_id}.service"] == f"stream-{node_id}@file"
    assert len(ids) == len(app_nodes(compose))


def test_compose_streams_pinned_to_a_dead_node_fail_over_as_in_the_local_cluster(compose):
    """`?node=` goes to that node while it passes its health check, else to the round-robin pool: the
    same failover as `make cluster`'s file configuration, split between labels and a file provider."""
    traefik = compose["services"]["traefik"]
    flags = dict(flag.partition("=")[::2] for flag in traefik["command"])
    mounted = {v.split(":")[1]: v.split(":")[0] for v in traefik["volumes"]}
    source = mounted[flags["--providers.file.filename"]]
    dynamic = yaml.safe_load((COMPOSE.parent / source).read_text())
    services = dynamic["http"]["services"]
    nodes = app_nodes(compose)
    local = dynamic_config(
        [Node(n["environment"]["HYPERTUBE_NODE_ID"], f"http://{name}:8000") for name, n in nodes.items()]
    )
    for node in nodes.values():
        node_id, labels = node["environment"]["HYPERTUBE_NODE_ID"], node["labels"]
        assert services[f"stream-{node_id}"]["failover"] == {
            "service": f"node-{node_id}@docker",
            "fallback": "app@docker",
        }
        expected = local["http"]["services"][f"stream-{node_id}"]["failover"]
        assert expected == {"service": f"node-{node_id}", "fallback": "app"}
        # The failover needs the node's own health check to notice it is down; as often as locally.
        prefix = f"traefik.http.services.node-{node_id}.loadbalancer"
        assert labels[f"{prefix}.healthcheck.path"] == HEALTH_CHECK["path"]
        assert labels[f"{prefix}.healthcheck.interval"] == HEALTH_CHECK["interval"]
        assert labels[f"{prefix}.healthcheck.timeout"] == HEALTH_CHECK["timeout"]
        assert labels["traefik.http.services.app.loadbalancer.healthcheck.path"] == "/healthz"
    assert set(services) == {f"stream-{n['environment']['HYPERTUBE_NODE_ID']}" for n in nodes.values()}


def test_compose_holds_no_secret_values(compose):
    for name, service in compose["services"].items():
        env = service.get("environment") or {}
        for key, value in env.items():
            if SECRET_NAMES.search(key) and not key.endswith("_FILE"):
                pytest.fail(f"{name}: {key} is set in the compose file")
            assert not re.search(r"://[^/@\s]+:[^/@\s]+@", str(value)), f"{name}: {key} carries a password"
    for secret in compose["secrets"].values():
        assert secret["file"].startswith("./secrets/")
    assert "deploy/secrets/" in (ROOT / ".gitignore").read_text()


def test_docker_compose_accepts_the_file():
    # Needs no daemon; the Debian package is optional, so the YAML checks above stand alone.
    binary = shutil.which("docker-compose")
    if binary is None:
        return
    result = subprocess.run(
        [binary, "-f", str(COMPOSE), "config", "--quiet"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_dockerfile_is_multi_stage_slim_non_root_with_a_health_check():
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert len(stages) >= 2 and all("slim" in image for image in stages)
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.M)
    assert "npm" in text.split("\nFROM ", 2)[1] and "npm" not in text.split("\nFROM ", 2)[2]
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", "var", "node_modules", ".git", "deploy/secrets"} <= set(ignored)


def test_a_setting_can_come_from_a_secret_file(tmp_path):
    secret = tmp_path / "secret_key"
    secret.write_text("from-a-mounted-secret\n")
    settings = load_settings(env={"HYPERTUBE_SECRET_KEY_FILE": str(secret)}, dotenv=None)
    assert settings.secret_key == "from-a-mounted-secret"
    with pytest.raises(SettingsError) as err:
        load_settings(env={"HYPERTUBE_SECRET_KEY_FILE": str(tmp_path / "missing")}, dotenv=None)
    assert "HYPERTUBE_SECRET_KEY_FILE" in str(err.value)


def test_local_traefik_routes_streams_by_node_and_sticks_sockets():
    nodes = [Node("n1", "http://127.0.0.1:9001"), Node("n2", "http://127.0.0.1:9002")]
    http = dynamic_config(nodes)["http"]
    assert http["routers"]["stream-n2"]["rule"] == "PathPrefix(`/stream/`) && Query(`node`, `n2`)"
    assert http["routers"]["stream-n2"]["service"] == "stream-n2"
    # pinned to n2 while n2 passes its health check, else to any live node
    assert http["services"]["stream-n2"]["failover"] == {"service": "node-n2", "fallback": "app"}
    assert http["services"]["node-n2"]["loadBalancer"]["servers"] == [{"url": "http://127.0.0.1:9002"}]
    assert http["services"]["node-n2"]["loadBalancer"]["healthCheck"]["path"] == "/healthz"
    assert http["services"]["live"]["loadBalancer"]["sticky"]["cookie"]["name"]
    assert len(http["services"]["app"]["loadBalancer"]["servers"]) == 2
    priorities = {name: router["priority"] for name, router in http["routers"].items()}
    assert priorities["stream-n1"] > priorities["live"] > priorities["app"]
