"""Pipelined durable writes for one partition, on an asyncio loop.

A write is decided against the partition's state *plus the writes still in flight* (their new
images sit in an overlay), queued in decision order, appended to the log in batches (one durable
commit per batch: group commit), and folded into the state in log order once durable.  Only then
is it acknowledged.  If an append fails, every write of that batch fails and the partition is
marked broken: the owner must rebuild it from the log before taking more writes, so the state
never diverges from the log.

Transactions (``core/saga.py``): :meth:`WritePipeline.prepare` decides a transaction's commands
on this partition and, if all pass, locks the items and appends a TransactionPrepared;
:meth:`WritePipeline.finish` applies the decision (the item changes tagged with the transaction,
then a TransactionReleased).  A single write to a locked item gets TransactionConflictException;
reads keep seeing the committed state.  Watches (:meth:`WritePipeline.watch`) tell a
TransactGetItems spanning several hosts whether an item it read changed before it validated.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any, Awaitable, Callable

from ..core import errors, partition, replication, saga
from ..core.commands import ItemChange, Item, WriteOutcome

AppendBatch = Callable[[list[bytes]], Awaitable[list[int]]]
AppendNow = Callable[[list[bytes]], "list[int] | None"]  # durable on this thread now, or None (nothing done)
Encode = Callable[[ItemChange], bytes]


class _PendingView:
    """The state as a decision must see it: in-flight images over the applied ones."""

    __slots__ = ("schema", "_state", "_overlay", "indexes")

    def __init__(self, state: partition.PartitionState, overlay: dict) -> None:
        self.schema = state.schema
        self._state = state
        self._overlay = overlay
        self.indexes = state.indexes  # secondary indexes: a decision checks and counts them

    def lookup(self, key: Item) -> Item | None:
        token = _token(self.schema, key)
        if token in self._overlay:
            return self._overlay[token][1]
        return self._state.lookup(key)

    def version_of(self, key: Item) -> tuple[int, str] | None:
        """The item's version, an in-flight one first (global tables, core/replication.py)."""
        entry = self._overlay.get(_token(self.schema, key))
        if entry is not None and len(entry) > 2 and entry[2] is not None:
            return entry[2]
        return self._state.version_of(key)


def _token(schema, key: Item) -> tuple:
    return partition.hash_slot(schema, key), partition.sort_slot(schema, key)


class BrokenPartition(Exception):
    """An append failed; the partition must be rebuilt from the log."""


class WritePipeline:
    def __init__(self, state: partition.PartitionState, append: AppendBatch, encode: Encode,
                 txn: Any = None, append_now: AppendNow | None = None,
                 folded_now: Callable[[], None] | None = None) -> None:
        self.state = state
        self._append = append
        self._append_now = append_now  # for write_now; None: every write takes the pipelined path
        self._folded_now = folded_now  # called once write_now folded its change (a snapshot due)
        self._encode = encode
        self._txn = txn  # a records.TransactionEncoder: this partition takes part in transactions
        self._locking: dict[tuple, str] = {}  # token -> transaction, prepared but not yet durable
        self._preparing: dict[str, asyncio.Future] = {}
        self._finishing: dict[str, asyncio.Future] = {}
        self._watches: dict[tuple, set[str]] = {}  # token -> watch ids
        self._watched: dict[str, list[tuple]] = {}  # watch id -> its tokens
        self._dirty: set[str] = set()
        now = time.monotonic()
        self.prepared_at: dict[str, float] = {t: now for t in state.prepared}  # for the lock resolver
        self._overlay: dict[tuple, list[Any]] = {}  # token -> [in-flight count, latest image]
        self._queue: list[tuple[ItemChange, bytes, asyncio.Future]] = []
        self._flushing = False
        self.broken: BaseException | None = None
        # global tables: stamp every local change with a version (core/replication.py); set by
        # the engine while the table has replicas (ShardGroup.set_versioned)
        self.versioned = False

    def _decide(self, command: Any) -> WriteOutcome:
        """The command decided against the state plus the writes in flight; a global table's
        local change stamped with its version."""
        if self.broken is not None:
            raise BrokenPartition() from self.broken
        if self.state.locks or self._locking:
            self._check_unlocked(command)
        view = _PendingView(self.state, self._overlay)
        outcome = partition.decide(view, command)
        change = outcome.change
        if change is not None and self.versioned and change.origin is None:  # a local change of a global table
            change = replication.stamp(change, view.version_of(change.keys), int(time.time() * 1000))
            outcome = dataclasses.replace(outcome, change=change)
        return outcome

    async def write(self, command: Any) -> WriteOutcome:
        outcome = self._decide(command)
        change = outcome.change
        if change is None:
            return outcome
        token = _token(self.state.schema, change.keys)
        entry = self._overlay.setdefault(token, [0, None, None])
        entry[0] += 1
        entry[1] = change.new_image
        if change.origin is not None:
            entry[2] = change.origin
        future = asyncio.get_running_loop().create_future()
        self._queue.append((change, self._encode(change), future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        await future
        return outcome

    def write_now(self, command: Any) -> WriteOutcome | None:
        """:meth:`write`, finished before this returns (decided, durable, folded), or None having
        done nothing: writes are in flight (they keep their order), or the log cannot commit on
        this thread now (``PartitionWriter.append_now``).  A lone write then costs no task, no
        future and no thread hand-off: a loop turn of its own.  Raises what :meth:`write` raises."""
        if self._append_now is None or self._flushing or self._queue or self._overlay:
            return None
        outcome = self._decide(command)
        change = outcome.change
        if change is None:
            return outcome
        try:
            offsets = self._append_now([self._encode(change)])
        except BaseException as error:  # noqa: BLE001 - fail-stop, as in _flush
            self.broken = error
            raise BrokenPartition(str(error)) from error
        if offsets is None:
            return None
        partition.evolve(self.state, change, offsets[0])
        if self._watches:
            self._touch(change.keys)
        if self._folded_now is not None:
            self._folded_now()
        return outcome

    async def _flush(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    offsets = await self._append([payload for _, payload, _ in batch])
                except BaseException as error:  # noqa: BLE001 - fail-stop: every waiter hears it
                    self.broken = error
                    for _, _, future in batch + self._queue:
                        if not future.done():
                            future.set_exception(BrokenPartition(str(error)))
                    self._queue = []
                    self._overlay.clear()
                    self._locking.clear()
                    return
                for (change, _, future), offset in zip(batch, offsets):
                    if type(change) is ItemChange:
                        partition.evolve(self.state, change, offset)
                        self._release(change)
                        if self._watches:
                            self._touch(change.keys)
                    else:  # a transaction record: it folds itself
                        change(offset)
                    if not future.done():
                        future.set_result(offset)
        finally:
            self._flushing = False

    def _release(self, change: ItemChange) -> None:
        token = _token(self.state.schema, change.keys)
        entry = self._overlay.get(token)
        if entry is not None:
            entry[0] -= 1
            if entry[0] == 0:
                del self._overlay[token]

    # --- transactions ----------------------------------------------------------------------

    def _check_unlocked(self, command: Any) -> None:
        try:
            key = saga.command_key(self.state.schema, command)
        except errors.DynamoError:
            return  # the decision reports the bad key
        if self.locked(key):
            raise errors.transaction_conflict()

    def locked(self, key: Item) -> bool:
        """Whether a transaction holds the item (prepared, or being prepared)."""
        token = _token(self.state.schema, key)
        return token in self.state.locks or token in self._locking

    def busy(self, key: Item) -> bool:
        """Whether a transaction or an in-flight single write holds the item."""
        return _token(self.state.schema, key) in self._overlay or self.locked(key)

    def _enqueue(self, entries: list[tuple[Callable[[int], None], bytes]]) -> asyncio.Future:
        """Queue transaction records (each folds itself once durable); the future of the last."""
        if self.broken is not None:
            raise BrokenPartition() from self.broken
        loop = asyncio.get_running_loop()
        future = None
        for fold, payload in entries:
            future = loop.create_future()
            self._queue.append((fold, payload, future))
        if not self._flushing:
            self._flushing = True
            loop.create_task(self._flush())
        return future

    async def prepare(self, transaction_id: str, commands: list[Any]) -> tuple[saga.ActionResult, ...]:
        """Phase 1: decide every command; if all pass, lock the items and make that durable.
        Returns one result per command (a reason for each that failed; nothing is locked then)."""
        if self.broken is not None:
            raise BrokenPartition() from self.broken
        view = _PendingView(self.state, self._overlay)
        outcome = saga.decide_prepare(view, transaction_id, commands, self.busy)
        prepared = outcome.prepared
        if prepared is None:
            return outcome.results
        tokens = [_token(self.state.schema, key) for key in prepared.locked]

        def fold(offset: int) -> None:
            for token in tokens:
                self._locking.pop(token, None)
            partition.evolve_prepared(self.state, prepared, offset)
            self.prepared_at[transaction_id] = time.monotonic()

        future = self._enqueue([(fold, self._txn.prepared(prepared))])
        for token in tokens:  # locked from now on (durable or not, no other write gets in)
            self._locking[token] = transaction_id
        self._preparing[transaction_id] = future
        try:
            await future
        finally:
            self._preparing.pop(transaction_id, None)
        return outcome.results

    async def finish(self, transaction_id: str, decision: str) -> None:
        """Phase 2: on COMMIT append the changes (tagged) and release the locks; on ABORT only
        release them.  Idempotent: a transaction this partition does not hold is a no-op."""
        preparing = self._preparing.get(transaction_id)
        if preparing is not None:
            await asyncio.wait([preparing])
        finishing = self._finishing.get(transaction_id)
        if finishing is not None:
            await asyncio.shield(finishing)
            return
        prepared = self.state.prepared.get(transaction_id)
        if prepared is None:
            return
        entries = []
        if decision == saga.COMMIT:
            for change in prepared.changes:
                if self.versioned and change.origin is None:  # global tables: stamped as it commits
                    change = replication.stamp(change, self.state.version_of(change.keys), int(time.time() * 1000))
                entries.append((lambda offset, c=change: self._fold_change(transaction_id, c, offset),
                                self._txn.change(transaction_id, change)))
        entries.append((lambda offset: self._fold_released(transaction_id, offset),
                        self._txn.released(transaction_id, decision)))
        future = self._enqueue(entries)
        self._finishing[transaction_id] = future
        try:
            await future
        finally:
            self._finishing.pop(transaction_id, None)

    def _fold_change(self, transaction_id: str, change: ItemChange, offset: int) -> None:
        partition.evolve_transaction_change(self.state, transaction_id, change, offset)
        if self._watches:
            self._touch(change.keys)

    def _fold_released(self, transaction_id: str, offset: int) -> None:
        partition.evolve_released(self.state, transaction_id, offset)
        self.prepared_at.pop(transaction_id, None)

    # --- TransactGetItems: reads that fail on locked items, and watches ----------------------

    def read_unlocked(self, key: Item) -> tuple[bool, Item | None]:
        """``(conflict, item)``: the committed item, or a conflict if a transaction holds it."""
        if self.locked(key):
            return True, None
        return False, self.state.lookup(key)

    def watch(self, watch_id: str, keys: list[Item]) -> None:
        tokens = [_token(self.state.schema, key) for key in keys]
        self._watched.setdefault(watch_id, []).extend(tokens)
        for token in tokens:
            self._watches.setdefault(token, set()).add(watch_id)

    def unwatch(self, watch_id: str) -> bool:
        """Stop watching; True if none of the watched items changed since :meth:`watch` (False
        also for a watch this pipeline does not know, e.g. after a rebuild)."""
        tokens = self._watched.pop(watch_id, None)
        if tokens is None:
            return False
        for token in tokens:
            ids = self._watches.get(token)
            if ids is not None:
                ids.discard(watch_id)
                if not ids:
                    del self._watches[token]
        dirty = watch_id in self._dirty
        self._dirty.discard(watch_id)
        return not dirty

    def _touch(self, key: Item) -> None:
        ids = self._watches.get(_token(self.state.schema, key))
        if ids:
            self._dirty.update(ids)
