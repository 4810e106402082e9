"""ListExports: oldest first, filtered by TableArn, paged with MaxResults and NextToken."""

from ...actors.exports import service_for
from . import operation


@operation("ListExports")
async def list_exports(ctx, body: dict) -> dict:
    service = await service_for(ctx.engine)
    summaries, token = await service.list_exports(body)
    response: dict = {"ExportSummaries": summaries}
    if token is not None:
        response["NextToken"] = token
    return response
