"""An item's place in a partition (pure): the ordering of ``PartitionState`` (``partition.py``).

Partition keys are ordered by their stable hash (so a Scan, its pagination and parallel-scan
segments are deterministic ranges), and the items of a partition key by their sort key's
order-preserving bytes.  ``partition`` keeps these names for its callers.
"""

from __future__ import annotations

from typing import Any

from . import keys
from .commands import Item

MAX_PAGE_BYTES = 1024 * 1024
HASH_SPACE = 1 << 64  # the stable hash's range (Scan segments split it)


def hash_slot(schema: keys.KeySchema, item: Item) -> tuple[int, tuple[str, Any]]:
    """The ordering slot of an item's partition key: (stable hash, (type, value))."""
    value = item[schema.hash_name]
    kind, raw = next(iter(value.items()))
    return keys.partition_hash(value), (kind, raw)


def sort_slot(schema: keys.KeySchema, item: Item) -> bytes:
    if schema.range_name is None:
        return b""
    return keys.sort_key_bytes(item[schema.range_name])


def key_of(schema: keys.KeySchema, item: Item) -> Item:
    return {name: item[name] for name in schema.names}


def item_token(schema: keys.KeySchema, key: Item) -> tuple:
    """An item's identity in a partition (the key of ``locks``)."""
    return hash_slot(schema, key), sort_slot(schema, key)
