"""The index bench end to end on the local engine with tiny sizes (no timing checks: only that
every figure is produced and the backfill indexed every item)."""

import json

import bench_indexes


def test_every_figure_is_produced(tmp_path):
    out = tmp_path / "figures.json"
    assert bench_indexes.main(["--engines", "local", "--items", "200", "--writes", "5", "--core-items", "500",
                               "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    core = figures["core"]
    assert core["items"] == 500 and core["backfill_items_per_s"] > 0 and core["build_all_s"] >= 0
    (local,) = figures["engines"]
    assert local["engine"] == "local"
    assert local["propagation"]["writes"] == 5 and 0 < local["propagation"]["lag_p50_ms"] <= local["propagation"]["lag_p99_ms"]
    assert local["backfill"]["indexed"] == 200 and local["backfill"]["items_per_s"] > 0
