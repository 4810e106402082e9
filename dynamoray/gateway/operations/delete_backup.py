"""DeleteBackup: the description it returns says DELETED."""

from ...actors.backups import service_for
from ...core import backups
from . import operation


@operation("DeleteBackup")
async def delete_backup(ctx, body: dict) -> dict:
    service = await service_for(ctx.engine)
    deleted = await service.delete_backup(body["BackupArn"])
    return {"BackupDescription": backups.description(deleted, status="DELETED")}
