"""The sync table: items in and out as plain Python values (or pydantic models).

    table = client.table("orders")                      # items are dicts
    table = Table(client, "orders", model=Order)        # items are Order instances
    table.put({"pk": "o#1", "total": Decimal("9.90")}, condition=Attr("pk").not_exists())
    table.get({"pk": "o#1"})
    for item in table.query(Key("pk").eq("o#1")): ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

from . import payloads
from .batch import BatchWriter, batch_get_request
from .accelerator import MISSING, ItemAccelerator
from .convert import item_from_wire, item_to_wire
from .expressions import Attr, Condition, Update
from .flows import batch_get, iterate_sync, run_sync, wait_for_table, wait_for_table_gone
from .models import KeySchema
from .pagination import Items
from .retry import Backoff
from .streams import StartAt, StreamRecord, follow_stream
from .table_base import TableBase
from .waiters import Wait

if TYPE_CHECKING:
    from .client_sync import Client

T = TypeVar("T")
M = TypeVar("M")
Projection = Iterable[Attr | str]


class Table(TableBase[T]):
    """One table of a sync :class:`Client`; ``T`` is the item type."""

    @overload
    def __init__(self: Table[dict[str, Any]], client: Client, name: str, model: None = None, *,
                 key_schema: KeySchema | None = None) -> None: ...

    @overload
    def __init__(self: Table[M], client: Client, name: str, model: type[M], *,
                 key_schema: KeySchema | None = None) -> None: ...

    def __init__(self, client: Client, name: str, model: type[Any] | None = None, *,
                 key_schema: KeySchema | None = None) -> None:
        super().__init__(name, model, key_schema)
        self.client = client

    # --- items -----------------------------------------------------------------------------------

    def get(self, key: T | Mapping[str, Any], *, consistent: bool = False,
            projection: Projection | None = None) -> T | None:
        """The item with this key, or None (from the client's accelerator, if it has one, unless
        ``consistent`` or a ``projection``)."""
        self._ensure_schema(key)
        accelerator = self.client._accelerator
        if accelerator is not None and not consistent and projection is None:
            return self._cached_get(accelerator, item_to_wire(self._key(key)))
        payload = payloads.get_item(self.name, self._key(key), consistent, projection)
        return self._loaded(self.client._call("GetItem", payload), "Item")

    def _cached_get(self, accelerator: ItemAccelerator, key: dict[str, Any]) -> T | None:
        found = accelerator.lookup(self.name, key)
        if found is MISSING:
            ticket = accelerator.begin(self.name)
            if self.client._feed is not None:
                self.client._feed.ensure()
            found = self.client._call("GetItem", {"TableName": self.name, "Key": key}).get("Item")
            accelerator.fill(self.name, key, found, ticket)
        return self._codec.load(item_from_wire(found)) if found is not None else None

    def put(self, item: T | Mapping[str, Any], *, condition: Condition | None = None,
            return_values: payloads.OnConditionFailure = "NONE",
            on_condition_failure: payloads.OnConditionFailure = "NONE") -> T | None:
        """Write ``item`` whole; with ``return_values="ALL_OLD"`` returns the item it replaced."""
        payload = payloads.put_item(self.name, self._item(item), condition, return_values, on_condition_failure)
        accelerator = self.client._accelerator
        if accelerator is None:
            return self._loaded(self.client._call("PutItem", payload), "Attributes")
        names = self.key_schema().names
        ticket = accelerator.begin(self.name)
        response = self.client._call("PutItem", payload)
        accelerator.wrote(self.name, {n: payload["Item"][n] for n in names}, payload["Item"], ticket)
        return self._loaded(response, "Attributes")

    def update(self, key: T | Mapping[str, Any], update: Update, *, condition: Condition | None = None,
               return_values: payloads.ReturnValues = "NONE",
               on_condition_failure: payloads.OnConditionFailure = "NONE") -> dict[str, Any] | None:
        """Apply ``update``; returns the attributes ``return_values`` asks for (None for NONE)."""
        self._ensure_schema(key)
        payload = payloads.update_item(self.name, self._key(key), update, condition, return_values,
                                       on_condition_failure)
        response = self.client._call("UpdateItem", payload)
        if self.client._accelerator is not None:  # the new image comes with the feed
            self.client._accelerator.evict(self.name, payload["Key"])
        return self._attributes(response)

    def delete(self, key: T | Mapping[str, Any], *, condition: Condition | None = None,
               return_values: payloads.OnConditionFailure = "NONE",
               on_condition_failure: payloads.OnConditionFailure = "NONE") -> T | None:
        """Delete the item; with ``return_values="ALL_OLD"`` returns it."""
        self._ensure_schema(key)
        payload = payloads.delete_item(self.name, self._key(key), condition, return_values, on_condition_failure)
        accelerator = self.client._accelerator
        ticket = accelerator.begin(self.name) if accelerator is not None else None
        response = self.client._call("DeleteItem", payload)
        if accelerator is not None and ticket is not None:
            accelerator.wrote(self.name, payload["Key"], None, ticket)
        return self._loaded(response, "Attributes")

    # --- reads of many items ----------------------------------------------------------------------

    def query(self, key_condition: Condition, *, filter: Condition | None = None,
              projection: Projection | None = None, index: str | None = None, reverse: bool = False,
              consistent: bool = False, limit: int | None = None, page_size: int | None = None,
              start_key: Mapping[str, Any] | None = None) -> Items[T]:
        """The matching items in sort-key order (``reverse=True``: descending), paged transparently."""
        request = payloads.query(self.name, key_condition, reverse=reverse, filter=filter, attributes=projection,
                                 index=index, consistent=consistent, start_key=start_key, select=None)
        return Items(self._fetch("Query"), request, self._load, limit, page_size)

    def scan(self, *, filter: Condition | None = None, projection: Projection | None = None,
             index: str | None = None, consistent: bool = False, limit: int | None = None,
             page_size: int | None = None, start_key: Mapping[str, Any] | None = None,
             segment: int | None = None, total_segments: int | None = None) -> Items[T]:
        """Every item (or one ``segment`` of ``total_segments``), paged transparently."""
        request = payloads.scan(self.name, segment=segment, total_segments=total_segments, filter=filter,
                                attributes=projection, index=index, consistent=consistent,
                                start_key=start_key, select=None)
        return Items(self._fetch("Scan"), request, self._load, limit, page_size)

    def _fetch(self, operation: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        def fetch(request: dict[str, Any]) -> dict[str, Any]:
            return self.client._call(operation, request)
        return fetch

    def batch_get(self, keys: Iterable[T | Mapping[str, Any]], *, consistent: bool = False,
                  projection: Projection | None = None, backoff: Backoff | None = None) -> list[T]:
        """The items with these keys that exist (any order), retrying unprocessed keys."""
        keys = list(keys)
        if any(self._needs_schema(k) for k in keys):
            self.key_schema()
        names = self._key_schema.names if self._key_schema is not None else None
        request = batch_get_request(self.name, [self._key(k) for k in keys], names, consistent, projection)
        found = run_sync(batch_get(request, backoff or self.client.batch_backoff), self.client._call)
        return [self._load(item_from_wire(raw)) for raw in found.get(self.name, [])]

    def batch_writer(self, *, backoff: Backoff | None = None) -> BatchWriter[T]:
        return BatchWriter(self, self.key_schema().names, backoff or self.client.batch_backoff)

    # --- the table itself -------------------------------------------------------------------------

    def key_schema(self) -> KeySchema:
        """The key attributes: the model's declarations, else from DescribeTable (asked once)."""
        if self._key_schema is None:
            self._key_schema = KeySchema.from_description(self.describe())
        return self._key_schema

    def _ensure_schema(self, key: Any) -> None:
        if self._needs_schema(key):
            self.key_schema()

    def describe(self) -> dict[str, Any]:
        return self.client.describe_table(self.name)

    def wait_until_exists(self, wait: Wait | None = None) -> dict[str, Any]:
        return run_sync(wait_for_table(self.name, wait or Wait()), self.client._call)

    def wait_until_not_exists(self, wait: Wait | None = None) -> None:
        run_sync(wait_for_table_gone(self.name, wait or Wait()), self.client._call)

    def delete_table(self, *, wait: bool = True) -> None:
        self.client.delete_table(self.name, wait=wait)

    def stream(self, *, start: StartAt = "TRIM_HORIZON", follow: bool = True,
               poll_interval: float = 1.0) -> Iterator[StreamRecord]:
        """Every change of the table from its stream (see ``streams.py``); the table must have one."""
        arn = self.describe().get("LatestStreamArn")
        if not arn:
            raise ValueError(f"Table {self.name} has no stream: create it with stream=<view type>")
        return iterate_sync(follow_stream(arn, start, follow, poll_interval), self.client._call)
