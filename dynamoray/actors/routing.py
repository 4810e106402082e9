"""Routing a table's calls by its partition map (shards, step 2): the gateway's side.

A table's shards are cut into ranges, each on one partition host (``core/partition_map.py``; the
catalog keeps the map as the internal ``_Partitions``).  :class:`RangeRouting`, mixed into
``RayEngine``, sends every call to the host of the range it concerns:

- a write, a GetItem, a Query (one partition key: one shard) go to the host of that shard, with
  the range (``TableRef.span``) and the map version;
- a Scan page is chained over the ranges in shard order (``shards.range_part`` / ``joined``): the
  same page, Limit, 1 MB budget and LastEvaluatedKey as one host holding every shard;
- a secondary-index read: a Query on an LSI goes to its partition key's shard; a GSI Query and
  an index Scan gather every range's unmerged shard pages (``index_pages``) and merge them
  (``core/index_reads.merged``), the page a single host gives;
- DescribeTable's stats are summed over the hosts of the map, a backup's cut is every range's
  offsets in shard order, DeleteTable drops the table on every host of the map.

A table whose map has one range is called exactly as before ``span`` existed (``span`` None).
A host answering ``errors.partition_moved`` (the range moved, or the call came by an older map)
applied nothing: the engine re-reads the table's description from the catalog and retries, a
bounded number of times with a growing pause (a move hands a range over in well under a
second), then answers 503 ServiceUnavailable.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import uuid
from typing import Any

from ..core import errors, index_reads, partition_map, shards as core_shards, tables
from ..core.commands import Page, QuerySpec
from ..core.errors import DynamoError
from .host import TableRef, TableStats

MOVED_RETRIES = 10
MOVED_PAUSE = 0.02  # seconds, doubled up to MOVED_PAUSE_MAX: about 3 s in all
MOVED_PAUSE_MAX = 0.5
SPREAD_ACROSS = frozenset({"stats", "cut", "index_backfill", "shard_loads"})  # every range's host answers


def host_index(table_id: str, hosts: int) -> int:
    """The host a table's (first) range lives on until it is moved: a stable hash of its id (the
    same in every process and run)."""
    digest = hashlib.blake2b(table_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % hosts


def map_of(description: dict, hosts: int) -> partition_map.PartitionMap:
    """A table's partition map on a pool of ``hosts`` hosts (the initial one on its hashed host
    when nothing was ever split or moved)."""
    pmap = partition_map.of_description(description, tables.shard_count(description),
                                        host_index(description["TableId"], hosts))
    return partition_map.with_host_count(pmap, hosts)


def spanned(ref: TableRef, pmap: partition_map.PartitionMap, r: partition_map.Range) -> TableRef:
    """``ref`` as the host of range ``r`` must be called: its span (None while the map has a
    single range, so the host holds every shard as before) and the map's version."""
    span = None if len(pmap.ranges) == 1 else (r.start, r.end)
    if ref.span == span and ref.map_version == pmap.version:
        return ref
    return dataclasses.replace(ref, span=span, map_version=pmap.version)


def call_shard(ref: TableRef, method: str, args: tuple) -> int | None:
    """The shard an item call concerns (None: it concerns every range)."""
    if method == "write":
        return core_shards.command_shard(ref.schema, args[0], ref.shards)
    if method == "get":
        return core_shards.shard_of(ref.schema, args[0], ref.shards)
    if method == "query" and args[0].index is None:
        return core_shards.value_shard(args[0].hash_value, ref.shards)
    return None


class RangeRouting:
    """Needs ``_hosts``, ``_maps`` (table id -> PartitionMap), ``_refs`` and ``_ref(name)`` from
    ``RayEngine``."""

    _maps: dict

    def _map(self, ref: TableRef) -> partition_map.PartitionMap:
        found = self._maps.get(ref.table_id)
        if found is None:
            found = partition_map.initial(ref.shards, host_index(ref.table_id, len(self._hosts)))
        return found

    def partition_counts(self) -> dict[str, int]:
        """The number of ranges of every table this gateway routes (``/metrics``)."""
        return {name: len(self._map(ref).ranges) for name, ref in self._refs.items()}

    def spread(self, ref: TableRef) -> bool:
        """Whether the table's shards are on more than one range (hence maybe several hosts)."""
        return len(self._map(ref).ranges) > 1

    async def _routed(self, ref: TableRef, method: str, args: tuple) -> Any:
        pmap = self._map(ref)
        if len(pmap.ranges) == 1:
            return await self._hosts[pmap.ranges[0].host].call(method, spanned(ref, pmap, pmap.ranges[0]), *args)
        if method in ("query", "scan") and args[0].index is not None:
            return await self._index_read(ref, pmap, args[0])
        if method == "scan":
            return await self._scan_ranges(ref, pmap, *args)
        if method == "cut":
            return await self._cut_ranges(ref, pmap)
        if method in SPREAD_ACROSS:
            answers = [await self._hosts[r.host].call(method, spanned(ref, pmap, r), *args) for r in pmap.ranges]
            return _combined(method, answers)
        shard = call_shard(ref, method, args)
        if shard is None:
            raise errors.internal_server_error(f"{method} concerns no shard of the table")
        r = partition_map.range_of(pmap, shard)
        return await self._hosts[r.host].call(method, spanned(ref, pmap, r), *args)

    async def _scan_ranges(self, ref: TableRef, pmap: partition_map.PartitionMap, spec: Any,
                           budget: int | None = None) -> Page:
        """One Scan page chained over the ranges, from the range of the start key's shard."""
        start = spec.exclusive_start
        first = 0 if start is None else core_shards.shard_of(ref.schema, start, ref.shards)
        pages: list[Page] = []
        for r in pmap.ranges:
            if r.end <= first:
                continue
            part, left = core_shards.range_part(spec, pages, first=not pages)
            pages.append(await self._hosts[r.host].call("scan", spanned(ref, pmap, r), part, left))
            if pages[-1].last_evaluated_key is not None:
                break
        return core_shards.joined(pages)

    async def _index_read(self, ref: TableRef, pmap: partition_map.PartitionMap, spec: Any) -> Page:
        """A Query or Scan of a secondary index: a Query on an LSI goes to its partition key's
        shard (an LSI lives with its shard); a GSI query and an index scan gather every range's
        unmerged shard pages and merge them here, as one host merges its shards."""
        index = ref.indexes.get(spec.index)
        if index is None:
            raise errors.table_has_no_index(spec.index)
        if isinstance(spec, QuerySpec) and not index.is_global:
            r = partition_map.range_of(pmap, core_shards.value_shard(spec.hash_value, ref.shards))
            return await self._hosts[r.host].call("query", spanned(ref, pmap, r), spec)
        parts = await asyncio.gather(*(self._hosts[r.host].call("index_pages", spanned(ref, pmap, r), spec)
                                       for r in pmap.ranges))
        return index_reads.merged([page for part in parts for page in part], spec, index)

    async def _cut_ranges(self, ref: TableRef, pmap: partition_map.PartitionMap) -> list[int]:
        """A backup's cut over hosts: hold commits on every host of the table, read each range's
        offsets, let commits go (``host_transactions.hold_commits`` says why it is consistent)."""
        token, hosts = uuid.uuid4().hex, pmap.hosts
        held = []
        try:
            for host in hosts:
                await self._hosts[host].call("hold_commits", ref.table_id, token)
                held.append(host)
            answers = [await self._hosts[r.host].call("cut", spanned(ref, pmap, r)) for r in pmap.ranges]
        finally:
            for host in held:
                try:
                    await self._hosts[host].call("release_commits", ref.table_id, token)
                except DynamoError:  # its lease lets the commits go
                    pass
        return _combined("cut", answers)

    async def _routed_retrying(self, name: str, method: str, args: tuple) -> Any:
        """``_routed`` on the table's current ref, re-reading the catalog after a "moved" answer
        (bounded) or a ResourceNotFound from a table re-created under another id (once)."""
        pause, recreated = MOVED_PAUSE, False
        for _ in range(MOVED_RETRIES):
            ref = await self._ref(name)
            try:
                return await self._routed(ref, method, args)
            except DynamoError as error:
                if errors.is_partition_moved(error):
                    self._evict(name, ref)
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, MOVED_PAUSE_MAX)
                    continue
                if error.error_type != "ResourceNotFoundException" or recreated:
                    raise
                self._evict(name, ref)
                recreated = True
                if await self._ref(name) == ref:
                    raise
        raise errors.service_unavailable()

    def _evict(self, name: str, ref: TableRef) -> None:
        if self._refs.get(name) == ref:
            del self._refs[name]

    async def _on_every_host(self, ref: TableRef, method: str, *args: Any) -> list[Any]:
        """``method`` on the host of every range of the map, the first range's host last (a drop:
        the topic goes with the last one)."""
        pmap = self._map(ref)
        return [await self._hosts[r.host].call(method, spanned(ref, pmap, r), *args) for r in reversed(pmap.ranges)]


def _combined(method: str, answers: list[Any]) -> Any:
    if method == "stats":
        return TableStats(sum(s.item_count for s in answers), sum(s.size_bytes for s in answers),
                          tuple(i for s in answers for i in s.indexes))
    if method in ("cut", "shard_loads"):
        return [offset for offsets in answers for offset in offsets]
    return all(answers)  # index_backfill: done on every range
