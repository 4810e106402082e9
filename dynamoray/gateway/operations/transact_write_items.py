"""TransactWriteItems: up to 100 Put/Update/Delete/ConditionCheck actions, all or nothing.

Each action is parsed into the same command a single-item write uses; the engine's transaction
coordinator runs them as one two-phase transaction (``actors/coordinator.py``).
"""

from ...core import capacity as units, errors, keys, saga, values
from ...core.commands import ConditionCheckCommand, DeleteCommand, PutCommand, UpdateCommand
from ...core.expressions import update as update_mod
from .. import requests
from . import operation

KINDS = ("ConditionCheck", "Put", "Delete", "Update")


async def _action(ctx, element: dict) -> tuple[str, object, dict, int]:
    """``(table, command, key, size)`` of one TransactWriteItem."""
    present = [kind for kind in KINDS if element.get(kind) is not None]
    if len(present) != 1:
        raise errors.transact_item_one_action()
    kind = present[0]
    spec = element[kind]
    table = spec["TableName"]
    schema = await ctx.engine.key_schema(table)
    ex = requests.expression_context(spec)
    on_failure = requests.return_old_on_failure(spec)
    if kind == "Put":
        item = requests.item(spec)
        key = keys.extract_key(schema, item)
        size = values.check_item_size(item)
        command = PutCommand(item, requests.write_condition(ex, spec), "NONE", on_failure)
    else:
        key = keys.validate_key(schema, requests.key(spec))
        size = values.item_size(key)
        if kind == "Update":
            update = ex.update(spec["UpdateExpression"])
            update_mod.check_update_keys(update, schema.names)
            command = UpdateCommand(key, update, requests.write_condition(ex, spec), "NONE", on_failure)
        elif kind == "Delete":
            command = DeleteCommand(key, requests.write_condition(ex, spec), "NONE", on_failure)
        else:
            command = ConditionCheckCommand(key, ex.condition(spec["ConditionExpression"], "ConditionExpression"),
                                            on_failure)
    ex.check_unused()
    return table, command, key, size


def item_identity(table: str, key: dict) -> tuple:
    return table, tuple(sorted((name, repr(value)) for name, value in key.items()))


async def plan(ctx, transact_items: list[dict]) -> list[tuple[str, object]]:
    """Every action, checked as DynamoDB does before running any: one action each, distinct
    items, at most 4 MB of items."""
    actions, seen, total = [], set(), 0
    for element in transact_items:
        table, command, key, size = await _action(ctx, element)
        identity = item_identity(table, key)
        if identity in seen:
            raise errors.transaction_multiple_operations()
        seen.add(identity)
        total += size
        actions.append((table, command))
    if total > saga.MAX_TRANSACTION_BYTES:
        raise errors.transaction_too_large()
    return actions


def consumed(body: dict, actions: list[tuple[str, object]], result: saga.TransactWriteResult) -> list[dict] | None:
    """One ConsumedCapacity per table: writes at twice the usual rate, a ConditionCheck as a
    transactional read; an idempotent retry as one transactional read per action."""
    mode = body.get("ReturnConsumedCapacity")
    if mode in (None, "NONE"):
        return None
    tables: dict[str, list[int]] = {}
    for index, (table, command) in enumerate(actions):
        read_write = tables.setdefault(table, [0, 0])
        if result.replayed:
            read_write[0] += units.read_half_units(0, transactional=True)
            continue
        outcome = result.results[index]
        if isinstance(command, ConditionCheckCommand):
            read_write[0] += units.read_half_units(outcome.old_size, transactional=True)
        else:
            read_write[1] += units.write_half_units(outcome.new_size, outcome.old_size, transactional=True)
    return [units.consumed_capacity(table, read, write, mode=mode, split=True)
            for table, (read, write) in tables.items()]


@operation("TransactWriteItems")
async def transact_write_items(ctx, body: dict) -> dict:
    actions = await plan(ctx, body["TransactItems"])
    token = body.get("ClientRequestToken")
    digest = saga.request_hash(body["TransactItems"]) if token is not None else None
    result = await ctx.engine.transact_write(actions, token, digest)
    response: dict = {}
    capacity = consumed(body, actions, result)
    if capacity is not None:
        response["ConsumedCapacity"] = capacity
    return response
