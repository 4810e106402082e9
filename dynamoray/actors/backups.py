"""On-demand backups and point-in-time recovery, over any engine (``BackupService``).

Both fall out of event sourcing (issue 7):

- **A backup is a consistent cut.**  CreateBackup asks the engine for the cut: the applied offset
  of every shard of the table, read in one step by the one actor that owns them all
  (``ShardGroup.cut``).  Then, in a process of its own that opens the log itself (so off the GIL
  the engine needs: ``backup_rebuild.py``) and without touching the live partition (writes go on),
  it rebuilds each shard as of its cut from the newest snapshot at or before it plus the log up to
  it (``snapshots.rebuild``), and writes the items of every shard to one backup file (the
  snapshot format, ``core.snapshot``).  The file is self-contained: the backup outlives the table,
  its log and its snapshots.
- **PITR is a replay up to an instant.**  RestoreTableToPointInTime maps the instant to an offset
  of each shard with the records' own commit timestamps (``EventLog.offset_for_time``) and rebuilds
  each shard up to it, in the same worker process as a backup (``backup_rebuild.ItemsJob``).
- **Transactions are all or nothing.**  A cut may fall between the changes a committed transaction
  makes, in one shard or across the shards of the table: the table as of a cut holds all of it or
  none (``cuts.py``).
- **A restore** creates the target table (CREATING) at once, loads the items through the engine's
  ordinary write path in the background, logging ``restore_progress`` lines (items, percent,
  items/s), then marks it ACTIVE.  Every restored item is in the new table's own log.

The backup catalog (backups, PITR settings) is event-sourced on the ``dynamoray.backups`` topic
of the engine's log; this service is its single writer (one gateway process per data directory).
Retention: backup files are kept until DeleteBackup; deleting a table with PITR enabled first
makes a SYSTEM backup of it, kept for the recovery period.  Table logs are truncated to the recovery
window by ``retention.py``.  Backup files go next to the snapshots: ``<data>/backups``, or the
bucket of an ``object_store.S3SnapshotStore``.  Each restore's progress is on ``board``
(``restores.py``), for the admin API.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
import weakref
from pathlib import Path
from typing import Any, Callable, Iterable

from .. import logs
from ..core import backups as core, errors, internal_tables, snapshot, tables
from ..core.commands import PutCommand
from ..events.log import EventLog, FencedError, TopicExistsError
from ..schemas.events import BackupCreated, BackupDeleted, ContinuousBackupsChanged
from . import backup_rebuild, records
from .cuts import items_of, offsets_at
from .records import table_topic
from .restores import RestoreBoard
from .snapshot_store import write_atomically
from .snapshots import SnapshotStore, gc_paused

log = logs.get("backups")

BACKUPS_TOPIC = "dynamoray.backups"
RESTORE_CONCURRENCY = 128  # item writes in flight while a restore loads a table
PROGRESS_EVERY = 1.0  # seconds between restore_progress log lines
BACKUP_CUT = "_BackupCut"  # in a BackupCreated's description: the cut, one offset per shard


# --- backup files -------------------------------------------------------------------------------


class DirectoryBackupFiles:
    """Backup files in a directory, written like snapshots (tmp, fsync, rename, fsync the dir)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def write(self, name: str, chunks: Iterable[bytes]) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomically(self.root / f"{name}.{os.getpid()}.tmp", self.root / name, chunks)
        return name

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def delete(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)


class MemoryBackupFiles:
    """Backup files in memory (the in-memory engine: nothing survives the process anyway)."""

    def __init__(self) -> None:
        self._files: dict[str, bytes] = {}

    def write(self, name: str, chunks: Iterable[bytes]) -> str:
        self._files[name] = b"".join(chunks)
        return name

    def read(self, name: str) -> bytes:
        return self._files[name]

    def delete(self, name: str) -> None:
        self._files.pop(name, None)


# --- the service ----------------------------------------------------------------------------------


class BackupService:
    def __init__(self, engine: Any, log_: EventLog, files: Any, snapshots: SnapshotStore | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self._log = log_
        self._files = files
        self._snapshots = snapshots
        self._clock = clock
        self._catalog = core.BackupCatalog()
        self._writer: Any = None
        self._lock = asyncio.Lock()
        self._opened = False
        self.restores: dict[str, asyncio.Task] = {}  # target table -> its loading task
        self.board = RestoreBoard(clock)  # every restore's progress (the admin API's DescribeRestore)

    async def open(self) -> None:
        if not self._opened:
            async with self._lock:
                if not self._opened:
                    await asyncio.to_thread(self._recover)
                    self._opened = True

    def _recover(self) -> None:
        try:
            self._log.create_topic(BACKUPS_TOPIC, 1)
        except TopicExistsError:
            pass
        self._writer = self._log.open_writer(BACKUPS_TOPIC, 0)
        for value in records.read_all(self._log, BACKUPS_TOPIC):
            core.evolve(self._catalog, records.CODEC.decode(value))

    async def _record(self, event: Any) -> None:
        async with self._lock:
            try:
                await asyncio.to_thread(self._writer.append, [records.CODEC.encode(event)])
            except FencedError:  # another gateway process (``serve --gateways N``) wrote: take the writer
                await asyncio.to_thread(self._reopen)  # back, with its records folded in
                await asyncio.to_thread(self._writer.append, [records.CODEC.encode(event)])
            core.evolve(self._catalog, event)

    def _reopen(self) -> None:
        fenced, self._catalog = self._writer, core.BackupCatalog()
        self._recover()
        fenced.close()

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def _table(self, name: str) -> dict:
        try:
            return await self.engine.describe_table(name)
        except errors.DynamoError as error:
            if error.error_type == "ResourceNotFoundException":
                raise errors.backup_table_not_found(name) from None
            raise

    # --- on-demand backups ----------------------------------------------------------------------

    async def create_backup(self, table: str, name: str, backup_type: str = core.USER,
                            expires_ms: int | None = None) -> BackupCreated:
        source = await self._table(table)
        if source.get("TableStatus") != "ACTIVE":
            raise errors.restore_in_progress(table)
        table_id, schema = source["TableId"], tables.key_schema_of(source)
        cut = await self._cut(table, table_id)
        created = self._now_ms()
        arn = core.backup_arn(source["TableArn"], created, uuid.uuid4().hex[:8])
        location = arn.rpartition("/backup/")[2] + ".snap"

        # rebuilt and written by a process of its own, off this process's GIL (backup_rebuild.py)
        job = backup_rebuild.BackupJob(table_id, schema, tuple(cut), created, location)
        count, size = await backup_rebuild.run(self._log, self._snapshots, self._files, job)
        kept = {**tables.public_description(source), tables.SHARDS: tables.shard_count(source), BACKUP_CUT: cut}
        event = BackupCreated(arn, name, backup_type, table_id, table, created, cut[0], count, size, location,
                              kept, expires_ms)
        await self._record(event)
        log.info("backup_created", backup_arn=arn, table=table, offsets=cut, items=count)
        return event

    async def _cut(self, table: str, table_id: str) -> list[int]:
        """The backup's cut: one offset per shard, taken by the actor that owns the shards (the log's
        end offsets for an engine that cannot)."""
        cut = getattr(self.engine, "cut", None)
        if cut is not None:
            return list(await cut(table))
        topic = table_topic(table_id)
        return await asyncio.to_thread(
            lambda: [self._log.end_offset(topic, s) - 1 for s in range(self._log.partition_count(topic))])

    def backup(self, arn: str) -> BackupCreated:
        found = self._catalog.backup(arn)
        if core.expired(found, self._now_ms()):
            raise errors.backup_not_found(arn)
        return found

    def list_backups(self, request: dict) -> tuple[list[dict], str | None]:
        return core.list_backups(self._catalog, request, self._now_ms())

    async def delete_backup(self, arn: str) -> BackupCreated:
        found = self.backup(arn)
        await self._record(BackupDeleted(arn))
        await asyncio.to_thread(self._files.delete, found.location)
        return found

    async def restore_from_backup(self, arn: str, request: dict, target_arn: str) -> dict:
        found = self.backup(arn)
        summary = core.restore_summary(restore_time=found.created / 1000, in_progress=True, backup_arn=arn,
                                       table_arn=found.description.get("TableArn"))

        def load() -> list[dict]:
            data = self._files.read(found.location)
            with gc_paused():
                return items_of(snapshot.decode(data, table_id=found.table_id).state)

        return await self._restore(found.description, request, target_arn, summary, load)

    # --- point-in-time recovery -----------------------------------------------------------------

    async def update_continuous(self, table: str, spec: dict) -> dict:
        source = await self._table(table)
        new = core.updated_pitr(self._catalog.pitr.get(source["TableId"]), spec, self._clock())
        await self._record(ContinuousBackupsChanged(source["TableId"], table, new))
        return core.continuous_description(new, self._clock())

    def pitr_spec(self, table_id: str) -> dict | None:
        """The table's point-in-time recovery setting (log retention keeps its window)."""
        return self._catalog.pitr.get(table_id)

    async def describe_continuous(self, table: str) -> dict:
        source = await self._table(table)
        return core.continuous_description(self._catalog.pitr.get(source["TableId"]), self._clock())

    async def restore_to_point_in_time(self, table: str, request: dict, target_arn: str) -> dict:
        source = await self._table(table)
        spec = self._catalog.pitr.get(source["TableId"])
        when = core.restore_time(spec, table, request, self._clock())
        table_id, schema = source["TableId"], tables.key_schema_of(source)
        summary = core.restore_summary(restore_time=when, in_progress=True, table_arn=source["TableArn"])

        # read now (the source may change or go meanwhile), rebuilt by the worker process (backup_rebuild.py)
        cut = await asyncio.to_thread(offsets_at, self._log, table_id, when)
        job = backup_rebuild.ItemsJob(table_id, schema, tuple(cut))
        items = await backup_rebuild.run(self._log, self._snapshots, None, job)
        kept = {**tables.public_description(source), tables.SHARDS: tables.shard_count(source)}
        return await self._restore(kept, request, target_arn, summary, lambda: items)

    async def before_delete_table(self, table: str) -> None:
        """A table with PITR enabled leaves a SYSTEM backup, kept for its recovery period."""
        source = await self.engine.describe_table(table)
        spec = self._catalog.pitr.get(source["TableId"])
        if core.enabled(spec):
            expires = self._now_ms() + int(spec["RecoveryPeriodInDays"] * core.DAY * 1000)
            await self.create_backup(table, f"{table}$DeletedTableBackup", core.SYSTEM, expires)

    # --- what table forks use (actors/forks.py, a dynamoray extension) ---------------------------

    @property
    def log(self) -> EventLog:
        return self._log

    @property
    def snapshots(self) -> SnapshotStore | None:
        return self._snapshots

    def now(self) -> float:
        return self._clock()

    async def source_table(self, name: str) -> dict:
        return await self._table(name)

    async def current_cut(self, table: str, table_id: str) -> list[int]:
        return await self._cut(table, table_id)

    async def restore_into(self, source: dict, request: dict, target_arn: str, summary: dict,
                           load: Callable[[], list[dict]]) -> dict:
        """A new table (``request["TargetTableName"]``) like ``source``, CREATING until ``load``'s
        items are written in the background (what every restore does)."""
        return await self._restore(source, request, target_arn, summary, load)

    # --- restores -------------------------------------------------------------------------------

    async def _restore(self, source: dict, request: dict, target_arn: str, summary: dict,
                       load: Callable[[], list[dict]]) -> dict:
        name = request["TargetTableName"]
        if internal_tables.is_internal(name):  # reserved: the server's own table, refused like CreateTable
            raise errors.table_already_exists(name)
        if name in await self.engine.list_tables():
            raise errors.restore_target_exists(name)
        description = core.restored_description(source, request, name=name, arn=target_arn,
                                                table_id=str(uuid.uuid4()), now=self._clock(),
                                                restore_summary=summary)
        try:
            created = await self.engine.create_table(description)
        except errors.DynamoError as error:
            if error.error_type == "ResourceInUseException":
                raise errors.restore_target_exists(name) from None
            raise
        self.board.started(name, summary.get("SourceBackupArn") or summary.get("SourceTableArn") or "",
                           summary["RestoreDateTime"])
        task = asyncio.get_running_loop().create_task(self._load(description, load))
        self.restores[name] = task
        task.add_done_callback(lambda _t: self.restores.pop(name, None))
        return created

    async def _load(self, description: dict, load: Callable[[], list[dict]]) -> None:
        name = description["TableName"]
        try:
            items = await asyncio.to_thread(load)
            await self._write_items(name, items)
            done = dict(description, TableStatus="ACTIVE",
                        RestoreSummary={**description["RestoreSummary"], "RestoreInProgress": False})
            await self.engine.replace_table(name, done)
            self.board.finished(name)
            log.info("restore_finished", table=name, items=len(items))
        except Exception as error:  # noqa: BLE001 - a background task: the log is where it is seen
            self.board.failed(name, repr(error))
            log.error("restore_failed", table=name, error=repr(error))

    async def _write_items(self, name: str, items: list[dict]) -> None:
        total, done = len(items), 0
        started = last = self._clock()
        self.board.writing(name, total)
        for start in range(0, total, RESTORE_CONCURRENCY):
            chunk = items[start:start + RESTORE_CONCURRENCY]
            await asyncio.gather(*(self.engine.write(name, PutCommand(item)) for item in chunk))
            done += len(chunk)
            self.board.advanced(name, done)
            now = self._clock()
            if now - last >= PROGRESS_EVERY or done == total:
                last = now
                log.info("restore_progress", table=name, items=done, total=total,
                         percent=round(100.0 * done / total, 1), items_per_s=round(done / max(now - started, 1e-6)))


# --- one service per engine -----------------------------------------------------------------------

_SERVICES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def service_for(engine: Any) -> BackupService:
    """The engine's backup service: backup files next to its snapshots (``<data>/backups``), or in
    memory for an engine without a snapshot store."""
    service = _SERVICES.get(engine)
    if service is None:
        log_ = await engine.stream_log()
        store = getattr(engine, "snapshot_store", None)
        if hasattr(store, "backup_files"):  # an object store's backups sit next to its snapshots
            files = store.backup_files()
        else:
            files = DirectoryBackupFiles(store.root.parent / "backups") if store is not None else MemoryBackupFiles()
        if getattr(store, "cipher", None) is not None:  # encryption at rest: sealed like the snapshots
            from ..events.encryption import EncryptedFiles

            files = EncryptedFiles(files, store.cipher)
        knobs = getattr(engine, "test_knobs", None)  # a controllable clock drives the PITR window (gateway/knobs.py)
        service = _SERVICES.setdefault(engine, BackupService(engine, log_, files, store,
                                                             clock=time.time if knobs is None else knobs.clock))
    await service.open()
    return service
