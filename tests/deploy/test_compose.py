"""``docker/docker-compose.yml`` and ``docker/Dockerfile``: no Docker engine runs here, so the files
are checked for what can be checked: the compose file parses, its services, environments, ports,
volumes and dependencies agree with each other, and its commands are ones ``dynamoray serve`` and
``ray start`` accept.  With a ``docker`` client that has the compose plugin, ``docker compose
config -q`` validates it too (it needs no engine)."""

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from ray._private.label_utils import parse_node_labels_string

from dynamoray.actors.options import ZONE_LABEL
from dynamoray.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "docker-compose.yml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def kafkas(services):
    return {name: spec for name, spec in services.items() if name.startswith("kafka-")}


def workers(services):
    return {name: spec for name, spec in services.items() if name.startswith("ray-zone-")}


def _words(spec) -> list[str]:
    command = spec["command"]
    return shlex.split(command[0] if isinstance(command, list) else command)


def serve_args(spec):
    words = _words(spec)
    start = words.index("dynamoray")
    assert words[start + 1] == "serve"
    return build_parser().parse_args(words[start + 1:])


def test_three_kraft_brokers_with_replication_3_and_min_isr_2(services):
    brokers = kafkas(services)
    assert len(brokers) == 3
    ids, racks = set(), set()
    for name, spec in brokers.items():
        env = spec["environment"]
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft: no ZooKeeper
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert (env["KAFKA_DEFAULT_REPLICATION_FACTOR"], env["KAFKA_MIN_INSYNC_REPLICAS"]) == ("3", "2")
        assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
        voters = dict(voter.split("@") for voter in env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(","))
        assert voters == {spec2["environment"]["KAFKA_NODE_ID"]: f"{name2}:9093" for name2, spec2 in brokers.items()}
        assert "CONTROLLER://:9093" in env["KAFKA_LISTENERS"] and "PLAINTEXT://:9092" in env["KAFKA_LISTENERS"]
        ids.add(env["KAFKA_NODE_ID"])
        racks.add(env["KAFKA_BROKER_RACK"])
        assert env["CLUSTER_ID"] == brokers["kafka-1"]["environment"]["CLUSTER_ID"]  # one cluster
        assert spec["healthcheck"]["test"]
    assert ids == {"1", "2", "3"} and racks == {"zone-a", "zone-b", "zone-c"}


def test_the_gateway_runs_on_the_head_with_replicas_across_the_zones(services):
    head = services["ray-head"]
    args = serve_args(head)
    assert args.ray_address == "auto" and args.gateways > 1
    assert args.replicas == 3 and args.hosts % 3 == 0 and not args.gateway_follower
    assert args.wait_for_zones == len(workers(services)) == 3
    assert sorted(args.kafka_bootstrap.split(",")) == sorted(f"{name}:9092" for name in kafkas(services))
    assert head["ports"] == [f"{args.port}:{args.port}"] and args.host == "0.0.0.0"
    words = _words(head)
    assert words[:3] == ["ray", "start", "--head"]
    assert head["environment"]["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "1"  # Ray on the container's address
    assert head["environment"]["RAY_worker_niceness"] == "0"  # hosts at the gateway's priority
    assert set(head["depends_on"]) == set(kafkas(services))
    assert all(dep["condition"] == "service_healthy" for dep in head["depends_on"].values())
    assert args.data_dir == "/data" and "dynamoray-data:/data" in head["volumes"]


def test_each_zone_has_a_ray_worker_advertising_its_zone(services):
    head_port = re.search(r"--port=(\d+)", " ".join(_words(services["ray-head"]))).group(1)
    zones = set()
    for name, spec in workers(services).items():
        words = _words(spec)
        assert words[:2] == ["ray", "start"] and "--block" in words
        assert f"--address=ray-head:{head_port}" in words
        labels = parse_node_labels_string(next(w for w in words if w.startswith("--labels=")).partition("=")[2])
        zone = [labels[ZONE_LABEL]]  # the Ray node label hosts are placed by (options.zone_placement)
        assert name == f"ray-{zone[0]}" and spec["labels"]["dynamoray.zone"] == zone[0][len("zone-"):]
        assert spec["image"] == services["ray-head"]["image"]
        assert "dynamoray-data:/data" in spec["volumes"]  # the keyring and snapshots every host reads
        assert spec["environment"]["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "1"
        assert spec["environment"]["RAY_worker_niceness"] == "0"
        zones.add(zone[0])
    assert zones == {"zone-a", "zone-b", "zone-c"}


def test_dependencies_volumes_and_build_are_consistent(compose, services):
    for name, spec in services.items():
        for dependency, how in (spec.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if how.get("condition") == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
        for volume in spec.get("volumes", ()):
            source = volume.split(":")[0]
            assert source in compose["volumes"], f"{name} mounts undeclared volume {source}"
    build = services["ray-head"]["build"]
    context = (COMPOSE.parent / build["context"]).resolve()
    assert context == ROOT and (context / build["dockerfile"]) == DOCKERFILE
    published = [port.split(":")[0] for spec in services.values() for port in spec.get("ports", ())]
    assert len(published) == len(set(published))


def test_the_dockerfile_installs_the_package_and_runs_dynamoray():
    text = DOCKERFILE.read_text()
    for line in text.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"COPY of a missing {source}"
    assert 'ENTRYPOINT ["dynamoray"]' in text
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.M).group(1))
    args = build_parser().parse_args(cmd)
    assert (args.host, args.port, args.data_dir) == ("0.0.0.0", 8000, "/data")
    ignored = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text()
    assert "!dynamoray/" in ignored and "!pyproject.toml" in ignored


def _compose_client() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=60)
    return docker if probe.returncode == 0 else None


def test_docker_compose_accepts_the_file():
    docker = _compose_client()
    if docker is None:
        pytest.skip("no `docker compose` here (the docker client is missing or lacks the compose plugin): "
                    "only the parsing checks above ran")
    done = subprocess.run([docker, "compose", "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
