"""Partition split and move under a concurrent write load on a simulated multi-node Ray cluster
(issue 13): a head plus one node in each of three zones, three partition hosts (one per zone), a
table of 4 shards spread from one host to all three while four writers run.  The scenario runs in
its own process (``split_scenario.py``): this session may already hold a private Ray."""

from pathlib import Path

import pytest

from .helpers import run_scenario

SCRIPT = Path(__file__).with_name("split_scenario.py")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return run_scenario(SCRIPT, tmp_path_factory.mktemp("split") / "log")


def test_each_split_and_move_is_recorded_and_the_table_takes_writes_after_it(result):
    steps = result["steps"]
    assert [step.get("error") for step in steps] == [None] * 4
    assert [step["version"] for step in steps] == [1, 2, 3, 4]
    assert [len(step["ranges"]) for step in steps] == [2, 3, 2, 3]
    assert all(step["resumed"] for step in steps)


def test_the_ranges_end_on_three_hosts_in_three_zones(result):
    final = result["final"]
    assert [r[:2] for r in final["Ranges"]] == [[0, 1], [1, 2], [2, 4]]
    assert sorted(r[2] for r in final["Ranges"]) == [0, 1, 2]
    assert sorted(result["range_zones"]) == ["zone-a", "zone-b", "zone-c"]


def test_every_acknowledged_write_is_there_once_and_strong_reads_see_it(result):
    writers = result["writers"]
    assert all(len(w["acked"]) >= 20 + 4 * 15 for w in writers)
    assert result["missing"] == []  # every acknowledged put reads back, strongly consistent
    for w, counter in zip(writers, result["counters"]):  # no addition lost or applied twice
        assert w["added"] <= counter <= w["added"] + w["failures"]
    scanned = result["scanned"]
    assert len(scanned) == len(set(scanned)) and result["pages"] > 1  # a paged Scan: each item once
    acked = {name for w in writers for name in w["acked"]} | {f"c{i}" for i in range(len(writers))}
    unknown = sum(w["failures"] for w in writers)  # a put that failed may still have landed
    assert acked <= set(scanned) and len(scanned) <= len(acked) + unknown
