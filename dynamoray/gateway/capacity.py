"""ConsumedCapacity for responses, from the core's capacity rules (counted in half-units)."""

from __future__ import annotations

from typing import Iterable, NamedTuple

from ..core import capacity


def _mode(body: dict) -> str | None:
    return body.get("ReturnConsumedCapacity")


def for_write(body: dict, table: str, old_size: int, new_size: int, index_writes=()) -> dict | None:
    """``index_writes``: the write's ``capacity.IndexCapacity`` per secondary index it changed."""
    half = capacity.write_half_units(new_size, old_size)
    return capacity.consumed_capacity(table, write_units=half, indexes=index_writes, mode=_mode(body))


def for_writes(body: dict, table: str, sizes: Iterable[tuple[int, int]]) -> dict | None:
    half = sum(capacity.write_half_units(new, old) for old, new in sizes)
    return capacity.consumed_capacity(table, write_units=half, mode=_mode(body))


def for_get(body: dict, table: str, size: int, consistent: bool) -> dict | None:
    half = capacity.read_half_units(size, consistent=consistent)
    return capacity.consumed_capacity(table, read_units=half, mode=_mode(body))


def for_gets(body: dict, table: str, sizes: Iterable[int], consistent: bool) -> dict | None:
    half = capacity.batch_read_half_units(sizes, consistent=consistent)
    return capacity.consumed_capacity(table, read_units=half, mode=_mode(body))


def for_scan(body: dict, table: str, total_bytes: int, consistent: bool) -> dict | None:
    half = capacity.scan_half_units(total_bytes, consistent=consistent)
    return capacity.consumed_capacity(table, read_units=half, mode=_mode(body))


def attach(response: dict, consumed: dict | None) -> dict:
    if consumed is not None:
        response["ConsumedCapacity"] = consumed
    return response


# --- every response's capacity, for throttling, metrics and usage (gateway/telemetry.py) -----------
#
# The gateway asks every capacity-consuming operation for ``INDEXES`` (the most detailed shape)
# whatever the client asked, reads what was consumed from it, then gives the client the shape it
# asked for: ``TOTAL`` is ``INDEXES`` without its per-table and per-index parts, and ``NONE`` (or
# nothing) drops it.

CONSUMING = frozenset({
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem",
    "TransactGetItems", "TransactWriteItems", "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction",
})
_DETAIL = ("Table", "LocalSecondaryIndexes", "GlobalSecondaryIndexes")


def detailed(body: dict) -> dict:
    """The request as the handler sees it: asking for INDEXES (a shallow copy; ``body`` is kept)."""
    if body.get("ReturnConsumedCapacity") == "INDEXES":
        return body
    copy = dict(body)
    copy["ReturnConsumedCapacity"] = "INDEXES"
    return copy


def as_asked(response: dict, asked: str | None) -> None:
    """Shape the response's ConsumedCapacity back to what the client asked for (in place)."""
    if asked == "INDEXES":
        return
    consumed = response.get("ConsumedCapacity")
    if consumed is None:
        return
    if asked != "TOTAL":
        del response["ConsumedCapacity"]
        return
    for entry in consumed if isinstance(consumed, list) else (consumed,):
        for part in _DETAIL:
            entry.pop(part, None)


class Consumed(NamedTuple):
    """What one request consumed on one table: capacity units on the table itself (local secondary
    indexes included, since they share its throughput) and per global secondary index.  Immutable;
    a NamedTuple because one is made per request (a third of a frozen dataclass's cost)."""

    table: str
    read: float = 0.0
    write: float = 0.0
    index_read: tuple[tuple[str, float], ...] = ()
    index_write: tuple[tuple[str, float], ...] = ()


def _units(part: dict | None, kind: str | None) -> tuple[float, float]:
    """(read, write) units of a Capacity; ``kind`` says which one a plain CapacityUnits is."""
    if not part:
        return 0.0, 0.0
    if "ReadCapacityUnits" in part or "WriteCapacityUnits" in part:
        return float(part.get("ReadCapacityUnits", 0.0)), float(part.get("WriteCapacityUnits", 0.0))
    total = float(part.get("CapacityUnits", 0.0))
    return (total, 0.0) if kind == "Read" else (0.0, total)


def consumed_of(response: dict, kind: str | None) -> list[Consumed]:
    """Every table's consumption in a response whose ConsumedCapacity has the INDEXES shape;
    ``kind`` ("Read"/"Write") for the operations whose units are not split."""
    consumed = response.get("ConsumedCapacity")
    if consumed is None:
        return []
    if not isinstance(consumed, list):
        return [_consumed(consumed, kind)]
    return [_consumed(entry, kind) for entry in consumed]


def _consumed(entry: dict, kind: str | None) -> Consumed:
    read, write = _units(entry.get("Table", entry), kind)
    local, global_ = entry.get("LocalSecondaryIndexes"), entry.get("GlobalSecondaryIndexes")
    if not local and not global_:  # the common case: no secondary index touched
        return Consumed(entry.get("TableName", ""), read, write)
    for part in (local or {}).values():
        r, w = _units(part, kind)
        read, write = read + r, write + w
    index_read, index_write = [], []
    for name, part in (global_ or {}).items():
        r, w = _units(part, kind)
        if r:
            index_read.append((name, r))
        if w:
            index_write.append((name, w))
    return Consumed(entry.get("TableName", ""), read, write, tuple(index_read), tuple(index_write))
