"""TransactWriteItems latency and throughput through the HTTP API.

Starts ``dynamoray serve --engine <engine>`` (each engine the CLI offers, or ``--engines``) on a
free loopback port with a temporary data directory, creates ``--tables`` tables (so a transaction's
items are spread over partitions, and on the Ray engine over hosts), and measures:

- **latency**: one client, ``--rounds`` transactions of 2, 4 and 25 items (Update ``ADD n :one``
  on distinct items, item *i* in table *i mod tables*), p50/p99 of the round trip; plus a
  4-item TransactGetItems;
- **throughput under contention**: ``--clients`` threads, each with its own boto3 client, run
  2-item transfers (debit with a ``bal >= :a`` condition, credit) for ``--seconds`` seconds, once
  over a hot set of ``--hot`` accounts and once over 1,000 accounts; committed and cancelled
  transactions per second (a cancellation is a TransactionConflict or a failed condition).

    .venv/bin/python bench/bench_transactions.py [--engines local,ray] [--rounds 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _gw_targets import dynamoray_engines, start_dynamoray  # noqa: E402

ACCESS_KEY, SECRET_KEY, REGION = "AKIDTXNBENCH", "txn-bench-secret", "us-east-1"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def client(endpoint: str):
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, config=Config(retries={"max_attempts": 0}))


def make_tables(ddb, count: int) -> list[str]:
    names = [f"bench_txn_{i}" for i in range(count)]
    for name in names:
        ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
    return names


def add_one(table: str, p: str) -> dict:
    return {"Update": {"TableName": table, "Key": {"p": {"S": p}}, "UpdateExpression": "ADD n :one",
                       "ExpressionAttributeValues": {":one": {"N": "1"}}}}


def latency(ddb, tables: list[str], size: int, rounds: int) -> dict:
    times = []
    for r in range(rounds):
        items = [add_one(tables[i % len(tables)], f"lat{size}-{r}-{i}") for i in range(size)]
        start = time.perf_counter()
        ddb.transact_write_items(TransactItems=items)
        times.append((time.perf_counter() - start) * 1000)
    return {"items": size, "rounds": rounds, "p50_ms": percentile(times, 0.5), "p99_ms": percentile(times, 0.99)}


def get_latency(ddb, tables: list[str], rounds: int) -> dict:
    gets = [{"Get": {"TableName": tables[i % len(tables)], "Key": {"p": {"S": f"lat4-0-{i}"}}}} for i in range(4)]
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        ddb.transact_get_items(TransactItems=gets)
        times.append((time.perf_counter() - start) * 1000)
    return {"items": 4, "rounds": rounds, "p50_ms": percentile(times, 0.5), "p99_ms": percentile(times, 0.99)}


def seed_accounts(ddb, tables: list[str], accounts: int, prefix: str) -> list[tuple[str, str]]:
    out = [(tables[i % len(tables)], f"{prefix}{i}") for i in range(accounts)]
    for table, p in out:
        ddb.put_item(TableName=table, Item={"p": {"S": p}, "bal": {"N": "1000"}})
    return out


def contention(endpoint: str, accounts: list[tuple[str, str]], clients: int, seconds: float) -> dict:
    counts = {"committed": 0, "cancelled": 0, "errors": 0}
    lock = threading.Lock()
    stop = threading.Event()

    def worker(seed: int) -> None:
        ddb, rng = client(endpoint), random.Random(seed)
        local = {"committed": 0, "cancelled": 0, "errors": 0}
        while not stop.is_set():
            (st, sp), (dt, dp) = rng.sample(accounts, 2)
            amount = {":a": {"N": str(rng.randint(1, 5))}}
            try:
                ddb.transact_write_items(TransactItems=[
                    {"Update": {"TableName": st, "Key": {"p": {"S": sp}}, "UpdateExpression": "SET bal = bal - :a",
                                "ConditionExpression": "bal >= :a", "ExpressionAttributeValues": amount}},
                    {"Update": {"TableName": dt, "Key": {"p": {"S": dp}}, "UpdateExpression": "SET bal = bal + :a",
                                "ExpressionAttributeValues": amount}},
                ])
                local["committed"] += 1
            except ClientError as error:
                code = error.response["Error"]["Code"]
                local["cancelled" if code == "TransactionCanceledException" else "errors"] += 1
        with lock:
            for k, v in local.items():
                counts[k] += v

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {"accounts": len(accounts), "clients": clients, "seconds": round(elapsed, 2),
            "committed_per_s": counts["committed"] / elapsed, "cancelled_per_s": counts["cancelled"] / elapsed,
            "errors": counts["errors"]}


def run_engine(engine: str | None, args) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-txn-") as work:
        target = start_dynamoray(Path(work), ACCESS_KEY, SECRET_KEY, engine)
        try:
            endpoint = f"http://127.0.0.1:{target.port}"
            ddb = client(endpoint)
            tables = make_tables(ddb, args.tables)
            for size in (2, 4):  # warm up: every partition open, connections made
                latency(ddb, tables, size, 5)
            result = {"engine": target.name, "latency": [latency(ddb, tables, n, args.rounds) for n in (2, 4, 25)],
                      "transact_get": get_latency(ddb, tables, args.rounds)}
            hot = seed_accounts(ddb, tables, args.hot, "hot")
            cold = seed_accounts(ddb, tables, 1000, "cold")
            result["contention"] = [contention(endpoint, hot, args.clients, args.seconds),
                                    contention(endpoint, cold, args.clients, args.seconds)]
            return result
        finally:
            target.stop()


def report(results: list[dict]) -> str:
    lines = ["| engine | TransactWriteItems items | p50 ms | p99 ms |", "|---|---|---|---|"]
    for r in results:
        for lat in r["latency"]:
            lines.append(f"| {r['engine']} | {lat['items']} | {lat['p50_ms']:.2f} | {lat['p99_ms']:.2f} |")
        g = r["transact_get"]
        lines.append(f"| {r['engine']} | TransactGetItems, {g['items']} | {g['p50_ms']:.2f} | {g['p99_ms']:.2f} |")
    lines += ["", "| engine | accounts | clients | committed/s | cancelled/s | other errors |", "|---|---|---|---|---|---|"]
    for r in results:
        for c in r["contention"]:
            lines.append(f"| {r['engine']} | {c['accounts']} | {c['clients']} | {c['committed_per_s']:.0f} | "
                         f"{c['cancelled_per_s']:.0f} | {c['errors']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", help="comma-separated (default: every engine the CLI offers)")
    parser.add_argument("--tables", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--hot", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    engines = args.engines.split(",") if args.engines else (dynamoray_engines() or [None])
    results = [run_engine(engine, args) for engine in engines]
    print(f"{platform.machine()}, {platform.python_version()}, {time.strftime('%a %d %b %Y, %H:%M UTC', time.gmtime())}")
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
