"""``LocalEngine``'s transactions: an in-process coordinator over the engine's own partitions.

The coordinator (``coordinator.py``) logs to the engine's log (topic ``dynamoray.transactions``),
so the data directory holds the same records under either engine.  Every partition is in this
process, so there is one node: phase 1 is one gather over the participants, one per (table,
shard), each prepared on its shard's pipeline.  TransactGetItems reads every item in one step of
the event loop, which is a snapshot.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..core import errors, saga, shards
from ..core.commands import Item
from .coordinator import TransactionCoordinator
from .pipeline import BrokenPartition


class LocalParticipants:
    """The coordinator's view of a ``LocalEngine``: one node, partitions by (table name, shard)."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def route(self, participant: saga.Participant) -> int:
        return 0

    async def prepare(self, node, transaction_id, parts):
        return list(await asyncio.gather(
            *(self._engine._txn_step(p, lambda pipe, c=commands: pipe.prepare(transaction_id, c)) for p, commands in parts)
        ))

    async def finish(self, node, transaction_id, decision, participants):
        await asyncio.gather(
            *(self._engine._txn_step(p, lambda pipe: pipe.finish(transaction_id, decision)) for p in participants)
        )


class LocalTransactions:
    """Mixed into ``LocalEngine`` (needs its ``_log``, ``_in_memory``, ``_catalog``,
    ``_groups``, ``_group(name)`` and ``_rebuild(name)``)."""

    _coordinator: TransactionCoordinator | None = None

    def _make_coordinator(self) -> TransactionCoordinator:
        """Open (replay) the coordinator's topic; blocking, so a durable engine calls it on a thread."""
        if self._coordinator is None:
            self._coordinator = TransactionCoordinator(self._log, LocalParticipants(self), in_thread=not self._in_memory,
                                                       redrive_interval=None)
        return self._coordinator

    async def _recover_transactions(self) -> None:
        """After a replay: finish every transaction a partition still holds locks for (the
        coordinator knows the commits; the rest are presumed aborted)."""
        coordinator = self._make_coordinator()
        for _name, group in list(self._groups.items()):
            for shard in group.shards:
                for txn in list(shard.pipeline.state.prepared):
                    decision = await coordinator.resolve(txn)
                    if decision != saga.PENDING:
                        await shard.pipeline.finish(txn, decision)
        await coordinator.recover()

    async def _txn_step(self, participant: saga.Participant, step) -> Any:
        """``step`` on the participant's shard's pipeline (a shard the table does not have: 404)."""
        name = participant.table_name
        description = self._catalog.tables.get(name)
        if description is None or description["TableId"] != participant.table_id:
            raise errors.resource_not_found()
        group = self._group(name)
        if participant.shard >= group.count:
            raise errors.resource_not_found()
        try:
            return await step(group.shards[participant.shard].pipeline)
        except BrokenPartition:
            await self._rebuild(name)
            raise errors.internal_server_error("The transaction could not be made durable") from None

    def _participant(self, table: str, command: Any) -> saga.Participant:
        """The (table, shard) a transaction's command runs on."""
        group = self._group(table)
        description = self._catalog.tables[table]
        return saga.Participant(description["TableId"], table, group.schema,
                                shards.command_shard(group.schema, command, group.count))

    async def transact_write(self, actions: list[tuple[str, Any]], client_token: str | None = None,
                             request_hash: str | None = None) -> saga.TransactWriteResult:
        request = saga.TransactWrite(
            tuple(saga.Action(self._participant(table, command), command) for table, command in actions),
            client_token, request_hash,
        )
        return await self._make_coordinator().transact_write(request)

    async def transact_get(self, reads: list[tuple[str, Item]]) -> list[Item | None]:
        """The items (None when missing), all read at one moment; TransactionCanceledException
        with TransactionConflict for each item a transaction holds."""
        groups = [self._group(table) for table, _ in reads]
        answers = [group.read_unlocked(key) for group, (_, key) in zip(groups, reads)]
        if any(conflict for conflict, _ in answers):
            raise errors.transaction_canceled(
                [saga.conflict_reason() if conflict else dict(saga.NO_REASON) for conflict, _ in answers])
        return [item for _, item in answers]
