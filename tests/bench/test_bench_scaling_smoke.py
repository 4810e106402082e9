"""The scaling bench's smallest configuration end to end (the local engine, one table, a second of
load), and how it expands its sweep from ``--cores``.  No timing assertions: figures must exist and
be consistent with each other, not reach any value."""

from __future__ import annotations

import json

import bench_scaling
from _scale_run import Config


def test_the_smallest_configuration_produces_sane_figures_and_records_them(tmp_path):
    out, docs = tmp_path / "figures.json", tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## Gateway\n\nsomeone else's\n")
    code = bench_scaling.main(["--engine", "local", "--mode", "machine", "--shards", "1", "--tables", "1",
                               "--duration", "1", "--warmup", "0.2", "--clients", "4", "--load-procs", "1",
                               "--partitions", "10", "--per-partition", "5", "--pool", "50",
                               "--docs", str(docs), "--json", str(out)])
    assert code == 0
    [figures] = json.loads(out.read_text())
    assert figures["mode"] == "machine" and figures["config"] == "local s1 t1" and figures["clients"] == 4
    assert figures["calls"] > 0 and figures["errors"] == 0
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    assert figures["ops_per_s"] > 0 and figures["server_us_per_call"] > 0 and figures["server_cores"] > 0
    busy_core = figures["ops_per_s"] / figures["server_cores"]
    assert abs(figures["ops_per_server_core"] - busy_core) <= 1e-6 * busy_core
    text = docs.read_text()
    assert "someone else's" in text and text.index("## Gateway") < text.index("## Scaling")
    assert "| machine | local s1 t1 |" in text and "bench/bench_scaling.py --engine local" in text


def test_the_sweep_scales_its_defaults_with_the_core_count():
    args = bench_scaling.parse(["--cores", "16", "--tables", "1,4", "--shards", "4,8", "--nodes", "2,3"])
    assert args.hosts == "1,2,4,8,16" and args.gateways == "1,2,4,8"
    assert args.load_procs == 4 and args.clients == 64
    points = bench_scaling.configs(args)
    machine = [c for c in points if not c.nodes]
    assert len(machine) == 5 * 2 * 2 * 4  # the product of hosts, shards, tables, gateways
    assert [c for c in points if c.nodes] == [Config("ray", 2, 8, 4, 1, 2), Config("ray", 3, 8, 4, 1, 3)]
    small = bench_scaling.parse(["--cores", "2", "--mode", "machine", "--engine", "local"])
    assert small.load_procs == 1 and small.clients == 8
    assert {(c.hosts, c.gateways) for c in bench_scaling.configs(small)} == {(1, 1)}  # no hosts or gateways locally


def test_request_pools_spread_over_every_table():
    from _gw_workload import Workload

    tables = [Workload(table=f"scale{i}", partitions=4, per_partition=2) for i in range(3)]
    pools = bench_scaling.pools_for(tables, 30, seed=1)
    for op in ("GetItem", "PutItem"):
        names = [json.loads(body)["TableName"] for body in pools[op]]
        assert len(names) == 30 and {names.count(t) for t in ("scale0", "scale1", "scale2")} == {10}
