"""Transactions on the Ray engine: the gateway's side (``RayTransactions``, mixed into
``RayEngine``) and how the coordinator actor reaches the hosts (``HostsByName``).

- TransactWriteItems goes to the coordinator actor, which runs the two phases on the hosts.
- TransactGetItems goes straight to the hosts.  On one host it is one ``snapshot`` call.  Over
  several, round one reads and watches the items on every host, round two asks each host whether
  a watched item changed; a change (or a lock) cancels with TransactionConflict, as DynamoDB does
  when a TransactGetItems meets a write in flight.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Sequence

from ..core import errors, saga, shards
from ..core.commands import Item
from .host import TableRef


@dataclass(frozen=True)
class HostParticipants:
    """The coordinator's participants on Ray (``coordinator.Participants``): the partition hosts,
    a table on host ``host_of(table_id)``.  A participant is one shard of a table; in step 1 a
    table's shards all live on its host, which prepares each command on the shard it falls in and
    finishes a transaction on every shard of the table."""

    hosts: Sequence[Any]  # ActorCallers (client.LazyActor of each named host, on its channel)
    host_of: Callable[[str], int]

    def route(self, participant: saga.Participant) -> Hashable:
        return self.host_of(participant.table_id)

    async def prepare(self, node, transaction_id, parts):
        return await self.hosts[node].call("prepare", transaction_id, [(ref_of(p), cmds) for p, cmds in parts])

    async def finish(self, node, transaction_id, decision, participants):
        await self.hosts[node].call("finish", transaction_id, decision, [ref_of(p) for p in participants])


def ref_of(participant: saga.Participant) -> TableRef:
    return TableRef(participant.table_id, participant.table_name, participant.schema)


@dataclass(frozen=True)
class HostsByName:
    """A picklable factory of the coordinator's participants: the named host actors, looked up
    in the coordinator's own process."""

    names: tuple[str, ...]
    timeout: float

    def __call__(self) -> HostParticipants:
        from .client import LazyActor, host_index

        hosts = [LazyActor(name, self.timeout, channel=True) for name in self.names]
        return HostParticipants(hosts, functools.partial(host_index, hosts=len(self.names)))


class RayTransactions:
    """Needs ``_coordinator`` (an ActorCaller or None), ``_ref(name)``, ``_refs`` and
    ``_host(ref)`` from ``RayEngine``."""

    _coordinator: Any = None

    def _forget(self, refs: list[Any]) -> None:
        for ref in refs:  # a table deleted (maybe re-created): the next request asks the catalog
            if self._refs.get(ref.name) == ref:
                del self._refs[ref.name]

    async def transact_write(self, actions: list[tuple[str, Any]], client_token: str | None = None,
                             request_hash: str | None = None) -> saga.TransactWriteResult:
        if self._coordinator is None:
            raise errors.validation("Transactions are not available on this engine")
        refs = [await self._ref(table) for table, _ in actions]
        request = saga.TransactWrite(
            tuple(saga.Action(saga.Participant(r.table_id, r.name, r.schema,
                                               shards.command_shard(r.schema, command, r.shards)), command)
                  for r, (_, command) in zip(refs, actions)),
            client_token, request_hash,
        )
        try:
            return await self._coordinator.call("transact_write", request)
        except errors.DynamoError as error:
            if error.error_type == "ResourceNotFoundException":
                self._forget(refs)
            raise

    async def transact_get(self, reads: list[tuple[str, Item]]) -> list[Item | None]:
        refs = [await self._ref(table) for table, _ in reads]
        by_host: dict[Any, list[int]] = {}  # host caller -> indexes of its reads
        for i, ref in enumerate(refs):
            by_host.setdefault(self._host(ref), []).append(i)
        watch_id = uuid.uuid4().hex if len(by_host) > 1 else None
        answers: list[Any] = [None] * len(reads)
        try:
            found = await asyncio.gather(*(
                host.call("snapshot", watch_id, [(refs[i], reads[i][1]) for i in idx])
                for host, idx in by_host.items()))
            for idx, part in zip(by_host.values(), found):
                for i, answer in zip(idx, part):
                    answers[i] = answer
            clean = True
            if watch_id is not None:
                checks = await asyncio.gather(*(
                    host.call("snapshot_check", watch_id, list({refs[i].table_id: refs[i] for i in idx}.values()))
                    for host, idx in by_host.items()))
                clean = all(checks)
        except errors.DynamoError as error:
            if error.error_type == "ResourceNotFoundException":
                self._forget(refs)
            raise
        conflicts = [conflict or not clean for conflict, _ in answers]
        if any(conflicts):
            raise errors.transaction_canceled(
                [saga.conflict_reason() if c else dict(saga.NO_REASON) for c in conflicts])
        return [item for _, item in answers]
