"""ExecuteTransaction: up to 100 PartiQL statements run as one transaction.

All reads (single-item SELECTs: a TransactGetItems through ``engine.transact_get``) or all writes
(INSERT, UPDATE, DELETE and ``EXISTS(SELECT ...)`` condition checks: a TransactWriteItems through
``engine.transact_write``, with its two-phase protocol and ClientRequestToken idempotency).  A
cancelled transaction reports one CancellationReason per statement; an INSERT whose item exists
is ``DuplicateItem`` there.
"""

from __future__ import annotations

from ...core import capacity as units, errors, partiql, saga, values
from ...core.commands import PutCommand
from ...core.errors import DynamoError
from ...core.partiql import Select
from . import operation, transact_write_items
from .execute_statement import prepare, write_action
from .transact_write_items import item_identity

DUPLICATE_REASON = {"Code": "DuplicateItem", "Message": errors.partiql_duplicate_item().message}


@operation("ExecuteTransaction")
async def execute_transaction(ctx, body: dict) -> dict:
    specs = body["TransactStatements"]
    statements = [prepare(spec) for spec in specs]
    reads = {isinstance(statement, Select) for statement in statements}
    if len(reads) > 1:
        raise errors.partiql_transaction_mixed()
    if reads == {True}:
        return await _read(ctx, body, statements)
    return await _write(ctx, body, statements, specs)


async def _read(ctx, body: dict, statements: list) -> dict:
    gets, seen = [], set()
    for select in statements:
        if select.source.index is not None:
            raise errors.partiql_transaction_index()
        schema = await ctx.engine.key_schema(select.source.table)
        key = partiql.key_read(select, schema, errors.partiql_transaction_select)
        identity = item_identity(select.source.table, key)
        if identity in seen:
            raise errors.transaction_multiple_operations()
        seen.add(identity)
        gets.append((select.source.table, key))
    found = await ctx.engine.transact_get(gets)
    responses, tables = [], {}
    for select, (table, _), item in zip(statements, gets, found):
        size = values.item_size(item) if item is not None else 0
        tables[table] = tables.get(table, 0) + units.read_half_units(size, transactional=True)
        responses.append({} if item is None else {"Item": partiql.project(select.projection, item)})
    out: dict = {"Responses": responses}
    mode = body.get("ReturnConsumedCapacity")
    if mode not in (None, "NONE"):
        out["ConsumedCapacity"] = [units.consumed_capacity(t, read_units=r, mode=mode, split=True)
                                   for t, r in tables.items()]
    return out


async def _write(ctx, body: dict, statements: list, specs: list[dict]) -> dict:
    planned, seen, total = [], set(), 0
    for statement, spec in zip(statements, specs):
        if getattr(statement, "returning", None) is not None:
            raise errors.partiql_transaction_unsupported()
        action = await write_action(ctx, statement, spec)
        identity = item_identity(action.table, action.key)
        if identity in seen:
            raise errors.transaction_multiple_operations()
        seen.add(identity)
        command = action.command
        total += values.check_item_size(command.item) if isinstance(command, PutCommand) else values.item_size(action.key)
        planned.append(action)
    if total > saga.MAX_TRANSACTION_BYTES:
        raise errors.transaction_too_large()
    actions = [(action.table, action.command) for action in planned]
    token = body.get("ClientRequestToken")
    digest = saga.request_hash(body["TransactStatements"]) if token is not None else None
    try:
        result = await ctx.engine.transact_write(actions, token, digest)
    except DynamoError as error:
        raise _with_duplicates(error, planned) from None
    out: dict = {}
    consumed = transact_write_items.consumed(body, actions, result)
    if consumed is not None:
        out["ConsumedCapacity"] = consumed
    return out


def _with_duplicates(error: DynamoError, planned: list) -> DynamoError:
    """A cancellation whose failed INSERT conditions read as DuplicateItem."""
    reasons = error.extra.get("CancellationReasons")
    if error.error_type != "TransactionCanceledException" or not reasons:
        return error
    remapped = [dict(DUPLICATE_REASON) if action.insert and reason.get("Code") == "ConditionalCheckFailed"
                else reason for action, reason in zip(planned, reasons)]
    return errors.transaction_canceled(remapped)
