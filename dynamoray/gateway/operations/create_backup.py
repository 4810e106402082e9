"""CreateBackup: a consistent cut of the table, written to a backup file (``actors/backups.py``)."""

from ...actors.backups import service_for
from ...core import backups
from . import operation


@operation("CreateBackup")
async def create_backup(ctx, body: dict) -> dict:
    service = await service_for(ctx.engine)
    created = await service.create_backup(backups.table_name_of(body["TableName"]), body["BackupName"])
    return {"BackupDetails": backups.details(created)}
