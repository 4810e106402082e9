"""The gateway's side of the actors: every ``.remote()`` call goes through here.

- :class:`RemoteActor` wraps a Ray actor handle.  A :class:`~dynamoray.core.errors.DynamoError`
  raised inside the actor reaches the caller as the same DynamoError (Ray wraps it in a
  ``RayTaskError``; its ``cause`` is unwrapped).  An actor that is restarting becomes a retryable
  503 ``ServiceUnavailable``, an actor that died, a call that did not answer in time or any other
  failure a 500 ``InternalServerError``: never a hang.
- :class:`LocalActor` is its in-process twin: it calls a plain object (a ``PartitionHost``, a
  ``CatalogService``) with its arguments and result copied through pickle, as Ray would.
- :class:`RayEngine` implements the engine protocol the gateway calls (the same as
  ``LocalEngine``) over one catalog actor and a pool of partition hosts.  It caches a
  :class:`~.host.TableRef` per table name to route item calls without asking the catalog; a host
  answering ResourceNotFound (the table's topic is gone: deleted, maybe re-created under a new
  id) evicts the entry, and the call is retried once if the catalog now knows a different table.
  DynamoDB Streams are read by the gateway straight from the log (``stream_log``): the embedded
  log is opened in the gateway process too, and its tails see the hosts' appends.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import inspect
import pickle
from typing import Any, Protocol, Sequence

import ray
from ray import exceptions as ray_errors

from .. import logs
from ..core import errors, tables
from ..core.commands import Item, Page, QuerySpec, ScanSpec, WriteOutcome
from ..core.errors import DynamoError
from ..events.log import EventLog
from .host import BATCHABLE, TableRef, TableStats

log = logs.get("actors")

DEFAULT_CALL_TIMEOUT = 60.0  # seconds; opening a large partition replays its whole log


def host_index(table_id: str, hosts: int) -> int:
    """The host a table lives on: a stable hash of its id (the same in every process and run)."""
    digest = hashlib.blake2b(table_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % hosts


def table_ref(description: dict) -> TableRef:
    return TableRef(description["TableId"], description["TableName"], tables.key_schema_of(description))


# --- calling actors ---------------------------------------------------------------------------------


class ActorCaller(Protocol):
    async def call(self, method: str, *args: Any) -> Any: ...


class RemoteActor:
    """A Ray actor handle; the one place its methods are called."""

    def __init__(self, handle: Any, name: str, timeout: float = DEFAULT_CALL_TIMEOUT) -> None:
        self.handle = handle
        self.name = name
        self._timeout = timeout

    async def call(self, method: str, *args: Any) -> Any:
        try:
            return await asyncio.wait_for(self._submit(method, args), self._timeout)
        except ray_errors.RayTaskError as error:
            cause = error.cause
            if isinstance(cause, DynamoError):
                raise cause from None
            log.error("actor_call_failed", actor=self.name, method=method, error=repr(cause))
            raise errors.internal_server_error() from None
        except ray_errors.ActorUnavailableError:
            log.warning("actor_unavailable", actor=self.name, method=method)
            raise errors.service_unavailable() from None
        except ray_errors.RayError as error:
            log.error("actor_died", actor=self.name, method=method, error=type(error).__name__)
            raise errors.internal_server_error() from None
        except asyncio.TimeoutError:
            log.error("actor_call_timed_out", actor=self.name, method=method, timeout=self._timeout)
            raise errors.internal_server_error("The request did not complete in time") from None

    async def _submit(self, method: str, args: tuple) -> Any:
        return await getattr(self.handle, method).remote(*args)

    def call_sync(self, method: str, *args: Any, timeout: float | None = None) -> Any:
        """A blocking call, for start-up and shutdown (never on the request path)."""
        return ray.get(getattr(self.handle, method).remote(*args), timeout=timeout or self._timeout)


class LocalActor:
    """The in-process twin of :class:`RemoteActor` (tests): same calls, no Ray."""

    def __init__(self, target: Any, name: str = "local") -> None:
        self.target = target
        self.name = name

    async def call(self, method: str, *args: Any) -> Any:
        args = pickle.loads(pickle.dumps(args))
        result = getattr(self.target, method)(*args)
        if inspect.isawaitable(result):
            result = await result
        return pickle.loads(pickle.dumps(result))


class Batching:
    """Coalesces concurrent calls to one host into ``batch`` calls: one actor call for many requests.

    A call goes out at once while fewer than ``max_in_flight`` batches are out; otherwise it waits
    for one to come back and leaves with every call queued meanwhile (like group commit).  A lone
    client pays one actor call per request; concurrent clients share the ~1 ms a call costs.
    """

    def __init__(self, actor: ActorCaller, max_in_flight: int = 2, max_batch: int = 256) -> None:
        self.actor = actor
        self.name = getattr(actor, "name", "actor")
        self._max_in_flight = max_in_flight
        self._max_batch = max_batch
        self._queue: list[tuple[str, tuple, asyncio.Future]] = []
        self._in_flight = 0
        self._sending: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks

    async def call(self, method: str, *args: Any) -> Any:
        if method not in BATCHABLE:
            return await self.actor.call(method, *args)
        future = asyncio.get_running_loop().create_future()
        self._queue.append((method, args, future))
        if self._in_flight < self._max_in_flight:
            self._send_queued()
        return await future

    def _send_queued(self) -> None:
        batch, self._queue = self._queue[:self._max_batch], self._queue[self._max_batch:]
        self._in_flight += 1
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[str, tuple, asyncio.Future]]) -> None:
        try:
            results = await self.actor.call("batch", [(method, args) for method, args, _ in batch])
        except DynamoError as error:  # the whole batch failed: the actor died, or timed out
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(copy.copy(error))
        else:
            for (_, _, future), (ok, value) in zip(batch, results):
                if not future.done():
                    future.set_result(value) if ok else future.set_exception(value)
        finally:
            self._in_flight -= 1
            if self._queue and self._in_flight < self._max_in_flight:
                self._send_queued()


def spawn(actor_class: Any, *args: Any, **kwargs: Any) -> Any:
    """Create (or, for a named actor with ``get_if_exists``, find) an actor; returns its handle."""
    return actor_class.remote(*args, **kwargs)


# --- the engine -------------------------------------------------------------------------------------


class RayEngine:
    """The engine protocol over a catalog actor and partition hosts (see the module docstring)."""

    def __init__(
        self, catalog: ActorCaller, hosts: Sequence[ActorCaller], stream_log: EventLog | None = None,
        *, batching: bool = True,
    ) -> None:
        if not hosts:
            raise ValueError("at least one partition host is needed")
        self._catalog = catalog
        self._hosts = [Batching(h) for h in hosts] if batching else list(hosts)
        self._stream_log = stream_log  # owned: closed with the engine
        self._refs: dict[str, TableRef] = {}

    async def open(self) -> None:
        """Warm the routing cache with every table of the catalog."""
        self._refs = {d["TableName"]: table_ref(d) for d in await self._catalog.call("all_tables")}

    async def close(self) -> None:
        self._refs.clear()  # the actors belong to the cluster (``cluster.Cluster.shutdown``)
        if self._stream_log is not None:
            self._stream_log.close()

    async def stream_log(self) -> EventLog:
        """The log DynamoDB Streams read (each table's topic, as the hosts write it)."""
        if self._stream_log is None:
            raise errors.validation("DynamoDB Streams are not available on this engine")
        return self._stream_log

    def _host(self, ref: TableRef) -> ActorCaller:
        return self._hosts[host_index(ref.table_id, len(self._hosts))]

    async def _ref(self, name: str) -> TableRef:
        ref = self._refs.get(name)
        if ref is None:
            description = await self._catalog.call("lookup", name)
            if description is None:
                raise errors.resource_not_found()
            ref = self._refs[name] = table_ref(description)
        return ref

    async def _on_host(self, name: str, method: str, *args: Any) -> Any:
        ref = await self._ref(name)
        try:
            return await self._host(ref).call(method, ref, *args)
        except DynamoError as error:
            if error.error_type != "ResourceNotFoundException":
                raise
            if self._refs.get(name) == ref:
                del self._refs[name]
            fresh = await self._ref(name)
            if fresh == ref:
                raise
            return await self._host(fresh).call(method, fresh, *args)

    # --- catalog ---------------------------------------------------------------------------

    async def create_table(self, description: dict) -> dict:
        created = await self._catalog.call("create_table", description)
        self._refs[created["TableName"]] = table_ref(created)
        return created

    async def describe_table(self, name: str) -> dict:
        description = await self._catalog.call("describe", name)
        ref = self._refs[name] = table_ref(description)
        stats: TableStats = await self._host(ref).call("stats", ref)
        description["ItemCount"] = stats.item_count
        description["TableSizeBytes"] = stats.size_bytes
        return description

    async def list_tables(self) -> list[str]:
        return await self._catalog.call("list_tables")

    async def replace_table(self, name: str, description: dict) -> dict:
        await self._catalog.call("replace_table", name, description)
        return await self.describe_table(name)

    async def delete_table(self, name: str) -> dict:
        description = await self._catalog.call("delete_table", name)
        ref = table_ref(description)
        self._refs.pop(name, None)
        try:
            stats: TableStats = await self._host(ref).call("drop", ref)
        except DynamoError as error:  # the table is deleted; its topic may be left behind
            log.warning("drop_failed", table=name, table_id=ref.table_id, error=error.error_type)
            stats = TableStats(0, 0)
        description = copy.deepcopy(description)
        description["ItemCount"] = stats.item_count
        description["TableSizeBytes"] = stats.size_bytes
        description["TableStatus"] = "DELETING"
        return description

    async def get_tags(self, name: str) -> dict[str, str]:
        return await self._catalog.call("get_tags", name)

    async def set_tags(self, name: str, tags: dict[str, str]) -> None:
        await self._catalog.call("set_tags", name, tags)

    async def get_ttl(self, name: str) -> dict | None:
        return await self._catalog.call("get_ttl", name)

    async def set_ttl(self, name: str, spec: dict) -> None:
        await self._catalog.call("set_ttl", name, spec)

    # --- items -----------------------------------------------------------------------------

    async def key_schema(self, table: str):
        return (await self._ref(table)).schema

    async def write(self, table: str, command: Any) -> WriteOutcome:
        return await self._on_host(table, "write", command)

    async def get(self, table: str, key: Item, projection=None, consistent: bool = False) -> Item | None:
        # One replica (the leader) per partition for now: every read is strongly consistent.
        return await self._on_host(table, "get", key, projection)

    async def query(self, table: str, spec: QuerySpec, consistent: bool = False) -> Page:
        return await self._on_host(table, "query", spec)

    async def scan(self, table: str, spec: ScanSpec, consistent: bool = False) -> Page:
        return await self._on_host(table, "scan", spec)
