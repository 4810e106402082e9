"""The admin API's table forks (``X-Amz-Target: DynamoRayAdmin_20261126.<Op>``, root only).

- ``ForkTable {SourceTableName, TargetTableName, AtTime | AtOffsets}`` -> ``{TableDescription,
  ForkOffsets}``: a new table holding the source's items as of an instant (``AtTime``: epoch
  seconds or an ISO-8601 string) or a cut (``AtOffsets``: one log offset per shard, each included),
  CREATING until its items are loaded (``DescribeRestore`` follows it), then ACTIVE
  (``actors/forks.py``).  ``ForkOffsets`` is the cut the fork copies.
- ``DescribeTableOffsets {TableName}`` -> ``{Offsets}``: the table's cut now (each shard's applied
  offset), to fork at later.

Errors: TableNotFoundException (no source), TableAlreadyExistsException (the target exists),
ValidationException ``Invalid fork point: ...`` (both or neither of AtTime/AtOffsets, a future
instant, an offset outside a shard's log, or a point the log no longer reaches back to).
"""

from __future__ import annotations

from ..actors import forks
from ..core import errors, forks as core
from .admin import ADMIN_SERVICE
from .admin_backups import _service
from .operations import operation


@operation("ForkTable", service=ADMIN_SERVICE)
async def fork_table(ctx, body: dict) -> dict:
    service = await _service(ctx)
    request = core.parse_request(body)
    created, cut = await forks.fork_table(service, request, ctx.table_arn(request.target))
    return forks.describe(created, cut)


@operation("DescribeTableOffsets", service=ADMIN_SERVICE)
async def describe_table_offsets(ctx, body: dict) -> dict:
    name = body.get("TableName")
    if not isinstance(name, str) or not name:
        raise errors.validation("1 validation error detected: Value null at 'tableName' failed to satisfy "
                                "constraint: Member must not be null")
    service = await _service(ctx)
    return {"TableName": name, "Offsets": await forks.current_offsets(service, name)}
