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
  log is opened in the gateway process too, and its tails see the hosts' appends.  New tables get
  the engine's ``shards`` (``tables.SHARDS`` in their description); a table's host holds all of
  its shards (``shards.py``), so item calls still go to one host per table.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import pickle
import secrets
import time
from typing import Any, Protocol, Sequence

import ray
from ray import exceptions as ray_errors

from .. import logs
from ..core import errors, index_tables, indexes, shards as core_shards, tables
from ..core.commands import Item, Page, QuerySpec, ScanSpec, WriteOutcome
from ..core.errors import DynamoError
from ..events.log import EventLog
from .channel import ChannelClient, ChannelUnreachable
from .host import BATCHABLE, TableRef, TableStats
from .index_calls import RayIndexes
from .ray_transactions import RayTransactions
from .replicas import ReplicaReads
from .moves import PartitionMoves
from .routing import RangeRouting, host_index, map_of  # noqa: F401 - host_index: re-exported (placement)

log = logs.get("actors")

DEFAULT_CALL_TIMEOUT = 60.0  # seconds; opening a large partition replays its whole log


def table_ref(description: dict) -> TableRef:
    return TableRef(description["TableId"], description["TableName"], tables.key_schema_of(description),
                    tables.shard_count(description), indexes.index_set(description),
                    bool(description.get("Replicas")),  # global tables (core/global_tables.py)
                    map_version=int((description.get(tables.PARTITIONS) or {}).get("Version", 0)))


# --- calling actors ---------------------------------------------------------------------------------


class ActorCaller(Protocol):
    async def call(self, method: str, *args: Any) -> Any: ...


class RemoteActor:
    """A Ray actor handle; the one place its methods are called."""

    def __init__(self, handle: Any, name: str, timeout: float = DEFAULT_CALL_TIMEOUT) -> None:
        self.handle = handle
        self.name = name
        self.timeout = timeout

    async def call(self, method: str, *args: Any) -> Any:
        try:
            return await asyncio.wait_for(self._submit(method, args), self.timeout)
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
            log.error("actor_call_timed_out", actor=self.name, method=method, timeout=self.timeout)
            raise errors.internal_server_error("The request did not complete in time") from None

    async def _submit(self, method: str, args: tuple) -> Any:
        return await getattr(self.handle, method).remote(*args)

    def call_sync(self, method: str, *args: Any, timeout: float | None = None) -> Any:
        """A blocking call, for start-up and shutdown (never on the request path)."""
        return ray.get(getattr(self.handle, method).remote(*args), timeout=timeout or self.timeout)


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


class ChannelRouted:
    """A host's calls: item calls on its direct channel (``channel.py``), the others through Ray.

    If the channel cannot be reached (a host on another node bound to its loopback), item calls go
    through Ray with :class:`Batching` instead, and the channel is tried again a few seconds later."""

    RETRY_AFTER = 5.0  # seconds

    def __init__(self, actor: RemoteActor, token: bytes, bind: str = "127.0.0.1") -> None:
        self.actor = actor
        self.name = actor.name
        self._bind = bind
        self._channel = ChannelClient(self._locate, token, actor.name, actor.timeout)
        self._batching = Batching(actor)
        self._fallback_until = 0.0

    async def _locate(self, token: bytes) -> tuple[str, int]:
        return tuple(await self.actor.call("open_channel", token, self._bind))

    @property
    def lost(self) -> bool:
        """Its channel dropped: the host died or is restarting (follower reads skip it)."""
        return self._channel.lost

    async def reconnect(self) -> None:
        """Wait until the host answers on a new channel (through Ray: waits out a restart)."""
        await self._channel.connect()

    async def call(self, method: str, *args: Any) -> Any:
        if method not in BATCHABLE:
            return await self.actor.call(method, *args)
        if self._fallback_until and time.monotonic() < self._fallback_until:
            return await self._batching.call(method, *args)
        try:
            return await self._channel.call(method, *args)
        except ChannelUnreachable:
            log.warning("channel_unreachable", actor=self.name, fallback="ray")
            self._fallback_until = time.monotonic() + self.RETRY_AFTER
            return await self._batching.call(method, *args)


class LazyActor:
    """A named actor, looked up (``ray.get_actor``) in the process that calls it, on first use.
    Picklable: the transaction coordinator and the hosts find each other by name this way."""

    def __init__(self, name: str, timeout: float = DEFAULT_CALL_TIMEOUT, namespace: str = "dynamoray",
                 channel: bool = False) -> None:
        self.name = name
        self.timeout = timeout
        self.namespace = namespace
        self.channel = channel  # a host: item calls on its channel (ChannelRouted), not through Ray
        self._actor: ActorCaller | None = None

    def __getstate__(self) -> dict:
        return {"name": self.name, "timeout": self.timeout, "namespace": self.namespace, "channel": self.channel}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    async def call(self, method: str, *args: Any) -> Any:
        if self._actor is None:
            try:
                handle = await asyncio.to_thread(ray.get_actor, self.name, namespace=self.namespace)
            except ValueError:  # not created yet, or gone
                raise errors.service_unavailable() from None
            actor = RemoteActor(handle, self.name, self.timeout)
            self._actor = ChannelRouted(actor, secrets.token_bytes(16)) if self.channel else actor
        return await self._actor.call(method, *args)


def spawn(actor_class: Any, *args: Any, **kwargs: Any) -> Any:
    """Create (or, for a named actor with ``get_if_exists``, find) an actor; returns its handle."""
    return actor_class.remote(*args, **kwargs)


# --- the engine -------------------------------------------------------------------------------------


class RayEngine(RangeRouting, PartitionMoves, RayTransactions, ReplicaReads, RayIndexes):
    """The engine protocol over a catalog actor and partition hosts (see the module docstring);
    transactions go to the ``coordinator`` actor (``ray_transactions.py``); eventually consistent
    reads to a follower (``replicas.py``: ``followers`` in this process, ``host_followers`` per
    partition in the hosts)."""

    def __init__(
        self, catalog: ActorCaller, hosts: Sequence[ActorCaller], stream_log: EventLog | None = None,
        *, batching: bool = True, coordinator: ActorCaller | None = None,
        followers: Any = None, host_followers: int = 0, shards: int = core_shards.DEFAULT_SHARDS,
    ) -> None:
        if not hosts:
            raise ValueError("at least one partition host is needed")
        self.shards = core_shards.check_count(shards)  # of each new table
        self._catalog = catalog
        self._coordinator = coordinator
        self._token = secrets.token_bytes(16)  # this gateway's key to the hosts' channels
        self._hosts = [self._calls(h, channel=batching) if batching else h for h in hosts]
        self._stream_log = stream_log  # owned: closed with the engine
        self._refs: dict[str, TableRef] = {}
        self._maps: dict[str, Any] = {}  # table id -> its partition map (routing.py)
        self._init_replicas(followers, host_followers)  # the followers are owned too

    def _calls(self, host: ActorCaller, channel: bool) -> ActorCaller:
        """Item calls to a Ray actor go on its channel; to an in-process twin, batched."""
        if channel and isinstance(host, RemoteActor):
            return ChannelRouted(host, self._token)
        return Batching(host)

    async def open(self) -> None:
        """Warm the routing cache with every table of the catalog."""
        self._refs = {}
        for description in await self._catalog.call("all_tables"):
            self._remember(description)
        await self._indexes_opened()  # secondary-index changes left in progress (index_calls.py)

    async def close(self) -> None:
        self._stop_index_changes()
        self._refs.clear()  # the actors belong to the cluster (``cluster.Cluster.shutdown``)
        self._close_replicas()
        if self._stream_log is not None:
            self._stream_log.close()

    async def stream_log(self) -> EventLog:
        """The log DynamoDB Streams read (each table's topic, as the hosts write it)."""
        if self._stream_log is None:
            raise errors.validation("DynamoDB Streams are not available on this engine")
        return self._stream_log

    def _host(self, ref: TableRef) -> ActorCaller:
        """The host of the table's first range (all of it unless it is spread: ``routing.py``)."""
        return self._hosts[self._leader_index(ref)]

    def _leader_index(self, ref: TableRef) -> int:
        return self._map(ref).ranges[0].host

    def _remember(self, description: dict) -> TableRef:
        """Cache a table's ref and partition map (``routing.py``)."""
        ref = self._refs[description["TableName"]] = table_ref(description)
        self._maps[ref.table_id] = map_of(description, len(self._hosts))
        return ref

    async def _ref(self, name: str) -> TableRef:
        ref = self._refs.get(name)
        if ref is None:
            description = await self._catalog.call("lookup", name)
            if description is None:
                raise errors.resource_not_found()
            ref = self._remember(description)
        return ref

    async def _on_host(self, name: str, method: str, *args: Any) -> Any:
        """``method`` on the host(s) of the table's range(s) (``routing.py``), retried after a
        "moved" answer or a table re-created under another id."""
        return await self._routed_retrying(name, method, args)

    # --- catalog ---------------------------------------------------------------------------

    async def create_table(self, description: dict) -> dict:
        description = tables.with_shards(description, self.shards)
        created = await self._catalog.call("create_table", description)
        self._remember(created)
        return created

    async def describe_table(self, name: str) -> dict:
        description = await self._catalog.call("describe", name)
        self._remember(description)
        stats: TableStats = await self._on_host(name, "stats")
        description["ItemCount"] = stats.item_count
        description["TableSizeBytes"] = stats.size_bytes
        self._kick_index_changes(description)  # no-op unless a GSI is CREATING or DELETING
        return index_tables.describe_stats(description, stats.indexes)

    async def list_tables(self) -> list[str]:
        return await self._catalog.call("list_tables")

    async def replace_table(self, name: str, description: dict) -> dict:
        await self._catalog.call("replace_table", name, description)
        self._kick_index_changes(description)  # an UpdateTable created or deleted a GSI (indexing.py)
        return await self.describe_table(name)

    async def delete_table(self, name: str) -> dict:
        description = await self._catalog.call("delete_table", name)
        ref = table_ref(description)
        self._maps[ref.table_id] = map_of(description, len(self._hosts))
        self._refs.pop(name, None)
        self._dropped(ref)
        try:
            dropped = await self._on_every_host(ref, "drop")
            stats = TableStats(sum(s.item_count for s in dropped), sum(s.size_bytes for s in dropped))
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

    async def ttl_settings(self) -> dict[str, dict]:
        return await self._catalog.call("ttl_settings")

    # --- items -----------------------------------------------------------------------------

    async def key_schema(self, table: str):
        return (await self._ref(table)).schema

    async def write(self, table: str, command: Any) -> WriteOutcome:
        try:
            return await self._on_host(table, "write", command)
        finally:  # even a failed call may have made it durable: the follower rechecks
            self._written(table)

    async def transact_write(self, actions: list[tuple[str, Any]], client_token: str | None = None,
                             request_hash: str | None = None) -> Any:
        try:
            return await super().transact_write(actions, client_token, request_hash)
        finally:
            for table, _ in actions:
                self._written(table)

    async def get(self, table: str, key: Item, projection=None, consistent: bool = False) -> Item | None:
        return await self._read(table, "get", consistent, key, projection)

    async def query(self, table: str, spec: QuerySpec, consistent: bool = False) -> Page:
        return await self._read(table, "query", consistent, spec)

    async def scan(self, table: str, spec: ScanSpec, consistent: bool = False) -> Page:
        return await self._read(table, "scan", consistent, spec)

    async def cut(self, table: str) -> list[int]:
        """The applied offset of each shard of ``table``, taken in one step on its host (a
        backup's cut)."""
        return await self._on_host(table, "cut")
