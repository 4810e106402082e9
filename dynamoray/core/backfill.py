"""Global tables: the changes that copy a shard's items to a new replica (pure).

A new replica's replicator (``actors/replicator.py``) starts from the newest snapshot of each
shard rather than from the start of the log, whose early part log retention may have removed: it
sends every item the snapshot holds, with its version, and every tombstone still retained (as a
delete with the removed item's version, so an older write that reaches the new replica later from
a third region loses there as it does here), then follows the log from the snapshot's
``replay_from``.  Each change is applied last-writer-wins by the target, so items the log then
sends again, or that the target already holds at a newer version, change nothing.
"""

from __future__ import annotations

from typing import Iterator

from . import keys, replication
from .partition import PartitionState


def _key(schema: keys.KeySchema, slot: tuple, sort: bytes) -> dict:
    (_, (kind, raw)) = slot
    key = {schema.hash_name: {kind: raw}}
    if schema.range_name is not None:
        key[schema.range_name] = keys.sort_key_value(schema.range_type, sort)
    return key


def snapshot_changes(state: PartitionState, local_region: str) -> Iterator[dict]:
    """Every item of ``state`` then every tombstone, as ``{"Keys", "Item", "Version"}`` (``Item``
    None for a tombstone; ``Version`` as sent to another region: ``[timestamp, region]``)."""
    schema, versions = state.schema, state.versions
    live = versions.live if versions is not None else {}
    for slot, collection in state.collections.items():
        for sort, item in collection.items():
            yield {"Keys": _key(schema, slot, sort), "Item": item,
                   "Version": replication.wire_version(live.get((slot, sort)), local_region)}
    if versions is not None:
        for (slot, sort), version in list(versions.tombstones.items()):
            yield {"Keys": _key(schema, slot, sort), "Item": None,
                   "Version": replication.wire_version(version, local_region)}
