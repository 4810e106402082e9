"""The admin API's capacity, audit and usage operations (``X-Amz-Target: DynamoRayAdmin_20261126.<Op>``,
root only; dynamoray extensions, see docs/capacity.md).

- ``GetUsage {StartDate?, EndDate?, TableName?, PriceSheet?}`` -> ``{Usage, Totals, PriceSheet}``:
  request units, storage, backup and PITR GB-months, capacity-hours and replicated writes per
  table per UTC day (dates ``YYYY-MM-DD``, both included), priced with ``PriceSheet`` (any member
  left out keeps AWS's us-east-1 price, ``core/usage.py``).
- ``LookupAuditEvents {TableName?, EventName?, StartTime?, EndTime?, User?, MaxResults?,
  NextToken?}`` -> ``{Events, NextToken?}``: CloudTrail-shaped records, newest first (times in ISO
  8601 UTC; ``User``: an ARN, user name or access key id; ``MaxResults`` 1 to 1000, default 50).
- ``UpdateAuditSettings {TableName, DataPlane}`` (``TableName`` ``*``: every table) and
  ``DescribeAuditSettings {}`` -> ``{ControlPlane, DataPlaneTables}``.
- ``PutScalingPolicy {TableName, IndexName?, Policy}`` -> ``{ScalingPolicy}``,
  ``DeleteScalingPolicy {TableName, IndexName?}``, ``DescribeScalingPolicies {TableName?}`` ->
  ``{ScalingPolicies, Activities}``: auto scaling by target utilization (``core/scaling.py``).
"""

from __future__ import annotations

import re
from typing import Any

from ..core import errors, scaling, usage
from .admin import ADMIN_SERVICE, is_root
from .operations import operation

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _telemetry_part(ctx: Any, part: str, feature: str) -> Any:
    if not is_root(ctx.principal):
        raise errors.access_denied(
            f"User: {ctx.principal.arn} is not authorized to perform this operation: "
            "only the root credentials may call the dynamoray admin API"
        )
    telemetry = getattr(ctx, "telemetry", None)
    found = getattr(telemetry, part, None) if telemetry is not None else None
    if found is None:
        raise errors.capacity_feature_off(feature)
    return found


def _string(body: dict, member: str, required: bool = False) -> str | None:
    value = body.get(member)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise errors.capacity_parameter(f"{member} must be a non-empty string")
    return value


def _date(body: dict, member: str) -> str | None:
    value = _string(body, member)
    if value is not None and not _DATE.fullmatch(value):
        raise errors.capacity_parameter(f"{member} must be a date, YYYY-MM-DD")
    return value


@operation("GetUsage", service=ADMIN_SERVICE)
async def get_usage(ctx, body: dict) -> dict:
    meter = _telemetry_part(ctx, "usage", "Usage metering")
    try:
        prices = usage.PriceSheet.from_wire(body.get("PriceSheet"))
    except (ValueError, TypeError, AttributeError) as error:
        raise errors.capacity_parameter(f"Invalid PriceSheet: {error}") from None
    report = await meter.report(prices, _date(body, "StartDate"), _date(body, "EndDate"), _string(body, "TableName"))
    return report.to_wire()


@operation("LookupAuditEvents", service=ADMIN_SERVICE)
async def lookup_audit_events(ctx, body: dict) -> dict:
    auditor = _telemetry_part(ctx, "auditor", "The audit log")
    limit = body.get("MaxResults", 50)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise errors.capacity_parameter("MaxResults must be from 1 to 1000")
    found, token = await auditor.lookup(
        table=_string(body, "TableName"), event_name=_string(body, "EventName"), since=_string(body, "StartTime"),
        until=_string(body, "EndTime"), user=_string(body, "User"), limit=limit, token=_string(body, "NextToken"))
    out: dict = {"Events": found}
    if token is not None:
        out["NextToken"] = token
    return out


def _audit_settings(auditor: Any) -> dict:
    return {"ControlPlane": True, "DataPlaneTables": sorted(auditor.data_plane)}


@operation("UpdateAuditSettings", service=ADMIN_SERVICE)
async def update_audit_settings(ctx, body: dict) -> dict:
    auditor = _telemetry_part(ctx, "auditor", "The audit log")
    table = _string(body, "TableName", required=True)
    enabled = body.get("DataPlane")
    if not isinstance(enabled, bool):
        raise errors.capacity_parameter("DataPlane must be true or false")
    await auditor.set_data_plane(table, enabled)
    return _audit_settings(auditor)


@operation("DescribeAuditSettings", service=ADMIN_SERVICE)
async def describe_audit_settings(ctx, body: dict) -> dict:
    return _audit_settings(_telemetry_part(ctx, "auditor", "The audit log"))


@operation("PutScalingPolicy", service=ADMIN_SERVICE)
async def put_scaling_policy(ctx, body: dict) -> dict:
    scaler = _telemetry_part(ctx, "scaler", "Auto scaling")
    table, index = _string(body, "TableName", required=True), _string(body, "IndexName")
    spec = body.get("Policy") or {}
    if not isinstance(spec, dict):
        raise errors.capacity_parameter("Policy must be an object")
    try:
        policy = scaling.ScalingPolicy.from_wire(spec)
    except ValueError as error:
        raise errors.capacity_parameter(f"Invalid Policy: {error}") from None
    await ctx.engine.describe_table(table)  # ResourceNotFoundException for an unknown table
    await scaler.put(table, index, policy)
    return {"ScalingPolicy": {"TableName": table, "IndexName": index, "Policy": policy.to_wire()}}


@operation("DeleteScalingPolicy", service=ADMIN_SERVICE)
async def delete_scaling_policy(ctx, body: dict) -> dict:
    scaler = _telemetry_part(ctx, "scaler", "Auto scaling")
    table, index = _string(body, "TableName", required=True), _string(body, "IndexName")
    if not await scaler.delete(table, index):
        raise errors.resource_not_found()
    return {}


@operation("DescribeScalingPolicies", service=ADMIN_SERVICE)
async def describe_scaling_policies(ctx, body: dict) -> dict:
    scaler = _telemetry_part(ctx, "scaler", "Auto scaling")
    table = _string(body, "TableName")
    activities = [change for change in scaler.changes if table is None or change["TableName"] == table]
    return {"ScalingPolicies": scaler.describe(table), "Activities": activities}
