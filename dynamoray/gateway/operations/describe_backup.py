"""DescribeBackup."""

from ...actors.backups import service_for
from ...core import backups
from . import operation


@operation("DescribeBackup")
async def describe_backup(ctx, body: dict) -> dict:
    service = await service_for(ctx.engine)
    return {"BackupDescription": backups.description(service.backup(body["BackupArn"]))}
