"""The open shards of one table in one process: a :class:`ShardGroup` (``PartitionHost`` and
``LocalEngine`` hold one per open table).

A table's topic has one log partition per shard (``core/shards.py`` says which shard holds a key).
A shard is one :class:`~dynamoray.core.partition.PartitionState` and one
:class:`~.pipeline.WritePipeline` with its own fenced writer on its log partition, its own offsets,
snapshots (``SnapshotStore`` keys them by shard) and rebuild.  In step 1 the partition actor of a
table owns the whole range [0, S): the group holds every shard, so a write, a GetItem or a Query
goes to one shard's pipeline or state, and a Scan walks the states in shard order.  (Step 2 will
let a group hold a sub-range, so one table's shards can spread over several hosts; routing and
the coordinator's participants are already per shard.)

- :func:`open_shards` (blocking: a worker thread) fences every earlier writer of each shard, then
  rebuilds each from its newest snapshot plus its log; :meth:`ShardGroup.build` puts pipelines on
  the results.
- Transactions: a transaction's commands on this table are grouped by shard and prepared on each
  shard's pipeline; finishing it finishes every shard (a no-op where it holds nothing).
- :meth:`ShardGroup.cut`: the applied offset of every shard, read in one step of the event loop.
  Every acknowledged write is in it, and a transaction whose changes some shard has applied has
  its TransactionPrepared in every shard it touches (prepares are folded before the decision), so
  ``backups.tables_at`` can complete it everywhere: a consistent cut of the table.
- :meth:`ShardGroup.close` closes the writers, snapshotting first on hibernation; the log handle
  is released once the last shard is done with it.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any, Callable

from ..core import errors, index_reads, keys, partition, shards as core_shards
from ..core.commands import Item, Page, QuerySpec, ScanSpec, WriteOutcome
from ..events.log import EventLog
from . import records
from .pipeline import AppendBatch, WritePipeline
from .snapshots import PartitionSnapshots, Rebuilt, SnapshotPolicy, SnapshotStore, rebuild


@dataclass
class OpenedShard:
    """What opening one shard gives: its fenced writer, and its rebuilt state (None: start empty)."""

    writer: Any
    rebuilt: Rebuilt | None


def open_shards(log: EventLog, topic: str, table_id: str, schema: keys.KeySchema,
                store: SnapshotStore | None = None, *, replay: bool = True,
                count: int | None = None, span: tuple[int, int] | None = None) -> list[OpenedShard]:
    """Open every shard of a table's topic (``count``, or the topic's partition count), or only
    shards ``span[0] .. span[1] - 1`` (a host owning a range): fence earlier writers first, then
    rebuild each shard (without ``replay``, a new table: start empty).

    Blocking: call it on a worker thread.  On failure the writers it opened are closed again."""
    count = log.partition_count(topic) if count is None else count
    numbers = range(count) if span is None else range(span[0], span[1])
    writers: list[Any] = []
    try:
        for shard in numbers:
            writers.append(log.open_writer(topic, shard))
        if not replay:
            return [OpenedShard(writer, None) for writer in writers]
        return [OpenedShard(writer, rebuild(log, topic, table_id, schema, store, shard=shard))
                for shard, writer in zip(numbers, writers)]
    except BaseException:
        for writer in writers:
            writer.close()
        raise


class Shard:
    __slots__ = ("index", "pipeline", "writer", "snapshots")

    def __init__(self, index: int, pipeline: WritePipeline, writer: Any, snapshots: PartitionSnapshots | None) -> None:
        self.index = index
        self.pipeline = pipeline
        self.writer = writer
        self.snapshots = snapshots  # its snapshot policy (None: no snapshot store)


class ShardGroup:
    """The open shards of one table: every one, or a range of them (see the module docstring).

    ``offset`` is the first shard held and ``total`` the table's shard count; ``shards[i]`` is
    shard ``offset + i``.  A call for a shard outside the range raises ``errors.partition_moved``
    (the engine re-reads the partition map and retries)."""

    def __init__(self, table_id: str, topic: str, schema: keys.KeySchema, shards: list[Shard],
                 offset: int = 0, total: int | None = None) -> None:
        self.table_id = table_id
        self.topic = topic
        self.schema = schema
        self.shards = shards
        self.count = len(shards)
        self.offset = offset
        self.total = len(shards) if total is None else total
        self._watches: dict[str, set[int]] = {}  # TransactGetItems watch id -> shards watching

    @classmethod
    def build(cls, table_id: str, topic: str, schema: keys.KeySchema, log: EventLog, opened: list[OpenedShard],
              appender: Callable[[Any], AppendBatch], store: SnapshotStore | None = None,
              policy: SnapshotPolicy | None = None, offset: int = 0, total: int | None = None) -> ShardGroup:
        """Pipelines on opened shards (shards ``offset ..`` of ``total``); ``appender(writer)`` is
        how a pipeline appends a batch."""
        shards = []
        for index, found in enumerate(opened, start=offset):
            rebuilt = found.rebuilt
            state = rebuilt.state if rebuilt is not None else partition.PartitionState(schema)
            append, append_now, snaps, folded = appender(found.writer), found.writer.append_now, None, None
            if store is not None:
                snaps = PartitionSnapshots(store, policy or SnapshotPolicy(), table_id, topic, log, shard=index,
                                           events=rebuilt.replayed if rebuilt else 0,
                                           size=rebuilt.replayed_bytes if rebuilt else 0)
                snaps.attach(state, found.writer)
                append, append_now, folded = snaps.counting(append), snaps.counting_now(append_now), snaps.maybe_take
            pipeline = WritePipeline(state, append, records.change_encoder(table_id, index),
                                     txn=records.TransactionEncoder(table_id, index), append_now=append_now,
                                     folded_now=folded)
            shards.append(Shard(index, pipeline, found.writer, snaps))
        return cls(table_id, topic, schema, shards, offset, total)

    # --- routing ---------------------------------------------------------------------------------

    @property
    def states(self) -> list[partition.PartitionState]:
        return [shard.pipeline.state for shard in self.shards]

    def shard_of(self, key: Item) -> int:
        return core_shards.shard_of(self.schema, key, self.total)

    @property
    def span(self) -> tuple[int, int]:
        return self.offset, self.offset + self.count

    def local(self, shard: int) -> Shard:
        """Shard number ``shard`` of the table, if this group holds it (else "moved")."""
        if not self.offset <= shard < self.offset + self.count:
            raise errors.partition_moved(0)
        return self.shards[shard - self.offset]

    def pipeline_for(self, key: Item) -> WritePipeline:
        return self.local(self.shard_of(key)).pipeline

    versioned = False  # global tables: local changes get a version (core/replication.py)

    def set_versioned(self, versioned: bool) -> None:
        """Global tables: whether local changes get a version (``core/replication.py``)."""
        self.versioned = versioned
        for shard in self.shards:
            shard.pipeline.versioned = versioned

    # --- items -----------------------------------------------------------------------------------

    async def write(self, command: Any) -> WriteOutcome:
        """Raises ``BrokenPartition`` when its shard's append failed (the caller rebuilds the group)."""
        index = core_shards.command_shard(self.schema, command, self.total) if self.total > 1 else 0
        return await self.local(index).pipeline.write(command)

    def write_now(self, command: Any) -> WriteOutcome | None:
        """:meth:`write` done before this returns, or None having done nothing (``WritePipeline.write_now``)."""
        index = core_shards.command_shard(self.schema, command, self.total) if self.total > 1 else 0
        return self.local(index).pipeline.write_now(command)

    def get(self, key: Item, projection: Any = None) -> Item | None:
        if self.count == self.total:
            return core_shards.get_item(self.states, key, projection)
        return partition.get_item(self.local(self.shard_of(key)).pipeline.state, key, projection)

    def query(self, spec: QuerySpec) -> Page:
        """A Query on the table or an LSI reads its partition key's shard; a GSI query, every
        shard held here (a table spread over hosts merges them in the engine: ``index_pages``)."""
        if self.count == self.total:
            return core_shards.query(self.states, spec)
        shard = core_shards.value_shard(spec.hash_value, self.total)
        if spec.index is not None and index_reads.index_of(self.states, spec.index).is_global:
            return core_shards.query(self.states, spec)
        return core_shards.query([self.local(shard).pipeline.state], spec)

    def index_pages(self, spec: QuerySpec | ScanSpec) -> list:
        """Each shard's unmerged entries for a read of ``spec.index`` (``core/index_reads.py``)."""
        if isinstance(spec, QuerySpec) and not index_reads.index_of(self.states, spec.index).is_global:
            states = [self.local(core_shards.value_shard(spec.hash_value, self.total)).pipeline.state]
        else:
            states = self.states
        return index_reads.shard_pages(states, spec)

    def scan(self, spec: ScanSpec, budget: int = partition.MAX_PAGE_BYTES) -> Page:
        if self.count == self.total:
            return core_shards.scan(self.states, spec, budget=budget)
        if spec.exclusive_start is not None and spec.index is None and spec.expiry is None:
            self.local(self.shard_of(spec.exclusive_start))
        return core_shards.scan(self.states, spec, offset=self.offset, total=self.total, budget=budget)

    def stats(self) -> tuple[int, int]:
        """(item count, size in bytes) over every shard."""
        states = self.states
        return core_shards.item_count(states), core_shards.size_bytes(states)

    def cut(self) -> list[int]:
        """The applied offset of each shard, now (one step of the loop: a consistent cut)."""
        return [shard.pipeline.state.applied_offset for shard in self.shards]

    def maybe_snapshot(self) -> None:
        """Snapshot the shards a long replay left due (call it on the loop, once opened)."""
        for shard in self.shards:
            if shard.snapshots is not None:
                shard.snapshots.maybe_take()

    # --- transactions ----------------------------------------------------------------------------

    def has_prepared(self) -> bool:
        """Whether a transaction holds locks in some shard (the group then stays open)."""
        return any(shard.pipeline.state.prepared for shard in self.shards)

    def prepared_at(self) -> dict[str, float]:
        """Transactions holding locks here, each with when it first locked (for the resolver)."""
        out: dict[str, float] = {}
        for shard in self.shards:
            for txn, since in shard.pipeline.prepared_at.items():
                out[txn] = min(since, out.get(txn, since))
        return out

    async def prepare(self, transaction_id: str, commands: list[Any]) -> tuple:
        """Phase 1 of a transaction's commands on this table: on each shard they fall in; one result
        per command, in order."""
        by_shard: dict[int, list[int]] = {}
        for i, command in enumerate(commands):
            by_shard.setdefault(core_shards.command_shard(self.schema, command, self.total), []).append(i)
        for index in by_shard:
            self.local(index)  # every command's shard is here before any is prepared
        if len(by_shard) == 1:
            (index,) = by_shard
            return await self.local(index).pipeline.prepare(transaction_id, commands)
        parts = await asyncio.gather(*(
            self.local(index).pipeline.prepare(transaction_id, [commands[i] for i in positions])
            for index, positions in by_shard.items()))
        results: list[Any] = [None] * len(commands)
        for positions, part in zip(by_shard.values(), parts):
            for i, result in zip(positions, part):
                results[i] = result
        return tuple(results)

    async def finish(self, transaction_id: str, decision: str) -> None:
        """Phase 2 on every shard (a no-op on a shard the transaction holds nothing in)."""
        if self.count == 1:
            await self.shards[0].pipeline.finish(transaction_id, decision)
            return
        await asyncio.gather(*(shard.pipeline.finish(transaction_id, decision) for shard in self.shards))

    def read_unlocked(self, key: Item) -> tuple[bool, Item | None]:
        return self.pipeline_for(key).read_unlocked(key)

    def watch(self, watch_id: str, keys_: list[Item]) -> None:
        by_shard: dict[int, list[Item]] = {}
        for key in keys_:
            by_shard.setdefault(self.shard_of(key), []).append(key)
        for index in by_shard:
            self.local(index)
        for index, shard_keys in by_shard.items():
            self.local(index).pipeline.watch(watch_id, shard_keys)
        self._watches.setdefault(watch_id, set()).update(by_shard)

    def unwatch(self, watch_id: str) -> bool:
        """True if none of the items watched under ``watch_id`` changed (False for a watch this
        group does not know, e.g. after a rebuild)."""
        watching = self._watches.pop(watch_id, None)
        if watching is None:
            return False
        clean = [self.local(index).pipeline.unwatch(watch_id) for index in watching]
        return all(clean)

    # --- closing ---------------------------------------------------------------------------------

    async def settled(self) -> None:
        """Wait for the snapshots being written (before deleting the table's snapshot files)."""
        tasks = [shard.snapshots.task for shard in self.shards
                 if shard.snapshots is not None and shard.snapshots.task is not None]
        if tasks:
            await asyncio.wait(tasks)

    def close(self, release_log: Callable[[], None], snapshot: bool = False) -> None:
        """Close every shard's writer (with ``snapshot``: after snapshotting the shards that are
        due, on worker threads); ``release_log`` runs once the last one is closed."""
        left = [self.count]
        lock = threading.Lock()

        def closed(writer: Any) -> None:
            writer.close()
            with lock:
                left[0] -= 1
                last = left[0] == 0
            if last:
                release_log()

        for shard in self.shards:
            if snapshot and shard.snapshots is not None:
                shard.snapshots.close(lambda w=shard.writer: closed(w))
            else:
                if shard.snapshots is not None:
                    shard.snapshots.discard()
                closed(shard.writer)
