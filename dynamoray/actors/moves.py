"""Moving and splitting a table's ranges between partition hosts (shards, step 2).

A move hands range R of a table from its host A to host B while writes go on:

1. **A releases R** (:meth:`HostMoves.release`): it waits (bounded) until no transaction holds
   locks in the table here, then refuses new calls for it with "moved" (callers re-read the map
   and retry) but a transaction's phase 2, lets the writes in flight become durable and the
   locks of transactions prepared meanwhile go, snapshots the shards and closes their writers.
   A lock still held at the deadline makes it give up: the move is refused, nothing changed.
2. **The catalog records the new map** (``CatalogService.set_partitions``, compare-and-set on the
   version: two movers never both win).  If that fails, A takes R back as it was.
3. **A learns the new version** (:meth:`HostMoves.released`): callers by the old map get "moved"
   from then on; **B opens R** from its snapshot plus the log, fencing any writer left.

A host holds one range per table, so neighbouring ranges on one host are joined
(``partition_map.coalesced``) and a map where a host would own two ranges of a table is refused.
A host that restarts learns the map from the catalog before opening (:meth:`HostMoves._check_map`).
Tables with secondary indexes are spread too: an LSI lives with its shard, and the engine merges
the hosts' pages of a GSI read (``routing.py``).

:class:`PartitionMoves` is mixed into ``RayEngine`` (the admin API and the automatic splitter
call it); :class:`HostMoves` into ``PartitionHost``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .. import logs
from ..core import errors, partition_map as pm

RELEASE_WAIT = 5.0  # seconds a release waits for prepared transactions and in-flight writes
RELEASE_LEASE = 30.0  # a release nobody confirms lapses (the mover died): the catalog decides then
POLL = 0.01

log = logs.get("moves")


class HostMoves:
    """Needs ``_open``, ``_opening``, ``_close``, ``_hibernated``, ``_map_versions``, ``_catalog``
    and ``_releasing`` (table id -> lease deadline) from ``PartitionHost``."""

    def _is_releasing(self, table_id: str) -> bool:
        deadline = self._releasing.get(table_id)
        if deadline is None:
            return False
        if time.monotonic() < deadline:
            return True
        del self._releasing[table_id]  # the mover never confirmed: the catalog's map rules again
        return False

    async def release(self, table_id: str, wait: float | None = None) -> None:
        """Hand the table's range over (step 1 above); raises if a transaction keeps it locked."""
        deadline = time.monotonic() + (RELEASE_WAIT if wait is None else wait)
        await self._until(lambda: not self._prepared(table_id), deadline)
        self._releasing[table_id] = time.monotonic() + RELEASE_LEASE
        try:
            opening = self._opening.get(table_id)
            if opening is not None:
                await asyncio.wait([opening])
            await self._until(lambda: self._idle(table_id) and not self._prepared(table_id), deadline)
            if self._prepared(table_id) or not self._idle(table_id):
                raise errors.partition_move_refused("a transaction holds locks in the range; retry later")
            entry = self._open.get(table_id)
            if entry is not None:
                self._close(table_id, snapshot=True)
                await entry.group.settled()
            self._hibernated.pop(table_id, None)
        except BaseException:
            self._releasing.pop(table_id, None)
            raise
        log.info("range_released", table_id=table_id)

    def released(self, table_id: str, version: int) -> None:
        """The move is recorded (or abandoned, with the old ``version``): calls are taken again,
        those routed by a map older than ``version`` answered "moved"."""
        self._map_versions[table_id] = max(version, self._map_versions.get(table_id, 0))
        self._releasing.pop(table_id, None)

    async def _check_map(self, ref: Any) -> None:
        """Before opening: the caller's range must be one of the table's current map (a host
        restarted after a split learns the map here, and never opens the whole table again)."""
        if self._catalog is None:
            return
        description = await self._catalog.call("lookup", ref.name)
        if description is None or description.get("TableId") != ref.table_id:
            return  # deleted or re-created: the topic says (ResourceNotFound)
        wire = description.get("_Partitions")
        if wire is None:
            return
        version = int(wire.get("Version", 0))
        ranges = [(int(start), int(end)) for start, end, _ in wire["Ranges"]]
        span = ref.span if ref.span is not None else (0, ref.shards)
        if version > ref.map_version or span not in ranges:
            self._map_versions[ref.table_id] = max(version, self._map_versions.get(ref.table_id, 0))
            raise errors.partition_moved(version)

    def shard_loads(self, ref: Any) -> list[tuple[int, int, int]]:
        """(shard, item bytes, applied offset) of each shard of the table open here (nothing for a
        table not open: the automatic splitter never wakes one up; ``splitter.py``)."""
        entry = self._open.get(ref.table_id)
        if entry is None:
            return []
        return [(shard.index, shard.pipeline.state.size_bytes, shard.pipeline.state.applied_offset)
                for shard in entry.group.shards]

    def _prepared(self, table_id: str) -> bool:
        entry = self._open.get(table_id)
        return entry is not None and entry.group.has_prepared()

    def _idle(self, table_id: str) -> bool:
        entry = self._open.get(table_id)
        return entry is None or entry.inflight == 0

    @staticmethod
    async def _until(condition: Any, deadline: float) -> None:
        while not condition() and time.monotonic() < deadline:
            await asyncio.sleep(POLL)


class PartitionMoves:
    """Needs ``_hosts``, ``_catalog``, ``_refs``, ``_ref``, ``_map`` and ``_remember`` from
    ``RayEngine``."""

    async def partitions(self, table: str) -> dict:
        """The table's partition map as the catalog has it now (the wire form, plus the hosts)."""
        ref = await self._fresh_ref(table)
        return {**pm.to_wire(self._map(ref)), "Hosts": len(self._hosts), "TableName": table}

    async def split_partition(self, table: str, range_start: int, at: int | None = None,
                              host: int | None = None) -> dict:
        """Cut the range starting at ``range_start`` before shard ``at`` (its middle by default);
        the upper part goes to ``host`` (by default the host with the fewest ranges of the table)."""
        ref = await self._fresh_ref(table)
        pmap = self._map(ref)
        r = self._find(pmap, range_start)
        at = r.start + r.size // 2 if at is None else at
        if host is None:
            host = min((h for h in range(len(self._hosts)) if h != r.host),
                       key=lambda h: (len(pm.ranges_of_host(pmap, h)), h), default=r.host)
        return await self._change(ref, pmap, lambda m: pm.split(m, r.start, at, host))

    async def move_partition(self, table: str, range_start: int, host: int) -> dict:
        """Give the range starting at ``range_start`` to ``host``."""
        ref = await self._fresh_ref(table)
        pmap = self._map(ref)
        r = self._find(pmap, range_start)
        return await self._change(ref, pmap, lambda m: pm.move(m, r.start, host))

    async def _fresh_ref(self, table: str) -> Any:
        self._refs.pop(table, None)
        return await self._ref(table)

    @staticmethod
    def _find(pmap: pm.PartitionMap, range_start: int) -> pm.Range:
        try:
            return pm.find(pmap, range_start)
        except ValueError as error:
            raise errors.partition_move_refused(str(error)) from None

    async def _change(self, ref: Any, pmap: pm.PartitionMap, change: Any) -> dict:
        try:
            new = pm.coalesced(change(pmap))
        except ValueError as error:
            raise errors.partition_move_refused(str(error)) from None
        if any(r.host >= len(self._hosts) or r.host < 0 for r in new.ranges):
            raise errors.partition_move_refused(f"there are {len(self._hosts)} hosts (0 to {len(self._hosts) - 1})")
        if new.ranges == pmap.ranges:
            raise errors.partition_move_refused("the change leaves the map as it is (one host?)")
        if not pm.one_range_per_host(new):
            raise errors.partition_move_refused("a host would hold two ranges of the table")
        changed = _changed_hosts(pmap, new)
        released: list[int] = []
        try:
            for host in changed:
                await self._hosts[host].call("release", ref.table_id)
                released.append(host)
            description = await self._catalog.call("set_partitions", ref.name, ref.table_id, pm.to_wire(new),
                                                   pmap.version)
        except BaseException:
            for host in released:
                await self._hosts[host].call("released", ref.table_id, pmap.version)
            raise
        for host in released:
            await self._hosts[host].call("released", ref.table_id, new.version)
        fresh = self._remember(description)
        await self._open_ranges(fresh, changed)
        log.info("partition_map_changed", table=ref.name, version=new.version, ranges=pm.to_wire(new)["Ranges"])
        return {**pm.to_wire(self._map(fresh)), "Hosts": len(self._hosts)}

    async def _open_ranges(self, ref: Any, hosts: list[int]) -> None:
        """Open the changed ranges on their new hosts now, not at the next client call."""
        from .routing import spanned

        pmap = self._map(ref)
        for r in pmap.ranges:
            if r.host in hosts:
                try:
                    await self._hosts[r.host].call("stats", spanned(ref, pmap, r))
                except errors.DynamoError as error:  # the next call opens it
                    log.warning("range_open_failed", table=ref.name, host=r.host, error=error.error_type)


def _changed_hosts(old: pm.PartitionMap, new: pm.PartitionMap) -> list[int]:
    """The hosts whose range of the table differs between the two maps."""
    hosts = set(old.hosts) | set(new.hosts)
    return sorted(h for h in hosts
                  if [(r.start, r.end) for r in pm.ranges_of_host(old, h)]
                  != [(r.start, r.end) for r in pm.ranges_of_host(new, h)])
