"""The batch writer and batch reads.

``with table.batch_writer() as batch: batch.put(item); batch.delete(key)`` buffers requests and
sends a BatchWriteItem of 25 whenever 25 are waiting, and the rest when the block ends normally
(or on ``flush()``).  ``UnprocessedItems`` are re-sent with full-jitter backoff (``Backoff``);
requests still unprocessed after every retry raise :class:`UnprocessedItemsError`.  A put or
delete of a key already waiting in the buffer replaces the earlier request (DynamoDB refuses a
batch that names one item twice), as boto3 does with ``overwrite_by_pkeys``; here the key
attributes come from the table's model or its description, so this is always on.

Batch reads split the keys into requests of 100, drop duplicate keys and re-send
``UnprocessedKeys`` with the same backoff.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import orjson

from .convert import item_to_wire
from .expressions import Attr, Placeholders, projection
from .flows import batch_write, run_async, run_sync
from .retry import Backoff

if TYPE_CHECKING:
    from .table import Table
    from .table_async import AsyncTable

T = TypeVar("T")
BATCH_WRITE_SIZE = 25
BATCH_GET_SIZE = 100


def key_id(wire_key: Mapping[str, Any], names: Iterable[str]) -> bytes:
    """A hashable identity of a wire key (numbers and binaries are normalized already)."""
    return orjson.dumps([wire_key.get(name) for name in names])


class WriteBuffer:
    """The pending requests of one table, one per key (a later request replaces an earlier one)."""

    def __init__(self, key_names: tuple[str, ...]) -> None:
        self.key_names = key_names
        self._pending: dict[bytes, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def put(self, attributes: Mapping[str, Any]) -> None:
        wire = item_to_wire(attributes)
        self._add(wire, {"PutRequest": {"Item": wire}})

    def delete(self, key: Mapping[str, Any]) -> None:
        wire = item_to_wire(key)
        self._add(wire, {"DeleteRequest": {"Key": wire}})

    def _add(self, wire: Mapping[str, Any], request: dict[str, Any]) -> None:
        identity = key_id(wire, self.key_names)
        self._pending.pop(identity, None)  # the replacement goes to the end, like a new request
        self._pending[identity] = request

    def take(self, count: int = BATCH_WRITE_SIZE) -> list[dict[str, Any]]:
        taken = []
        for identity in list(self._pending)[:count]:
            taken.append(self._pending.pop(identity))
        return taken


def batch_get_request(table: str, keys: Iterable[Mapping[str, Any]], key_names: tuple[str, ...] | None,
                      consistent: bool, attributes: Iterable[Attr | str] | None) -> dict[str, dict[str, Any]]:
    """The RequestItems of a BatchGetItem on one table (duplicate keys dropped)."""
    unique: dict[bytes, dict[str, Any]] = {}
    for key in keys:
        wire = item_to_wire(key)
        unique.setdefault(key_id(wire, key_names or sorted(wire)), wire)
    spec: dict[str, Any] = {"Keys": list(unique.values())}
    if consistent:
        spec["ConsistentRead"] = True
    if attributes is not None:
        p = Placeholders()
        spec["ProjectionExpression"] = projection(attributes, p)
        if p.names:
            spec["ExpressionAttributeNames"] = p.names
    return {table: spec}


class BatchWriter(Generic[T]):
    """The sync batch writer of one table (see the module docstring)."""

    def __init__(self, table: Table[T], key_names: tuple[str, ...], backoff: Backoff) -> None:
        self._table = table
        self._buffer = WriteBuffer(key_names)
        self._backoff = backoff

    def put(self, item: T | Mapping[str, Any]) -> None:
        self._buffer.put(self._table._item(item))
        self._send_full()

    def delete(self, key: T | Mapping[str, Any]) -> None:
        self._buffer.delete(self._table._key(key))
        self._send_full()

    def _send_full(self) -> None:
        while len(self._buffer) >= BATCH_WRITE_SIZE:
            self._send(self._buffer.take())

    def _send(self, requests: list[dict[str, Any]]) -> None:
        run_sync(batch_write({self._table.name: requests}, self._backoff), self._table.client._call)

    def flush(self) -> None:
        while len(self._buffer):
            self._send(self._buffer.take())

    def __enter__(self) -> BatchWriter[T]:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is None:
            self.flush()


class AsyncBatchWriter(Generic[T]):
    """The async batch writer: ``async with table.batch_writer() as batch: await batch.put(item)``."""

    def __init__(self, table: AsyncTable[T], backoff: Backoff) -> None:
        self._table = table
        self._buffer = WriteBuffer(())
        self._backoff = backoff

    async def _ready(self) -> None:
        if not self._buffer.key_names:  # the key schema may need a DescribeTable
            self._buffer = WriteBuffer((await self._table.key_schema()).names)

    async def put(self, item: T | Mapping[str, Any]) -> None:
        await self._ready()
        self._buffer.put(self._table._item(item))
        await self._send_full()

    async def delete(self, key: T | Mapping[str, Any]) -> None:
        await self._ready()
        self._buffer.delete(self._table._key(key))
        await self._send_full()

    async def _send_full(self) -> None:
        while len(self._buffer) >= BATCH_WRITE_SIZE:
            await self._send(self._buffer.take())

    async def _send(self, requests: list[dict[str, Any]]) -> None:
        await run_async(batch_write({self._table.name: requests}, self._backoff), self._table.client._call)

    async def flush(self) -> None:
        while len(self._buffer):
            await self._send(self._buffer.take())

    async def __aenter__(self) -> AsyncBatchWriter[T]:
        await self._ready()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        if kind is None:
            await self.flush()
