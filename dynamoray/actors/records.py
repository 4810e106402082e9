"""Log records of the engines: item changes and catalog events through the event codec, and replay."""

from __future__ import annotations

from typing import Any, Callable, Iterator

from ..core.commands import ItemChange
from ..events.codec import EventCodec
from ..schemas.events import ItemChanged

_READ_BATCH = 5000
CODEC = EventCodec()


def change_encoder(table_id: str, shard: int = 0, region: str = "") -> Callable[[ItemChange], bytes]:
    """The encoder of one table shard's item changes."""

    def encode(change: ItemChange) -> bytes:
        return CODEC.encode(ItemChanged(
            table_id=table_id, shard=shard, event_name=change.event_name, keys=change.keys,
            old_image=change.old_image, new_image=change.new_image, region=region,
        ))

    return encode


def decode_change(value: bytes) -> ItemChange:
    event = CODEC.decode(value)
    return ItemChange(event.event_name, event.keys, event.old_image, event.new_image)


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
