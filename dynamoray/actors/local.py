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
"""

from __future__ import annotations

import asyncio
import functools
import copy
from typing import Any

from .. import logs
from ..core import catalog, errors, partition, tables
from ..core.commands import Item, Page, QuerySpec, ScanSpec, WriteOutcome
from ..events.log import EventLog, TopicExistsError, append_async
from ..events.memory import MemoryLog
from . import records
from .local_transactions import LocalTransactions
from .pipeline import BrokenPartition, WritePipeline
from .snapshots import PartitionSnapshots, SnapshotPolicy, SnapshotStore, rebuild

CATALOG_TOPIC = "dynamoray.catalog"


class LocalEngine(LocalTransactions):
    def __init__(self, log: Any | None = None, *, snapshots: SnapshotStore | None = None,
                 snapshot_policy: SnapshotPolicy | None = None) -> None:
        # partition snapshots (None: rebuild by replaying whole logs); backups read it too
        self.snapshot_store = snapshots
        self._snapshot_policy = snapshot_policy or SnapshotPolicy()
        self._snapshotters: dict[str, PartitionSnapshots] = {}
        self.replayed = 0  # log records folded by rebuilds since start (snapshots bound it)
        self._in_memory = log is None
        self._log = MemoryLog() if log is None else log
        self._catalog = catalog.CatalogState()
        self._pipelines: dict[str, WritePipeline] = {}
        self._writers: dict[str, Any] = {}
        self._catalog_writer = None
        self._catalog_lock = asyncio.Lock()

    # --- recovery ----------------------------------------------------------------------------

    async def open(self) -> None:
        """Rebuild the catalog and every table from the log (no-op in memory)."""
        if self._in_memory:
            return
        await asyncio.to_thread(self._recover)
        await self._recover_transactions()

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
            self._open_table(description, replay=True)
        self._make_coordinator()

    def _open_table(self, description: dict, replay: bool) -> None:
        schema = tables.key_schema_of(description)
        name = description["TableName"]
        topic = records.table_topic(description["TableId"])
        events = size = 0
        if replay:
            rebuilt = rebuild(self._log, topic, description["TableId"], schema, self.snapshot_store)
            state, events, size = rebuilt.state, rebuilt.replayed, rebuilt.replayed_bytes
            self.replayed += rebuilt.replayed
            logs.get("local").info("table_rebuilt", table=name, table_id=description["TableId"],
                                   snapshot_offset=rebuilt.snapshot_offset, replayed=rebuilt.replayed,
                                   items=state.item_count)
        else:
            state = partition.PartitionState(schema)
        writer = self._writers[name] = self._log.open_writer(topic, 0)
        if self._in_memory:  # an in-memory append never blocks: no thread hop
            async def append(batch: list[bytes], w=writer) -> list[int]:
                return w.append(batch)
        else:
            append = functools.partial(append_async, writer)  # no thread parked per commit
        if self.snapshot_store is not None:
            snaps = self._snapshotters[name] = PartitionSnapshots(
                self.snapshot_store, self._snapshot_policy, description["TableId"], topic, self._log,
                events=events, size=size)
            snaps.attach(state, writer)
            append = snaps.counting(append)
        self._pipelines[name] = WritePipeline(state, append, records.change_encoder(description["TableId"]),
                                              txn=records.TransactionEncoder(description["TableId"]))

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
        await asyncio.to_thread(self._log.create_topic, records.table_topic(description["TableId"]), 1)
        # open first (off the loop: a Kafka writer blocks), then make the table visible
        await asyncio.to_thread(self._open_table, description, False)
        await self._record(catalog.table_created(description))
        return await self.describe_table(name)

    async def describe_table(self, name: str) -> dict:
        out = copy.deepcopy(self._catalog.description(name))
        state = self._pipelines[name].state
        out["ItemCount"] = state.item_count
        out["TableSizeBytes"] = state.size_bytes
        return out

    async def list_tables(self) -> list[str]:
        return sorted(self._catalog.tables)

    async def replace_table(self, name: str, description: dict) -> dict:
        self._catalog.description(name)
        await self._record(catalog.table_updated(description))
        return await self.describe_table(name)

    async def delete_table(self, name: str) -> dict:
        description = await self.describe_table(name)
        await self._record(catalog.table_deleted(self._catalog.description(name)))
        self._pipelines.pop(name, None)
        self._snapshotters.pop(name, None)
        writer = self._writers.pop(name, None)
        if writer is not None:
            writer.close()
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

    # --- items -----------------------------------------------------------------------------

    def _pipeline(self, table: str) -> WritePipeline:
        pipeline = self._pipelines.get(table)
        if pipeline is None or table not in self._catalog.tables:
            raise errors.resource_not_found()
        return pipeline

    async def key_schema(self, table: str):
        return self._pipeline(table).state.schema

    async def write(self, table: str, command: Any) -> WriteOutcome:
        pipeline = self._pipeline(table)
        try:
            return await pipeline.write(command)
        except BrokenPartition:
            await self._rebuild(table)
            raise errors.internal_server_error("The write could not be made durable; it was not applied")

    async def _rebuild(self, table: str) -> None:
        """Fail-stop recovery: replace a broken partition by a replay of its log."""
        description = self._catalog.tables.get(table)
        if description is None:
            return
        writer = self._writers.pop(table, None)
        if writer is not None:
            writer.close()
        await asyncio.to_thread(self._open_table, description, True)

    async def get(self, table: str, key: Item, projection=None, consistent: bool = False) -> Item | None:
        return partition.get_item(self._pipeline(table).state, key, projection)

    async def query(self, table: str, spec: QuerySpec, consistent: bool = False) -> Page:
        return partition.query(self._pipeline(table).state, spec)

    async def scan(self, table: str, spec: ScanSpec, consistent: bool = False) -> Page:
        return partition.scan(self._pipeline(table).state, spec)

    async def close(self) -> None:
        if self._coordinator is not None:
            self._coordinator.close()
        for writer in self._writers.values():
            writer.close()
        if self._catalog_writer is not None:
            self._catalog_writer.close()
        self._log.close()
