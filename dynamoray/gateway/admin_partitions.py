"""The admin API's partition map operations (``X-Amz-Target: DynamoRayAdmin_20261126.<Op>``, root
only; shards step 2: ``actors/moves.py``).

- ``DescribePartitions {TableName}`` -> the table's map: ``{TableName, Shards, Version, Hosts,
  Ranges: [{FirstShard, LastShard, Host}]}`` (``Hosts``: the engine's pool of partition hosts).
- ``SplitPartition {TableName, FirstShard, AtShard?, Host?}``: cut the range starting at
  ``FirstShard`` before ``AtShard`` (its middle by default) and give the upper part to ``Host``
  (by default the host with the fewest of the table's ranges); answers the new map.
- ``MovePartition {TableName, FirstShard, Host}``: give the range starting at ``FirstShard`` to
  ``Host``; answers the new map.

Errors: ResourceNotFoundException (no such table), ValidationException ``The partition cannot be
moved: ...`` (no range starts there, a split outside the range, a host out of the pool, a host
that would hold two ranges of the table, a transaction holding locks, a table with secondary
indexes, or the local engine, which keeps every table in one process).
"""

from __future__ import annotations

from typing import Any

from ..core import errors
from .admin import ADMIN_SERVICE, is_root
from .operations import operation


def _engine(ctx: Any) -> Any:
    if not is_root(ctx.principal):
        raise errors.access_denied(
            f"User: {ctx.principal.arn} is not authorized to perform this operation: "
            "only the root credentials may call the dynamoray admin API"
        )
    if not hasattr(ctx.engine, "partitions"):
        raise errors.partition_move_refused("only the Ray engine spreads a table over partition hosts")
    return ctx.engine


def _string(body: dict, member: str, field: str) -> str:
    value = body.get(member)
    if not isinstance(value, str) or not value:
        raise errors.validation(f"1 validation error detected: Value null at '{field}' failed to satisfy "
                                "constraint: Member must not be null")
    return value


def _integer(body: dict, member: str, field: str, required: bool = True) -> int | None:
    value = body.get(member)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise errors.validation(f"1 validation error detected: Value {value!r} at '{field}' failed to satisfy "
                                "constraint: Member must be a non-negative integer")
    return value


def described(name: str, wire: dict, hosts: int) -> dict:
    return {"TableName": name, "Shards": wire["Shards"], "Version": wire["Version"], "Hosts": hosts,
            "Ranges": [{"FirstShard": start, "LastShard": end - 1, "Host": host}
                       for start, end, host in wire["Ranges"]]}


@operation("DescribePartitions", service=ADMIN_SERVICE)
async def describe_partitions(ctx, body: dict) -> dict:
    engine = _engine(ctx)
    name = _string(body, "TableName", "tableName")
    wire = await engine.partitions(name)
    return described(name, wire, wire["Hosts"])


@operation("SplitPartition", service=ADMIN_SERVICE)
async def split_partition(ctx, body: dict) -> dict:
    engine = _engine(ctx)
    name = _string(body, "TableName", "tableName")
    first = _integer(body, "FirstShard", "firstShard")
    at = _integer(body, "AtShard", "atShard", required=False)
    host = _integer(body, "Host", "host", required=False)
    wire = await engine.split_partition(name, first, at, host)
    return described(name, wire, wire["Hosts"])


@operation("MovePartition", service=ADMIN_SERVICE)
async def move_partition(ctx, body: dict) -> dict:
    engine = _engine(ctx)
    name = _string(body, "TableName", "tableName")
    wire = await engine.move_partition(name, _integer(body, "FirstShard", "firstShard"),
                                       _integer(body, "Host", "host"))
    return described(name, wire, wire["Hosts"])
