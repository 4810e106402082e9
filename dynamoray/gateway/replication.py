"""Global tables in the gateway: the replication endpoint, ReplicaUpdates, and the replicators.

**The replication endpoint** (``X-Amz-Target: DynamoRayReplication_20191121.<Op>``, SigV4, root
credentials only, like the admin API) is what other regions call:

- ``JoinReplicaGroup {TableName, Definition, Group, Version}``: make this region a member of the
  table's replica group: create the table from ``Definition`` (a CreateTable request) if it is
  missing, enable its NEW_AND_OLD_IMAGES stream if needed, list every other member of ``Group``
  as an ACTIVE replica, and start replicating to them.
- ``LeaveReplicaGroup {TableName, Region}``: ``Region`` leaves the group: this region stops
  replicating to it, or, if it is this region, deletes its table.
- ``ApplyChanges {TableName, SourceRegion, Changes}``: apply another region's changes, each as a
  last-writer-wins replicated write (``core/replication.py``): different items concurrently,
  one item's changes in order (``replication_apply.py``).

**UpdateTable ReplicaUpdates** (:func:`update_replicas`): a Create lists the new region as
CREATING and a Delete as DELETING; :class:`ReplicationService` then drives the change in the
background (asks the new region to join and every other member to add it, then marks it ACTIVE;
or asks it to leave and the others to drop it, then removes it), retrying while a region is down.
It also runs one :class:`~dynamoray.actors.replicator.Replicator` per (table, other region): an
asyncio task on the local engine, a Ray actor on the Ray engine (``actors/replicator_worker.py``).
With several gateway processes (``serve --gateways N``) the first one replicates and resyncs the
tables every ``watch_interval`` seconds; the others are passive (they answer the endpoint).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .. import logs
from ..actors.replicator import Checkpoints, Replicator
from ..core import errors, global_tables, tables
from . import replica_settings, streams
from .admin import is_root
from .operations import operation
from .regions import REPLICATION_SERVICE, Outbound, OutboundSpec, RegionClient, RegionMap, mirrored
from .replication_apply import CONFLICT_RETRIES, apply_batch, write_units  # noqa: F401 - re-exported

log = logs.get("replication")

RETRY = 0.5  # seconds before a CREATING or DELETING replica's change is tried again (doubling to 10 s)


class ReplicationService:
    """The replicators of this region and the replica changes in progress (a gateway service)."""

    def __init__(self, engine: Any, regions: RegionMap, checkpoints: Checkpoints | None = None,
                 client: RegionClient | None = None) -> None:
        self.engine = engine
        self.regions = regions
        self.checkpoints = checkpoints or Checkpoints()
        self.client = client or RegionClient(regions)
        self.replicators: dict[tuple[str, str], Replicator] = {}  # (table name, target) -> replicator
        self._drivers: dict[str, asyncio.Task] = {}
        self._log: Any = None
        self._started: asyncio.Task | None = None
        self._departures: asyncio.Task | None = None
        # Kafka mirroring (actors/mirror.py): a region's cluster as an EventLog, by bootstrap servers
        self.kafka_logs: Any = default_kafka_log
        self._outbound: Outbound | None = None  # what replicators send through (endpoint or Kafka mirror)
        self.follower: Any = None  # MirrorFollower of this region's replication topics
        self.usage: Any = None  # the UsageMeter: replicated write units applied here
        # several gateways (``serve --gateways N``, ``replicas.py``): the first process replicates and
        # resyncs every ``watch_interval`` s (a replica change may have been made through another
        # process); the others are passive: they answer the replication endpoint and change tables
        self.active = True
        self.watch_interval: float | None = None

    @property
    def local(self) -> str:
        return self.regions.local

    def start(self) -> None:
        if self.active:
            self._started = asyncio.get_running_loop().create_task(self._resume())

    async def stop(self) -> None:
        for task in [self._started, self._departures, *self._drivers.values()]:
            if task is not None:
                task.cancel()
        for replicator in list(self.replicators.values()):
            await replicator.stop()
        self.replicators.clear()
        if self.follower is not None:
            await self.follower.stop()
            await asyncio.to_thread(self.follower.close)
            self.follower = None
        if self._outbound is not None:
            await self._outbound.close()
            self._outbound = None
        await self.client.close()

    async def _resume(self) -> None:
        """At start: replicate every global table, and finish the replica changes in progress;
        then, with several gateways, resync every ``watch_interval`` seconds."""
        self._log = await self.engine.stream_log()
        self.notify_departures()
        self._follow_mirrors()
        await self._resync()
        while self.watch_interval:
            await asyncio.sleep(self.watch_interval)
            try:
                await self._resync()
            except Exception as error:  # noqa: BLE001 - the next round tries again
                log.warning("replication_resync_failed", error=repr(error))

    async def _resync(self) -> None:
        names = set(await self.engine.list_tables())
        for name in sorted(names):
            try:
                description = await self.engine.describe_table(name)
            except errors.DynamoError:
                continue
            self.sync(description)
        for gone in {table for table, _ in self.replicators} - names:  # deleted through another process
            await self.forget(gone)
        if self.watch_interval:
            self.notify_departures()

    async def call(self, region: str, operation_name: str, body: dict) -> dict:
        if self._outbound is None:
            self._outbound = Outbound(self.regions, self.kafka_logs, self.client)
        return await self._outbound.call(region, operation_name, body)

    def mirrored(self, region: str) -> bool:
        """Whether changes to ``region`` go topic to topic: both regions list ``kafka_bootstrap``."""
        return mirrored(self.regions, region)

    def _follow_mirrors(self) -> None:
        """On Kafka: apply what the other regions mirror into this region's cluster."""
        here = self.regions.regions.get(self.local)
        sources = [r for r in self.regions.others() if self.regions.regions[r].kafka_bootstrap]
        if not (here and here.kafka_bootstrap and here.secret_access_key and sources):
            return
        from ..actors.mirror import MirrorFollower

        self.follower = MirrorFollower(self.kafka_logs(here.kafka_bootstrap), self.local, here.secret_access_key,
                                       sources, self.checkpoints, self._apply_mirrored)
        self.follower.start()

    async def _apply_mirrored(self, body: dict) -> None:
        try:
            await apply_batch(self.engine, self.local, body, self.usage)
        except errors.DynamoError as error:  # the replica was deleted here: nothing to apply it to
            if error.error_type != "ResourceNotFoundException":
                raise
            log.info("mirror_batch_skipped", table=body.get("TableName"), error=error.message)

    def sync(self, description: dict) -> None:
        """Run a replicator to each ACTIVE replica of the table, none to others, and drive any
        CREATING or DELETING replica (idempotent)."""
        if not self.active:  # a passive gateway: the first process picks the change up
            return
        name = description["TableName"]
        wanted = {e["RegionName"] for e in description.get("Replicas") or ()
                  if e["ReplicaStatus"] in ("ACTIVE", "UPDATING")}
        for (table, target), replicator in list(self.replicators.items()):
            if table == name and (target not in wanted or replicator.table_id != description["TableId"]):
                del self.replicators[(table, target)]
                asyncio.get_running_loop().create_task(replicator.stop())
        for target in sorted(wanted):
            if (name, target) not in self.replicators and target in self.regions.regions:
                replicator = self._replicator(name, description["TableId"], target)
                self.replicators[(name, target)] = replicator
                replicator.start()
        busy = any(e["ReplicaStatus"] in ("CREATING", "DELETING", "UPDATING") for e in description.get("Replicas") or ())
        if busy and (name not in self._drivers or self._drivers[name].done()):
            self._drivers[name] = asyncio.get_running_loop().create_task(self._drive(name))

    def _replicator(self, name: str, table_id: str, target: str) -> Any:
        """An asyncio task in this process, or on the Ray engine (with checkpoint files) a Ray actor
        (``actors/replicator_worker.py``) that Ray restarts if its process dies."""
        snapshots = getattr(self.engine, "snapshot_store", None)
        config = getattr(self.engine, "cluster_config", None)
        if config is not None and self.checkpoints.directory is not None:
            from ..actors.replicator_worker import RayReplicator, ReplicatorWiring

            wiring = ReplicatorWiring(config.log_factory(), snapshots, str(self.checkpoints.directory),
                                      OutboundSpec(self.regions, self.kafka_logs))
            return RayReplicator(config, name, table_id, target, self.local, wiring)
        return Replicator(self._log, name, table_id, target, self.local, self.call, self.checkpoints,
                          snapshots=snapshots)

    async def forget(self, name: str) -> None:
        """The table is gone here: stop replicating it."""
        for (table, target), replicator in list(self.replicators.items()):
            if table == name:
                del self.replicators[(table, target)]
                await replicator.stop()
                self.checkpoints.drop(replicator.table_id, target)

    async def _drive(self, name: str) -> None:
        delay = RETRY
        while True:
            try:
                description = await self.engine.describe_table(name)
            except errors.DynamoError:
                return
            pending = [e for e in description.get("Replicas") or ()
                       if e["ReplicaStatus"] in ("CREATING", "DELETING", "UPDATING")]
            if not pending:
                return
            entry = pending[0]
            try:
                if entry["ReplicaStatus"] == "CREATING":
                    await self._create(description, entry["RegionName"])
                elif entry["ReplicaStatus"] == "UPDATING":  # settings changed here (replica_settings.py)
                    await replica_settings.push_settings(self, description, entry["RegionName"])
                else:
                    await self._delete(description, entry["RegionName"])
                delay = RETRY
            except Exception as error:  # noqa: BLE001 - a region is down: try again later
                log.warning("replica_change_failed", table=name, region=entry["RegionName"],
                            status=entry["ReplicaStatus"], error=repr(error))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _create(self, description: dict, region: str) -> None:
        name = description["TableName"]
        group = sorted(set(global_tables.replica_regions(description)) | {self.local})
        version = description.get("GlobalTableVersion") or global_tables.CURRENT_VERSION
        body = {"TableName": name, "Definition": global_tables.replica_definition(description), "Group": group,
                "Version": version}
        await self.call(region, "JoinReplicaGroup", body)
        for member in group:  # every other member replicates to the new one too
            status = global_tables.replica_status(description, member)
            if member not in (region, self.local) and status in ("ACTIVE", "UPDATING"):
                await self.call(member, "JoinReplicaGroup", body)
        current = await self.engine.describe_table(name)
        updated = await self.engine.replace_table(name, global_tables.with_replica(current, region, "ACTIVE"))
        log.info("replica_created", table=name, region=region)
        self.sync(updated)

    async def _delete(self, description: dict, region: str) -> None:
        name = description["TableName"]
        for (table, target), replicator in list(self.replicators.items()):
            if table == name and target == region:
                del self.replicators[(table, target)]
                await replicator.stop()
                self.checkpoints.drop(replicator.table_id, target)
        for member in global_tables.replica_regions(description):
            if member != region and _member(description, member):
                await self.call(member, "LeaveReplicaGroup", {"TableName": name, "Region": region})
        try:
            await self.call(region, "LeaveReplicaGroup", {"TableName": name, "Region": region})
        except Exception as error:  # noqa: BLE001
            if getattr(error, "code", None) != "ResourceNotFoundException":
                raise
        current = await self.engine.describe_table(name)
        updated = await self.engine.replace_table(name, global_tables.without_replica(current, region))
        log.info("replica_deleted", table=name, region=region)
        self.sync(updated)

    async def depart(self, description: dict) -> None:
        """DeleteTable here of a table with replicas: the others drop this replica."""
        await replica_settings.depart(self, description)

    def notify_departures(self) -> None:
        if not self.active:
            return
        if self._departures is None or self._departures.done():
            self._departures = asyncio.get_running_loop().create_task(
                replica_settings.deliver_departures(self, RETRY))

    def metrics(self) -> list[Any]:
        return [replicator.stats for replicator in self.replicators.values()]


def _member(description: dict, region: str) -> bool:
    """Whether ``region`` is a member other regions replicate to (ACTIVE, or taking new settings)."""
    return global_tables.replica_status(description, region) in ("ACTIVE", "UPDATING")


def service_of(ctx: Any) -> ReplicationService:
    service = getattr(ctx, "replication", None)
    if service is None:
        raise errors.global_tables_off()
    return service


# --- UpdateTable ReplicaUpdates (version 2019.11.21) --------------------------------------------


async def update_replicas(ctx: Any, name: str, updates: list[dict],
                          version: str = global_tables.CURRENT_VERSION) -> dict:
    """Apply ReplicaUpdates to the table: the new description (replicas CREATING or DELETING)."""
    service = service_of(ctx)
    current = await ctx.engine.describe_table(name)
    creates, deletes = global_tables.plan(current, updates, ctx.region, service.regions.names())
    updated = current
    if creates and not global_tables.stream_enabled(current):  # NEW_AND_OLD_IMAGES, as DynamoDB does
        offsets = await streams.end_offsets(ctx, current)
        spec = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": global_tables.NEW_AND_OLD_IMAGES}}
        updated = tables.updated_description(current, spec, time.time(), stream_offsets=offsets)
    for region in creates:
        updated = global_tables.with_replica(updated, region, "CREATING", version)
    for region in deletes:
        updated = global_tables.with_replica(updated, region, "DELETING")
    if updated is current:
        return current
    described = await ctx.engine.replace_table(name, updated)
    service.sync(described)
    return described


# --- the replication endpoint ---------------------------------------------------------------------


def _check_caller(ctx: Any) -> ReplicationService:
    if not is_root(ctx.principal):
        raise errors.access_denied(f"User: {ctx.principal.arn} is not authorized to perform this operation: "
                                   "only the root credentials may call the replication endpoint")
    return service_of(ctx)


@operation("JoinReplicaGroup", service=REPLICATION_SERVICE)
async def join_replica_group(ctx: Any, body: dict) -> dict:
    service = _check_caller(ctx)
    name = body["TableName"]
    try:
        current = await ctx.engine.describe_table(name)
    except errors.DynamoError as error:
        if error.error_type != "ResourceNotFoundException":
            raise
        from .operations.create_table import create_table

        await create_table(ctx, dict(body["Definition"]))
        current = await ctx.engine.describe_table(name)
    updated = current
    if not global_tables.stream_enabled(current):
        offsets = await streams.end_offsets(ctx, current)
        spec = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": global_tables.NEW_AND_OLD_IMAGES}}
        updated = tables.updated_description(current, spec, time.time(), stream_offsets=offsets)
    updated = global_tables.with_group(updated, body["Group"], ctx.region, body.get("Version")
                                       or global_tables.CURRENT_VERSION)
    described = await ctx.engine.replace_table(name, updated) if updated != current else current
    service.sync(described)
    return {"TableId": described["TableId"]}


@operation("LeaveReplicaGroup", service=REPLICATION_SERVICE)
async def leave_replica_group(ctx: Any, body: dict) -> dict:
    service = _check_caller(ctx)
    name, region = body["TableName"], body["Region"]
    if region == ctx.region:  # this replica is removed: so is its table, as in DynamoDB
        await service.forget(name)
        await ctx.engine.delete_table(name)
        return {}
    current = await ctx.engine.describe_table(name)
    if global_tables.replica_status(current, region) is not None:
        current = await ctx.engine.replace_table(name, global_tables.without_replica(current, region))
    service.sync(current)
    return {}


def default_kafka_log(bootstrap: str) -> Any:
    from ..events.kafka import KafkaLog

    return KafkaLog({"bootstrap.servers": bootstrap})


@operation("ApplyChanges", service=REPLICATION_SERVICE)
async def apply_changes(ctx: Any, body: dict) -> dict:
    service = _check_caller(ctx)
    return await apply_batch(ctx.engine, ctx.region, body, service.usage)
