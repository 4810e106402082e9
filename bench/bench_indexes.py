"""Secondary indexes: GSI propagation lag, online backfill speed, and the cost of building an
index when a partition opens (issue 12).

    .venv/bin/python bench/bench_indexes.py [--engines local,ray] [--items 50000] [--writes 300]
        [--core-items 100000] [--json out.json]

For each engine, ``dynamoray serve --engine <engine>`` runs on a free loopback port with a temporary
data directory (the durable embedded log), and through boto3:

- **propagation lag**: a table with a KEYS_ONLY GSI; ``--writes`` times, PutItem of an item with a
  new GSI key, then Query on the GSI (eventually consistent, as a GSI read is) until it returns the
  item: the time from the write's acknowledgement to the first query that sees it, p50/p99, and how
  often the first query already saw it;
- **online backfill**: ``--items`` items loaded with BatchWriteItem, then UpdateTable creates a GSI
  (ALL projection) and DescribeTable is polled every 20 ms until it is ACTIVE: items/s of the whole
  creation, as a client sees it.

Then, in process (no server), over ``--core-items`` items of one shard: how long building an index
from the items takes (what a partition does when it opens: snapshots hold no index), beside decoding
the snapshot of the same items, and how fast ``partition.backfill_index`` goes in 2,000-item chunks.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _gw_targets import dynamoray_engines, start_dynamoray  # noqa: E402

from dynamoray.core import indexes, keys, partition, snapshot  # noqa: E402
from dynamoray.core.commands import ItemChange  # noqa: E402

ACCESS_KEY, SECRET_KEY, REGION = "AKIDINDEXBENCH", "index-bench-secret", "us-east-1"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def client(endpoint: str):
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY,
                        config=Config(retries={"max_attempts": 0}, max_pool_connections=16))


def wait_active(ddb, name: str, index: str | None = None, poll: float = 0.02) -> float:
    started = time.perf_counter()
    while True:
        table = ddb.describe_table(TableName=name)["Table"]
        if index is None and table["TableStatus"] == "ACTIVE":
            return time.perf_counter() - started
        found = [e for e in table.get("GlobalSecondaryIndexes", ()) if e["IndexName"] == index]
        if index is not None and found and found[0]["IndexStatus"] == "ACTIVE":
            return time.perf_counter() - started
        time.sleep(poll)


def propagation(endpoint: str, writes: int) -> dict:
    ddb = client(endpoint)
    name = "bench_gsi_lag"
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"},
                                           {"AttributeName": "g", "AttributeType": "S"}],
                     GlobalSecondaryIndexes=[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                              "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    wait_active(ddb, name)
    lags, first_hits, queries = [], 0, 0
    for i in range(writes):
        ddb.put_item(TableName=name, Item={"p": {"S": f"k{i}"}, "g": {"S": f"g{i}"}, "pad": {"S": "x" * 200}})
        acked = time.perf_counter()
        tries = 0
        while True:
            tries += 1
            found = ddb.query(TableName=name, IndexName="by_g", KeyConditionExpression="g = :g",
                              ExpressionAttributeValues={":g": {"S": f"g{i}"}})["Count"]
            if found:
                break
        lags.append((time.perf_counter() - acked) * 1000)
        first_hits += tries == 1
        queries += tries
    return {"writes": writes, "lag_p50_ms": round(percentile(lags, 0.5), 2), "lag_p99_ms": round(percentile(lags, 0.99), 2),
            "first_query_saw_it": round(first_hits / writes, 3), "queries_per_write": round(queries / writes, 2)}


def backfill(endpoint: str, items: int) -> dict:
    ddb = client(endpoint)
    name = "bench_gsi_backfill"
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}])
    wait_active(ddb, name)
    loaded = time.perf_counter()

    step = -(-items // 4 // 25) * 25  # four loaders, each a run of whole batches

    def load(start: int) -> None:
        own = client(endpoint)
        for batch in range(start, min(start + step, items), 25):
            own.batch_write_item(RequestItems={name: [
                {"PutRequest": {"Item": {"p": {"S": f"k{i}"}, "g": {"S": f"g{i % 1000}"}, "v": {"N": str(i)},
                                         "pad": {"S": "x" * 100}}}} for i in range(batch, min(batch + 25, items))]})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(load, range(0, items, step)))
    load_seconds = time.perf_counter() - loaded
    started = time.perf_counter()
    ddb.update_table(TableName=name, AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
                     GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": "by_g", "KeySchema": [
                         {"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}}])
    wait_active(ddb, name, "by_g")
    seconds = time.perf_counter() - started
    count = ddb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"][0]["ItemCount"]
    return {"items": items, "indexed": count, "load_s": round(load_seconds, 1), "create_to_active_s": round(seconds, 2),
            "items_per_s": round(items / seconds)}


def engine_run(engine: str, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        target = start_dynamoray(Path(workdir), ACCESS_KEY, SECRET_KEY, engine)
        try:
            endpoint = f"http://127.0.0.1:{target.port}"
            lag = propagation(endpoint, args.writes)
            print(f"{engine}: propagation {lag}", flush=True)
            fill = backfill(endpoint, args.items)
            print(f"{engine}: backfill {fill}", flush=True)
            return {"engine": engine, "propagation": lag, "backfill": fill}
        finally:
            target.stop()


def core_run(count: int) -> dict:
    schema = keys.KeySchema("p", "S")
    state = partition.PartitionState(schema)
    for i in range(count):
        item = {"p": {"S": f"k{i}"}, "g": {"S": f"g{i % 1000}"}, "v": {"N": str(i)}, "pad": {"S": "x" * 100}}
        partition.evolve(state, ItemChange("INSERT", {"p": item["p"]}, None, item))
    out = {"items": count}
    for projection in ("ALL", "KEYS_ONLY"):
        index = indexes.IndexDef("by_g", True, keys.KeySchema("g", "S"), schema, projection)
        started = time.perf_counter()
        indexes.build(index, state.collections)
        out[f"build_{projection.lower()}_s"] = round(time.perf_counter() - started, 3)
    header = snapshot.SnapshotHeader("t", 0, 0, 1, 0, schema, state.item_count, None)
    data = snapshot.encode_bytes(header, snapshot.capture(state))
    started = time.perf_counter()
    snapshot.decode(data)
    out["snapshot_decode_s"] = round(time.perf_counter() - started, 3)
    index = indexes.IndexDef("by_g", True, keys.KeySchema("g", "S"), schema, "ALL")
    partition.adopt_indexes(state, indexes.IndexSet(1, (index,)), complete=False)
    started, after = time.perf_counter(), None
    while True:
        after = partition.backfill_index(state, "by_g", after, 2000)
        if after is None:
            break
    seconds = time.perf_counter() - started
    out["backfill_items_per_s"] = round(count / seconds)
    times = []
    for i in range(2000):  # the fold's cost per change with one GSI, beside none
        item = {"p": {"S": f"k{i}"}, "g": {"S": f"h{i % 7}"}, "v": {"N": "1"}, "pad": {"S": "y" * 100}}
        begun = time.perf_counter()
        partition.evolve(state, ItemChange("MODIFY", {"p": item["p"]}, None, item))
        times.append(time.perf_counter() - begun)
    out["evolve_with_gsi_us"] = round(statistics.median(times) * 1e6, 2)
    state.indexes = None
    times = []
    for i in range(2000):
        item = {"p": {"S": f"k{i}"}, "g": {"S": f"z{i % 7}"}, "v": {"N": "1"}, "pad": {"S": "y" * 100}}
        begun = time.perf_counter()
        partition.evolve(state, ItemChange("MODIFY", {"p": item["p"]}, None, item))
        times.append(time.perf_counter() - begun)
    out["evolve_without_us"] = round(statistics.median(times) * 1e6, 2)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", default=None, help="comma list (default: every engine the CLI offers)")
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--core-items", type=int, default=100_000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    engines = args.engines.split(",") if args.engines else (dynamoray_engines() or ["local"])
    results = {"machine": f"{platform.python_version()} on {platform.machine()}", "engines": []}
    core = core_run(args.core_items)
    print(f"core: {core}", flush=True)
    results["core"] = core
    for engine in engines:
        results["engines"].append(engine_run(engine, args))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
