"""Secondary indexes in the engines (both engines, the hosts and the followers).

How an index reaches the partitions.  A table's :class:`~dynamoray.core.indexes.IndexSet` (its
indexes and their epoch, from the catalog's description) travels with every call: in the
``TableRef`` the gateway routes with (Ray engine), or from the catalog itself (local engine).

- **Opening** a table's shards (a leader or a follower) builds every index from the items at once
  (:func:`adopt_complete`, on the worker thread that replayed the log): snapshots hold no index.
- **A newer epoch** reaching an open leader (an UpdateTable created or deleted a GSI) is adopted
  by :class:`Backfills`: deleted indexes are dropped; a new one is maintained from then on by every
  change folded, and filled from the items already there by a background task, a chunk at a time,
  between which writes go on (``index_backfill_progress`` is logged every second with items/s and
  percent).  A follower adopts a newer epoch at once, building the index before it answers.
- :class:`IndexChanges` (mixed into both engines) finishes what UpdateTable started: once every
  shard of the leader has backfilled a new GSI it becomes ACTIVE (``Backfilling`` dropped), and a
  GSI being deleted leaves the description.  It runs after each UpdateTable and on ``open`` (a
  restart in the middle of a creation picks it up).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Sequence

from .. import logs
from ..core import index_tables, indexes, partition

log = logs.get("indexes")

CHUNK = 2000  # items backfilled per step of the loop
PROGRESS_EVERY = 1.0  # seconds between index_backfill_progress lines
WAIT = 10.0  # seconds an index_backfill call waits before answering "not yet"


def wanted(ref: Any) -> indexes.IndexSet:
    return getattr(ref, "indexes", None) or indexes.NO_INDEXES


def adopt_complete(states: Sequence[partition.PartitionState], index_set: indexes.IndexSet | None) -> None:
    """Build every index of ``index_set`` into the shards' states at once (at open)."""
    for state in states:
        partition.adopt_indexes(state, index_set or indexes.NO_INDEXES, complete=True)


def current(states: list, ref: Any) -> list:
    """A follower's states, after adopting ``ref``'s indexes if they are newer (built at once)."""
    index_set = wanted(ref)
    if states and indexes.is_newer(states[0].indexes, index_set):
        adopt_complete(states, index_set)
    return states


def index_stats(states: Sequence[partition.PartitionState]) -> tuple:
    """``(name, item count, size)`` of each index of each shard (DescribeTable sums them)."""
    return tuple(stat for state in states for stat in indexes.index_stats(state.indexes))


def _incomplete(states: Sequence[partition.PartitionState]) -> list[tuple[partition.PartitionState, str]]:
    return [(state, name) for state in states if state.indexes is not None
            for name, held in state.indexes.states.items() if not held.complete]


class Backfills:
    """The online index creations of one process's open leaders (the event loop's only)."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task] = {}

    def adopt(self, key: str, states: Sequence[partition.PartitionState], index_set: indexes.IndexSet) -> None:
        """Adopt a newer index set into an open table's shards; backfill what is new."""
        if not states or not indexes.is_newer(states[0].indexes, index_set):
            return
        for state in states:
            partition.adopt_indexes(state, index_set, complete=False)
        self._start(key, states)

    def _start(self, key: str, states: Sequence[partition.PartitionState]) -> None:
        running = self._tasks.get(key)
        if (running is None or running.done()) and _incomplete(states):
            task = asyncio.get_running_loop().create_task(self._run(key, list(states)))
            self._tasks[key] = task
            task.add_done_callback(lambda t, k=key: self._tasks.pop(k, None) if self._tasks.get(k) is t else None)

    async def wait(self, key: str, states: Sequence[partition.PartitionState], timeout: float = WAIT) -> bool:
        """Whether every index of the table is complete, waiting up to ``timeout`` for its backfill."""
        self._start(key, states)
        task = self._tasks.get(key)
        if task is not None:
            await asyncio.wait([task], timeout=timeout)
        return not _incomplete(states)

    def forget(self, key: str) -> None:
        task = self._tasks.pop(key, None)
        if task is not None:
            task.cancel()

    async def _run(self, key: str, states: list[partition.PartitionState]) -> None:
        names = list(dict.fromkeys(name for _, name in _incomplete(states)))
        for name in names:
            await self._backfill(key, states, name)

    async def _backfill(self, key: str, states: list[partition.PartitionState], name: str) -> None:
        """Fill index ``name`` in every shard, a chunk per step of the loop, logging progress."""
        total = sum(state.item_count for state in states)
        started = last = time.monotonic()
        done = 0
        for state in states:
            after = partition.backfill_index(state, name, None, CHUNK)
            while after is not None:
                done += CHUNK
                now = time.monotonic()
                if now - last >= PROGRESS_EVERY:
                    last = now
                    _progress(key, name, done, total, now - started)
                await asyncio.sleep(0)  # writes and reads go on between two chunks
                after = partition.backfill_index(state, name, after, CHUNK)
            done = sum(s.item_count for s in states[:states.index(state) + 1])
        _progress(key, name, total, total, time.monotonic() - started)


def _progress(table: str, index: str, done: int, total: int, elapsed: float) -> None:
    log.info("index_backfill_progress", table=table, index=index, items=min(done, total), total=total,
             percent=round(100.0 * min(done, total) / total, 1) if total else 100.0,
             items_per_s=round(min(done, total) / max(elapsed, 1e-6)))


class IndexChanges:
    """Mixed into an engine: finishes UpdateTable's GSI creations and deletions (module docstring).

    Needs ``describe_table``, ``replace_table`` and ``index_backfill(name) -> bool`` (whether every
    shard of the table's leader has backfilled its indexes)."""

    _index_drivers: dict

    def _kick_index_changes(self, description: dict) -> None:
        creating, deleting = index_tables.pending_changes(description)
        if not creating and not deleting:
            return
        drivers = self.__dict__.setdefault("_index_drivers", {})
        name = description["TableName"]
        running = drivers.get(name)
        if running is None or running.done():
            drivers[name] = asyncio.get_running_loop().create_task(self._drive_index_changes(name))

    async def _drive_index_changes(self, name: str) -> None:
        try:
            while True:
                description = await self.describe_table(name)
                creating, deleting = index_tables.pending_changes(description)
                if not creating and not deleting:
                    return
                if not await self.index_backfill(name):
                    continue
                description = await self.describe_table(name)
                finished = index_tables.finish_index_changes(description, frozenset(creating))
                if finished is not None:
                    log.info("index_changes_finished", table=name, created=creating, deleted=deleting)
                    await self.replace_table(name, finished)
        except Exception as error:  # noqa: BLE001 - a background task: retried on the next UpdateTable or open
            if getattr(error, "error_type", None) != "ResourceNotFoundException":
                log.warning("index_changes_failed", table=name, error=repr(error))

    def _stop_index_changes(self) -> None:
        for task in list(self.__dict__.get("_index_drivers", {}).values()):
            try:
                task.cancel()
            except RuntimeError:  # its loop is closed already
                pass
