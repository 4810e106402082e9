"""The gateway bench end to end against the floor server (about a second), and its helpers.

No timing assertions: the smoke test checks that every phase produced figures, not what they are.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import socket
import subprocess
import sys

import pytest

import bench_gateway
from _gw_http import encode_request, read_response
from _gw_load import Limits, PhaseResult, _Budget, percentile, summarize
from _gw_procs import descendants, listening_addresses, parse_listeners, tree_cpu_seconds
from _gw_report import record
from _gw_sigv4 import Signer
from _gw_workload import Workload

from dynamoray.core.values import item_size
from dynamoray.gateway.auth import Authenticator, Principal

PHASES = {f"{op}/{n}" for op in ("GetItem", "PutItem", "UpdateItem", "Query") for n in (1, 8)} | {"Mixed 90/10/8"}


def test_harness_against_the_floor_gives_figures_for_every_phase(tmp_path):
    out = tmp_path / "figures.json"
    docs = tmp_path / "benchmarks.md"
    code = bench_gateway.main(["--targets", "floor", "--duration", "0.08", "--rounds", "1", "--warmup", "0.05",
                               "--idle", "0.1", "--partitions", "20", "--pool", "50",
                               "--docs", str(docs), "--json", str(out)])
    assert code == 0
    figures = json.loads(out.read_text())
    assert {f["phase"] for f in figures} == PHASES and {f["target"] for f in figures} == {"floor"}
    for f in figures:
        assert f["calls"] > 0 and f["errors"] == 0, f
        assert 0 < f["p50_ms"] <= f["p99_ms"], f
        assert f["ops_per_s"] > 0, f
        assert f["server_us_per_call"] >= 0 and f["client_us_per_call"] > 0 and f["others_pct"] >= 0, f
    text = docs.read_text()
    assert "## Gateway" in text and "| Mixed 90/10 | 8 | floor |" in text
    assert "bench/bench_gateway.py --targets floor" in text


def test_signatures_are_accepted_by_the_gateway_authenticator():
    auth = Authenticator()
    auth.add_key("AKIDBENCH", "s3cret", Principal("AKIDBENCH", "arn:aws:iam::000000000000:root", "000000000000"))
    body = b'{"TableName":"t"}'
    headers = Signer("127.0.0.1", 8000, "AKIDBENCH", "s3cret", "us-east-1").headers("GetItem", body)
    assert headers["X-Amz-Target"] == "DynamoDB_20120810.GetItem"
    lowered = {k.lower(): v for k, v in headers.items()}
    assert auth.verify("POST", "/", "", lowered, body).access_key == "AKIDBENCH"
    with pytest.raises(Exception, match="signature"):
        auth.verify("POST", "/", "", lowered, body + b" ")


def test_items_are_exactly_the_requested_size_and_the_preload_puts_each_once():
    workload = Workload(partitions=7, per_partition=4, item_bytes=1024)
    assert item_size(workload.item(6, 3, 123456)) == 1024
    batches = list(workload.preload())
    assert all(len(b["RequestItems"]["bench"]) <= 25 for b in batches)
    keys = [(r["PutRequest"]["Item"]["pk"]["S"], r["PutRequest"]["Item"]["sk"]["N"])
            for b in batches for r in b["RequestItems"]["bench"]]
    assert len(keys) == len(set(keys)) == 28
    pools = workload.pools(5, seed=3)
    assert pools == workload.pools(5, seed=3) and set(pools) == {"GetItem", "PutItem", "UpdateItem", "Query"}


def _parse(raw: bytes):
    async def go():
        reader = asyncio.StreamReader()
        reader.feed_data(raw)
        reader.feed_eof()
        return await read_response(reader)

    return asyncio.run(go())


def test_responses_are_framed_by_length_or_chunks():
    assert _parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}") == (200, b"{}", True)
    chunked = (b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    assert _parse(chunked) == (400, b"abcde", False)
    request = encode_request({"Host": "h"}, b"xyz")
    assert request == b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"


def test_percentiles_and_pooled_summary():
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0 and percentile([1.0, 2.0, 3.0, 4.0], 0.99) == 4.0
    assert math.isnan(percentile([], 0.5))
    a = PhaseResult(latencies=[0.001] * 99, elapsed=1.0, server_cpu=0.099, client_cpu=0.0)
    b = PhaseResult(latencies=[0.010], elapsed=1.0, server_cpu=0.001, client_cpu=0.0, errors=1, first_error="x")
    s = summarize([a, b])
    assert (s.calls, s.errors, s.first_error) == (100, 1, "x")
    assert s.p50_ms == pytest.approx(1.0) and s.p99_ms == pytest.approx(1.0)
    assert s.ops_per_s == pytest.approx(50.0) and s.server_us_per_call == pytest.approx(1000.0)


def test_every_phase_is_bounded_by_count_and_time_yet_makes_one_call():
    expired = _Budget(Limits(duration=0.0, max_requests=100))
    assert [expired.take() for _ in range(3)] == [True, False, False]
    capped = _Budget(Limits(duration=3600.0, max_requests=2))
    assert [capped.take() for _ in range(3)] == [True, True, False]


def test_process_tree_cpu_and_listeners():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in descendants(os.getpid())
        assert tree_cpu_seconds(os.getpid()) > 0
    finally:
        child.kill()
        child.wait()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert (s.getsockname()[1], True) in [(p, lo) for _, p, lo in listening_addresses(os.getpid())]
    table = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
             "   0: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111\n"
             "   1: 0100007F:1F41 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222\n"
             "   2: 0100007F:1F42 0100007F:9999 01 00000000:00000000 00:00000000 00000000     0        0 333\n")
    assert parse_listeners(table, {"111", "222", "333"}) == [("00000000", 8000, False), ("0100007F", 8001, True)]


def test_a_run_lands_in_the_gateway_section_and_leaves_other_sections_alone(tmp_path):
    docs = tmp_path / "b.md"
    docs.write_text("# Benchmarks\n\n## Event log\n\nlog figures\n\n## Gateway\n\nnotes\n\n## Later\n\nother\n")
    for run in ("first", "second"):
        record(docs, f"cmd {run}", run, "machine", "settings", [("GetItem",) * 10], [], [])
    text = docs.read_text()
    assert text.startswith("# Benchmarks\n\n## Event log\n\nlog figures\n\n## Gateway\n\nnotes\n")
    assert text.endswith("\n## Later\n\nother\n")
    assert text.index("### Run of first") < text.index("### Run of second") < text.index("## Later")
