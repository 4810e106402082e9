"""A partition host: one long-lived process that hosts many table partitions as virtual actors.

Each Ray actor is a whole process (~41 MiB, ~0.4 s to start), so dynamoray never creates one actor
per table.  A small fixed pool of hosts (2 by default on a 2-core machine) serves every table: a
table is placed on host ``stable_hash(table_id) % hosts`` (see ``client.host_index``), and a host
keeps at most ``max_open`` partitions in memory.  A table's partition is the group of its shards
(``shards.py``): one log partition, state and write pipeline per shard, all of them here.

- **Open on demand.**  The first call for a table opens its partition: the host becomes the
  writer of each shard's log partition (``open_writer`` fences every earlier writer, e.g. the
  host's previous incarnation), *then* replays each into a
  :class:`~dynamoray.core.partition.PartitionState`, so no record a fenced writer managed to commit
  is missed.  Concurrent calls share one opening.
- **Hibernate.**  Open partitions form an LRU; past ``max_open`` the least recently used idle ones
  (no write in flight) are dropped: their writer and log handle are closed, only their item count
  and size are kept (for DescribeTable).  The next call brings them back from the log.
- **Writes** go through the item's shard's :class:`~.pipeline.WritePipeline` (decide against
  state plus in-flight writes, group commit, fold in log order, acknowledge once durable).  A
  failed append fail-stops the partition: it is discarded and rebuilt from the log on the next call.
- **Reads** (GetItem, Query, Scan) are served from the applied state, which holds every
  acknowledged write: a strongly consistent read after an acknowledged write always sees it.

Retry contract: a host method may run at most once per call (the actor is started with
``max_task_retries=0``); if the host dies mid-call the caller gets an error and the write is either
durable in the log (and replayed on reopen) or absent, never applied twice.

This is a plain class with no Ray import: ``options.py`` makes it an actor, and unit tests drive it
directly.  The log comes in as a :class:`TopicLogs`, which says how each partition gets its handle
(``host_logs.py``).
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from .. import logs
from ..core import errors, indexes, keys
from ..core.commands import Item, Page, QuerySpec, ScanSpec, WriteOutcome
from ..events.encryption import KeyInaccessible
from ..events.log import EventLog, UnknownTopicError, append_async
from . import channel, indexing, records
from .follower import FollowerSet
from .index_calls import HostIndexes
from .host_logs import EmbeddedLogAt, LogPerTopic, SharedLog, TopicLogs  # noqa: F401 - re-exported
from .host_replicas import ReplicaCalls, failed
from .host_transactions import TransactionCalls
from .moves import HostMoves
from .pipeline import BrokenPartition
from .shards import ShardGroup, open_shards
from .snapshots import SnapshotPolicy, SnapshotStore

DEFAULT_MAX_OPEN = 256
BATCHABLE = frozenset({"write", "get", "query", "scan", "stats", "prepare", "finish", "snapshot", "snapshot_check",
                       "replica_get", "replica_query", "replica_scan", "cut", "index_pages"})

log = logs.get("host")


@dataclass(frozen=True, slots=True)
class TableRef:
    """What a host needs to find and open a table's partition; the gateway caches one per table.

    ``shards`` is the table's shard count as its description says (the gateway routes transaction
    participants with it); a host opening the table trusts its topic's partition count."""

    table_id: str
    name: str
    schema: keys.KeySchema
    shards: int = 1
    indexes: indexes.IndexSet = indexes.NO_INDEXES  # its secondary indexes (actors/indexing.py)
    versioned: bool = False  # global tables: it has replicas, local changes get versions
    span: tuple[int, int] | None = None  # the shards the called host owns (None: all; core/partition_map.py)
    map_version: int = 0  # the partition map version the caller routed by

    @property
    def topic(self) -> str:
        return records.table_topic(self.table_id)


channel.intern_type(TableRef)  # every item call carries one: pickled once per ref (channel.py)

@dataclass(frozen=True, slots=True)
class TableStats:
    item_count: int
    size_bytes: int
    indexes: tuple = ()  # (index name, item count, size) per index and shard (indexing.index_stats)


# --- the host --------------------------------------------------------------------------------------


class _Open:
    __slots__ = ("group", "log", "inflight", "fresh")

    def __init__(self, group: ShardGroup, log: EventLog) -> None:
        self.group = group  # every shard of the table
        self.log = log
        self.inflight = 0  # writes in its pipelines: never hibernated while > 0
        self.fresh = True  # opened, not yet handed to the call that asked: not hibernated either

    def stats(self) -> TableStats:
        return TableStats(*self.group.stats(), indexing.index_stats(self.group.states))


def _replay(log: EventLog, ref: TableRef, release: Callable[[], None],
            store: SnapshotStore | None = None) -> list:
    """Fence earlier writers of every shard, then load each shard's newest snapshot and fold its
    log partition after it (the whole partition without one): the table as the log says it is.

    Runs on a worker thread; on failure it releases the log itself, so the handle is never closed
    under the thread's feet (an asyncio cancellation of the caller does not stop the thread)."""
    try:
        return open_shards(log, ref.topic, ref.table_id, ref.schema, store, span=ref.span)
    except BaseException:
        release()
        raise


class PartitionHost(TransactionCalls, ReplicaCalls, HostIndexes, HostMoves):
    def __init__(self, logs: TopicLogs, *, max_open: int = DEFAULT_MAX_OPEN, coordinator: Any = None,
                 snapshots: SnapshotStore | None = None, snapshot_policy: SnapshotPolicy | None = None,
                 catalog: Any = None) -> None:
        if max_open < 1:
            raise ValueError("max_open must be at least 1")
        self._coordinator = coordinator  # the transaction coordinator, asked about orphaned locks
        self._catalog = catalog  # asked for a table's partition map before opening it (moves.py)
        self._logs = logs
        self._max_open = max_open
        self._open: OrderedDict[str, _Open] = OrderedDict()  # table id -> its shards, LRU first
        self._opening: dict[str, asyncio.Task] = {}
        self._dropping: set[str] = set()
        self._hibernated: dict[str, TableStats] = {}  # last known stats of closed partitions
        self._hibernated_spans: dict[str, tuple[int, int] | None] = {}  # the range those stats cover
        self._channel: channel.ChannelServer | None = None  # item calls on a socket (channel.py)
        self._replicas: FollowerSet | None = None  # followers of partitions other hosts lead
        self.opened = 0  # partitions opened (replayed) since start
        self.hibernations = 0  # partitions closed by the LRU bound since start
        self._snapshots = snapshots  # where partition snapshots are kept (None: replay whole logs)
        self._snapshot_policy = snapshot_policy or SnapshotPolicy()
        self.replayed = 0  # log records folded by openings since start (snapshots bound it)
        self._map_versions: dict[str, int] = {}  # table id -> newest partition map version seen
        self._releasing: dict[str, float] = {}  # table id -> lease: its range is being handed over (moves.py)

    # --- partitions: open on demand, hibernate the least recently used ----------------------

    async def _partition(self, ref: TableRef, finishing: bool = False) -> _Open:
        """The open partition of ``ref``; the caller uses it before its next ``await``.  A
        transaction's phase 2 (``finishing``) is let through while the range is being released: it
        only lets locks go, which the release waits for (``moves.py``)."""
        while True:  # an opened partition may be hibernated again before this waiter resumes
            found = self._opened(ref, finishing)
            if found is not None:
                return found
            if ref.table_id in self._dropping:
                raise errors.resource_not_found()
            task = self._opening.get(ref.table_id)
            if task is None:
                task = asyncio.get_running_loop().create_task(self._load(ref))
                self._opening[ref.table_id] = task
                task.add_done_callback(lambda _t, key=ref.table_id: self._opening.pop(key, None))
            await asyncio.shield(task)

    def _opened(self, ref: TableRef, finishing: bool = False) -> _Open | None:
        """``_partition`` without waiting: the open partition of ``ref``, or None if it is not open."""
        self._ensure_resolver()
        self._check_route(ref, finishing and ref.table_id in self._open)
        found = self._open.get(ref.table_id)
        if found is not None and ref.span is not None and found.group.span != ref.span:
            found = self._respan(ref, found)
        if found is None:
            return None
        self._open.move_to_end(ref.table_id)
        found.fresh = False
        self._indexes_current(ref, found)  # a GSI created or deleted since it opened
        if ref.versioned and not found.group.versioned:  # replicas added (a stale ref never turns it off)
            found.group.set_versioned(True)
        self._hibernate_beyond_bound(keep=ref.table_id)
        return found

    def _check_route(self, ref: TableRef, releasing_ok: bool = False) -> None:
        """Refuse a caller routing by an older partition map, or one reaching a range being handed
        over: it re-reads the map and retries (``errors.partition_moved``)."""
        known = self._map_versions.get(ref.table_id, 0)
        if ref.map_version < known or (self._releasing and not releasing_ok and self._is_releasing(ref.table_id)):
            raise errors.partition_moved(known)
        if ref.map_version > known:
            self._map_versions[ref.table_id] = ref.map_version

    def _respan(self, ref: TableRef, found: _Open) -> _Open | None:
        """The open group holds another range than a caller with a newer map says: close it (it
        is reopened over the new range), once nothing is in flight on it."""
        if found.inflight or found.group.has_prepared():
            raise errors.partition_moved(self._map_versions.get(ref.table_id, 0))
        self._close(ref.table_id, snapshot=True)
        return None

    async def _load(self, ref: TableRef) -> _Open:
        await self._check_map(ref)
        log = self._logs.acquire(ref.topic)
        release = lambda: self._logs.release(ref.topic, log)  # noqa: E731
        try:
            opened = await asyncio.to_thread(_replay, log, ref, release, self._snapshots)
        except UnknownTopicError:
            raise errors.resource_not_found() from None
        except KeyInaccessible as error:  # its KMS key is unusable: a 400 until it is (locked_tables.py)
            raise errors.kms_inaccessible(ref.name, error.master_key, error.code) from None
        replayed = sum(shard.rebuilt.replayed for shard in opened)
        self.replayed += replayed
        offset, total = (0, None) if ref.span is None else (ref.span[0], ref.shards)
        group = ShardGroup.build(ref.table_id, ref.topic, ref.schema, log, opened,
                                 lambda writer: functools.partial(append_async, writer),  # no thread parked
                                 self._snapshots, self._snapshot_policy, offset=offset, total=total)
        await asyncio.to_thread(indexing.adopt_complete, group.states, ref.indexes)  # from the items
        group.set_versioned(ref.versioned)  # global tables: versioned local changes
        logs.get("host").info("partition_opened", table_id=ref.table_id, shards=group.count,
                              items=group.stats()[0], replayed=replayed,
                              snapshot_offsets=[shard.rebuilt.snapshot_offset for shard in opened])
        entry = _Open(group, log)
        group.maybe_snapshot()  # a long tail was replayed: snapshot it now, not at the next write
        self._open[ref.table_id] = entry
        self._hibernated.pop(ref.table_id, None)
        self._hibernated_spans.pop(ref.table_id, None)
        self.opened += 1
        self._hibernate_beyond_bound(keep=ref.table_id)
        return entry

    def _hibernate_beyond_bound(self, keep: str | None = None) -> None:
        excess = len(self._open) - self._max_open
        if excess <= 0:
            return
        idle = [key for key, entry in self._open.items()
                if entry.inflight == 0 and not entry.fresh and key != keep
                and not entry.group.has_prepared()]  # locks stay open for the resolver
        for key in idle[:excess]:
            closed = self._close(key, snapshot=True)
            self._hibernated[key] = closed.stats()
            group = closed.group
            self._hibernated_spans[key] = None if group.count == group.total else group.span
            self.hibernations += 1

    def _close(self, table_id: str, snapshot: bool = False) -> _Open:
        """Close a partition; with ``snapshot`` (hibernation) its shards may be snapshot first, and
        its writers and log handle are then released once that is written."""
        entry = self._open.pop(table_id)
        entry.group.close(lambda: self._logs.release(records.table_topic(table_id), entry.log), snapshot)
        return entry

    # --- the calls ----------------------------------------------------------------------------

    async def write(self, ref: TableRef, command: Any) -> WriteOutcome:
        entry = await self._partition(ref)
        entry.inflight += 1
        try:
            return await entry.group.write(command)
        except BrokenPartition:
            raise self._broken(ref, entry) from None
        finally:
            entry.inflight -= 1
            self._hibernate_beyond_bound()

    def write_now(self, ref: TableRef, command: Any) -> WriteOutcome | None:
        """:meth:`write` finished on this turn of the loop, or None having done nothing (the table is
        not open, writes are in flight, or the log cannot commit now): the caller awaits :meth:`write`."""
        entry = self._opened(ref)
        if entry is None:
            return None
        try:
            return entry.group.write_now(command)
        except BrokenPartition:
            raise self._broken(ref, entry) from None

    def _broken(self, ref: TableRef, entry: _Open) -> errors.DynamoError:
        """Fail-stop after a failed append: the partition is closed (rebuilt from the log on next
        use); the error the write answers."""
        if self._open.get(ref.table_id) is entry:
            self._close(ref.table_id)
        return errors.internal_server_error("The write could not be made durable")

    async def get(self, ref: TableRef, key: Item, projection: Any = None) -> Item | None:
        entry = await self._partition(ref)
        return entry.group.get(key, projection)

    async def query(self, ref: TableRef, spec: QuerySpec) -> Page:
        entry = await self._partition(ref)
        return entry.group.query(spec)

    async def scan(self, ref: TableRef, spec: ScanSpec, budget: int | None = None) -> Page:
        """A Scan page of the shards held here; ``budget``: the bytes of the page's 1 MB left after
        the ranges other hosts scanned before this one (a table spread over hosts)."""
        entry = await self._partition(ref)
        return entry.group.scan(spec) if budget is None else entry.group.scan(spec, budget)

    async def cut(self, ref: TableRef) -> list[int]:
        """The applied offset of each of the table's shards, taken in one step (a backup's cut)."""
        return (await self._partition(ref)).group.cut()

    async def stats(self, ref: TableRef) -> TableStats:
        """Item count and size: live if open, as of hibernation if closed, else by opening it."""
        if (ref.table_id not in self._open and ref.table_id in self._hibernated
                and self._hibernated_spans.get(ref.table_id) == ref.span):
            return self._hibernated[ref.table_id]
        return (await self._partition(ref)).stats()

    async def drop(self, ref: TableRef) -> TableStats:
        """Forget a deleted table and delete its topic; returns its last known stats."""
        self._dropping.add(ref.table_id)
        try:
            opening = self._opening.get(ref.table_id)
            if opening is not None:
                await asyncio.wait([opening])
            if ref.table_id in self._open:
                closed = self._close(ref.table_id)
                stats = closed.stats()
                await closed.group.settled()  # no snapshot file written after the drop below
            else:
                stats = self._hibernated.get(ref.table_id, TableStats(0, 0))
            self._hibernated.pop(ref.table_id, None)
            self._hibernated_spans.pop(ref.table_id, None)
            await asyncio.to_thread(self._delete_topic, ref.topic)
            if self._snapshots is not None:
                await asyncio.to_thread(self._snapshots.drop, ref.table_id)
            return stats
        finally:
            self._dropping.discard(ref.table_id)

    def _delete_topic(self, topic: str) -> None:
        log = self._logs.acquire(topic)
        try:
            log.delete_topic(topic)
        except UnknownTopicError:
            pass
        finally:
            self._logs.release(topic, log)

    async def batch(self, calls: list[tuple[str, tuple]]) -> list[tuple[bool, Any]]:
        """Run several calls concurrently (one actor call for many requests: ``client.Batching``).

        Each result is ``(True, value)`` or ``(False, DynamoError)``: one failing call does not
        fail the others."""
        return list(await asyncio.gather(*(self._one(method, args) for method, args in calls)))

    async def _one(self, method: str, args: tuple) -> tuple[bool, Any]:
        if method not in BATCHABLE:
            return False, errors.internal_server_error(f"not a batchable call: {method}")
        try:
            return True, await getattr(self, method)(*args)
        except Exception as error:  # noqa: BLE001 - one failing call must not fail the batch
            return failed(method, error)

    # --- operations ----------------------------------------------------------------------------

    def pid(self) -> int:
        return os.getpid()

    def info(self) -> dict:
        return {
            "pid": os.getpid(), "open": len(self._open), "max_open": self._max_open,
            "opened": self.opened, "hibernations": self.hibernations, "replayed": self.replayed,
        }

    def close(self) -> None:
        """Close every partition (a clean shutdown; nothing is lost without it)."""
        if self._channel is not None:
            self._channel.close()
        if self._replicas is not None:
            self._replicas.close()
        for table_id in list(self._open):
            self._close(table_id)
        self._logs.close()
