"""Followers: read-only replicas of table partitions, fed from the log.

A table partition has one leader, the ``PartitionHost`` that owns it: the only writer (it holds the
topic's fenced writer) and the replica that serves ``ConsistentRead=true``.  A **follower** holds a
:class:`~dynamoray.core.partition.PartitionState` built the same way the leader's is (replay the
topic, fold each change), but it never opens a writer, so it can never fence the leader or append.
It serves eventually consistent reads, which DynamoDB allows to lag.

Followers live in two places (see ``docs/architecture.md``, "Replicas and consistency"):

- in the **gateway process** (``RayEngine``): a read costs no Ray call and no socket hop at all;
- in **partition hosts**, for replica counts above 2 (``PartitionHost.replica_get`` ...).

How a follower stays current.  It is lazy: it catches up from the log *before a read*, when its
state is older than ``max_staleness`` seconds or when this process acknowledged a write to the
table since its last catch-up (:meth:`FollowerSet.written`: a client reads its own writes through
the same gateway).  On the embedded (and memory) log a catch-up that finds nothing new is one
SQLite read (~10 µs), done inline on the event loop; a longer backlog is read on a worker thread and
folded in chunks, between which the loop runs other work.  On Kafka every read runs on a worker
thread.  State is only ever
changed on the event loop, so a read never sees a half-applied change.

A follower opens the way the leader does (``snapshots.rebuild``: the newest snapshot, if the
follower was given the store, then the log after it) and folds records with the leader's
``records.fold``.  It follows every shard of its table: one state, one log position and one
freshness per shard (log partition), read and routed like the leader's (``core/shards.py``).  A
GetItem or a Query catches up only the shard it reads, a Scan every shard; the lag is summed over
the shards.  If reading the log fails it raises :class:`FollowerUnavailable`, and the engine
sends the read to the leader instead.

Hibernation.  At most ``max_open`` followers are kept, least recently used first out; a closed
follower releases its log handle, and the next read rebuilds it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from .. import logs
from ..core import errors, partition, shards
from ..core.commands import Item, Page, QuerySpec, ScanSpec
from ..events.embedded import EmbeddedLog
from ..events.log import EventLog, LogError, TruncatedError, UnknownTopicError
from ..events.memory import MemoryLog
from . import indexing, records
from .snapshots import rebuild

log = logs.get("follower")

DEFAULT_MAX_OPEN = 256
DEFAULT_MAX_STALENESS = 0.005  # seconds a follower's state may age before a read catches it up
KAFKA_MAX_STALENESS = 0.1  # the same on Kafka, where a catch-up is a broker round trip
INLINE_BATCH = 256  # records read inline on the loop per chunk (embedded log)
THREAD_BATCH = 2000  # records read per worker-thread call (other logs, and replays)


class FollowerUnavailable(Exception):
    """This follower cannot serve the read (log unreadable, or truncated): ask the leader."""


class FollowerTruncated(FollowerUnavailable):
    """Log retention (``retention.py``) truncated the records this follower still needed: it is
    dropped, and the next read reopens it from a snapshot."""


@dataclass(frozen=True, slots=True)
class ReplicaLag:
    """How far one follower is behind its topic's end, for the metrics."""

    table: str
    replica: str
    records: int
    seconds: float


def replay(log_: EventLog, ref: Any, store: Any = None) -> list[partition.PartitionState]:
    """Each shard's newest snapshot (if ``store`` has one) plus its log partition after it, folded
    the way the leader does (``snapshots.rebuild``), without opening a writer: one state per shard
    (each knows its next offset to read: ``applied_offset + 1``)."""
    states = [rebuild(log_, ref.topic, ref.table_id, ref.schema, store, shard=shard).state
              for shard in range(log_.partition_count(ref.topic))]
    indexing.adopt_complete(states, indexing.wanted(ref))  # secondary indexes, built from the items
    return states


class Follower:
    """One table's follower: per shard, its state, where it is in its log partition, and when it
    last caught up."""

    def __init__(self, log_: EventLog, ref: Any, states: list[partition.PartitionState], synced_at: float) -> None:
        self.log = log_
        self.ref = ref
        self.states = states
        self.every = tuple(range(len(states)))  # the shards a read of all of them needs
        self.next_offsets = [state.applied_offset + 1 for state in states]
        # per shard: the monotonic time its last catch-up started (it saw all before), and the
        # ``wanted`` value (acknowledged writes of this process, see FollowerSet) it started at
        self.synced_at = [synced_at] * len(states)
        self.synced = [0] * len(states)
        self.syncing: asyncio.Future | None = None
        # local reads: run them on the loop (also through encryption at rest: ``inner`` is the backend)
        self.inline = isinstance(getattr(log_, "inner", log_), (EmbeddedLog, MemoryLog))

    def is_fresh(self, now: float, max_staleness: float, wanted: int, shards_: tuple[int, ...]) -> bool:
        synced, synced_at = self.synced, self.synced_at
        return all(synced[s] >= wanted and now - synced_at[s] < max_staleness for s in shards_)

    def mark_synced(self, shards_: tuple[int, ...], wanted: int, started: float) -> None:
        for shard in shards_:
            self.synced[shard], self.synced_at[shard] = wanted, started

    def read_batch(self, limit: int, shards_: tuple[int, ...]) -> list[tuple[int, list]]:
        """The next records of each of ``shards_``, at most ``limit`` each (any thread: touches no
        state)."""
        try:
            return [(shard, self.log.read(self.ref.topic, shard, self.next_offsets[shard], limit))
                    for shard in shards_]
        except UnknownTopicError:
            raise errors.resource_not_found() from None
        except TruncatedError as error:  # retention passed this follower's position
            raise FollowerTruncated(repr(error)) from None
        except LogError as error:  # truncated under us, or the log is unavailable
            raise FollowerUnavailable(repr(error)) from None

    def apply(self, batches: list[tuple[int, list]]) -> None:
        """Fold records read by :meth:`read_batch` (on the event loop only)."""
        for shard, batch in batches:
            state = self.states[shard]
            for record in batch:
                records.fold(state, record.value, record.offset)
            if batch:
                self.next_offsets[shard] = batch[-1].offset + 1

    def lag(self, now_ms: int) -> tuple[int, float]:
        """(records, seconds) behind the end of the topic: the count of records not folded yet (over
        every shard) and the age of the oldest of them (0 when caught up).  Does I/O: call it off
        the loop."""
        topic, behind, seconds = self.ref.topic, 0, 0.0
        for shard, offset in enumerate(self.next_offsets):
            shard_behind = max(0, self.log.end_offset(topic, shard) - offset)
            if not shard_behind:
                continue
            behind += shard_behind
            oldest = self.log.read(topic, shard, offset, 1)
            if oldest:
                seconds = max(seconds, (now_ms - oldest[0].timestamp) / 1000)
        return behind, seconds


class FollowerSet:
    """The followers of one process (the gateway, or a partition host), LRU-bounded.

    ``logs`` is a :class:`~.host.TopicLogs` (a log handle per open follower on the embedded log, one
    shared client on Kafka); :meth:`close` closes it too when ``owns_logs``.
    """

    def __init__(self, logs_: Any, *, name: str = "gateway", max_open: int = DEFAULT_MAX_OPEN,
                 max_staleness: float = DEFAULT_MAX_STALENESS, snapshots: Any = None,
                 owns_logs: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        if max_open < 1:
            raise ValueError("max_open must be at least 1")
        self.name = name
        self._logs = logs_
        self._snapshots = snapshots  # a SnapshotStore to open from, or None (replay the whole log)
        self._owns_logs = owns_logs
        self._max_open = max_open
        self.max_staleness = max_staleness
        self._clock = clock
        self._open: OrderedDict[str, Follower] = OrderedDict()  # table id -> follower, LRU first
        self._opening: dict[str, asyncio.Future] = {}
        self._wanted: dict[str, int] = {}  # table id -> acknowledged writes seen (see ``written``)
        self.reads = 0  # reads served
        self.catch_ups = 0  # catch-ups that read the log

    # --- reads -------------------------------------------------------------------------------

    async def get(self, ref: Any, key: Item, projection: Any = None) -> Item | None:
        needs = lambda count: (shards.shard_of(ref.schema, key, count),)  # noqa: E731
        return shards.get_item(await self._fresh_states(ref, needs), key, projection)

    async def query(self, ref: Any, spec: QuerySpec) -> Page:
        needs = None  # a query of an index may read every shard
        if getattr(spec, "index", None) is None:
            needs = lambda count: (shards.value_shard(spec.hash_value, count),)  # noqa: E731
        return shards.query(await self._fresh_states(ref, needs), spec)

    async def scan(self, ref: Any, spec: ScanSpec) -> Page:
        return shards.scan(await self._fresh_states(ref), spec)

    def written(self, ref: Any) -> None:
        """A write to this table was acknowledged here: the next read catches up first."""
        self._wanted[ref.table_id] = self._wanted.get(ref.table_id, 0) + 1
        if len(self._wanted) > 4 * self._max_open:  # forget tables long gone (their followers are)
            self._wanted = {k: v for k, v in self._wanted.items() if k in self._open}

    # --- the state, caught up as needed ------------------------------------------------------

    async def _fresh_states(self, ref: Any, needs: Callable[[int], tuple[int, ...]] | None = None
                            ) -> list[partition.PartitionState]:
        """The follower's states, the shards the read ``needs`` (given the shard count; None:
        every shard) caught up as needed."""
        follower = self._open.get(ref.table_id)  # the common case, without another coroutine
        if follower is not None and follower.is_fresh(
                self._clock(), self.max_staleness, self._wanted.get(ref.table_id, 0),
                follower.every if needs is None else needs(len(follower.states))):
            self._open.move_to_end(ref.table_id)
            self.reads += 1
            return indexing.current(follower.states, ref)  # a GSI created or deleted since it opened
        try:
            return await self._caught_up(ref, needs)
        except FollowerTruncated:  # reopened from a snapshot by the next read
            self.drop(ref.table_id)
            raise
        except errors.DynamoError as error:  # the topic is gone: the table was deleted
            if error.error_type == "ResourceNotFoundException":
                self.drop(ref.table_id)
            raise

    async def _caught_up(self, ref: Any, needs: Callable[[int], tuple[int, ...]] | None
                         ) -> list[partition.PartitionState]:
        follower = self._open.get(ref.table_id)
        if follower is None:
            follower = await self._load(ref)
        else:
            self._open.move_to_end(ref.table_id)
        wanted = self._wanted.get(ref.table_id, 0)
        which = follower.every if needs is None else needs(len(follower.states))
        while not follower.is_fresh(self._clock(), self.max_staleness, wanted, which):
            if follower.syncing is None:
                if follower.inline and self._catch_up_inline(follower, wanted, which):
                    break
                follower.syncing = asyncio.get_running_loop().create_task(self._catch_up(follower, wanted, which))
            await asyncio.shield(follower.syncing)
        self.reads += 1
        return indexing.current(follower.states, ref)

    def _catch_up_inline(self, follower: Follower, wanted: int, which: tuple[int, ...]) -> bool:
        """Catch up ``which`` shards on the loop if the backlog fits one read each; False if more
        is left to read."""
        started = self._clock()
        batches = follower.read_batch(INLINE_BATCH, which)
        follower.apply(batches)
        self.catch_ups += 1
        if any(len(batch) == INLINE_BATCH for _, batch in batches):
            return False
        follower.mark_synced(which, wanted, started)
        return True

    async def _catch_up(self, follower: Follower, wanted: int, which: tuple[int, ...]) -> None:
        """Read ``which`` shards to their end in chunks (on a worker thread), folding each on the loop."""
        try:
            started = self._clock()
            while True:
                batches = await asyncio.to_thread(follower.read_batch, THREAD_BATCH, which)
                follower.apply(batches)
                if all(len(batch) < THREAD_BATCH for _, batch in batches):
                    break
            follower.mark_synced(which, wanted, started)
            self.catch_ups += 1
        finally:
            follower.syncing = None
            if self._open.get(follower.ref.table_id) is not follower:  # evicted meanwhile
                self._release(follower)

    # --- opening and hibernating -------------------------------------------------------------

    async def _load(self, ref: Any) -> Follower:
        future = self._opening.get(ref.table_id)
        if future is None:
            future = asyncio.get_running_loop().create_task(self._open_follower(ref))
            self._opening[ref.table_id] = future
            future.add_done_callback(lambda _f, key=ref.table_id: self._opening.pop(key, None))
        return await asyncio.shield(future)

    async def _open_follower(self, ref: Any) -> Follower:
        log_ = self._logs.acquire(ref.topic)
        started = self._clock()
        wanted = self._wanted.get(ref.table_id, 0)  # writes acknowledged before the replay starts
        try:
            states = await asyncio.to_thread(replay, log_, ref, self._snapshots)
        except BaseException as error:
            self._logs.release(ref.topic, log_)
            if isinstance(error, UnknownTopicError):
                raise errors.resource_not_found() from None
            if isinstance(error, LogError):
                raise FollowerUnavailable(repr(error)) from None
            raise
        follower = Follower(log_, ref, states, started)
        follower.mark_synced(follower.every, wanted, started)
        stale = self._open.pop(ref.table_id, None)
        if stale is not None:
            self._release(stale)
        self._open[ref.table_id] = follower
        while len(self._open) > self._max_open:
            _, evicted = self._open.popitem(last=False)
            if evicted.syncing is None:
                self._release(evicted)
        return follower

    def _release(self, follower: Follower) -> None:
        self._logs.release(follower.ref.topic, follower.log)

    def drop(self, table_id: str) -> None:
        """Forget a table (deleted, or its topic is gone)."""
        follower = self._open.pop(table_id, None)
        self._wanted.pop(table_id, None)
        if follower is not None and follower.syncing is None:
            self._release(follower)

    def lag(self) -> list[ReplicaLag]:
        """The lag of every open follower (reads the log: call it on a worker thread)."""
        now_ms = int(time.time() * 1000)
        out = []
        for follower in list(self._open.values()):
            try:
                records_behind, seconds = follower.lag(now_ms)
            except LogError:
                continue
            out.append(ReplicaLag(follower.ref.name, self.name, records_behind, seconds))
        return out

    def open_count(self) -> int:
        return len(self._open)

    def close(self) -> None:
        for follower in list(self._open.values()):
            self._release(follower)
        self._open.clear()
        if self._owns_logs:
            self._logs.close()
