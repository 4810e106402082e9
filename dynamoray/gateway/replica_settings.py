"""Global tables: table settings and deletions that reach every replica (version 2019.11.21).

**Settings.** UpdateTable (billing mode, throughput, SSE type, global secondary indexes) and
UpdateTimeToLive on a table with replicas change it here, then mark every ACTIVE replica
``UPDATING`` (:func:`settings_changed`; the status is in the table's description, so a restart
resumes).  The replication service's driver then sends each one the table's current shared
settings (``UpdateReplicaSettings``, :func:`push_settings`) until it holds them, and marks it
ACTIVE again.  The replica works out what differs (``core.global_tables.settings_update``) and
applies it as a local UpdateTable, without passing it on: the region where the change was made
tells every other one itself.  Indexes change one per round (as DynamoDB takes one index create
or delete per UpdateTable); the replica answers ``Pending`` until it holds every one.

**Deletions.** DeleteTable of a table with replicas deletes this region's replica only, as
DynamoDB does: the other regions are told to drop it (``LeaveReplicaGroup``) by
:func:`depart`, which records the departure first (``departures.json`` next to the replication
checkpoints) and retries while a region is down.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .. import logs
from ..core import errors, global_tables
from .operations import operation
from .regions import REPLICATION_SERVICE

log = logs.get("replication")

ROUNDS = 8  # UpdateReplicaSettings calls per push before waiting (an index still building)


async def settings_changed(ctx: Any, described: dict) -> dict:
    """After a change of shared settings here: every ACTIVE replica becomes UPDATING, and the
    replication service brings each one up to date in the background."""
    service = getattr(ctx, "replication", None)
    if service is None:
        return described
    updated = global_tables.with_updating(described)
    if updated is described:
        return described
    updated = await ctx.engine.replace_table(described["TableName"], updated)
    service.sync(updated)
    return updated


async def push_settings(service: Any, description: dict, region: str) -> None:
    """Bring ``region``'s replica to this region's shared settings, then mark it ACTIVE here
    (raises while the region is down or still building an index: the driver retries)."""
    name = description["TableName"]
    while True:
        settings = global_tables.replicated_settings(description, await service.engine.get_ttl(name))
        for _ in range(ROUNDS):
            answer = await service.call(region, "UpdateReplicaSettings", {"TableName": name, "Settings": settings})
            if not answer.get("Pending"):
                break
            await asyncio.sleep(0.2)
        else:
            raise RuntimeError(f"{region} is still taking the settings of {name}")
        current = await service.engine.describe_table(name)
        if global_tables.replica_status(current, region) != global_tables.UPDATING:
            return
        if global_tables.replicated_settings(current, await service.engine.get_ttl(name)) != settings:
            description = current  # changed again meanwhile: send the newer settings
            continue
        updated = await service.engine.replace_table(name, global_tables.with_replica(current, region, "ACTIVE"))
        log.info("replica_settings_updated", table=name, region=region)
        service.sync(updated)
        return


def _ttl_setting(spec: dict) -> dict:
    if spec["Enabled"]:
        return {"TimeToLiveStatus": "ENABLED", "AttributeName": spec["AttributeName"]}
    return {"TimeToLiveStatus": "DISABLED"}


@operation("UpdateReplicaSettings", service=REPLICATION_SERVICE)
async def update_replica_settings(ctx: Any, body: dict) -> dict:
    from .operations.update_table import apply_update
    from .replication import _check_caller

    _check_caller(ctx)
    name, settings = body["TableName"], body["Settings"]
    current = await ctx.engine.describe_table(name)
    request, ttl_spec = global_tables.settings_update(current, await ctx.engine.get_ttl(name), settings)
    if ttl_spec is not None:
        await ctx.engine.set_ttl(name, _ttl_setting(ttl_spec))
    if request is not None:
        try:
            current = await apply_update(ctx, name, {"TableName": name, **request})
        except errors.DynamoError as error:  # an index still being built here: the next round
            if error.error_type not in ("LimitExceededException", "ResourceInUseException"):
                raise
            return {"Pending": True}
    left, _ = global_tables.settings_update(current, await ctx.engine.get_ttl(name), settings)
    return {"Pending": left is not None}


# --- DeleteTable of a replica ----------------------------------------------------------------------


async def depart(service: Any, description: dict) -> None:
    """This region's replica is being deleted: stop replicating it and have every other member
    drop it (recorded first, so a restart or a region that is down does not lose it)."""
    name = description["TableName"]
    await service.forget(name)
    pending = service.checkpoints.departures()
    for region in global_tables.replica_regions(description):
        if region in service.regions.regions:
            pending.append({"TableName": name, "TableId": description["TableId"], "Region": region})
    service.checkpoints.save_departures(pending)
    service.notify_departures()


async def deliver_departures(service: Any, retry: float) -> None:
    """Tell each region in the recorded departures to drop this region's replica, retrying with
    backoff (up to 10 s) while one is down; each is forgotten once acknowledged."""
    delay = retry
    while True:
        pending = service.checkpoints.departures()
        if not pending:
            return
        failed = False
        for entry in pending:
            try:
                await service.call(entry["Region"], "LeaveReplicaGroup",
                                   {"TableName": entry["TableName"], "Region": service.local})
            except Exception as error:  # noqa: BLE001 - down, or the table is already gone there
                if getattr(error, "code", None) != "ResourceNotFoundException":
                    log.warning("replica_departure_failed", table=entry["TableName"], region=entry["Region"],
                                error=repr(error))
                    failed = True
                    continue
            left = [e for e in service.checkpoints.departures() if e != entry]
            service.checkpoints.save_departures(left)
            log.info("replica_departed", table=entry["TableName"], region=entry["Region"])
        if failed:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
