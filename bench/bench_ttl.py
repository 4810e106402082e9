"""The TTL sweeper's cost: one round over a table of ``--items`` items (in-process engine).

Loads a table on the in-process engine over the durable embedded log (a temporary directory),
with ``--expired`` percent of the items carrying a TTL in the past (the rest a TTL in the future),
enables TTL, and times one sweeper round with pacing off (``share=1``):

- a round that deletes the expired items: finding them plus durable deletions (through the write
  pipeline, 64 in flight); the first round also builds each shard's expiry index
  (``core/ttl_index.py``);
- a round with nothing to delete: the cost of finding expired items, which every round pays (from
  the expiry index: O(expired items));
- for comparison, the way rounds found them before the index: a full filtered scan of the table
  (``full_scan_idle_s``), O(items).

It prints items scanned per second, deletions per second, and how long a round takes at the
default pacing (``DEFAULT_SHARE`` of the time), as JSON with ``--json``.

    .venv/bin/python bench/bench_ttl.py [--items 100000] [--expired 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
import uuid
from pathlib import Path

from dynamoray.actors.local import LocalEngine
from dynamoray.actors.ttl import DEFAULT_SHARE, TtlSweeper
from dynamoray.core import tables, ttl
from dynamoray.core.commands import PutCommand, ScanSpec
from dynamoray.events.embedded import EmbeddedLog

TABLE = "bench_ttl"
NOW = int(time.time())


def description() -> dict:
    request = {"TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
               "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
               "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}]}
    return tables.new_table_description(request, arn=f"arn:aws:dynamodb:us-east-1:000000000000:table/{TABLE}",
                                        table_id=str(uuid.uuid4()), now=time.time())


def item(i: int, expired: bool) -> dict:
    return {"k": {"S": f"item-{i:08d}"}, "payload": {"S": "x" * 100},
            "exp": {"N": str(NOW - 60 if expired else NOW + 86400)}}


async def load(engine: LocalEngine, items: int, expired_percent: float) -> int:
    every = round(100 / expired_percent) if expired_percent else 0
    expired = 0
    batch = []
    for i in range(items):
        gone = bool(every) and i % every == 0
        expired += gone
        batch.append(engine.write(TABLE, PutCommand(item(i, gone))))
        if len(batch) == 512:
            await asyncio.gather(*batch)
            batch = []
    await asyncio.gather(*batch)
    return expired


async def run(items: int, expired_percent: float, directory: Path) -> dict:
    engine = LocalEngine(EmbeddedLog(directory / "log"))
    await engine.open()
    try:
        await engine.create_table(description())
        started = time.perf_counter()
        expired = await load(engine, items, expired_percent)
        loaded = time.perf_counter() - started
        await engine.set_ttl(TABLE, {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"})
        sweeper = TtlSweeper(engine, share=1.0, clock=lambda: NOW)
        started = time.perf_counter()
        deleting = await sweeper.sweep()
        deleting_s = time.perf_counter() - started
        started = time.perf_counter()
        idle = await sweeper.sweep()  # nothing left to delete: the price of looking
        idle_s = time.perf_counter() - started
        full_scan_s = await full_scan(engine, "exp")
        left = (await engine.describe_table(TABLE))["ItemCount"]
    finally:
        await engine.close()
    return {
        "items": items, "expired": expired, "left": left, "load_s": round(loaded, 2),
        "round_deleting_s": round(deleting_s, 3), "deleted": deleting.deleted,
        "deletes_per_s": round(deleting.deleted / deleting_s) if deleting_s else None,
        "round_idle_s": round(idle_s, 5), "scanned_per_s": round(idle.scanned / idle_s),
        "idle_round_at_default_share_s": round(idle_s / DEFAULT_SHARE, 2),
        "us_per_item_idle": round(idle_s / max(idle.scanned, 1) * 1e6, 2),
        "full_scan_idle_s": round(full_scan_s, 3),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "load_average": os.getloadavg()[0]},
    }


async def full_scan(engine: LocalEngine, attribute: str) -> float:
    """The seconds of the sweeper's search before the expiry index: a filtered keys-only scan."""
    started = time.perf_counter()
    start = None
    while True:
        spec = ScanSpec(limit=1000, exclusive_start=start, filter=ttl.expiry_filter(attribute, NOW))
        page = await engine.scan(TABLE, spec)
        start = page.last_evaluated_key
        if start is None:
            return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--expired", type=float, default=10.0, help="percent of the items expired")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ttl-") as directory:
        result = asyncio.run(run(args.items, args.expired, Path(directory)))
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
