"""Applying another region's batch of changes here: the receiving end of global tables.

A batch (``{TableName, SourceRegion, Changes}``) arrives through the replication endpoint's
``ApplyChanges`` or from a Kafka mirror (``actors/mirror.py``); both end in :func:`apply_batch`.
Each change is a last-writer-wins replicated write (``core/replication.py``): different items
concurrently, one item's changes in order, retried while a transaction holds the item.  The
changes that win count as replicated write units in the usage report.

It is apart from ``replication.py`` (the replicators, ReplicaUpdates and the endpoint) because it
needs only an engine, not the replication service (tests call it on a bare engine);
``replication.py`` re-exports every name here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from ..core import errors
from ..core.commands import ReplicatedWriteCommand

CONFLICT_RETRIES = 50


def write_units(outcome: Any) -> int:
    """Replicated write units of an applied change: 1 per KB of the larger image, at least 1."""
    return max(1, -(-max(outcome.old_size, outcome.new_size) // 1024))


async def apply_batch(engine: Any, region: str, body: dict, usage: Any = None) -> dict:
    """Apply another region's batch of changes here (from the endpoint or a Kafka mirror); the
    changes that win count as replicated write units in the usage report."""
    name = body["TableName"]
    by_item: dict[bytes, list[ReplicatedWriteCommand]] = {}
    for change in body.get("Changes") or ():
        command = ReplicatedWriteCommand(change["Keys"], change.get("Item"), tuple(change["Version"]), region)
        by_item.setdefault(orjson.dumps(change["Keys"], option=orjson.OPT_SORT_KEYS), []).append(command)

    units = [0]

    async def apply(commands: list[ReplicatedWriteCommand]) -> int:
        applied = 0
        for command in commands:
            for attempt in range(CONFLICT_RETRIES):
                try:
                    outcome = await engine.write(name, command)
                    break
                except errors.DynamoError as error:  # a transaction holds the item: wait for it
                    if error.error_type != "TransactionConflictException" or attempt == CONFLICT_RETRIES - 1:
                        raise
                    await asyncio.sleep(0.01 * (attempt + 1))
            if outcome.change is not None:
                applied += 1
                units[0] += write_units(outcome)
        return applied

    counts = await asyncio.gather(*(apply(commands) for commands in by_item.values()))
    if usage is not None and units[0]:
        from ..core import throttle

        usage.add_replicated(name, throttle.billing_mode(await engine.describe_table(name)), units[0])
    return {"Applied": sum(counts), "Received": sum(len(c) for c in by_item.values())}
