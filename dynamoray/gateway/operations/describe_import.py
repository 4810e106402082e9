"""DescribeImport: an import's status and counts (ProcessedItemCount, ImportedItemCount, ErrorCount)."""

from ...actors.exports import service_for
from . import operation


@operation("DescribeImport")
async def describe_import(ctx, body: dict) -> dict:
    service = await service_for(ctx.engine)
    return {"ImportTableDescription": await service.describe_import(body["ImportArn"])}
