"""The in-process engine: the catalog and every table partition in this process.

It implements the engine protocol the gateway calls, over the pure core (``core.catalog``,
``core.partition``).  With an :class:`~dynamoray.events.log.EventLog` it is durable: the catalog
has its own topic, each table one topic; a write is acknowledged only once its event is durable
(pipelined with group commit, see ``pipeline.py``), and :meth:`open` rebuilds everything by
replaying the log.  Without a log it writes to an in-process :class:`MemoryLog` (unit and gateway
tests): nothing survives the process, but everything that reads the log (streams) works the same.

Besides the table and item calls, the engine protocol has ``stream_log()``: the
:class:`EventLog` DynamoDB Streams are read from.  Each table's changes are in topic
``records.table_topic(description["TableId"])``, one stream shard per partition (``dynamoray/events/streams.py``).

Shards: a new table gets ``shards`` log partitions (``tables.SHARDS`` in its description); each
open table is a :class:`~.shards.ShardGroup` (one state and write pipeline per shard), the same
class the Ray engine's hosts use.
"""

from __future__ import annotations

import asyncio
import functools
import copy
from typing import Any

from .. import logs
from ..core import catalog, errors, global_tables, indexes, shards as core_shards, tables, ttl, ttl_index
from ..core.commands import Item, Page, QuerySpec, ScanSpec, WriteOutcome
from ..events.encryption import KeyInaccessible
from ..events.log import EventLog, TopicExistsError, append_async
from ..events.memory import MemoryLog
from . import indexing, records
from .index_calls import LocalIndexes
from .local_transactions import LocalTransactions
from .locked_tables import LockedTables, own_key
from .pipeline import BrokenPartition
from .shards import ShardGroup, open_shards
from .snapshots import SnapshotPolicy, SnapshotStore

CATALOG_TOPIC = "dynamoray.catalog"


class LocalEngine(LocalTransactions, LocalIndexes):
    def __init__(self, log: Any | None = None, *, snapshots: SnapshotStore | None = None,
                 snapshot_policy: SnapshotPolicy | None = None, shards: int = core_shards.DEFAULT_SHARDS) -> None:
        # partition snapshots (None: rebuild by replaying whole logs); backups read it too
        self.snapshot_store = snapshots
        self._snapshot_policy = snapshot_policy or SnapshotPolicy()
        self.shards = core_shards.check_count(shards)  # of each new table
        self.replayed = 0  # log records folded by rebuilds since start (snapshots bound it)
        self._in_memory = log is None
        self._log = MemoryLog() if log is None else log
        self._catalog = catalog.CatalogState()
        self._groups: dict[str, ShardGroup] = {}  # table name -> its open shards
        self._catalog_writer = None
        self._catalog_lock = asyncio.Lock()
        self._locked = LockedTables()  # tables whose KMS key was unusable when opened (locked_tables.py)

    # --- recovery ----------------------------------------------------------------------------

    async def open(self) -> None:
        """Rebuild the catalog and every table from the log (no-op in memory)."""
        if self._in_memory:
            return
        await asyncio.to_thread(self._recover)
        await self._recover_transactions()
        self._indexes_opened()  # secondary-index changes left in progress (index_calls.py)

    async def stream_log(self) -> EventLog:
        """The log DynamoDB Streams read: this engine's own (one topic per table)."""
        return self._log

    def _recover(self) -> None:
        log = self._log
        try:
            log.create_topic(CATALOG_TOPIC, 1)
        except TopicExistsError:  # a restart: recover from it
            pass
        for value in records.read_all(log, CATALOG_TOPIC):
            catalog.evolve(self._catalog, records.decode_catalog(value))
        self._catalog_writer = log.open_writer(CATALOG_TOPIC, 0)
        for name, description in self._catalog.tables.items():
            try:
                self._open_table(description, replay=True)
            except KeyInaccessible as error:  # its KMS key is unusable: locked, not a failed start
                if not own_key(description, error):
                    raise
                self._locked.lock(name, error)
        self._make_coordinator()

    def _open_table(self, description: dict, replay: bool) -> None:
        """Open every shard of a table (blocking: a worker thread); a new one starts empty."""
        schema = tables.key_schema_of(description)
        name, table_id = description["TableName"], description["TableId"]
        topic = records.table_topic(table_id)
        count = None if replay else tables.shard_count(description)  # a replay trusts the topic
        opened = open_shards(self._log, topic, table_id, schema, self.snapshot_store, replay=replay, count=count)
        group = ShardGroup.build(table_id, topic, schema, self._log, opened, self._appender,
                                 self.snapshot_store, self._snapshot_policy)
        indexing.adopt_complete(group.states, indexes.index_set(description))  # built from the items
        attribute = ttl.attribute_of(self._catalog.ttl.get(name))
        if attribute is not None:  # TTL on: the expiry index now, not on the first sweep (core/ttl_index.py)
            for state in group.states:
                ttl_index.adopt(state, attribute)
        group.set_versioned(global_tables.has_replicas(description))  # global tables: versioned writes
        if replay:
            replayed = sum(shard.rebuilt.replayed for shard in opened)
            self.replayed += replayed
            logs.get("local").info("table_rebuilt", table=name, table_id=table_id, shards=group.count,
                                   snapshot_offsets=[shard.rebuilt.snapshot_offset for shard in opened],
                                   replayed=replayed, items=group.stats()[0])
        self._groups[name] = group

    def _appender(self, writer: Any) -> Any:
        """How a shard's pipeline appends a batch with ``writer``."""
        if self._in_memory:  # an in-memory append never blocks: no thread hop
            async def append(batch: list[bytes]) -> list[int]:
                return writer.append(batch)
            return append
        return functools.partial(append_async, writer)  # no thread parked per commit

    async def _record(self, event: Any) -> None:
        """Make a catalog event durable, then fold it in."""
        async with self._catalog_lock:
            if self._catalog_writer is not None:
                await asyncio.to_thread(self._catalog_writer.append, [records.encode_catalog(event)])
            catalog.evolve(self._catalog, event)

    # --- catalog ---------------------------------------------------------------------------

    async def create_table(self, description: dict) -> dict:
        name = description["TableName"]
        if name in self._catalog.tables:
            raise errors.table_already_exists(name)
        description = tables.with_shards(description, self.shards)
        await asyncio.to_thread(self._log.create_topic, records.table_topic(description["TableId"]),
                                tables.shard_count(description))
        # open first (off the loop: a Kafka writer blocks), then make the table visible
        await asyncio.to_thread(self._open_table, description, False)
        await self._record(catalog.table_created(description))
        return await self.describe_table(name)

    async def describe_table(self, name: str) -> dict:
        out = copy.deepcopy(self._catalog.description(name))
        group = self._groups.get(name)  # none while the table is locked (locked_tables.py)
        out["ItemCount"], out["TableSizeBytes"] = group.stats() if group is not None else (0, 0)
        return self._indexes_described(name, out)

    async def list_tables(self) -> list[str]:
        return sorted(self._catalog.tables)

    async def replace_table(self, name: str, description: dict) -> dict:
        self._catalog.description(name)
        await self._record(catalog.table_updated(description))
        self._indexes_replaced(name, description)
        if name in self._groups:  # global tables: versioned writes while it has replicas
            self._groups[name].set_versioned(global_tables.has_replicas(description))
        return await self.describe_table(name)

    async def delete_table(self, name: str) -> dict:
        description = await self.describe_table(name)
        await self._record(catalog.table_deleted(self._catalog.description(name)))
        group = self._groups.pop(name, None)
        self._indexes_dropped(name)
        if group is not None:
            group.close(lambda: None)
            await group.settled()  # no snapshot file written after the drop below
        if group is not None or name in self._locked:
            self._locked.unlock(name)
            await asyncio.to_thread(self._log.delete_topic, records.table_topic(description["TableId"]))
        if self.snapshot_store is not None:
            await asyncio.to_thread(self.snapshot_store.drop, description["TableId"])
        description["TableStatus"] = "DELETING"
        return description

    async def get_tags(self, name: str) -> dict[str, str]:
        self._catalog.description(name)
        return dict(self._catalog.tags.get(name, {}))

    async def set_tags(self, name: str, tags: dict[str, str]) -> None:
        await self._record(catalog.tags_changed(self._catalog.description(name), tags))

    async def get_ttl(self, name: str) -> dict | None:
        self._catalog.description(name)
        return self._catalog.ttl.get(name)

    async def set_ttl(self, name: str, spec: dict) -> None:
        self._catalog.description(name)
        await self._record(catalog.time_to_live_changed(self._catalog.description(name), spec))

    async def ttl_settings(self) -> dict[str, dict]:
        """Every table's TTL setting, by table name (what the TTL sweeper reads each round)."""
        return {name: dict(spec) for name, spec in self._catalog.ttl.items() if name in self._catalog.tables}

    # --- items -----------------------------------------------------------------------------

    def _group(self, table: str) -> ShardGroup:
        group = self._groups.get(table)
        if group is None or table not in self._catalog.tables:
            if table in self._locked and table in self._catalog.tables:  # a 400 until its key is usable
                self._locked.retry(table, functools.partial(self._reopen_locked, table))
                raise self._locked.refusal(table)
            raise errors.resource_not_found()
        return group

    async def _reopen_locked(self, table: str) -> None:
        await asyncio.to_thread(self._open_table, self._catalog.description(table), True)

    async def key_schema(self, table: str):
        return self._group(table).schema

    async def write(self, table: str, command: Any) -> WriteOutcome:
        group = self._group(table)
        try:
            loop = asyncio.get_running_loop()
            if self._wrote_now is not loop:  # one write a loop turn is finished at once (decided, durable, folded)
                outcome = group.write_now(command)
                if outcome is not None:
                    self._wrote_now = loop
                    loop.call_soon(self._turned, loop)
                    return outcome
            return await group.write(command)  # the others of the turn: pipelined, committed together
        except BrokenPartition as error:
            await self._rebuild(table)
            raise errors.internal_server_error("The write could not be made durable; it was not applied") from error

    # the loop on whose current turn a write was finished at once (write); a loop closed before its
    # turn ended leaves it set, which a write on another loop ignores
    _wrote_now: asyncio.AbstractEventLoop | None = None

    def _turned(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._wrote_now is loop:
            self._wrote_now = None

    async def _rebuild(self, table: str) -> None:
        """Fail-stop recovery: replace a broken table (all its shards) by a replay of its log."""
        description = self._catalog.tables.get(table)
        if description is None:
            return
        group = self._groups.pop(table, None)
        if group is not None:
            group.close(lambda: None)
        await asyncio.to_thread(self._open_table, description, True)

    async def get(self, table: str, key: Item, projection=None, consistent: bool = False) -> Item | None:
        return self._group(table).get(key, projection)

    async def query(self, table: str, spec: QuerySpec, consistent: bool = False) -> Page:
        return self._group(table).query(spec)

    async def scan(self, table: str, spec: ScanSpec, consistent: bool = False) -> Page:
        return self._group(table).scan(spec)

    async def cut(self, table: str) -> list[int]:
        """The applied offset of each shard of ``table``, taken in one step (a backup's cut)."""
        return self._group(table).cut()

    async def close(self) -> None:
        self._stop_index_changes()
        self._locked.cancel()
        if self._coordinator is not None:
            self._coordinator.close()
        for group in self._groups.values():
            group.close(lambda: None)
        if self._catalog_writer is not None:
            self._catalog_writer.close()
        self._log.close()
