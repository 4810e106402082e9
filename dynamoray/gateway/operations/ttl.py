"""UpdateTimeToLive / DescribeTimeToLive: the table's TTL setting, recorded in the catalog.

The rules are in ``core/ttl.py``; the deletions themselves are the TTL sweeper's
(``actors/ttl.py``), which picks up a new setting on its next round."""

from ...core import ttl
from . import operation


@operation("UpdateTimeToLive")
async def update_time_to_live(ctx, body: dict) -> dict:
    name = body["TableName"]
    spec = body["TimeToLiveSpecification"]
    enabled, attribute = bool(spec["Enabled"]), spec["AttributeName"]
    setting = ttl.update_setting(await ctx.engine.get_ttl(name), enabled, attribute)
    await ctx.engine.set_ttl(name, setting)
    if getattr(ctx, "replication", None) is not None:  # global tables: every replica takes it
        from ...core import global_tables
        from ..replica_settings import settings_changed

        described = await ctx.engine.describe_table(name)
        if global_tables.has_replicas(described):
            await settings_changed(ctx, described)
    return {"TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": attribute}}


@operation("DescribeTimeToLive")
async def describe_time_to_live(ctx, body: dict) -> dict:
    return {"TimeToLiveDescription": ttl.describe(await ctx.engine.get_ttl(body["TableName"]))}
