"""Benchmark: the dynamoray SDK (sync and async) against boto3, same workload, same server.

Starts ``dynamoray serve --engine local`` on a free loopback port with a temporary data
directory, creates one table, fills the items the reads need, then runs GetItem and PutItem with
each client at 1 and 8 concurrent callers:

- ``boto3``: one ``boto3.client("dynamodb")`` (standard retry mode, as the SDK), shared by threads;
- ``sdk sync``: one ``dynamoray.gateway.Client``, shared by threads;
- ``sdk async``: one ``dynamoray.gateway.AsyncClient``, with that many tasks on one event loop.

Reports ops/s, p50 and p99 latency (ms) and the client process's CPU µs per call.  boto3 gets
the wire-form item (``{"S": ...}``); the SDK plain Python values: each client as it is used.

    .venv/bin/python bench/bench_sdk.py [--ops 2000] [--concurrency 1 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _gw_targets import start_dynamoray  # noqa: E402

from dynamoray.gateway.sdk import AsyncClient, Client  # noqa: E402

ACCESS_KEY, SECRET_KEY, REGION = "AKIDSDKBENCH", "sdk-bench-secret", "us-east-1"
TABLE = "bench_sdk"
KEYS = 200
PAYLOAD = {"name": "ada lovelace", "visits": 12, "score": "3.25", "tags": ["a", "b", "c"]}


@dataclass
class Figure:
    client: str
    operation: str
    concurrency: int
    calls: int
    ops_per_s: float
    p50_ms: float
    p99_ms: float
    client_cpu_us: float


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def figure(client: str, operation: str, concurrency: int, latencies: list[float], wall: float,
           cpu: float) -> Figure:
    return Figure(client, operation, concurrency, len(latencies), round(len(latencies) / wall, 1),
                  round(percentile(latencies, 0.5) * 1e3, 3), round(percentile(latencies, 0.99) * 1e3, 3),
                  round(cpu / len(latencies) * 1e6, 1))


# --- the clients: each runs one phase (an operation, a number of callers, a number of calls) ----------

Phase = tuple[list[float], float, float]  # latencies (s), wall time (s), client CPU (s)


def item(i: int) -> dict:
    return {"pk": f"w{i}", **PAYLOAD, "score": Decimal(PAYLOAD["score"])}


def run_threads(call: Callable[[int], object], first: int, count: int, concurrency: int) -> Phase:
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(offset: int) -> None:
        mine = []
        for i in range(first + offset, first + count, concurrency):
            began = time.perf_counter()
            call(i)
            mine.append(time.perf_counter() - began)
        with lock:
            latencies.extend(mine)

    cpu, wall = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, range(concurrency)))
    return latencies, time.perf_counter() - wall, time.process_time() - cpu


class Boto3Runner:
    name = "boto3"

    def __init__(self, endpoint: str) -> None:
        ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                           aws_secret_access_key=SECRET_KEY,
                           config=Config(retries={"mode": "standard"}, max_pool_connections=16))
        wire = {"name": {"S": PAYLOAD["name"]}, "visits": {"N": "12"}, "score": {"N": "3.25"},
                "tags": {"L": [{"S": t} for t in PAYLOAD["tags"]]}}
        self.calls: dict[str, Callable[[int], object]] = {
            "GetItem": lambda i: ddb.get_item(TableName=TABLE, Key={"pk": {"S": f"k{i % KEYS}"}})["Item"],
            "PutItem": lambda i: ddb.put_item(TableName=TABLE, Item={"pk": {"S": f"b{i}"}, **wire}),
        }

    def phase(self, operation: str, first: int, count: int, concurrency: int) -> Phase:
        return run_threads(self.calls[operation], first, count, concurrency)

    def close(self) -> None:
        pass


class SyncRunner(Boto3Runner):
    name = "sdk sync"

    def __init__(self, endpoint: str) -> None:
        self.client = Client(endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION,
                             max_connections=16)
        table = self.client.table(TABLE)
        self.calls = {"GetItem": lambda i: table.get({"pk": f"k{i % KEYS}"}),
                      "PutItem": lambda i: table.put(item(i))}

    def close(self) -> None:
        self.client.close()


class AsyncRunner:
    """One event loop and one AsyncClient for every phase; ``concurrency`` tasks per phase."""

    name = "sdk async"

    def __init__(self, endpoint: str) -> None:
        self.runner = asyncio.Runner()
        self.client = AsyncClient(endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION,
                                  max_connections=16)
        self.table = self.client.table(TABLE)

    async def _call(self, operation: str, i: int) -> object:
        if operation == "GetItem":
            return await self.table.get({"pk": f"k{i % KEYS}"})
        return await self.table.put(item(i))

    async def _phase(self, operation: str, first: int, count: int, concurrency: int) -> Phase:
        latencies: list[float] = []

        async def worker(offset: int) -> None:
            for i in range(first + offset, first + count, concurrency):
                began = time.perf_counter()
                await self._call(operation, i)
                latencies.append(time.perf_counter() - began)

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(o) for o in range(concurrency)))
        return latencies, time.perf_counter() - wall, time.process_time() - cpu

    def phase(self, operation: str, first: int, count: int, concurrency: int) -> Phase:
        return self.runner.run(self._phase(operation, first, count, concurrency))

    def close(self) -> None:
        self.runner.run(self.client.close())
        self.runner.close()


def measure(endpoint: str, ops: int, concurrencies: list[int], warmup: int, rounds: int) -> list[Figure]:
    """Every client runs every phase once per round, interleaved, so that a change in the machine's
    load hits all of them alike; a figure adds up its phase's rounds."""
    runners = [Boto3Runner(endpoint), SyncRunner(endpoint), AsyncRunner(endpoint)]
    phases = [(op, c) for op in ("GetItem", "PutItem") for c in concurrencies]
    totals: dict[tuple[str, str, int], list[Phase]] = {}
    try:
        for runner in runners:
            for operation, concurrency in phases:
                runner.phase(operation, 10**8, warmup, concurrency)
        for r in range(rounds):
            for operation, concurrency in phases:
                for runner in runners:
                    first = (r * len(runners) + runners.index(runner)) * ops
                    result = runner.phase(operation, first, ops // rounds, concurrency)
                    totals.setdefault((runner.name, operation, concurrency), []).append(result)
    finally:
        for runner in runners:
            runner.close()
    figures = []
    for (name, operation, concurrency), results in totals.items():
        latencies = [x for lat, _, _ in results for x in lat]
        figures.append(figure(name, operation, concurrency, latencies, sum(w for _, w, _ in results),
                              sum(c for _, _, c in results)))
    return figures


def prepare(endpoint: str) -> None:
    client = Client(endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION)
    table = client.create_table(TABLE, hash_key=("pk", "S"))
    with table.batch_writer() as batch:
        for i in range(KEYS):
            batch.put({**item(i), "pk": f"k{i}"})
    client.close()


def markdown(figures: list[Figure]) -> str:
    lines = ["| operation | callers | client | ops/s | p50 ms | p99 ms | client CPU µs/call |",
             "|---|---|---|---|---|---|---|"]
    for f in sorted(figures, key=lambda f: (f.operation, f.concurrency, f.client)):
        lines.append(f"| {f.operation} | {f.concurrency} | {f.client} | {f.ops_per_s:,.0f} | {f.p50_ms:.2f} | "
                     f"{f.p99_ms:.2f} | {f.client_cpu_us:,.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=2000, help="calls per phase")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds per phase")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--endpoint", help="an already running server (its root credentials must be the bench's)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-sdk-") as work:
        target = None
        endpoint = args.endpoint
        if endpoint is None:
            target = start_dynamoray(Path(work), ACCESS_KEY, SECRET_KEY, "local")
            endpoint = f"http://127.0.0.1:{target.port}"
        try:
            prepare(endpoint)
            figures = measure(endpoint, args.ops, args.concurrency, args.warmup, args.rounds)
        finally:
            if target is not None:
                target.stop()
    print(f"\n{platform.python_implementation()} {platform.python_version()}, {args.ops} calls per phase\n")
    print(markdown(figures))
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(f) for f in figures], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
