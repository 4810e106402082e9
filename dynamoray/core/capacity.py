"""DynamoDB's capacity-unit rules, counted in integer half-units and rendered as floats.

An eventually consistent read of up to 4 KB costs half a read unit, so every count here is in
half-units (an ``int``) and :func:`units` turns it into the float DynamoDB returns.

- Reads (GetItem, each item of BatchGetItem): the item's size rounded up to 4 KB blocks; one
  half-unit per block eventually consistent, two strongly consistent, four transactional.  A
  missing item costs the minimum, one block.
- Query and Scan: the sizes of all the items read are summed first, then rounded up to 4 KB
  blocks (at least one block, even when nothing is read).
- Writes (PutItem, UpdateItem, DeleteItem, each item of BatchWriteItem): the larger of the old
  and new item sizes, rounded up to 1 KB blocks, at least one; one unit (two half-units) per
  block, twice that in a transaction.  Deleting a missing item costs one unit.
- :func:`consumed_capacity` shapes the ``ConsumedCapacity`` of a response for
  ``ReturnConsumedCapacity`` (``TOTAL``, ``INDEXES`` or ``NONE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

READ_BLOCK = 4 * 1024
WRITE_BLOCK = 1024
MODES = ("TOTAL", "INDEXES", "NONE")


def _blocks(size: int, block: int) -> int:
    return max(1, -(-size // block))


def units(half_units: int) -> float:
    """Half-units to the capacity units DynamoDB reports (``3`` -> ``1.5``)."""
    return half_units / 2


def read_half_units(size: int, *, consistent: bool = False, transactional: bool = False) -> int:
    """One item read (GetItem, a BatchGetItem key, a TransactGetItems Get); ``size`` 0 when the
    item does not exist."""
    per_block = 4 if transactional else 2 if consistent else 1
    return _blocks(size, READ_BLOCK) * per_block


def batch_read_half_units(sizes: Iterable[int], *, consistent: bool = False) -> int:
    """BatchGetItem: each item is its own GetItem, rounded up on its own."""
    return sum(read_half_units(size, consistent=consistent) for size in sizes)


def scan_half_units(total_bytes: int, *, consistent: bool = False) -> int:
    """Query or Scan: the bytes of every item read (before any filter), rounded up once."""
    return _blocks(total_bytes, READ_BLOCK) * (2 if consistent else 1)


def write_half_units(new_size: int = 0, old_size: int = 0, *, transactional: bool = False) -> int:
    """One item write: the larger of the item before and after, in 1 KB blocks (at least one)."""
    return _blocks(max(new_size, old_size), WRITE_BLOCK) * (4 if transactional else 2)


def index_write_half_units(old_size: int | None, new_size: int | None, *, key_changed: bool = False,
                           changed: bool = True) -> int:
    """Writes to one secondary index caused by one table write.

    ``old_size``/``new_size`` are the sizes of the item as projected into the index before and
    after (``None`` when the item is not in the index).  Entering or leaving the index is one
    write; changing the index key is a delete plus a put; changing only projected attributes is
    one write of the larger size; a write that changes nothing the index holds costs nothing."""
    if old_size is None and new_size is None:
        return 0
    if old_size is None:
        return write_half_units(new_size)
    if new_size is None:
        return write_half_units(old_size)
    if key_changed:
        return write_half_units(old_size) + write_half_units(new_size)
    return write_half_units(new_size, old_size) if changed else 0


@dataclass(frozen=True)
class IndexCapacity:
    """Half-units one operation consumed on one secondary index."""

    name: str
    is_global: bool
    read_units: int = 0
    write_units: int = 0


def _capacity(read: int, write: int, split: bool) -> dict:
    shaped: dict = {"CapacityUnits": units(read + write)}
    if split and read:
        shaped["ReadCapacityUnits"] = units(read)
    if split and write:
        shaped["WriteCapacityUnits"] = units(write)
    return shaped


def consumed_capacity(table: str, read_units: int = 0, write_units: int = 0,
                      indexes: Iterable[IndexCapacity] = (), mode: str | None = "TOTAL",
                      *, split: bool = False) -> dict | None:
    """The ``ConsumedCapacity`` of a response, or ``None`` for ``NONE`` (or no mode given).

    ``read_units``/``write_units`` are the half-units consumed on the table itself and
    ``indexes`` those consumed on its secondary indexes; ``CapacityUnits`` is the sum of all.
    ``INDEXES`` adds ``Table`` and, when any index was touched, ``LocalSecondaryIndexes`` /
    ``GlobalSecondaryIndexes``.  ``split`` adds ``ReadCapacityUnits``/``WriteCapacityUnits`` (the
    non-zero ones) as DynamoDB does for TransactGetItems and TransactWriteItems."""
    if mode is None or mode == "NONE":
        return None
    if mode not in MODES:
        raise ValueError(f"unknown ReturnConsumedCapacity mode: {mode}")
    if not split and indexes == ():  # the common case (no index touched), shaped directly
        total = units(read_units + write_units)
        if mode == "INDEXES":
            return {"TableName": table, "CapacityUnits": total, "Table": {"CapacityUnits": total}}
        return {"TableName": table, "CapacityUnits": total}
    indexes = tuple(indexes)
    read = read_units + sum(i.read_units for i in indexes)
    write = write_units + sum(i.write_units for i in indexes)
    shaped = {"TableName": table, **_capacity(read, write, split)}
    if mode == "INDEXES":
        shaped["Table"] = _capacity(read_units, write_units, split)
        for key, is_global in (("LocalSecondaryIndexes", False), ("GlobalSecondaryIndexes", True)):
            chosen = {i.name: _capacity(i.read_units, i.write_units, split)
                      for i in indexes if i.is_global == is_global}
            if chosen:
                shaped[key] = chosen
    return shaped
