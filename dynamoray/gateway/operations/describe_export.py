"""DescribeExport: an export's status, counts and manifest (kept across restarts)."""

from ...actors.exports import service_for
from . import operation


@operation("DescribeExport")
async def describe_export(ctx, body: dict) -> dict:
    service = await service_for(ctx.engine)
    return {"ExportDescription": await service.describe_export(body["ExportArn"])}
