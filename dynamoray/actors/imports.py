"""ImportTable's background job: create the table, read the input objects, load their items.

The table is created at once with status CREATING.  Then, object by object (sorted by key), the
input is read from the bucket, decompressed and parsed on a worker thread (``core.imports``), and
its items go through the engine's ordinary write path, ``BATCH`` writes in flight at a time, so
every imported item is in the new table's own log.  A line that cannot be read or written counts
in ``ErrorCount`` (AWS would also log it to CloudWatch: here the first ``LOGGED_ERRORS`` of each
import go to the server log as ``import_line_error``).  The server log shows ``import_progress``
lines (``items``, ``percent`` of the input objects read, ``items_per_s``), then
``import_finished``; the table becomes ACTIVE and the import COMPLETED.  An import whose input
cannot be listed or is empty is FAILED, and its table is deleted.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from .. import logs
from ..core import commands, errors, imports as core, internal_tables
from ..schemas.events import ImportUpdated
from .buckets import BucketError, open_bucket

log = logs.get("imports")

BATCH = 128  # item writes in flight
PROGRESS_EVERY = 1.0  # seconds between import_progress lines
LOGGED_ERRORS = 10  # bad lines logged per import


async def start_import(service: Any, body: dict, table: dict) -> dict:
    """Create ``table`` (a new table's description, built from TableCreationParameters), record
    the import IN_PROGRESS and load it in the background; returns the import's description."""
    core.check_request(body)
    if body.get("ClientToken"):
        earlier = service.imports.by_token(body["ClientToken"])
        if earlier is not None:
            if (earlier["TableCreationParameters"].get("TableName") != table["TableName"]
                    or earlier["S3BucketSource"] != body["S3BucketSource"]):
                raise errors.import_conflict()
            return earlier
    if (internal_tables.is_internal(table["TableName"])  # reserved: the server's own (like CreateTable)
            or table["TableName"] in await service.engine.list_tables()):
        raise errors.table_already_exists(table["TableName"])
    now = service.clock()
    arn = core.import_arn(table["TableArn"], int(now * 1000), uuid.uuid4().hex[:8])
    created = await service.engine.create_table(dict(table, TableStatus="CREATING"))
    description = core.started_description(body, arn=arn, table_arn=table["TableArn"], table_id=table["TableId"],
                                           now=now)
    await service.record(ImportUpdated(arn, description))
    service.spawn(_run(service, description, created))
    return description


class _Progress:
    def __init__(self, service: Any, description: dict, objects: int) -> None:
        self.service, self.description, self.objects = service, description, objects
        self.processed = self.imported = self.errors = self.size = self.done_objects = 0
        self.started = self.last = service.clock()

    def line(self, line: core.Line) -> None:
        self.processed += 1
        self.size += line.size
        if line.error is not None:
            self.error(line.error)

    def error(self, message: str) -> None:
        self.errors += 1
        if self.errors <= LOGGED_ERRORS:
            log.warning("import_line_error", import_arn=self.description["ImportArn"], error=message)

    def current(self) -> dict:
        return core.progressed(self.description, processed=self.processed, imported=self.imported,
                               errors_=self.errors, size=self.size)

    def report(self, final: bool = False) -> None:
        self.service.live[self.description["ImportArn"]] = self.current()
        now = self.service.clock()
        if final or now - self.last >= PROGRESS_EVERY:
            self.last = now
            log.info("import_progress", import_arn=self.description["ImportArn"], items=self.imported,
                     errors=self.errors, percent=round(100.0 * self.done_objects / max(self.objects, 1), 1),
                     items_per_s=round(self.imported / max(now - self.started, 1e-6)))


async def _run(service: Any, description: dict, table: dict) -> None:
    arn, name = description["ImportArn"], table["TableName"]
    source = description["S3BucketSource"]
    try:
        bucket = open_bucket(source["S3Bucket"], service.engine)
        prefix = source.get("S3KeyPrefix") or ""
        names = [n for n in await asyncio.to_thread(bucket.names, prefix) if core.wanted(n)]
        if not names:
            raise BucketError("S3NoSuchKey", f"No objects under s3://{source['S3Bucket']}/{prefix}")
        progress = _Progress(service, description, len(names))
        for key in names:
            await _load_object(service, bucket, key, description, table, progress)
            progress.done_objects += 1
            progress.report()
        progress.report(final=True)
        await service.engine.replace_table(name, dict(table, TableStatus="ACTIVE"))
        done = core.completed(progress.current(), now=service.clock())
        log.info("import_finished", import_arn=arn, table=name, items=progress.imported, errors=progress.errors)
    except Exception as error:  # noqa: BLE001 - a background task: its description says it failed
        failure = isinstance(error, BucketError)
        code, message = (error.code, error.message) if failure else ("InternalError", repr(error))
        done = core.failed(service.live.get(arn) or description, now=service.clock(), code=code, message=message)
        log.error("import_failed", import_arn=arn, table=name, error=message)
        try:
            await service.engine.delete_table(name)
        except errors.DynamoError:
            pass
    service.live.pop(arn, None)
    await service.record(ImportUpdated(arn, done))


async def _load_object(service: Any, bucket: Any, key: str, description: dict, table: dict,
                       progress: _Progress) -> None:
    def read() -> list[core.Line]:
        try:
            text = core.decompress(bucket.get(key), description["InputCompressionType"])
        except ValueError as error:
            return [core.Line(None, f"{key}: {error}")]
        return list(core.lines(text, description["InputFormat"], description.get("InputFormatOptions"),
                               core.key_types(table), core.table_keys(table)))

    lines = await asyncio.to_thread(read)
    batch: list[dict] = []
    for line in lines:
        progress.line(line)
        if line.item is not None:
            batch.append(line.item)
        if len(batch) >= BATCH:
            await _write(service, table["TableName"], batch, progress)
            batch = []
    if batch:
        await _write(service, table["TableName"], batch, progress)


async def _write(service: Any, name: str, items: list[dict], progress: _Progress) -> None:
    results = await asyncio.gather(*(service.engine.write(name, commands.PutCommand(item)) for item in items),
                                   return_exceptions=True)
    for result in results:
        if isinstance(result, errors.DynamoError):
            progress.error(result.message)
        elif isinstance(result, BaseException):
            raise result
        else:
            progress.imported += 1
    progress.report()
