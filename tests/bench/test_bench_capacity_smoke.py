"""The capacity bench runs end to end in a few seconds and reports every configuration (no timing checks)."""

import asyncio

import bench_capacity


def test_every_configuration_is_measured_for_both_operations():
    rows = asyncio.run(bench_capacity.bench(calls=20, rounds=1))
    assert [(row["operation"], row["config"]) for row in rows] == [
        (operation, config) for operation in bench_capacity.OPERATIONS for config in bench_capacity.CONFIGS]
    assert all(row["p50_us"] > 0 and row["cpu_us"] > 0 for row in rows)
    assert "| GetItem | off |" in bench_capacity.table(rows)
