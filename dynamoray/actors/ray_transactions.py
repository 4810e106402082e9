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
import dataclasses
import functools
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Sequence

from ..core import errors, partition_map, saga, shards
from ..core.commands import Item
from .host import TableRef

MOVED_RETRIES = 10  # a transaction routed by a map that changed meanwhile is retried (routing.py)


@dataclass(frozen=True)
class HostParticipants:
    """The coordinator's participants on Ray (``coordinator.Participants``): the partition hosts.
    A participant is one shard of a table, on the host of its range in the table's partition map
    (``maps``, learnt from the gateway's requests and, after a "moved" answer, from ``catalog``;
    without one, the table's hashed host ``host_of(table_id)``).  A host prepares each command on
    the shard it falls in and finishes a transaction on every shard of its range."""

    hosts: Sequence[Any]  # ActorCallers (client.LazyActor of each named host, on its channel)
    host_of: Callable[[str], int]
    catalog: Any = None  # an ActorCaller of the catalog (None: maps come only with the requests)
    maps: dict = field(default_factory=dict)  # table id -> PartitionMap

    def learn(self, routes: dict[str, dict]) -> None:
        """The partition maps a gateway routed a request by (wire form, by table id)."""
        for table_id, wire in routes.items():
            pmap = partition_map.with_host_count(partition_map.from_wire(wire), len(self.hosts))
            known = self.maps.get(table_id)
            if known is None or known.version <= pmap.version:
                self.maps[table_id] = pmap

    def route(self, participant: saga.Participant) -> Hashable:
        pmap = self.maps.get(participant.table_id)
        return pmap.host_of(participant.shard) if pmap is not None else self.host_of(participant.table_id)

    def ref_of(self, participant: saga.Participant) -> TableRef:
        pmap = self.maps.get(participant.table_id)
        if pmap is None or len(pmap.ranges) == 1:
            return ref_of(participant, pmap)
        r = partition_map.range_of(pmap, participant.shard)
        return dataclasses.replace(ref_of(participant, pmap), span=(r.start, r.end))

    async def prepare(self, node, transaction_id, parts):
        try:
            return await self.hosts[node].call("prepare", transaction_id,
                                               [(self.ref_of(p), cmds) for p, cmds in parts])
        except errors.DynamoError as error:
            if errors.is_partition_moved(error):
                await self._refresh([p for p, _ in parts])
            raise

    async def finish(self, node, transaction_id, decision, participants):
        """Phase 2, routed by the maps as they are now (a range may have moved since the prepare:
        the coordinator retries, and this re-routes)."""
        by_node: dict[int, list[TableRef]] = {}
        for p in participants:
            by_node.setdefault(self.route(p), []).append(self.ref_of(p))
        try:
            await asyncio.gather(*(self.hosts[n].call("finish", transaction_id, decision, refs)
                                   for n, refs in by_node.items()))
        except errors.DynamoError as error:
            if not errors.is_partition_moved(error):
                raise
            await self._refresh(participants)
            raise errors.service_unavailable() from None

    async def _refresh(self, participants: Sequence[saga.Participant]) -> None:
        """Re-read the maps of the participants' tables from the catalog."""
        if self.catalog is None:
            return
        from .routing import map_of

        for table_id, name in {p.table_id: p.table_name for p in participants}.items():
            try:
                description = await self.catalog.call("lookup", name)
            except errors.DynamoError:
                continue
            if description is not None and description["TableId"] == table_id:
                self.maps[table_id] = map_of(description, len(self.hosts))


def ref_of(participant: saga.Participant, pmap: partition_map.PartitionMap | None = None) -> TableRef:
    if pmap is None:
        return TableRef(participant.table_id, participant.table_name, participant.schema)
    return TableRef(participant.table_id, participant.table_name, participant.schema, pmap.shards,
                    map_version=pmap.version)


@dataclass(frozen=True)
class HostsByName:
    """A picklable factory of the coordinator's participants: the named host actors, looked up
    in the coordinator's own process (and the catalog, for the tables' partition maps)."""

    names: tuple[str, ...]
    timeout: float
    catalog: str | None = None  # the catalog actor's name

    def __call__(self) -> HostParticipants:
        from .client import LazyActor, host_index

        hosts = [LazyActor(name, self.timeout, channel=True) for name in self.names]
        catalog = LazyActor(self.catalog, self.timeout) if self.catalog else None
        return HostParticipants(hosts, functools.partial(host_index, hosts=len(self.names)), catalog)


class RayTransactions:
    """Needs ``_coordinator`` (an ActorCaller or None), ``_ref(name)``, ``_refs``, ``_hosts`` and
    ``_map(ref)`` from ``RayEngine``."""

    _coordinator: Any = None

    def _forget(self, refs: list[Any]) -> None:
        for ref in refs:  # a table deleted (maybe re-created): the next request asks the catalog
            if self._refs.get(ref.name) == ref:
                del self._refs[ref.name]

    async def transact_write(self, actions: list[tuple[str, Any]], client_token: str | None = None,
                             request_hash: str | None = None) -> saga.TransactWriteResult:
        if self._coordinator is None:
            raise errors.validation("Transactions are not available on this engine")
        for _ in range(MOVED_RETRIES):
            refs = [await self._ref(table) for table, _ in actions]
            request = saga.TransactWrite(
                tuple(saga.Action(saga.Participant(r.table_id, r.name, r.schema,
                                                   shards.command_shard(r.schema, command, r.shards)), command)
                      for r, (_, command) in zip(refs, actions)),
                client_token, request_hash,
            )
            routes = {r.table_id: partition_map.to_wire(self._map(r)) for r in refs if self._map(r).version}
            try:
                if routes:  # the coordinator routes the participants by these maps (HostParticipants)
                    return await self._coordinator.call("transact_write", request, routes)
                return await self._coordinator.call("transact_write", request)
            except errors.DynamoError as error:
                if error.error_type == "ResourceNotFoundException":
                    self._forget(refs)
                if not errors.is_partition_moved(error):
                    raise
                self._forget(refs)  # aborted, nothing applied: route by the maps as they are now
                await asyncio.sleep(0.05)
        raise errors.service_unavailable()

    async def transact_get(self, reads: list[tuple[str, Item]]) -> list[Item | None]:
        for _ in range(MOVED_RETRIES):
            refs = [await self._ref(table) for table, _ in reads]
            try:
                return await self._transact_get(refs, reads)
            except errors.DynamoError as error:
                if error.error_type == "ResourceNotFoundException":
                    self._forget(refs)
                if not errors.is_partition_moved(error):
                    raise
                self._forget(refs)
                await asyncio.sleep(0.05)
        raise errors.service_unavailable()

    def _read_route(self, ref: Any, key: Item) -> tuple[int, Any]:
        """The host of the range holding ``key``, and the ref to call it with (``routing.py``)."""
        from .routing import spanned

        pmap = self._map(ref)
        r = partition_map.range_of(pmap, shards.shard_of(ref.schema, key, ref.shards))
        return r.host, spanned(ref, pmap, r)

    async def _transact_get(self, refs: list[Any], reads: list[tuple[str, Item]]) -> list[Item | None]:
        """One round on one host (a snapshot by construction); two rounds over several (the hosts
        of several tables, or of the ranges of one table): read and watch, then check."""
        by_host: dict[int, list[int]] = {}  # host index -> indexes of its reads
        routed = [self._read_route(ref, key) for ref, (_, key) in zip(refs, reads)]
        for i, (host, _) in enumerate(routed):
            by_host.setdefault(host, []).append(i)
        watch_id = uuid.uuid4().hex if len(by_host) > 1 else None
        answers: list[Any] = [None] * len(reads)
        found = await asyncio.gather(*(
            self._hosts[host].call("snapshot", watch_id, [(routed[i][1], reads[i][1]) for i in idx])
            for host, idx in by_host.items()))
        for idx, part in zip(by_host.values(), found):
            for i, answer in zip(idx, part):
                answers[i] = answer
        clean = True
        if watch_id is not None:
            checks = await asyncio.gather(*(
                self._hosts[host].call("snapshot_check", watch_id,
                                       list({routed[i][1].table_id: routed[i][1] for i in idx}.values()))
                for host, idx in by_host.items()))
            clean = all(checks)
        conflicts = [conflict or not clean for conflict, _ in answers]
        if any(conflicts):
            raise errors.transaction_canceled(
                [saga.conflict_reason() if c else dict(saga.NO_REASON) for c in conflicts])
        return [item for _, item in answers]
