"""UpdateTimeToLive / DescribeTimeToLive: the setting is stored with the table
(expiry itself comes with the TTL issue)."""

from ...core import errors
from . import operation

_DISABLED = {"TimeToLiveStatus": "DISABLED"}


@operation("UpdateTimeToLive")
async def update_time_to_live(ctx, body: dict) -> dict:
    name = body["TableName"]
    spec = body["TimeToLiveSpecification"]
    current = await ctx.engine.get_ttl(name) or _DISABLED
    enabled = bool(spec["Enabled"])
    if enabled and current["TimeToLiveStatus"] == "ENABLED":
        raise errors.validation("TimeToLive is already enabled")
    if not enabled and current["TimeToLiveStatus"] == "DISABLED":
        raise errors.validation("TimeToLive is already disabled")
    await ctx.engine.set_ttl(
        name,
        {"TimeToLiveStatus": "ENABLED", "AttributeName": spec["AttributeName"]} if enabled else _DISABLED,
    )
    return {"TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": spec["AttributeName"]}}


@operation("DescribeTimeToLive")
async def describe_time_to_live(ctx, body: dict) -> dict:
    return {"TimeToLiveDescription": await ctx.engine.get_ttl(body["TableName"]) or _DISABLED}
