"""Placement across zones on a simulated multi-node Ray cluster (``ray.cluster_utils.Cluster``: a
head plus four nodes on this machine advertising zone-a, zone-a, zone-b, zone-c), and the loss of
the node holding a table's leader in the middle of a write load.  The scenario runs in its own
process (``zones_scenario.py``): this session may already hold a private Ray."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("zones_scenario.py")
ROOT = Path(__file__).resolve().parents[2]


def test_replicas_in_three_zones_and_a_lost_node_loses_no_acknowledged_write(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "log")], capture_output=True, text=True,
                          timeout=400, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-4000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert result["zones_seen"] == ["zone-a", "zone-b", "zone-c"]
    assert result["host_zones"] == ["zone-a", "zone-b", "zone-c"]  # host i in zone i mod 3
    assert sorted(result["replica_zones"]) == ["zone-a", "zone-b", "zone-c"]  # leader + 2 host followers
    assert result["lost_zone"] == "zone-a" and result["killed"] >= 1  # the leader's node, with its processes
    assert result["acked"] >= result["acked_at_removal"] + 100  # writes went on after the loss
    assert result["missing"] == []  # every acknowledged write reads back, from the restarted leader
    # a put that failed may still have landed (its answer was lost with the node), nothing else can
    assert result["acked"] <= result["scanned"] <= result["acked"] + result["failures"]
    assert result["leader_now_in"] == "zone-a"  # Ray restarted the host on its zone's other node
