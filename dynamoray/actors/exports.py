"""Exports to S3 and imports from S3, over any engine (``TransferService``).

- **ExportTableToPointInTime** reads the table as of an instant the way point-in-time recovery
  does (``cuts.offsets_at`` and ``cuts.tables_at``: each shard rebuilt from its snapshot and log,
  transactions all or nothing), on a worker thread, without touching the live partitions.  It
  writes one gzip data file per shard, then the manifests (``core.exports``), into a bucket
  (``buckets.open_bucket``: S3, or a local directory).  An incremental export reads the table
  as of both ends of its window, and the changes between them from the log.
- **ImportTable** (``imports.py``) creates the table (CREATING), reads the input objects and loads
  the items through the engine's write path in batches, then marks the table ACTIVE.

Both run in the background.  Their descriptions are event-sourced on the ``dynamoray.exports``
topic (``ExportUpdated``/``ImportUpdated``, each the whole description), so DescribeExport,
ListExports, DescribeImport and ListImports survive a restart; an export or import that was
running when the server stopped is marked FAILED when the service opens again.
"""

from __future__ import annotations

import asyncio
import gzip
import math
import time
import uuid
import weakref
from typing import Any, Callable

import orjson

from .. import logs
from ..core import errors, exports as core, imports as core_imports, tables
from ..events.log import EventLog, FencedError, TopicExistsError
from ..schemas.events import ExportUpdated, ImportUpdated, ItemChanged
from . import records
from .buckets import BucketError, open_bucket
from .cuts import items_of, offsets_at, tables_at
from .records import table_topic

log = logs.get("exports")

TOPIC = "dynamoray.exports"
INTERRUPTED = "The server stopped before it finished"


class TransferService:
    def __init__(self, engine: Any, log_: EventLog, backups: Any, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.log = log_
        self.backups = backups  # the BackupService: each table's PITR setting
        self.snapshots = getattr(engine, "snapshot_store", None)
        self.clock = clock
        self.exports = core.ExportCatalog()
        self.imports = core_imports.ImportCatalog()
        self.live: dict[str, dict] = {}  # import ARN -> its description with the latest counts
        self.tasks: set[asyncio.Task] = set()
        self._writer: Any = None
        self._lock = asyncio.Lock()
        self._opened = False

    async def open(self) -> None:
        if self._opened:
            return
        async with self._lock:
            if self._opened:
                return
            await asyncio.to_thread(self._recover)
            self._opened = True
        now = self.clock()
        for d in [d for d in self.exports.exports.values() if d["ExportStatus"] == core.IN_PROGRESS]:
            await self.record(ExportUpdated(d["ExportArn"], core.failed(d, now=now, code="ServerStopped",
                                                                        message=INTERRUPTED)))
        for d in [d for d in self.imports.imports.values() if d["ImportStatus"] == core_imports.IN_PROGRESS]:
            await self.record(ImportUpdated(d["ImportArn"], core_imports.failed(
                d, now=now, code="ServerStopped", message=INTERRUPTED)))

    def _recover(self) -> None:
        try:
            self.log.create_topic(TOPIC, 1)
        except TopicExistsError:
            pass
        self._writer = self.log.open_writer(TOPIC, 0)
        self._position = 0
        self._catch_up()

    def _catch_up(self) -> None:
        """Fold the records appended since the last call (by this process or another gateway's)."""
        position = max(self._position, self.log.start_offset(TOPIC, 0))
        while batch := self.log.read(TOPIC, 0, position, 1000):
            for entry in batch:
                self._fold(records.CODEC.decode(entry.value))
            position = batch[-1].offset + 1
        self._position = position

    async def refresh(self) -> None:
        """Catch up with the topic, so that a description another gateway process wrote is seen."""
        async with self._lock:
            await asyncio.to_thread(self._catch_up)

    def _fold(self, event: Any) -> None:
        if isinstance(event, ExportUpdated):
            core.evolve(self.exports, event)
        elif isinstance(event, ImportUpdated):
            core_imports.evolve(self.imports, event)

    async def record(self, event: Any) -> None:
        async with self._lock:
            encoded = records.CODEC.encode(event)
            try:
                await asyncio.to_thread(self._writer.append, [encoded])
            except FencedError:  # another gateway process wrote: take the writer back, its records folded in
                fenced = self._writer
                self.exports, self.imports = core.ExportCatalog(), core_imports.ImportCatalog()
                await asyncio.to_thread(self._recover)
                fenced.close()
                await asyncio.to_thread(self._writer.append, [encoded])
            self._fold(event)

    def spawn(self, job: Any) -> None:
        task = asyncio.get_running_loop().create_task(job)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # --- exports -------------------------------------------------------------------------------

    async def export(self, body: dict) -> dict:
        request = core.parse_request(body)
        if body.get("ClientToken"):
            earlier = self.exports.by_token(body["ClientToken"])
            if earlier is not None:
                if earlier.get("TableArn") != request.table_arn or earlier.get("S3Bucket") != request.bucket:
                    raise errors.export_conflict()
                return earlier
        try:
            source = await self.engine.describe_table(request.table_name)
        except errors.DynamoError as error:
            if error.error_type == "ResourceNotFoundException":
                raise errors.backup_table_not_found(request.table_arn) from None
            raise
        now = self.clock()
        request = core.check_window(request, self.backups.pitr_spec(source["TableId"]), now)
        arn = core.export_arn(source["TableArn"], int(now * 1000), uuid.uuid4().hex[:8])
        description = core.started_description(request, arn=arn, table_id=source["TableId"], now=now)
        await self.record(ExportUpdated(arn, description))
        self.spawn(self._run_export(request, description, source))
        return description

    async def _run_export(self, request: core.ExportRequest, description: dict, source: dict) -> None:
        arn = description["ExportArn"]
        try:
            items, billed, manifest = await asyncio.to_thread(self._write_export, request, description, source)
            done = core.completed(description, now=self.clock(), items=items, billed=billed, manifest=manifest)
            log.info("export_finished", export_arn=arn, items=items, bucket=request.bucket, manifest=manifest)
        except BucketError as error:
            done = core.failed(description, now=self.clock(), code=error.code, message=error.message)
            log.error("export_failed", export_arn=arn, error=error.message)
        except Exception as error:  # noqa: BLE001 - a background task: its description says it failed
            done = core.failed(description, now=self.clock(), code="InternalError", message=repr(error))
            log.error("export_failed", export_arn=arn, error=repr(error))
        await self.record(ExportUpdated(arn, done))

    def _write_export(self, request: core.ExportRequest, description: dict, source: dict) -> tuple[int, int, str]:
        """Write the export's files (a worker-thread call); returns (items, billed bytes, manifest key)."""
        bucket = open_bucket(request.bucket, self.engine)
        base = core.export_dir(request, description["ExportArn"])
        bucket.put(f"{base}/_started", b"")
        if request.export_type == core.FULL:
            files, billed = self._full_files(request, source)
        else:
            files, billed = self._incremental_files(request, source)
        suffix = ".ion.gz" if request.export_format == core.ION else ".json.gz"
        entries, total = [], 0
        for lines in files:
            if request.export_format == core.ION and lines:  # Ion's version marker opens each file
                lines = [core.ION_HEADER + lines[0], *lines[1:]]
            key = f"{base}/data/{uuid.uuid4().hex[:26]}{suffix}"
            data = gzip.compress(b"".join(lines), compresslevel=6)
            bucket.put(key, data)
            entries.append(core.file_entry(key, data, len(lines)))
            total += len(lines)
        files_key, summary_key = f"{base}/manifest-files.json", f"{base}/manifest-summary.json"
        listing = core.manifest_files(entries)
        bucket.put(files_key, listing)
        bucket.put(f"{base}/manifest-files.checksum", core.checksum(listing))
        summary = core.manifest_summary(description, files_key=files_key, items=total, billed=billed, end=self.clock())
        bucket.put(summary_key, summary)
        bucket.put(f"{base}/manifest-summary.checksum", core.checksum(summary))
        return total, billed, summary_key

    def _line(self, request: core.ExportRequest, record: dict) -> bytes:
        if request.export_format == core.ION:
            return core.ion_line(record)
        return orjson.dumps(record) + b"\n"

    def _full_files(self, request: core.ExportRequest, source: dict) -> tuple[list[list[bytes]], int]:
        table_id, schema = source["TableId"], tables.key_schema_of(source)
        cuts = offsets_at(self.log, table_id, request.export_time)
        states = tables_at(self.log, table_id, schema, cuts, self.snapshots)
        files = [[self._line(request, {"Item": item}) for item in items_of(state)] for state in states]
        return files, sum(state.size_bytes for state in states)

    def _incremental_files(self, request: core.ExportRequest, source: dict) -> tuple[list[list[bytes]], int]:
        """The items changed in [from, to): each once, with its image at both ends and its last write."""
        table_id, schema = source["TableId"], tables.key_schema_of(source)
        topic = table_topic(table_id)
        shards = range(self.log.partition_count(topic))
        before = [self.log.offset_for_time(topic, s, math.floor(request.from_time * 1000)) - 1 for s in shards]
        after = [self.log.offset_for_time(topic, s, math.floor(request.to_time * 1000)) - 1 for s in shards]
        old = tables_at(self.log, table_id, schema, before, self.snapshots)
        new = tables_at(self.log, table_id, schema, after, self.snapshots)
        files, billed = [], 0
        for shard in shards:
            touched = self._touched(topic, shard, before[shard], after[shard])
            olds, news = _by_key(items_of(old[shard]), schema.names), _by_key(items_of(new[shard]), schema.names)
            lines = []
            for key, (keys, stamp) in touched.items():
                was, now = olds.get(key), news.get(key)
                if was is None and now is None:
                    continue
                record = core.change_record(keys, was, now, stamp * 1000, request.view)
                lines.append(self._line(request, record))
                billed += len(lines[-1])
            files.append(lines)
        return files, billed

    def _touched(self, topic: str, shard: int, start: int, end: int) -> dict[bytes, tuple[dict, int]]:
        """Each key an ItemChanged of ``shard`` names in offsets (start, end], with its last timestamp."""
        out: dict[bytes, tuple[dict, int]] = {}
        position = max(start + 1, self.log.start_offset(topic, shard))
        while position <= end:
            batch = self.log.read(topic, shard, position, 1000)
            if not batch:
                break
            for entry in batch:
                if entry.offset > end:
                    break
                event = records.CODEC.decode(entry.value)
                if isinstance(event, ItemChanged):
                    out[orjson.dumps(event.keys, option=orjson.OPT_SORT_KEYS)] = (event.keys, entry.timestamp)
            position = batch[-1].offset + 1
        return out

    async def describe_export(self, arn: str) -> dict:
        await self.refresh()
        return self.exports.get(arn)

    async def list_exports(self, body: dict) -> tuple[list[dict], str | None]:
        await self.refresh()
        return core.list_exports(self.exports, body)

    # --- imports (imports.py runs them) --------------------------------------------------------

    async def import_table(self, body: dict, table: dict) -> dict:
        from .imports import start_import

        return await start_import(self, body, table)

    async def describe_import(self, arn: str) -> dict:
        await self.refresh()
        return self.live.get(arn) or self.imports.get(arn)

    async def list_imports(self, body: dict) -> tuple[list[dict], str | None]:
        await self.refresh()
        return core_imports.list_imports(self.imports, body)


def _by_key(items: list[dict], names: tuple[str, ...]) -> dict[bytes, dict]:
    return {orjson.dumps({n: item[n] for n in names}, option=orjson.OPT_SORT_KEYS): item for item in items}


# --- one service per engine -----------------------------------------------------------------------

_SERVICES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def service_for(engine: Any) -> TransferService:
    service = _SERVICES.get(engine)
    if service is None:
        from .backups import service_for as backups_for

        backups = await backups_for(engine)
        service = _SERVICES.setdefault(engine, TransferService(engine, await engine.stream_log(), backups))
    await service.open()
    return service
