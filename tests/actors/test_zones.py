"""Placement across zones on a simulated multi-node Ray cluster (``ray.cluster_utils.Cluster``: a
head plus four nodes on this machine labelled zone-a, zone-a, zone-b, zone-c), and the loss of a
whole zone in the middle of a write load on three tables.  The scenario runs in its own process
(``zones_scenario.py``): this session may already hold a private Ray."""

from pathlib import Path

import pytest

from .helpers import run_scenario

SCRIPT = Path(__file__).with_name("zones_scenario.py")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return run_scenario(SCRIPT, tmp_path_factory.mktemp("zones") / "log")


def test_hosts_prefer_distinct_zones_so_a_partitions_replicas_span_three(result):
    assert result["zones_seen"] == ["zone-a", "zone-b", "zone-c"]
    assert result["host_zones"] == ["zone-a", "zone-b", "zone-c"]  # host i in zone i mod 3
    assert sorted(result["replica_zones"]) == ["zone-a", "zone-b", "zone-c"]  # leader + 2 host followers


def test_a_lost_node_restarts_its_host_in_the_same_zone_while_the_zone_has_a_node(result):
    step = result["step1"]
    assert step["killed"] >= 1  # host 0 at least, with its process
    assert step["host0_now_in"] == "zone-a"
    assert all(after >= at + result["resumed"] for at, after in zip(step["acked_at_removal"], step["acked_after"]))


def test_a_lost_zone_restarts_its_hosts_in_the_other_zones_and_every_table_stays_writable(result):
    step = result["step2"]
    assert step["killed"] >= 1
    assert step["hosts_now_in"][0] in ("zone-b", "zone-c", "head")  # not stranded with its zone
    assert step["hosts_now_in"][1:] == ["zone-b", "zone-c"]  # the others never moved
    assert all(after >= at + result["resumed"] for at, after in zip(step["acked_at_removal"], step["acked_after"]))


def test_no_acknowledged_write_is_lost_and_strong_reads_see_every_one(result):
    assert len(result["tables"]) == 3
    for table in result["tables"]:
        assert table["acked"] >= 30 + 2 * result["resumed"]
        assert table["missing"] == [], table["table"]  # every acknowledged put reads back, strongly
        # a put that failed may still have landed (its answer was lost with the node), nothing else can
        assert table["acked"] <= table["scanned"] <= table["acked"] + table["failures"]
