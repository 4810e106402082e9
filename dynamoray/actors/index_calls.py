"""The engines' secondary-index calls, mixed into ``LocalEngine``, ``PartitionHost`` and
``RayEngine`` (see ``indexing.py`` for how indexes reach the partitions).

Every engine answers ``table_indexes(table, refresh=False)``: the table's
:class:`~dynamoray.core.indexes.IndexSet` (the gateway checks a Query's or Scan's ``IndexName``
against it; ``refresh`` re-reads the catalog when a cached one does not know the index or still
says it is backfilling), and ``index_backfill(table)``: whether every shard of the table's leader
has backfilled its indexes (waiting a little for it), what :class:`~.indexing.IndexChanges` waits
on before it makes a new GSI ACTIVE.
"""

from __future__ import annotations

from typing import Any

from ..core import index_tables, indexes
from . import indexing
from .indexing import IndexChanges


class LocalIndexes(IndexChanges):
    """Needs ``_catalog`` and ``_groups`` (table name -> ShardGroup) from ``LocalEngine``."""

    def _index_backfills(self) -> indexing.Backfills:
        found = self.__dict__.get("_backfills")
        if found is None:
            found = self.__dict__["_backfills"] = indexing.Backfills()
        return found

    async def table_indexes(self, table: str, refresh: bool = False) -> indexes.IndexSet:
        return indexes.index_set(self._catalog.description(table))

    async def index_backfill(self, table: str) -> bool:
        group = self._groups[table]
        return await self._index_backfills().wait(table, group.states)

    def _indexes_described(self, name: str, out: dict) -> dict:
        """DescribeTable's index entries with their live counts and sizes (and the index changes
        in progress driven, should their driver have died with another event loop)."""
        self._kick_index_changes(out)
        group = self._groups.get(name)
        return index_tables.describe_stats(out, indexing.index_stats(group.states) if group is not None else ())

    def _indexes_replaced(self, name: str, description: dict) -> None:
        """An UpdateTable recorded: the open shards adopt the new indexes, the driver finishes them."""
        group = self._groups.get(name)
        if group is not None:
            self._index_backfills().adopt(name, group.states, indexes.index_set(description))
        self._kick_index_changes(description)

    def _indexes_opened(self) -> None:
        """After a restart: finish the index changes an UpdateTable left in progress."""
        for description in list(self._catalog.tables.values()):
            self._kick_index_changes(description)

    def _indexes_dropped(self, name: str) -> None:
        self._index_backfills().forget(name)


class HostIndexes:
    """Needs ``_partition(ref)`` and ``_open`` from ``PartitionHost``."""

    def _index_backfills(self) -> indexing.Backfills:
        found = self.__dict__.get("_backfills")
        if found is None:
            found = self.__dict__["_backfills"] = indexing.Backfills()
        return found

    def _indexes_current(self, ref: Any, entry: Any) -> None:
        """Adopt the caller's index set if it is newer than the one the open shards hold (a GSI
        created or deleted since they opened): the hot path is two attribute reads."""
        if indexes.is_newer(entry.group.shards[0].pipeline.state.indexes, ref.indexes):
            self._index_backfills().adopt(ref.table_id, entry.group.states, ref.indexes)

    async def index_backfill(self, ref: Any, timeout: float = indexing.WAIT) -> bool:
        entry = await self._partition(ref)
        return await self._index_backfills().wait(ref.table_id, entry.group.states, timeout)

    async def index_pages(self, ref: Any, spec: Any) -> list:
        """A read of ``spec.index`` on the shards of the table held here, unmerged: the engine
        merges every range's pages (a table spread over hosts; ``routing.py``)."""
        entry = await self._partition(ref)
        return entry.group.index_pages(spec)


class RayIndexes(IndexChanges):
    """Needs ``_ref``, ``_refs``, ``_catalog`` and ``_on_host`` from ``RayEngine``."""

    async def table_indexes(self, table: str, refresh: bool = False) -> indexes.IndexSet:
        if refresh:
            self._refs.pop(table, None)
        return (await self._ref(table)).indexes

    async def index_backfill(self, table: str) -> bool:
        return await self._on_host(table, "index_backfill")

    async def _indexes_opened(self) -> None:
        for description in await self._catalog.call("all_tables"):
            self._kick_index_changes(description)
