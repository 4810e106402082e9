"""The admin API's restore operations (``X-Amz-Target: DynamoRayAdmin_20261126.<Op>``, root only).

- ``ListRestores {}`` -> ``{Restores: [...]}``: the restores this gateway runs or finished within
  the last hour, oldest first.
- ``DescribeRestore {TableName}`` -> ``{Restore?, TableStatus}``: one target table's restore and
  the table's status; ``Restore`` is absent for a table this gateway restores nothing into.
  ResourceNotFoundException when there is neither a restore nor a table of that name.

A restore entry (``actors/restores.py``): ``TableName``, ``Source`` (backup or source table ARN),
``RestoreDateTime``, ``Phase`` (``READING`` the backup or the log, ``WRITING`` the items, ``DONE``,
``FAILED``), ``ItemsRestored``, ``ItemsTotal`` (once read), ``Percent``, ``ItemsPerSecond``,
``EtaSeconds`` (while it can be estimated), ``StartedAt``, ``FinishedAt``, ``Error``.  The figures
are those of the server log's ``restore_progress`` lines.  ``dynamoray restore-status`` follows them.
"""

from __future__ import annotations

from typing import Any

from ..actors.backups import service_for
from ..core import errors
from .admin import ADMIN_SERVICE, is_root
from .operations import operation


async def _service(ctx: Any) -> Any:
    if not is_root(ctx.principal):
        raise errors.access_denied(
            f"User: {ctx.principal.arn} is not authorized to perform this operation: "
            "only the root credentials may call the dynamoray admin API"
        )
    return await service_for(ctx.engine)


@operation("ListRestores", service=ADMIN_SERVICE)
async def list_restores(ctx, body: dict) -> dict:
    service = await _service(ctx)
    return {"Restores": [restore.to_wire() for restore in service.board.all()]}


@operation("DescribeRestore", service=ADMIN_SERVICE)
async def describe_restore(ctx, body: dict) -> dict:
    name = body.get("TableName")
    if not isinstance(name, str) or not name:
        raise errors.validation("1 validation error detected: Value null at 'tableName' failed to satisfy "
                                "constraint: Member must not be null")
    service = await _service(ctx)
    restore = service.board.get(name)
    out: dict = {} if restore is None else {"Restore": restore.to_wire()}
    try:
        out["TableStatus"] = (await ctx.engine.describe_table(name))["TableStatus"]
    except errors.DynamoError as error:
        if error.error_type != "ResourceNotFoundException" or restore is None:
            raise
        out["TableStatus"] = "DELETED"  # restored, then deleted
    return out
