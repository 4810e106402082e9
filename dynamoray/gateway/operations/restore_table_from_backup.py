"""RestoreTableFromBackup: a new table, CREATING until its items are loaded (in the background)."""

from ...actors.backups import service_for
from ...core import tables
from .. import sse as sse_keys
from . import operation


@operation("RestoreTableFromBackup")
async def restore_table_from_backup(ctx, body: dict) -> dict:
    body = await sse_keys.resolved_override(ctx, body)  # encryption at rest: the override's key as an ARN
    service = await service_for(ctx.engine)
    created = await service.restore_from_backup(body["BackupArn"], body, ctx.table_arn(body["TargetTableName"]))
    return {"TableDescription": tables.public_description(created)}
