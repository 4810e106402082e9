"""RestoreTableToPointInTime: the source table as of an instant (its log replayed up to it), as a
new table, CREATING until its items are loaded (in the background)."""

from ...actors.backups import service_for
from ...core import backups, errors, tables
from .. import sse as sse_keys
from . import operation


@operation("RestoreTableToPointInTime")
async def restore_table_to_point_in_time(ctx, body: dict) -> dict:
    name, arn = body.get("SourceTableName"), body.get("SourceTableArn")
    if name is None and arn is None:
        raise errors.validation("Either SourceTableArn or SourceTableName must be specified")
    if name is not None and arn is not None:
        raise errors.validation("Only one of SourceTableArn or SourceTableName can be specified")
    body = await sse_keys.resolved_override(ctx, body)  # encryption at rest: the override's key as an ARN
    service = await service_for(ctx.engine)
    source = name if name is not None else backups.table_name_of(arn)
    created = await service.restore_to_point_in_time(source, body, ctx.table_arn(body["TargetTableName"]))
    return {"TableDescription": tables.public_description(created)}
