"""Backup and restore benchmark: how long CreateBackup takes, how fast a restore loads items, and
what a backup running costs the writes.

    .venv/bin/python bench/bench_backups.py [--items 1000000] [--load-seconds 10] [--json out.json]
        [--rebuild process|thread]

Runs the in-process engine (``LocalEngine``, ``--shards`` shards a table) on the durable embedded
log in a temporary directory, with the backup service the gateway uses (``actors/backups.py``), no
HTTP: the items are loaded through the engine's write path directly (an HTTP load of a million
items would take longer than everything measured).

1. loads ``--items`` items (~150 bytes each) through the engine's write path, 256 in flight;
2. **writes without a backup**: ``--load-concurrency`` writers put fresh items for
   ``--load-seconds``; the latency of each write (p50, p99) and the rate;
3. **CreateBackup**, with the same write load running for as long as it takes: its time, and the
   writes' latency meanwhile (the cut, the rebuild from the newest snapshot plus the log, and the
   backup file, written and fsynced, all while the writes go on); ``--rebuild thread`` makes the
   rebuild on a worker thread of the server's process, as before ``actors/backup_rebuild.py``
   (the default, ``process``, rebuilds in a process of its own);
4. **RestoreTableFromBackup**: until the restored table is ACTIVE, in items/s;
5. **RestoreTableToPointInTime** to now: the same, plus the rebuild up to the instant.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from dynamoray.actors import backup_rebuild
from dynamoray.actors.backups import service_for
from dynamoray.actors.local import LocalEngine
from dynamoray.actors.snapshots import SnapshotStore
from dynamoray.core import tables
from dynamoray.core.commands import PutCommand
from dynamoray.events.embedded import EmbeddedLog

ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/"


def description(name: str) -> dict:
    request = {"TableName": name, "BillingMode": "PAY_PER_REQUEST",
               "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
               "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                        {"AttributeName": "sk", "AttributeType": "N"}]}
    return tables.new_table_description(request, arn=ARN + name, table_id=str(uuid.uuid4()), now=time.time())


def item(i: int, prefix: str = "USER") -> dict:
    return {"pk": {"S": f"{prefix}#{i // 10}"}, "sk": {"N": str(i % 10)}, "name": {"S": f"name-{i}" + "x" * 80},
            "count": {"N": str(i)}, "tags": {"SS": ["a", "b"]}}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def write_load(engine, until, concurrency: int, prefix: str) -> dict:
    """``concurrency`` writers putting fresh items until ``until()`` is true; latency figures (ms)."""
    latencies: list[float] = []
    started = time.perf_counter()
    counter = iter(range(10**12))

    async def writer() -> None:
        while not until():
            i = next(counter)
            t0 = time.perf_counter()
            await engine.write("source", PutCommand(item(i, prefix)))
            latencies.append((time.perf_counter() - t0) * 1000)

    await asyncio.gather(*(writer() for _ in range(concurrency)))
    took = time.perf_counter() - started
    return {"writes": len(latencies), "writes_per_s": round(len(latencies) / took),
            "p50_ms": round(percentile(latencies, 0.5), 2), "p99_ms": round(percentile(latencies, 0.99), 2),
            "mean_ms": round(statistics.fmean(latencies), 2) if latencies else 0.0, "seconds": round(took, 2)}


async def restored(engine, service, name: str) -> float:
    started = time.perf_counter()
    await asyncio.gather(*service.restores.values())
    while (await engine.describe_table(name))["TableStatus"] != "ACTIVE":
        await asyncio.sleep(0.01)
    return time.perf_counter() - started


async def run(root: Path, args: argparse.Namespace) -> dict:
    count, figures = args.items, {"items": args.items, "shards": args.shards, "rebuild": args.rebuild}
    engine = LocalEngine(EmbeddedLog(root / "log"), snapshots=SnapshotStore(root / "snapshots"), shards=args.shards)
    await engine.open()
    await engine.create_table(description("source"))
    t0 = time.perf_counter()
    for start in range(0, count, 256):
        await asyncio.gather(*(engine.write("source", PutCommand(item(i))) for i in range(start, min(start + 256, count))))
    load = time.perf_counter() - t0
    figures["load"] = {"seconds": round(load, 1), "items_per_s": round(count / load)}
    print(f"items={count}: loaded in {load:.1f} s ({count / load:,.0f} items/s)", flush=True)
    service = await service_for(engine)

    stop_at = time.perf_counter() + args.load_seconds
    figures["writes_alone"] = await write_load(engine, lambda: time.perf_counter() >= stop_at,
                                               args.load_concurrency, "ALONE")
    print(f"writes, no backup: {figures['writes_alone']}", flush=True)

    t0 = time.perf_counter()
    backup_task = asyncio.ensure_future(service.create_backup("source", "bench"))
    figures["writes_during_backup"] = await write_load(engine, backup_task.done, args.load_concurrency, "DURING")
    backup = await backup_task
    took = time.perf_counter() - t0
    size = (root / "backups" / backup.location).stat().st_size
    figures["create_backup"] = {"seconds": round(took, 2), "items": backup.item_count,
                                "items_per_s": round(backup.item_count / took), "file_mb": round(size / 1e6, 1)}
    print(f"CreateBackup: {took:.2f} s ({backup.item_count:,} items, {size / 1e6:.1f} MB file)", flush=True)
    print(f"writes during the backup: {figures['writes_during_backup']}", flush=True)

    total = backup.item_count
    t0 = time.perf_counter()
    await service.restore_from_backup(backup.backup_arn, {"TargetTableName": "copy"}, ARN + "copy")
    took = (time.perf_counter() - t0) + await restored(engine, service, "copy")
    figures["restore_from_backup"] = {"seconds": round(took, 1), "items_per_s": round(total / took)}
    print(f"RestoreTableFromBackup: {took:.1f} s ({total / took:,.0f} items/s)", flush=True)

    await service.update_continuous("source", {"PointInTimeRecoveryEnabled": True})
    t0 = time.perf_counter()
    await service.restore_to_point_in_time("source", {"TargetTableName": "then", "UseLatestRestorableTime": True},
                                           ARN + "then")
    took = (time.perf_counter() - t0) + await restored(engine, service, "then")
    now_items = (await engine.describe_table("then"))["ItemCount"]
    figures["restore_to_point_in_time"] = {"seconds": round(took, 1), "items": now_items,
                                           "items_per_s": round(now_items / took)}
    print(f"RestoreTableToPointInTime: {took:.1f} s ({now_items / took:,.0f} items/s)", flush=True)
    assert (await engine.describe_table("copy"))["ItemCount"] == total
    await engine.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--load-seconds", type=float, default=10.0, help="the write load without a backup")
    parser.add_argument("--load-concurrency", type=int, default=16, help="writes in flight in the write load")
    parser.add_argument("--rebuild", choices=("process", "thread"), default="process",
                        help="where CreateBackup rebuilds the table (thread: the server's process, as before)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bench-backups-"))
    portable = backup_rebuild.portable_source
    if args.rebuild == "thread":  # as before backup_rebuild.py: nothing travels to a child process
        backup_rebuild.portable_source = lambda *_args: None
    try:
        figures = asyncio.run(run(root, args))
    finally:
        backup_rebuild.portable_source = portable
        backup_rebuild.shutdown()
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
