"""The SDK bench end to end with a few calls per phase (no timing checks: only that every client
produced figures for every phase)."""

import json

import bench_sdk


def test_every_client_is_measured_on_every_phase(tmp_path):
    out = tmp_path / "figures.json"
    assert bench_sdk.main(["--ops", "16", "--warmup", "4", "--rounds", "2", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert {(f["client"], f["operation"], f["concurrency"]) for f in figures} == {
        (client, op, n) for client in ("boto3", "sdk sync", "sdk async") for op in ("GetItem", "PutItem") for n in (1, 8)}
    for f in figures:
        assert f["calls"] == 16 and f["ops_per_s"] > 0 and 0 < f["p50_ms"] <= f["p99_ms"], f
