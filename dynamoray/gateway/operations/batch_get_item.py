"""BatchGetItem: up to 100 keys over any tables."""

from ...core import errors, keys, values
from ...core.expressions import ExpressionContext, legacy
from ...core.expressions import projection as projector
from .. import capacity, requests
from . import operation

MAX_KEYS = 100


async def _plan(ctx, body: dict) -> list:
    plan, total = [], 0
    for table, spec in body["RequestItems"].items():
        schema = await ctx.engine.key_schema(table)
        legacy.check_no_mixing(spec)
        ex = ExpressionContext(spec.get("ExpressionAttributeNames"), spec.get("ExpressionAttributeValues"))
        proj = requests.projection(ex, spec)
        ex.check_unused()
        seen, table_keys = set(), []
        for raw in spec["Keys"]:
            key = keys.validate_key(schema, values.validate_item(raw))
            fingerprint = tuple(sorted((k, repr(v)) for k, v in key.items()))
            if fingerprint in seen:
                raise errors.validation("Provided list of item keys contains duplicates")
            seen.add(fingerprint)
            table_keys.append(key)
        total += len(table_keys)
        plan.append((table, table_keys, proj, bool(spec.get("ConsistentRead"))))
    if total > MAX_KEYS:
        raise errors.validation("Too many items requested for the BatchGetItem call")
    return plan


@operation("BatchGetItem")
async def batch_get_item(ctx, body: dict) -> dict:
    plan = await _plan(ctx, body)
    responses: dict = {}
    consumed = []
    for table, table_keys, proj, consistent in plan:
        found, sizes = [], []
        for key in table_keys:
            item = await ctx.engine.get(table, key, None, consistent)
            sizes.append(values.item_size(item) if item is not None else 0)
            if item is not None:
                found.append(projector.project(proj, item) if proj is not None else item)
        responses[table] = found
        units = capacity.for_gets(body, table, sizes, consistent)
        if units is not None:
            consumed.append(units)
    out: dict = {"Responses": responses, "UnprocessedKeys": {}}
    if consumed:
        out["ConsumedCapacity"] = consumed
    return out
