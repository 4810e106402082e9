"""Log records of the engine: item changes and catalog events to bytes and back, and replay."""

from __future__ import annotations

from typing import Any, Iterator

import orjson

from ..core.commands import ItemChange

_READ_BATCH = 5000


def encode_change(change: ItemChange) -> bytes:
    return orjson.dumps(
        {"v": 1, "e": change.event_name, "k": change.keys, "o": change.old_image, "n": change.new_image}
    )


def decode_change(value: bytes) -> ItemChange:
    record = orjson.loads(value)
    return ItemChange(record["e"], record["k"], record["o"], record["n"])


def encode_catalog(event: dict) -> bytes:
    return orjson.dumps(event)


def decode_catalog(value: bytes) -> dict:
    return orjson.loads(value)


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
