"""Partition snapshots on disk, the rebuild that uses them, and the policy that takes them.

- :class:`SnapshotStore` (``snapshot_store.py``, re-exported here): one file per (table id, shard,
  offset), ``<root>/<table_id>/<shard>/<offset>.snap`` (``core.snapshot`` format), written
  atomically: a crash mid-write never leaves a torn ``.snap``.
- :func:`rebuild`: the newest usable snapshot, then the log after it (the whole log when there is
  none).  A snapshot that is corrupt, of another format or past the log's end is skipped with a
  warning, and an older one (or the full log) is used.
- :class:`PartitionSnapshots`: counts the events and bytes a partition appends; once
  ``every_events`` or ``every_bytes`` have been appended since the last snapshot, it copies the
  state between two folds (:func:`core.snapshot.capture`, a pause of well under a microsecond per
  item) and encodes and writes it on a worker thread, then appends a ``SnapshotTaken`` record to the
  table's log, so the log says which snapshots exist.  Writes go on meanwhile.

A snapshot holds the items at its offset, not the locks of transactions still prepared there: its
replay starts at the oldest such transaction's ``TransactionPrepared`` (``replay_from``), and folding
a change twice gives the same item, so the locks come back and the items stay exact.

Retention: the newest ``keep`` snapshots of each shard are kept, and those pinned (``pin``) by log
retention (``retention.py``), which truncates the log down to them.  ``object_store.py`` keeps the
same files in an S3-compatible bucket (``S3SnapshotStore``).
"""

from __future__ import annotations

import asyncio
import gc
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

from .. import logs
from ..core import keys, partition, snapshot
from ..events.log import EventLog, LogError
from ..schemas.events import SnapshotTaken
from . import records
from .snapshot_store import SUFFIX, SnapshotStore  # noqa: F401 - re-exported

log = logs.get("snapshots")

_READ_BATCH = 5000


@dataclass(frozen=True)
class SnapshotPolicy:
    every_events: int = 50_000  # appended events since the last snapshot
    every_bytes: int = 64 << 20  # appended bytes since the last snapshot
    on_close_events: int = 1_000  # a hibernating partition is snapshot past this many events
    keep: int = 2  # snapshots kept per shard

    @classmethod
    def from_env(cls, env: dict | None = None) -> SnapshotPolicy:
        """The defaults, overridden by ``DYNAMORAY_SNAPSHOT_EVERY_EVENTS`` / ``_EVERY_BYTES`` /
        ``_ON_CLOSE_EVENTS`` / ``_KEEP``."""
        env = os.environ if env is None else env
        names = {"every_events": "EVERY_EVENTS", "every_bytes": "EVERY_BYTES",
                 "on_close_events": "ON_CLOSE_EVENTS", "keep": "KEEP"}
        found = {field: int(env[f"DYNAMORAY_SNAPSHOT_{name}"]) for field, name in names.items()
                 if f"DYNAMORAY_SNAPSHOT_{name}" in env}
        return cls(**found)


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a rebuild allocates millions of long-lived objects (each
    collection would walk them all); item images hold no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- rebuild --------------------------------------------------------------------------------------


@dataclass
class Rebuilt:
    state: partition.PartitionState
    snapshot_offset: int | None  # the snapshot it started from, None for the whole log
    replayed: int  # records folded from the log
    replayed_bytes: int


def rebuild(log_: EventLog, topic: str, table_id: str, schema: keys.KeySchema,
            store: SnapshotStore | None = None, *, shard: int = 0, upto: int | None = None) -> Rebuilt:
    """The shard's state from its newest usable snapshot plus the log after it, up to offset
    ``upto`` included (the end when None)."""
    start, end = log_.start_offset(topic, shard), log_.end_offset(topic, shard)
    loaded = None
    if store is not None:
        with gc_paused():
            loaded = store.load(table_id, shard, schema, below=end, at_or_before=upto)
    if loaded is not None and loaded.header.replay_from < start:  # the log no longer has its tail
        log.warning("snapshot_skipped", table_id=table_id, shard=shard, offset=loaded.header.offset,
                    error=f"the log starts at {start}")
        loaded = None
    if loaded is None:
        state = partition.PartitionState(schema)
        partition.defer_size(state)  # summed once, on first use, rather than twice per event
        position = start
    else:
        state, position = loaded.state, loaded.header.replay_from
        if 2 * ((end if upto is None else upto + 1) - position) > state.item_count:
            partition.defer_size(state)  # sizing two images per event would cost more than the items
    replayed = replayed_bytes = 0
    with gc_paused():
        while upto is None or position <= upto:
            batch = log_.read(topic, shard, position, _READ_BATCH)
            for record in batch:
                if upto is not None and record.offset > upto:
                    break
                records.fold(state, record.value, record.offset)
                replayed += 1
                replayed_bytes += len(record.value)
            if not batch:
                break
            position = batch[-1].offset + 1
    return Rebuilt(state, loaded.header.offset if loaded else None, replayed, replayed_bytes)


# --- taking snapshots -----------------------------------------------------------------------------


def _timestamp(log_: EventLog, topic: str, shard: int, offset: int) -> int:
    try:
        found = log_.read(topic, shard, offset, 1)
    except LogError:
        return 0
    return found[0].timestamp if found and found[0].offset == offset else 0


def capture(state: partition.PartitionState, table_id: str, shard: int = 0) -> tuple[snapshot.SnapshotHeader, Any]:
    """Copy the state between two folds (call it on the thread that folds)."""
    floor = partition.prepared_floor(state)
    offset = state.applied_offset
    replay_from = offset + 1 if floor is None else min(offset + 1, floor)
    header = snapshot.SnapshotHeader(table_id, shard, offset, replay_from, 0, state.schema,
                                     state.item_count, state._size)
    with gc_paused():
        return header, snapshot.capture(state)


def write_snapshot(store: SnapshotStore, log_: EventLog, topic: str, header: snapshot.SnapshotHeader,
                   captured: Any, writer: Any = None, keep: int = 2) -> Path:
    """Encode and write a captured state, then record ``SnapshotTaken`` with ``writer`` (when given;
    a fenced or closed writer only costs the record: the file is what a rebuild reads)."""
    timestamp = _timestamp(log_, topic, header.shard, header.offset)
    header = snapshot.with_timestamp(header, timestamp)
    store.clean_temporary(header.table_id, header.shard)
    path = store.write(header.table_id, header.shard, header.offset, snapshot.encode(header, captured))
    if writer is not None:
        event = SnapshotTaken(header.table_id, header.shard, header.offset, timestamp,
                              store.location(header.table_id, header.shard, header.offset),
                              [[timestamp, header.offset]])
        try:
            writer.append([records.CODEC.encode(event)])
        except LogError as error:
            log.info("snapshot_not_recorded", table_id=header.table_id, offset=header.offset, error=str(error))
    store.prune(header.table_id, header.shard, keep)
    log.info("snapshot_taken", table_id=header.table_id, shard=header.shard, offset=header.offset,
             items=header.item_count, bytes=store.written_size(path))
    return path


AppendBatch = Callable[[list[bytes]], Awaitable[list[int]]]


class PartitionSnapshots:
    """The snapshot policy of one open partition (lives on the partition's event loop)."""

    def __init__(self, store: SnapshotStore, policy: SnapshotPolicy, table_id: str, topic: str,
                 log_: EventLog, *, shard: int = 0, events: int = 0, size: int = 0) -> None:
        self.store = store
        self.policy = policy
        self.table_id = table_id
        self.topic = topic
        self.shard = shard
        self._log = log_
        self.events = events  # appended since the last snapshot
        self.bytes = size
        self.state: partition.PartitionState | None = None
        self.writer: Any = None
        self.task: asyncio.Future | None = None
        self.taken = 0
        self.closed = False  # its partition closed: no more snapshots

    def attach(self, state: partition.PartitionState, writer: Any) -> None:
        self.state, self.writer = state, writer

    def counting(self, append: AppendBatch) -> AppendBatch:
        """``append``, counting what it appends; a snapshot due is taken once the batch is folded."""

        async def counted(batch: list[bytes]) -> list[int]:
            offsets = await append(batch)
            self._count(batch)
            if self.due():
                asyncio.get_running_loop().call_soon(self.maybe_take)
            return offsets

        return counted

    def counting_now(self, append_now: Callable[[list[bytes]], list[int] | None]
                     ) -> Callable[[list[bytes]], list[int] | None]:
        """The same for a pipeline's synchronous append (``PartitionWriter.append_now``)."""

        def counted(batch: list[bytes]) -> list[int] | None:
            offsets = append_now(batch)
            if offsets is not None:  # the pipeline calls maybe_take once it folded the batch
                self._count(batch)
            return offsets

        return counted

    def _count(self, batch: list[bytes]) -> None:
        self.events += len(batch)
        self.bytes += sum(map(len, batch))

    def due(self) -> bool:
        p = self.policy
        return self.events >= p.every_events or self.bytes >= p.every_bytes

    def maybe_take(self) -> None:
        if self.state is not None and self.task is None and not self.closed and self.due():
            self.take(self.writer)

    def take(self, writer: Any, then: Callable[[], None] | None = None) -> asyncio.Future:
        """Capture the state now and write it on a worker thread; ``then`` runs after (closing)."""
        header, captured = capture(self.state, self.table_id, self.shard)
        self.events = self.bytes = 0
        task = asyncio.ensure_future(asyncio.to_thread(self._write, header, captured, writer, then))
        self.task = task
        task.add_done_callback(self._done)
        return task

    def _write(self, header: Any, captured: Any, writer: Any, then: Callable[[], None] | None) -> None:
        try:
            write_snapshot(self.store, self._log, self.topic, header, captured, writer, self.policy.keep)
            self.taken += 1
        except Exception as error:  # noqa: BLE001 - the log still has everything
            log.warning("snapshot_failed", table_id=self.table_id, offset=header.offset, error=repr(error))
        finally:
            if then is not None:
                then()

    def _done(self, task: asyncio.Future) -> None:
        if self.task is task:
            self.task = None
            if not self.closed and self.due():  # fell due again while this one was written
                asyncio.get_running_loop().call_soon(self.maybe_take)

    def close(self, release: Callable[[], None]) -> bool:
        """On hibernation: snapshot first when many events came since the last one; ``release``
        (close the writer and the log handle) runs once that is written.  Returns whether it did."""
        if self.state is None or self.events < self.policy.on_close_events:
            self.closed = True
            release()
            return False
        self.take(self.writer, release)
        self.closed = True
        return True

    def discard(self) -> None:
        """Its partition is closed without a last snapshot (dropped, or failed): take no more."""
        self.closed = True
