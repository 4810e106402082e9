"""TransactGetItems: up to 100 Gets over any tables, read as one serializable snapshot."""

from ...core import capacity as units, errors, keys, values
from ...core.expressions import projection as projector
from .. import requests
from . import operation
from .transact_write_items import item_identity


async def _plan(ctx, transact_items: list[dict]) -> list[tuple[str, dict, object]]:
    reads, seen = [], set()
    for element in transact_items:
        spec = element["Get"]
        table = spec["TableName"]
        schema = await ctx.engine.key_schema(table)
        ex = requests.expression_context(spec)
        proj = requests.projection(ex, spec)
        ex.check_unused()
        key = keys.validate_key(schema, values.validate_item(spec["Key"]))
        identity = item_identity(table, key)
        if identity in seen:
            raise errors.transaction_multiple_operations()
        seen.add(identity)
        reads.append((table, key, proj))
    return reads


@operation("TransactGetItems")
async def transact_get_items(ctx, body: dict) -> dict:
    reads = await _plan(ctx, body["TransactItems"])
    items = await ctx.engine.transact_get([(table, key) for table, key, _ in reads])
    responses, tables = [], {}
    for (table, _, proj), item in zip(reads, items):
        size = values.item_size(item) if item is not None else 0
        tables[table] = tables.get(table, 0) + units.read_half_units(size, transactional=True)
        if item is None:
            responses.append({})
        else:
            responses.append({"Item": projector.project(proj, item) if proj is not None else item})
    out: dict = {"Responses": responses}
    mode = body.get("ReturnConsumedCapacity")
    if mode not in (None, "NONE"):
        out["ConsumedCapacity"] = [units.consumed_capacity(t, read_units=r, mode=mode, split=True)
                                   for t, r in tables.items()]
    return out
