"""``ray_cluster.yaml``: valid for Ray's cluster launcher (its own defaults merge and JSON-schema
validation, what ``ray up`` runs before it calls the cloud), three zones, and a gateway command
that ``dynamoray serve`` accepts."""

import copy
import shlex
from pathlib import Path

import pytest
import yaml

from dynamoray.actors.options import ZONE_LABEL
from dynamoray.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "ray_cluster.yaml"


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(CONFIG.read_text())


@pytest.fixture(scope="module")
def prepared(raw):
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = prepare_config(copy.deepcopy(raw))
    validate_config(config)  # raises jsonschema.ValidationError on a bad field
    return config


def test_ray_validates_the_cluster_config(prepared):
    assert prepared["head_node_type"] == "head"
    assert prepared["provider"]["type"] == "aws"
    assert "cluster_synced_files" in prepared  # filled in from Ray's defaults, as `ray up` does


def test_ray_rejects_a_config_it_does_not_know():
    """The check is real: an unknown field or a malformed node type fails it."""
    import jsonschema
    from ray.autoscaler._private.util import prepare_config, validate_config

    broken = yaml.safe_load(CONFIG.read_text())
    broken["available_node_types"]["worker-zone-a"]["resources"] = "zone-a"
    with pytest.raises(jsonschema.ValidationError):
        validate_config(prepare_config(broken))


def _zones(node_type: dict) -> list[str]:
    labels = node_type.get("labels", {})
    return [labels[ZONE_LABEL]] if ZONE_LABEL in labels else []


def test_workers_advertise_three_distinct_zones_and_the_head_none(prepared):
    types = prepared["available_node_types"]
    assert _zones(types[prepared["head_node_type"]]) == []
    workers = {name: _zones(spec) for name, spec in types.items() if name != prepared["head_node_type"]}
    assert sorted(zone for zones in workers.values() for zone in zones) == ["zone-a", "zone-b", "zone-c"]
    assert all(len(zones) == 1 for zones in workers.values())
    for name, spec in types.items():
        if name != prepared["head_node_type"]:
            assert spec["min_workers"] >= 1  # every zone has a node from the start
    subnets = {tuple(spec["node_config"]["SubnetIds"]) for name, spec in types.items() if _zones(spec)}
    assert len(subnets) == 3  # one subnet (one availability zone) per zone label


def _serve_command(prepared) -> list[str]:
    for command in prepared["head_start_ray_commands"]:
        words = shlex.split(command)
        if any(word.endswith("/dynamoray") for word in words) and "serve" in words:
            return words
    raise AssertionError("no `dynamoray serve` in head_start_ray_commands")


def test_the_head_starts_a_gateway_dynamoray_accepts(prepared):
    words = _serve_command(prepared)
    start = next(i for i, word in enumerate(words) if word.endswith("/dynamoray"))
    end = words.index(">") if ">" in words else len(words)
    args = build_parser().parse_args(words[start + 1:end])
    assert args.ray_address == "auto" and args.engine == "ray"
    assert args.wait_for_zones == 3  # the head starts before the workers: place hosts once all three joined
    assert args.replicas == 3 and args.hosts % 3 == 0  # three replicas of a partition in three zones
    assert args.kafka_bootstrap and args.gateways > 1
    assert any(word.startswith("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1") for word in
               shlex.split(" ".join(prepared["head_start_ray_commands"])))


def test_every_ray_start_runs_workers_at_the_drivers_priority(prepared):
    """Ray's default (nice 15) leaves partition hosts waiting for a core behind the gateway."""
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        starts = [c for c in prepared[key] if " ray start" in f" {c}" or "/ray start" in c]
        assert starts, key
        assert all("RAY_worker_niceness=0" in shlex.split(c) for c in starts), key


def test_the_checkout_is_mounted_and_installed_on_every_node(prepared):
    (target, source), = prepared["file_mounts"].items()
    assert source == "."
    assert any(f"pip install --quiet -e {target}" in command for command in prepared["setup_commands"])
