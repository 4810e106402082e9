"""GetItem."""

from ...core import values
from ...core.expressions import projection as projector
from .. import capacity, requests
from . import operation


@operation("GetItem")
async def get_item(ctx, body: dict) -> dict:
    ex = requests.expression_context(body)
    proj = requests.projection(ex, body)
    ex.check_unused()
    table = body["TableName"]
    consistent = bool(body.get("ConsistentRead"))
    full = await ctx.engine.get(table, requests.key(body), None, consistent)
    response: dict = {}
    if full is not None:
        response["Item"] = projector.project(proj, full) if proj is not None else full
    size = values.item_size(full) if full is not None else 0
    return capacity.attach(response, capacity.for_get(body, table, size, consistent))
