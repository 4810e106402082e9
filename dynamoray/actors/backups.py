"""On-demand backups and point-in-time recovery, over any engine (``BackupService``).

Both fall out of event sourcing (issue 7):

- **A backup is a consistent cut.**  CreateBackup takes the table's log end as the cut, then, on a
  worker thread and without touching the live partition (writes go on), rebuilds the table as of
  the cut from the newest snapshot at or before it plus the log up to it (``snapshots.rebuild``),
  and writes those items to a backup file (the snapshot format, ``core.snapshot``).  The file is
  self-contained: the backup outlives the table, its log and its snapshots.
- **PITR is a replay up to an instant.**  RestoreTableToPointInTime maps the instant to an offset
  with the records' own commit timestamps (``EventLog.offset_for_time``) and rebuilds up to it.
- **Transactions are all or nothing.**  A cut may fall between the changes a committed transaction
  makes to one partition; since a partition applies them only after the COMMIT decision, a cut that
  holds some of them completes the rest (``complete_commits``), and one that holds none has none.
- **A restore** creates the target table (CREATING) at once, loads the items through the engine's
  ordinary write path in the background, logging ``restore_progress`` lines (items, percent,
  items/s), then marks it ACTIVE.  Every restored item is in the new table's own log.

The backup catalog (backups, PITR settings) is event-sourced on the ``dynamoray.backups`` topic
of the engine's log; this service is its single writer (one gateway process per data directory).
Retention: backup files are kept until DeleteBackup; deleting a table with PITR enabled first
makes a SYSTEM backup of it, kept for the recovery period.  Table logs are never truncated.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
import uuid
import weakref
from pathlib import Path
from typing import Any, Callable, Iterable

from .. import logs
from ..core import backups as core, errors, partition, snapshot, tables
from ..core.commands import PutCommand
from ..events.log import EventLog, TopicExistsError
from ..schemas.events import BackupCreated, BackupDeleted, ContinuousBackupsChanged, TransactionPrepared
from . import records
from .records import table_topic
from .snapshots import SnapshotStore, _fsync_dir, gc_paused, rebuild

log = logs.get("backups")

BACKUPS_TOPIC = "dynamoray.backups"
RESTORE_CONCURRENCY = 128  # item writes in flight while a restore loads a table
PROGRESS_EVERY = 1.0  # seconds between restore_progress log lines


# --- backup files -------------------------------------------------------------------------------


class DirectoryBackupFiles:
    """Backup files in a directory, written like snapshots (tmp, fsync, rename, fsync the dir)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def write(self, name: str, chunks: Iterable[bytes]) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f"{name}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.root / name)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(self.root)
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


# --- a table as of an offset ----------------------------------------------------------------------


def complete_commits(log_: EventLog, topic: str, state: partition.PartitionState) -> int:
    """Apply the rest of every transaction the state holds part of (see the module docstring);
    returns how many it completed.  The state's locks are left as they are: only items are used."""
    completed = 0
    for prepared in list(getattr(state, "prepared", {}).values()):
        if prepared.offset < 0:
            continue
        found = log_.read(topic, 0, prepared.offset, 1)
        event = records.CODEC.decode(found[0].value) if found else None
        if not isinstance(event, TransactionPrepared):
            continue
        original = records.decode_prepared(event)
        if len(prepared.changes) < len(original.changes):  # some applied: it committed
            for change in prepared.changes:
                partition.evolve(state, change)
            completed += 1
    return completed


def table_at(log_: EventLog, table_id: str, schema: Any, upto: int,
             snapshots: SnapshotStore | None = None) -> partition.PartitionState:
    """The table's items as of log offset ``upto`` (a worker-thread call)."""
    topic = table_topic(table_id)
    state = rebuild(log_, topic, table_id, schema, snapshots, upto=upto).state
    complete_commits(log_, topic, state)
    return state


def offset_at(log_: EventLog, table_id: str, when: float) -> int:
    """The last offset whose commit timestamp is at or before ``when`` (seconds), -1 if none."""
    return log_.offset_for_time(table_topic(table_id), 0, math.floor(when * 1000) + 1) - 1


def items_of(state: partition.PartitionState) -> list[dict]:
    return [item for collection in state.collections.values() for item in collection.values()]


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
            await asyncio.to_thread(self._writer.append, [records.CODEC.encode(event)])
            core.evolve(self._catalog, event)

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
        cut = await asyncio.to_thread(self._log.end_offset, table_topic(table_id), 0) - 1
        created = self._now_ms()
        arn = core.backup_arn(source["TableArn"], created, uuid.uuid4().hex[:8])
        location = arn.rpartition("/backup/")[2] + ".snap"

        def write() -> partition.PartitionState:
            state = table_at(self._log, table_id, schema, cut, self._snapshots)
            header = snapshot.SnapshotHeader(table_id, 0, cut, cut + 1, created, schema, state.item_count, None)
            with gc_paused():
                self._files.write(location, snapshot.encode(header, snapshot.capture(state)))
            return state

        state = await asyncio.to_thread(write)
        event = BackupCreated(arn, name, backup_type, table_id, table, created, cut, state.item_count,
                              state.size_bytes, location, tables.public_description(source), expires_ms)
        await self._record(event)
        log.info("backup_created", backup_arn=arn, table=table, offset=cut, items=state.item_count)
        return event

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

    async def describe_continuous(self, table: str) -> dict:
        source = await self._table(table)
        return core.continuous_description(self._catalog.pitr.get(source["TableId"]), self._clock())

    async def restore_to_point_in_time(self, table: str, request: dict, target_arn: str) -> dict:
        source = await self._table(table)
        spec = self._catalog.pitr.get(source["TableId"])
        when = core.restore_time(spec, table, request, self._clock())
        table_id, schema = source["TableId"], tables.key_schema_of(source)
        summary = core.restore_summary(restore_time=when, in_progress=True, table_arn=source["TableArn"])

        def load() -> list[dict]:
            upto = offset_at(self._log, table_id, when)
            return items_of(table_at(self._log, table_id, schema, upto, self._snapshots))

        items = await asyncio.to_thread(load)  # read now: the source may change or go meanwhile
        return await self._restore(tables.public_description(source), request, target_arn, summary, lambda: items)

    async def before_delete_table(self, table: str) -> None:
        """A table with PITR enabled leaves a SYSTEM backup, kept for its recovery period."""
        source = await self.engine.describe_table(table)
        spec = self._catalog.pitr.get(source["TableId"])
        if core.enabled(spec):
            expires = self._now_ms() + int(spec["RecoveryPeriodInDays"] * core.DAY * 1000)
            await self.create_backup(table, f"{table}$DeletedTableBackup", core.SYSTEM, expires)

    # --- restores -------------------------------------------------------------------------------

    async def _restore(self, source: dict, request: dict, target_arn: str, summary: dict,
                       load: Callable[[], list[dict]]) -> dict:
        name = request["TargetTableName"]
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
            log.info("restore_finished", table=name, items=len(items))
        except Exception as error:  # noqa: BLE001 - a background task: the log is where it is seen
            log.error("restore_failed", table=name, error=repr(error))

    async def _write_items(self, name: str, items: list[dict]) -> None:
        total, done = len(items), 0
        started = last = self._clock()
        for start in range(0, total, RESTORE_CONCURRENCY):
            chunk = items[start:start + RESTORE_CONCURRENCY]
            await asyncio.gather(*(self.engine.write(name, PutCommand(item)) for item in chunk))
            done += len(chunk)
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
        files = DirectoryBackupFiles(store.root.parent / "backups") if store is not None else MemoryBackupFiles()
        service = _SERVICES.setdefault(engine, BackupService(engine, log_, files, store))
    await service.open()
    return service
