"""The authorization bench runs end to end in a few seconds and reports every policy (no timing checks)."""

import asyncio

import bench_authz


def test_every_policy_is_measured_in_process_and_over_http():
    labels = ["root (no evaluation)", *bench_authz.POLICIES]
    in_process = asyncio.run(bench_authz._time_in_process(20))
    assert [label for label, _ in in_process] == labels
    assert all(micros > 0 for _, micros in in_process)
    over_http = bench_authz._time_http(5)  # every GetItem must be allowed (the bench exits otherwise)
    assert [label for label, _, _ in over_http] == labels
    assert all(p99 >= p50 > 0 for _, p50, p99 in over_http)
