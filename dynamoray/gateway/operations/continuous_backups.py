"""UpdateContinuousBackups and DescribeContinuousBackups: the point-in-time recovery setting."""

from ...actors.backups import service_for
from ...core import backups
from . import operation


@operation("UpdateContinuousBackups")
async def update_continuous_backups(ctx, body: dict) -> dict:
    service = await service_for(ctx.engine)
    table = backups.table_name_of(body["TableName"])
    spec = body["PointInTimeRecoverySpecification"]
    return {"ContinuousBackupsDescription": await service.update_continuous(table, spec)}


@operation("DescribeContinuousBackups")
async def describe_continuous_backups(ctx, body: dict) -> dict:
    service = await service_for(ctx.engine)
    table = backups.table_name_of(body["TableName"])
    return {"ContinuousBackupsDescription": await service.describe_continuous(table)}
