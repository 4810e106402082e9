"""Log records of the engines: item changes and catalog events through the event codec, and replay."""

from __future__ import annotations

from typing import Any, Callable, Iterator

from ..core import partition as partition_mod
from ..core.commands import ItemChange, PreparedTransaction
from ..events.codec import EventCodec
from ..schemas.events import ItemChanged, TransactionPrepared, TransactionReleased

_READ_BATCH = 5000


def table_topic(table_id: str) -> str:
    """The log topic of a table (every engine and every process uses this one name)."""
    return f"dynamoray.table.{table_id}"
CODEC = EventCodec()


def change_encoder(table_id: str, shard: int = 0, region: str = "") -> Callable[[ItemChange], bytes]:
    """The encoder of one table shard's item changes."""

    def encode(change: ItemChange) -> bytes:
        origin = change.origin  # global tables: the change's version (core/replication.py)
        return CODEC.encode(ItemChanged(
            table_id=table_id, shard=shard, event_name=change.event_name, keys=change.keys,
            old_image=change.old_image, new_image=change.new_image,
            region=region if origin is None else origin[1],
            principal=change.principal, principal_type=change.principal_type,  # e.g. a TTL deletion
            origin_timestamp=None if origin is None else origin[0],
        ))

    return encode


def origin_of(event: ItemChanged) -> tuple[int, str] | None:
    """The version an ItemChanged carries (global tables), None if it has none."""
    return None if event.origin_timestamp is None else (event.origin_timestamp, event.region)


def decode_change(value: bytes) -> ItemChange:
    event = CODEC.decode(value)
    return ItemChange(event.event_name, event.keys, event.old_image, event.new_image,
                      event.principal, event.principal_type, origin_of(event))


# --- transaction records of a table topic ------------------------------------------------------


def encode_prepared(table_id: str, prepared: PreparedTransaction, shard: int = 0) -> bytes:
    """A TransactionPrepared: one ``[keys, event_name, old, new]`` row per locked item (plus the
    change's ``[n, m]`` position in the transaction, when it has one)."""
    by_key = {partition_key(c.keys): c for c in prepared.changes}
    rows = []
    for key in prepared.locked:
        change = by_key.get(partition_key(key))
        row = [key, None, None, None] if change is None else \
            [key, change.event_name, change.old_image, change.new_image]
        if change is not None and change.position is not None:  # its "n of m" in the transaction
            row.append(list(change.position))
        rows.append(row)
    return CODEC.encode(TransactionPrepared(prepared.transaction_id, table_id, shard, rows))


def partition_key(key: dict) -> str:
    return repr(sorted(key.items()))


def decode_prepared(event: TransactionPrepared) -> PreparedTransaction:
    locked = tuple(row[0] for row in event.changes)
    changes = tuple(ItemChange(row[1], row[0], row[2], row[3], position=tuple(row[4]) if len(row) > 4 else None)
                    for row in event.changes if row[1] is not None)
    return PreparedTransaction(event.transaction_id, locked, changes)


def encode_transaction_change(table_id: str, transaction_id: str, change: ItemChange, shard: int = 0,
                              region: str = "") -> bytes:
    """An ItemChanged of a committed transaction (tagged, so stream consumers see which)."""
    origin = change.origin  # global tables: the change's version (core/replication.py)
    return CODEC.encode(ItemChanged(
        table_id=table_id, shard=shard, event_name=change.event_name, keys=change.keys,
        old_image=change.old_image, new_image=change.new_image, region=region if origin is None else origin[1],
        transaction_id=transaction_id, origin_timestamp=None if origin is None else origin[0],
        transaction_index=None if change.position is None else change.position[0],
        transaction_count=None if change.position is None else change.position[1],
    ))


def encode_released(table_id: str, transaction_id: str, decision: str, shard: int = 0) -> bytes:
    return CODEC.encode(TransactionReleased(transaction_id, table_id, shard, decision))


class TransactionEncoder:
    """The transaction records of one table shard (what a write pipeline appends)."""

    __slots__ = ("table_id", "shard")

    def __init__(self, table_id: str, shard: int = 0) -> None:
        self.table_id = table_id
        self.shard = shard

    def prepared(self, prepared: PreparedTransaction) -> bytes:
        return encode_prepared(self.table_id, prepared, self.shard)

    def change(self, transaction_id: str, change: ItemChange) -> bytes:
        return encode_transaction_change(self.table_id, transaction_id, change, self.shard)

    def released(self, transaction_id: str, decision: str) -> bytes:
        return encode_released(self.table_id, transaction_id, decision, self.shard)


def fold(state: partition_mod.PartitionState, value: bytes, offset: int) -> None:
    """Fold one record of a table topic: an item change or a transaction record (replay)."""
    event = CODEC.decode(value)
    kind = type(event)
    if kind is ItemChanged:
        change = ItemChange(event.event_name, event.keys, event.old_image, event.new_image,
                            origin=None if event.origin_timestamp is None else (event.origin_timestamp, event.region))
        if event.transaction_id is None:
            partition_mod.evolve(state, change, offset)
        else:
            partition_mod.evolve_transaction_change(state, event.transaction_id, change, offset)
    elif kind is TransactionPrepared:
        partition_mod.evolve_prepared(state, decode_prepared(event), offset)
    elif kind is TransactionReleased:
        partition_mod.evolve_released(state, event.transaction_id, offset)
    else:  # another kind of record (e.g. a leader epoch): nothing to fold
        state.applied_offset = offset


def encode_catalog(event: Any) -> bytes:
    return CODEC.encode(event)


def decode_catalog(value: bytes) -> Any:
    return CODEC.decode(value)


def read_all_with_offsets(log: Any, topic: str, partition: int = 0) -> Iterator[tuple[int, bytes]]:
    """Every retained record of a partition, from the start to the current end."""
    offset = log.start_offset(topic, partition)
    while True:
        batch = log.read(topic, partition, offset, _READ_BATCH)
        if not batch:
            return
        for record in batch:
            yield record.offset, record.value
        offset = batch[-1].offset + 1


def read_all(log: Any, topic: str, partition: int = 0) -> Iterator[bytes]:
    for _, value in read_all_with_offsets(log, topic, partition):
        yield value
