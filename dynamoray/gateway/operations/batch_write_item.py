"""BatchWriteItem: up to 25 puts and deletes over any tables (each write atomic on its own)."""

from ...core import errors, keys, values
from ...core.commands import DeleteCommand, PutCommand
from .. import capacity
from . import operation

MAX_REQUESTS = 25


def _command(schema, request: dict):
    if len([k for k in ("PutRequest", "DeleteRequest") if k in request]) != 1:
        raise errors.validation("Request must contain exactly one of PutRequest or DeleteRequest")
    if "PutRequest" in request:
        item = values.validate_item(request["PutRequest"]["Item"])
        return PutCommand(item=item), keys.extract_key(schema, item)
    key = keys.validate_key(schema, values.validate_item(request["DeleteRequest"]["Key"]))
    return DeleteCommand(key=key), key


async def _plan(ctx, body: dict) -> list:
    plan, total = [], 0
    for table, table_requests in body["RequestItems"].items():
        schema = await ctx.engine.key_schema(table)
        seen = set()
        for request in table_requests:
            command, key = _command(schema, request)
            fingerprint = tuple(sorted((k, repr(v)) for k, v in key.items()))
            if fingerprint in seen:
                raise errors.validation("Provided list of item keys contains duplicates")
            seen.add(fingerprint)
            plan.append((table, command))
        total += len(table_requests)
    if total > MAX_REQUESTS:
        raise errors.validation("Too many items requested for the BatchWriteItem call")
    return plan


@operation("BatchWriteItem")
async def batch_write_item(ctx, body: dict) -> dict:
    plan = await _plan(ctx, body)
    sizes: dict[str, list[tuple[int, int]]] = {}
    for _table, command in plan:
        if isinstance(command, PutCommand):
            values.check_item_size(command.item)
    for table, command in plan:
        outcome = await ctx.engine.write(table, command)
        sizes.setdefault(table, []).append((outcome.old_size, outcome.new_size))
    consumed = [c for t, s in sizes.items() if (c := capacity.for_writes(body, t, s)) is not None]
    out: dict = {"UnprocessedItems": {}}
    if consumed:
        out["ConsumedCapacity"] = consumed
    return out
