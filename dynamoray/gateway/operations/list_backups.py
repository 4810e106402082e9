"""ListBackups: filtered by table, creation time and type (USER unless asked), oldest first, paged."""

from ...actors.backups import service_for
from . import operation


@operation("ListBackups")
async def list_backups(ctx, body: dict) -> dict:
    service = await service_for(ctx.engine)
    summaries, last = service.list_backups(body)
    response: dict = {"BackupSummaries": summaries}
    if last is not None:
        response["LastEvaluatedBackupArn"] = last
    return response
