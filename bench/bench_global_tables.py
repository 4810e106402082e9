"""Global tables: replication latency between two regions on one machine under a steady write load.

Two regions side by side on 127.0.0.1 (each a gateway over a ``LocalEngine`` on its own durable
embedded log, as ``dynamoray serve --engine local --region R --regions-file F`` runs them; here
both in this process), a table replicated both ways.  A client writes ``--rate`` PutItems a second
for ``--seconds`` into one region (``--both``: into each region, half the rate each).  Per change,
the ReplicationLatency as CloudWatch defines it: from the commit in the origin region (the log
record's timestamp) to its acknowledgement by the receiving region (applied, durable there).
Reports p50/p99/max and the writes' own latency.

End to end, alongside the load, a probe writes a new item into the first region every
``--probe-gap`` seconds and polls the other region (GetItem, every 2 ms) until it reads it: the
time from the write's acknowledgement in the first region to the item readable in the other
(``end_to_end_ms``).  ``--kafka``: each region on its own Tansu broker (two started here on
127.0.0.1, stopped by PID) and the changes mirrored topic to topic (``actors/mirror.py``) instead
of sent to the other region's endpoint; ReplicationLatency is then measured to the append in the
target's cluster, so only the end-to-end figure compares the two paths.

    .venv/bin/python bench/bench_global_tables.py [--rate 200] [--seconds 10] [--both] [--kafka] [--json out.json]
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

from tests.e2e.global_regions import (ACCESS_KEY, SECRET_KEY, Region, items, replica_active,  # noqa: E402
                                      start_regions, wait_for)

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


def _probe(source, target, table: str, gap: float, stop: threading.Event, out: list[float]) -> None:
    """Write a new item into ``source`` every ``gap`` s; time until ``target`` reads it (ms)."""
    n = 0
    while not stop.is_set():
        key = {"p": {"S": f"probe-{n}"}}
        source.put_item(TableName=table, Item={**key, "v": {"N": str(n)}})
        acknowledged = time.perf_counter()
        while not target.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item"):
            if time.perf_counter() - acknowledged > 30:
                raise RuntimeError(f"probe {n} not replicated in 30 s")
            time.sleep(0.002)
        out.append((time.perf_counter() - acknowledged) * 1000)
        n += 1
        stop.wait(gap)


def _kafka_regions(root: Path) -> tuple[dict, list]:
    """Two regions, each on its own Tansu broker, mirrored topic to topic."""
    from dynamoray.gateway.runner import free_port
    from tests.kafka_broker import start_tansu

    brokers = {name: start_tansu(root / f"tansu-{name}.log") for name in (EAST, WEST)}
    mapping = {name: {"endpoint": f"http://127.0.0.1:{free_port()}", "access_key_id": ACCESS_KEY,
                      "secret_access_key": SECRET_KEY, "kafka_bootstrap": brokers[name][1]} for name in (EAST, WEST)}
    regions = {name: Region(name, root / name, mapping, shards=4, kafka=brokers[name][1]).start()
               for name in (EAST, WEST)}
    return regions, [proc for proc, _ in brokers.values()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="PutItems a second (in total)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--both", action="store_true", help="write into both regions")
    parser.add_argument("--kafka", action="store_true", help="each region on its own Tansu broker, mirrored")
    parser.add_argument("--probe-gap", type=float, default=0.05, help="seconds between two end-to-end probes")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-global-"))
    brokers: list = []
    if args.kafka:
        regions, brokers = _kafka_regions(root)
    else:
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
        end_to_end: list[float] = []
        stop = threading.Event()
        probe = threading.Thread(target=_probe, args=(regions[EAST].client(), regions[WEST].client(), table,
                                                      args.probe_gap, stop, end_to_end))
        probe.start()
        for thread in writers:
            thread.join()
        stop.set()
        probe.join()
        wait_for(lambda: all(s.pending == 0 for r in regions.values() for s in r.service.metrics()), timeout=60)
        time.sleep(0.2)
        wait_for(lambda: items(east, table) == items(west, table), timeout=60)
        latencies = [ms for r in regions.values() for s in r.service.metrics() for ms in s.latencies]
        result = {
            "rate": args.rate, "seconds": args.seconds, "both": args.both, "changes": len(latencies),
            "path": "kafka mirror" if args.kafka else "replication endpoint",
            "replication_ms": {"p50": _pct(latencies, 0.5), "p99": _pct(latencies, 0.99), "max": max(latencies),
                               "mean": statistics.fmean(latencies)},
            "end_to_end_ms": {"probes": len(end_to_end), "p50": _pct(end_to_end, 0.5), "p99": _pct(end_to_end, 0.99),
                              "max": max(end_to_end)},
            "write_ms": {"p50": _pct(write_ms, 0.5), "p99": _pct(write_ms, 0.99)},
            "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        }
        print(json.dumps(result, indent=2))
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2))
    finally:
        for region in regions.values():
            region.stop()
        if brokers:
            from tests.kafka_broker import stop_tansu

            for proc in brokers:
                stop_tansu(proc)


if __name__ == "__main__":
    main()
