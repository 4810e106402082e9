"""Table forks: a new table as a copy of another as of a log point (a dynamoray extension).

A fork reuses what point-in-time recovery does (``backups.py``, ``cuts.py``):

1. **The point becomes a cut.**  ``AtTime`` maps to each shard's last record committed at or before
   the instant (``cuts.offsets_at``); ``AtOffsets`` is the cut itself, checked against each
   shard's log (``core/forks.py``).  The fork's ``RestoreSummary.RestoreDateTime`` is the instant,
   or for offsets the commit time of the newest record of the cut.
2. **The source is rebuilt as of the cut** in the worker process backups use (``backup_rebuild.py``;
   a worker thread when the log cannot travel there): each shard from its newest snapshot at or
   before its offset plus the log up to it, transactions all or nothing (``cuts.tables_at``).
   Nothing is copied but the items the fork holds: no backup file, and the live partitions are
   not touched, so the source's writes go on.
3. **The items are loaded** through the restore machinery (``BackupService.restore_into``): the
   fork is CREATING at once, its items go through the ordinary write path (so they are in the
   fork's own log), its progress is on the restore board (``DescribeRestore``), then it is ACTIVE.

From then on the two tables share nothing: a fork is an ordinary table with its own log.  Like a
restored table it keeps the key schema, indexes, billing mode, capacity, table class and
encryption, and its source's shard count; not the stream, TTL, tags or PITR setting.  Unlike
RestoreTableToPointInTime a fork needs no PITR setting: any point the log still holds will do (24
hours at least, see ``retention.py``).
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from .. import logs
from ..core import forks as core, tables
from . import backup_rebuild
from .backups import BackupService
from .cuts import offsets_at
from .records import table_topic

log = logs.get("forks")


async def current_offsets(service: BackupService, table: str) -> list[int]:
    """The table's cut now: each shard's applied offset (what ``AtOffsets`` takes)."""
    source = await service.source_table(table)
    return await service.current_cut(table, source["TableId"])


def _cut(service: BackupService, table_id: str, request: core.ForkRequest) -> tuple[list[int], float | None]:
    """The cut the request names (checked), and the instant it is (None: the source's creation)."""
    log_, topic = service.log, table_topic(table_id)
    shards = range(log_.partition_count(topic))
    starts = [log_.start_offset(topic, s) for s in shards]
    if request.at_offsets is None:
        when = core.check_instant(request.at_time, service.now())
        cut = offsets_at(log_, table_id, when)
        core.check_retained(cut, starts)
        return cut, when
    cut = core.check_offsets(request.at_offsets, starts, [log_.end_offset(topic, s) for s in shards])
    stamps = [log_.read(topic, s, offset, 1)[0].timestamp for s, offset in enumerate(cut) if offset >= 0]
    return cut, max(stamps) / 1000 if stamps else None


async def fork_table(service: BackupService, request: core.ForkRequest, target_arn: str) -> tuple[dict, list[int]]:
    """Create ``request.target`` as a copy of ``request.source`` at the requested point; returns
    the fork's description (CREATING) and the cut it copies."""
    source = await service.source_table(request.source)
    table_id, schema = source["TableId"], tables.key_schema_of(source)
    cut, when = await asyncio.to_thread(_cut, service, table_id, request)
    if when is None:
        when = source.get("CreationDateTime", service.now())
    kept = {**tables.public_description(source), tables.SHARDS: tables.shard_count(source)}

    def load() -> list[dict]:  # on the restore's worker thread, which waits for the worker process
        job = backup_rebuild.ItemsJob(table_id, schema, tuple(cut))
        return backup_rebuild.run_blocking(service.log, service.snapshots, None, job)

    created = await service.restore_into(kept, {"TargetTableName": request.target}, target_arn,
                                         core.summary(source["TableArn"], math.floor(when * 1000) / 1000), load)
    log.info("table_forked", source=request.source, target=request.target, offsets=cut)
    return created, cut


def describe(created: dict, cut: list[int]) -> dict[str, Any]:
    """ForkTable's answer."""
    return {"TableDescription": tables.public_description(created), "ForkOffsets": list(cut)}
