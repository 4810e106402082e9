"""A partition host's part in transactions (mixed into :class:`~.host.PartitionHost`).

- ``prepare`` / ``finish``: phase 1 and phase 2 of TransactWriteItems on the host's partitions
  (each shard's :class:`~.pipeline.WritePipeline` does the work, through the table's
  :class:`~.shards.ShardGroup`; see ``coordinator.py``).  A transaction's commands on one table are
  prepared on the shards they fall in; finishing it finishes every shard of the table.
- ``snapshot`` / ``snapshot_check``: TransactGetItems.  One host: the reads happen in one step
  of the event loop, a snapshot by construction.  Several hosts: the first round reads and
  *watches* the items, the second checks that none changed; every first-round read happened
  before every check, so the items held those values together at one moment in between.
- The **lock resolver**: a partition holding a transaction's lock whose decision it did not
  hear within ``LOCK_TIMEOUT`` (the coordinator died, or this host restarted and replayed the
  lock) asks the coordinator and applies the answer.  No lock is held forever.

Same retry contract as the host: finishing is idempotent, a prepare is never re-run.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .. import logs
from ..core import errors, saga
from ..core.commands import Item
from .pipeline import BrokenPartition

LOCK_TIMEOUT = 1.0  # seconds a lock waits for its decision before the coordinator is asked
HOLD_LEASE = 10.0  # seconds a cut may hold commits back (the gateway that took it died)
RESOLVE_INTERVAL = 0.5

log = logs.get("host")


class TransactionCalls:
    """Needs ``_partition(ref)``, ``_open``, ``_close(table_id)`` and ``_coordinator`` (an
    ActorCaller of the coordinator, or None) from the host."""

    _resolver: asyncio.Task | None = None

    def _broken(self, ref: Any, entry: Any) -> errors.DynamoError:
        if self._open.get(ref.table_id) is entry:  # fail-stop: rebuilt from the log on next use
            self._close(ref.table_id)
        return errors.internal_server_error("The transaction could not be made durable")

    async def prepare(self, transaction_id: str, parts: list[tuple[Any, list[Any]]]) -> list[tuple]:
        """Phase 1 on each ``(TableRef, commands)``: one result tuple per part, in order."""
        answers = await asyncio.gather(*(self._prepare_part(transaction_id, ref, commands) for ref, commands in parts),
                                       return_exceptions=True)
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        return answers

    async def _prepare_part(self, transaction_id: str, ref: Any, commands: list[Any]) -> tuple:
        entry = await self._partition(ref)
        entry.inflight += 1
        try:
            return await entry.group.prepare(transaction_id, commands)
        except BrokenPartition:
            raise self._broken(ref, entry) from None
        finally:
            entry.inflight -= 1

    async def finish(self, transaction_id: str, decision: str, refs: list[Any]) -> None:
        """Phase 2 on each partition (a no-op where the transaction holds nothing); a table named
        several times (one participant per shard) is finished once, on every shard."""
        refs = list({ref.table_id: ref for ref in refs}.values())
        answers = await asyncio.gather(*(self._finish_part(transaction_id, decision, ref) for ref in refs),
                                       return_exceptions=True)
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer

    async def _finish_part(self, transaction_id: str, decision: str, ref: Any) -> None:
        if decision == saga.COMMIT:
            await self._commits_held(ref.table_id)
        entry = await self._partition(ref, finishing=True)
        entry.inflight += 1
        try:
            await entry.group.finish(transaction_id, decision)
        except BrokenPartition:
            raise self._broken(ref, entry) from None
        finally:
            entry.inflight -= 1

    async def snapshot(self, watch_id: str | None, reads: list[tuple[Any, Item]]) -> list[tuple[bool, Item | None]]:
        """Read ``(TableRef, key)`` pairs in one step: ``(conflict, item)`` each; with a
        ``watch_id`` the items are also watched until :meth:`snapshot_check`."""
        entries = {}
        try:
            for ref, _ in reads:  # open them all first (kept open: in use), then read without awaiting
                if ref.table_id not in entries:
                    entry = entries[ref.table_id] = await self._partition(ref)
                    entry.inflight += 1
            out = [entries[ref.table_id].group.read_unlocked(key) for ref, key in reads]
            if watch_id is not None:
                by_table: dict[str, list[Item]] = {}
                for ref, key in reads:
                    by_table.setdefault(ref.table_id, []).append(key)
                for table_id, table_keys in by_table.items():
                    entries[table_id].group.watch(watch_id, table_keys)
            return out
        finally:
            for entry in entries.values():
                entry.inflight -= 1

    async def snapshot_check(self, watch_id: str, refs: list[Any]) -> bool:
        """True if no item watched under ``watch_id`` changed (the partitions must still be the
        ones that were watched: a reopened partition knows no watch, which counts as changed)."""
        clean = True
        for ref in refs:
            entry = self._open.get(ref.table_id)
            if entry is None or not entry.group.unwatch(watch_id):
                clean = False
        return clean

    # --- a backup's cut across hosts (routing.py) ------------------------------------------------

    def _holds(self) -> dict[str, dict[str, asyncio.Event]]:
        return self.__dict__.setdefault("_cut_holds", {})

    async def hold_commits(self, table_id: str, token: str, lease: float = HOLD_LEASE) -> None:
        """Until :meth:`release_commits` (or ``lease`` seconds), apply no transaction's COMMIT to
        the table here.  A cut over several hosts holds every host first, then reads each: a shard
        that shows a commit then applied it before its host was held, so the decision, hence every
        shard's prepare, came before every read (``cuts.complete_commits`` completes the rest)."""
        event = asyncio.Event()
        self._holds().setdefault(table_id, {})[token] = event
        asyncio.get_running_loop().call_later(lease, self.release_commits, table_id, token)

    def release_commits(self, table_id: str, token: str) -> None:
        held = self._holds().get(table_id, {})
        event = held.pop(token, None)
        if not held:
            self._holds().pop(table_id, None)
        if event is not None:
            event.set()

    async def _commits_held(self, table_id: str) -> None:
        held = self._holds().get(table_id)
        while held:
            await next(iter(held.values())).wait()
            held = self._holds().get(table_id)

    # --- the lock resolver ---------------------------------------------------------------------

    def _ensure_resolver(self) -> None:
        if self._coordinator is None or self._resolver is not None:
            return
        self._resolver = asyncio.get_running_loop().create_task(self._resolve_forever())

    async def _resolve_forever(self) -> None:
        while True:
            await asyncio.sleep(RESOLVE_INTERVAL)
            try:
                await self.resolve_locks(LOCK_TIMEOUT)
            except Exception as error:  # noqa: BLE001 - the next pass tries again
                log.warning("lock_resolution_failed", error=repr(error))

    async def resolve_locks(self, older_than: float = 0.0) -> int:
        """Ask the coordinator about every lock held longer than ``older_than`` seconds and apply
        the decisions it knows; returns how many transactions were finished."""
        now, finished = time.monotonic(), 0
        for table_id, entry in list(self._open.items()):
            for txn, since in list(entry.group.prepared_at().items()):
                if now - since < older_than:
                    continue
                try:
                    decision = await self._coordinator.call("resolve", txn)
                    if decision == saga.COMMIT:
                        await self._commits_held(table_id)
                    if decision in (saga.COMMIT, saga.ABORT):
                        await entry.group.finish(txn, decision)
                        finished += 1
                except (errors.DynamoError, BrokenPartition) as error:
                    log.warning("lock_not_resolved", table_id=table_id, transaction=txn, error=repr(error))
        return finished
