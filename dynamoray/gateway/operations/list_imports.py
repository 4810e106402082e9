"""ListImports: oldest first, filtered by TableArn, paged with PageSize and NextToken."""

from ...actors.exports import service_for
from . import operation


@operation("ListImports")
async def list_imports(ctx, body: dict) -> dict:
    service = await service_for(ctx.engine)
    summaries, token = await service.list_imports(body)
    response: dict = {"ImportSummaryList": summaries}
    if token is not None:
        response["NextToken"] = token
    return response
