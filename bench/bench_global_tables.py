"""Global tables: replication latency between two regions on one machine under a steady write load.

Two regions side by side on 127.0.0.1 (each a gateway over a ``LocalEngine`` on its own durable
embedded log, as ``dynamoray serve --engine local --region R --regions-file F`` runs them; here
both in this process), a table replicated both ways.  A client writes ``--rate`` PutItems a second
for ``--seconds`` into one region (``--both``: into each region, half the rate each).  Per change,
the ReplicationLatency as CloudWatch defines it: from the commit in the origin region (the log
record's timestamp) to its acknowledgement by the receiving region (applied, durable there).
Reports p50/p99/max and the writes' own latency.

    .venv/bin/python bench/bench_global_tables.py [--rate 200] [--seconds 10] [--both] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.global_regions import items, replica_active, start_regions, wait_for  # noqa: E402

EAST, WEST = "us-east-1", "eu-west-1"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _writer(client, table: str, prefix: str, rate: float, seconds: float, out: list[float]) -> None:
    gap = 1.0 / rate
    start = time.perf_counter()
    n = 0
    while True:
        due = start + n * gap
        if due - start >= seconds:
            return
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        t0 = time.perf_counter()
        client.put_item(TableName=table, Item={"p": {"S": f"{prefix}{n % 1000}"}, "v": {"N": str(n)},
                                               "pad": {"S": "x" * 100}})
        out.append((time.perf_counter() - t0) * 1000)
        n += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="PutItems a second (in total)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--both", action="store_true", help="write into both regions")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-global-"))
    regions = start_regions([EAST, WEST], root, shards=4)
    try:
        east, west = regions[EAST].client(), regions[WEST].client()
        table = "bench_global"
        east.create_table(TableName=table, KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
        east.update_table(TableName=table, ReplicaUpdates=[{"Create": {"RegionName": WEST}}])
        wait_for(lambda: replica_active(east, table, WEST))
        writers, write_ms = [], []
        targets = [(east, "e")] + ([(west, "w")] if args.both else [])
        for client, prefix in targets:
            thread = threading.Thread(target=_writer, args=(client, table, prefix, args.rate / len(targets),
                                                            args.seconds, write_ms))
            writers.append(thread)
            thread.start()
        for thread in writers:
            thread.join()
        wait_for(lambda: all(s.pending == 0 for r in regions.values() for s in r.service.metrics()), timeout=60)
        time.sleep(0.2)
        wait_for(lambda: items(east, table) == items(west, table), timeout=60)
        latencies = [ms for r in regions.values() for s in r.service.metrics() for ms in s.latencies]
        result = {
            "rate": args.rate, "seconds": args.seconds, "both": args.both, "changes": len(latencies),
            "replication_ms": {"p50": _pct(latencies, 0.5), "p99": _pct(latencies, 0.99), "max": max(latencies),
                               "mean": statistics.fmean(latencies)},
            "write_ms": {"p50": _pct(write_ms, 0.5), "p99": _pct(write_ms, 0.99)},
            "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        }
        print(json.dumps(result, indent=2))
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2))
    finally:
        for region in regions.values():
            region.stop()


if __name__ == "__main__":
    main()
