"""The backup bench end to end with a tiny table (no timing checks: every figure is produced, and
the backup and both restores hold every item)."""

import json

import bench_backups


def test_every_figure_is_produced(tmp_path):
    out = tmp_path / "figures.json"
    assert bench_backups.main(["--items", "500", "--load-seconds", "0.3", "--load-concurrency", "4",
                               "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    alone, during = figures["writes_alone"], figures["writes_during_backup"]
    assert alone["writes"] > 0 and 0 < alone["p50_ms"] <= alone["p99_ms"]
    assert during["writes"] >= 0 and during["p50_ms"] <= during["p99_ms"]
    backup = figures["create_backup"]
    assert 500 + alone["writes"] <= backup["items"] <= 500 + alone["writes"] + during["writes"]  # a cut meanwhile
    assert figures["restore_from_backup"]["items_per_s"] > 0
    assert figures["restore_to_point_in_time"]["items"] == 500 + alone["writes"] + during["writes"]


def test_the_rebuild_on_a_thread_as_before(tmp_path):
    out = tmp_path / "figures.json"
    assert bench_backups.main(["--items", "200", "--load-seconds", "0.2", "--load-concurrency", "2",
                               "--rebuild", "thread", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["rebuild"] == "thread" and figures["create_backup"]["items"] >= 200
