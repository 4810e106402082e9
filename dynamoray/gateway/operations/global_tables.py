"""The 2017.11.29 global tables API, for older clients: CreateGlobalTable, DescribeGlobalTable,
UpdateGlobalTable, ListGlobalTables, mapped onto the replicas of the current version
(``gateway/replication.py``).  A global table is the table of that name in this region with its
replicas; as in DynamoDB's legacy version the table must exist here with a NEW_AND_OLD_IMAGES
stream first.  ListGlobalTables and DescribeGlobalTable show the tables made with either API."""

from __future__ import annotations

from typing import Any

from ...core import errors, global_tables
from ..replication import service_of, update_replicas
from . import operation


async def _global(ctx: Any, name: str) -> dict:
    try:
        description = await ctx.engine.describe_table(name)
    except errors.DynamoError as error:
        if error.error_type == "ResourceNotFoundException":
            raise errors.global_table_not_found(name) from None
        raise
    if not global_tables.has_replicas(description):
        raise errors.global_table_not_found(name)
    return description


def _described(ctx: Any, description: dict) -> dict:
    return {"GlobalTableDescription": global_tables.global_table_description(description, ctx.region, ctx.account_id)}


@operation("CreateGlobalTable")
async def create_global_table(ctx: Any, body: dict) -> dict:
    service_of(ctx)
    name = body["GlobalTableName"]
    group = [entry["RegionName"] for entry in body["ReplicationGroup"]]
    try:
        description = await ctx.engine.describe_table(name)
    except errors.DynamoError as error:
        if error.error_type == "ResourceNotFoundException":
            raise errors.global_member_not_found(name, ctx.region) from None
        raise
    if global_tables.has_replicas(description):
        raise errors.global_table_exists(name)
    spec = description.get("StreamSpecification") or {}
    if not spec.get("StreamEnabled") or spec.get("StreamViewType") != global_tables.NEW_AND_OLD_IMAGES:
        raise errors.global_table_streams(name, ctx.region)
    if ctx.region not in group:
        raise errors.validation(f"One or more parameter values were invalid: The replication group must include "
                                f"the region of the request, {ctx.region}")
    creates = [{"Create": {"RegionName": r}} for r in dict.fromkeys(group) if r != ctx.region]
    updated = await update_replicas(ctx, name, creates, global_tables.LEGACY_VERSION) if creates else description
    return _described(ctx, updated)


@operation("DescribeGlobalTable")
async def describe_global_table(ctx: Any, body: dict) -> dict:
    return _described(ctx, await _global(ctx, body["GlobalTableName"]))


@operation("UpdateGlobalTable")
async def update_global_table(ctx: Any, body: dict) -> dict:
    service_of(ctx)
    name = body["GlobalTableName"]
    description = await _global(ctx, name)
    regions = set(global_tables.replica_regions(description)) | {ctx.region}
    for update in body["ReplicaUpdates"]:
        if update.get("Create") is not None and update["Create"]["RegionName"] in regions:
            raise errors.replica_already_exists(name, update["Create"]["RegionName"])
        if update.get("Delete") is not None and update["Delete"]["RegionName"] not in regions:
            raise errors.replica_not_found(name, update["Delete"]["RegionName"])
    return _described(ctx, await update_replicas(ctx, name, body["ReplicaUpdates"], global_tables.LEGACY_VERSION))


@operation("ListGlobalTables")
async def list_global_tables(ctx: Any, body: dict) -> dict:
    region = body.get("RegionName")
    start = body.get("ExclusiveStartGlobalTableName")
    limit = body.get("Limit") or 100
    found: list[dict] = []
    for name in await ctx.engine.list_tables():
        if start is not None and name <= start:
            continue
        description = await ctx.engine.describe_table(name)
        if not global_tables.has_replicas(description):
            continue
        group = sorted(set(global_tables.replica_regions(description)) | {ctx.region})
        if region is not None and region not in group:
            continue
        found.append({"GlobalTableName": name, "ReplicationGroup": [{"RegionName": r} for r in group]})
        if len(found) == limit:
            return {"GlobalTables": found, "LastEvaluatedGlobalTableName": name}
    return {"GlobalTables": found}
