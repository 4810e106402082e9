"""Stored-procedure hooks: write-to-hook latency and hook throughput, with and without exactly-once.

In process, on the durable embedded log (an fsync per commit, like ``dynamoray serve``), over the
local engine: no HTTP in the way, so the figures are the hook machinery's own.

- **Latency**: one member follows a table; ``--writes`` PutItems, ``--gap`` ms apart; per write,
  p50/p99 of *acknowledged -> the function is called with its record*.  The hook does nothing.
- **Throughput**: ``--backlog`` orders are written first, then a hook is started from
  TRIM_HORIZON; records/s until it has processed all of them, for: a no-op function; a totals
  function (one ``ADD`` per record into a 50-customer aggregate) exactly-once (its writes and the
  checkpoint in one transaction per batch); the same at least once (each write on its own, then
  the group offset).  ``--batch-size`` records per batch.

    .venv/bin/python bench/bench_hooks.py [--writes 300] [--gap 5] [--backlog 3000] [--batch-size 100]
        [--engine local|ray] [--json out.json]

``--engine ray`` runs the throughput part with the hook in a ``HookWorker`` actor of a local Ray
cluster (catalog, 2 hosts, the coordinator), reaching the tables over the hosts' channels.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dynamoray.actors.hook_runner import HookRunner  # noqa: E402
from dynamoray.actors.hooks import DeadLetters, RunnerSettings  # noqa: E402
from dynamoray.actors.local import LocalEngine  # noqa: E402
from dynamoray.core import hooks, tables  # noqa: E402
from dynamoray.core.commands import PutCommand  # noqa: E402
from dynamoray.events.embedded import EmbeddedLog  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def description(name: str, hash_name: str) -> dict:
    request = {"TableName": name, "KeySchema": [{"AttributeName": hash_name, "KeyType": "HASH"}],
               "AttributeDefinitions": [{"AttributeName": hash_name, "AttributeType": "S"}],
               "BillingMode": "PAY_PER_REQUEST"}
    return tables.new_table_description(request, arn=f"arn:aws:dynamodb:us-east-1:000000000000:table/{name}",
                                        table_id=str(uuid.uuid4()), now=time.time())


def order(i: int) -> PutCommand:
    return PutCommand({"id": {"S": f"o{i}"}, "customer": {"S": f"c{i % 50}"}, "amount": {"N": str(i % 97)}})


def totals_function(totals: str):
    def totals_hook(records, ctx):
        for record in records:
            image = record["dynamodb"]["NewImage"]
            ctx.update_item(TableName=totals, Key={"customer": image["customer"]}, UpdateExpression="ADD s :a",
                            ExpressionAttributeValues={":a": image["amount"]})
    return totals_hook


async def start(engine, spec, function, stop) -> tuple[HookRunner, asyncio.Task]:
    log = await engine.stream_log()
    runner = HookRunner(spec, function, engine, log, member_id=f"bench-{spec.name}",
                        dead_letters=DeadLetters(log, spec.name), poll_interval=RunnerSettings().poll_interval)
    return runner, asyncio.get_running_loop().create_task(runner.run(stop))


async def latency(engine, writes: int, gap: float) -> dict:
    name = f"lat_{uuid.uuid4().hex[:6]}"
    await engine.create_table(description(name, "id"))
    seen: dict[str, float] = {}

    def note(records, ctx):
        now = time.perf_counter()
        for record in records:
            seen.setdefault(record["dynamodb"]["Keys"]["id"]["S"], now)

    stop = asyncio.Event()
    spec = hooks.spec_from_wire({"HookName": name, "TableName": name, "StartingPosition": "LATEST",
                                 "ExactlyOnce": False})
    runner, task = await start(engine, spec, note, stop)
    while len(runner.stats.positions) == 0:  # joined and positioned at the end
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    acked: dict[str, float] = {}
    for i in range(writes):
        await engine.write(name, order(i))
        acked[f"o{i}"] = time.perf_counter()
        await asyncio.sleep(gap / 1000)
    while len(seen) < writes:
        await asyncio.sleep(0.01)
    stop.set()
    await task
    lags = [(seen[k] - acked[k]) * 1000 for k in acked]
    return {"writes": writes, "p50_ms": round(percentile(lags, 0.5), 2), "p99_ms": round(percentile(lags, 0.99), 2)}


async def throughput(engine, backlog: int, batch_size: int, mode: str) -> dict:
    orders, totals = f"tp_{uuid.uuid4().hex[:6]}", f"tt_{uuid.uuid4().hex[:6]}"
    await engine.create_table(description(orders, "id"))
    await engine.create_table(description(totals, "customer"))
    await asyncio.gather(*(engine.write(orders, order(i)) for i in range(backlog)))
    function = (lambda records, ctx: None) if mode == "no-op" else totals_function(totals)
    spec = hooks.spec_from_wire({"HookName": orders, "TableName": orders, "BatchSize": batch_size,
                                 "ExactlyOnce": mode != "at-least-once"})
    stop = asyncio.Event()
    began = time.perf_counter()
    runner, task = await start(engine, spec, function, stop)
    while runner.stats.records < backlog:
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - began
    stop.set()
    await task
    return {"mode": mode, "records": backlog, "batches": runner.stats.batches, "seconds": round(elapsed, 2),
            "records_per_second": round(backlog / elapsed)}


async def ray_throughput(engine, service, backlog: int, batch_size: int, mode: str) -> dict:
    """The same workload with the hook in a HookWorker actor (``--engine ray``): records/s between
    the first status showing progress and the one showing the whole backlog (actor start excluded)."""
    from dynamoray.hooks import pickle_function

    orders, totals = f"tp_{uuid.uuid4().hex[:6]}", f"tt_{uuid.uuid4().hex[:6]}"
    await engine.create_table(description(orders, "id"))
    await engine.create_table(description(totals, "customer"))
    for start in range(0, backlog, 200):
        await asyncio.gather(*(engine.write(orders, order(i)) for i in range(start, min(backlog, start + 200))))
    function = (lambda records, ctx: None) if mode == "no-op" else totals_function(totals)
    spec = hooks.spec_from_wire({"HookName": orders, "TableName": orders, "BatchSize": batch_size,
                                 "ExactlyOnce": mode != "at-least-once"})
    await service.deploy(spec, pickle_function(function), "bench")
    first = None
    while True:
        (status,) = await service.status(orders)
        done, now = status.get("Records", 0), time.perf_counter()
        if done and first is None:
            first = (now, done)
        if done >= backlog:
            break
        await asyncio.sleep(0.02)
    await service.remove(orders)
    seconds = now - first[0]
    return {"mode": mode, "records": backlog, "seconds": round(seconds, 2),
            "records_per_second": round((backlog - first[1]) / seconds) if seconds else None}


async def main_ray(args: argparse.Namespace) -> dict:
    from dynamoray.actors.cluster import Cluster, ClusterConfig, init_local_ray
    from dynamoray.actors.hooks import HookService

    import ray

    init_local_ray()
    with tempfile.TemporaryDirectory() as directory:
        cluster = Cluster(ClusterConfig(log_dir=str(Path(directory) / "log"), prefix=f"bench-{uuid.uuid4().hex[:6]}"))
        engine = cluster.start()
        await engine.open()
        service = HookService(engine)
        await service.open()
        try:
            return {"engine": "ray", "throughput": [await ray_throughput(engine, service, args.backlog,
                                                                         args.batch_size, mode)
                                                    for mode in ("no-op", "exactly-once", "at-least-once")]}
        finally:
            await service.close()
            await engine.close()
            cluster.shutdown()
            ray.shutdown()


async def main(args: argparse.Namespace) -> dict:
    if args.engine == "ray":
        return await main_ray(args)
    with tempfile.TemporaryDirectory() as directory:
        engine = LocalEngine(EmbeddedLog(Path(directory) / "log"))
        await engine.open()
        try:
            result = {"latency": await latency(engine, args.writes, args.gap),
                      "throughput": [await throughput(engine, args.backlog, args.batch_size, mode)
                                     for mode in ("no-op", "exactly-once", "at-least-once")]}
        finally:
            await engine.close()
    result["machine"] = {"python": platform.python_version(), "cpus": __import__("os").cpu_count()}
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--gap", type=float, default=5.0, help="ms between writes (latency)")
    parser.add_argument("--backlog", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="ray: the hook in a HookWorker actor over a Ray cluster (throughput only)")
    parser.add_argument("--json", help="also write the result to this file")
    arguments = parser.parse_args()
    import logging

    from dynamoray import logs

    logs.configure(level="warning")
    logging.disable(logging.INFO)
    out = asyncio.run(main(arguments))
    print(json.dumps(out, indent=2))
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(out, indent=2))
