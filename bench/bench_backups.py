"""Backup and restore benchmark: how long CreateBackup takes and how fast a restore loads items.

    .venv/bin/python bench/bench_backups.py [--items 100000]

Runs the in-process engine (``LocalEngine``) on the durable embedded log in a temporary
directory, with the backup service the gateway uses (``actors/backups.py``), no HTTP:

1. loads ``--items`` items (~150 bytes each) through the engine's write path, 256 in flight;
2. **CreateBackup**: the cut, the rebuild as of the cut (from the newest snapshot plus the log),
   and the backup file, written and fsynced;
3. **RestoreTableFromBackup**: until the restored table is ACTIVE, in items/s;
4. **RestoreTableToPointInTime** to now: the same, plus the rebuild up to the instant.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
import uuid
from pathlib import Path

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


def item(i: int) -> dict:
    return {"pk": {"S": f"USER#{i // 10}"}, "sk": {"N": str(i % 10)}, "name": {"S": f"name-{i}" + "x" * 80},
            "count": {"N": str(i)}, "tags": {"SS": ["a", "b"]}}


async def restored(engine, service, name: str) -> float:
    started = time.perf_counter()
    await asyncio.gather(*service.restores.values())
    while (await engine.describe_table(name))["TableStatus"] != "ACTIVE":
        await asyncio.sleep(0.01)
    return time.perf_counter() - started


async def run(root: Path, count: int) -> None:
    engine = LocalEngine(EmbeddedLog(root / "log"), snapshots=SnapshotStore(root / "snapshots"))
    await engine.open()
    await engine.create_table(description("source"))
    t0 = time.perf_counter()
    for start in range(0, count, 256):
        await asyncio.gather(*(engine.write("source", PutCommand(item(i))) for i in range(start, min(start + 256, count))))
    load = time.perf_counter() - t0
    print(f"items={count}: loaded in {load:.1f} s ({count / load:,.0f} items/s)")
    service = await service_for(engine)

    t0 = time.perf_counter()
    backup = await service.create_backup("source", "bench")
    took = time.perf_counter() - t0
    print(f"CreateBackup: {took:.2f} s ({backup.size_bytes / 1e6:.1f} MB of items, "
          f"{(root / 'backups' / backup.location).stat().st_size / 1e6:.1f} MB file)")

    t0 = time.perf_counter()
    await service.restore_from_backup(backup.backup_arn, {"TargetTableName": "copy"}, ARN + "copy")
    took = (time.perf_counter() - t0) + await restored(engine, service, "copy")
    print(f"RestoreTableFromBackup: {took:.1f} s ({count / took:,.0f} items/s)")

    await service.update_continuous("source", {"PointInTimeRecoveryEnabled": True})
    t0 = time.perf_counter()
    await service.restore_to_point_in_time("source", {"TargetTableName": "then", "UseLatestRestorableTime": True},
                                           ARN + "then")
    took = (time.perf_counter() - t0) + await restored(engine, service, "then")
    print(f"RestoreTableToPointInTime: {took:.1f} s ({count / took:,.0f} items/s)")
    assert (await engine.describe_table("then"))["ItemCount"] == count
    await engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-backups-"))
    try:
        asyncio.run(run(root, args.items))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
