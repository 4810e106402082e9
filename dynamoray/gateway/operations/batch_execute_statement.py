"""BatchExecuteStatement: up to 25 PartiQL statements, all reads or all writes, each on its own.

Each SELECT must name one item by its full key (a GetItem); each write is a single-item write.
A statement that fails gets an ``Error`` (``Code``, ``Message``, and the ``Item`` for a failed
condition with ``ReturnValuesOnConditionCheckFailure``) in its place of ``Responses``, and the
others still run: the request itself fails only for a batch mixing reads and writes or naming one
item twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ...core import capacity as units, errors, partiql, values
from ...core.errors import DynamoError
from ...core.partiql import Exists, Select
from .execute_statement import prepare, run_write, write_action
from .transact_write_items import item_identity
from . import operation

# DynamoDB's error types, and the codes a batch reports them under (BatchStatementErrorCodeEnum)
CODES = {
    "ConditionalCheckFailedException": "ConditionalCheckFailed",
    "ItemCollectionSizeLimitExceededException": "ItemCollectionSizeLimitExceeded",
    "RequestLimitExceeded": "RequestLimitExceeded",
    "ValidationException": "ValidationError",
    "ProvisionedThroughputExceededException": "ProvisionedThroughputExceeded",
    "TransactionConflictException": "TransactionConflict",
    "ThrottlingException": "ThrottlingError",
    "InternalServerError": "InternalServerError",
    "ResourceNotFoundException": "ResourceNotFound",
    "AccessDeniedException": "AccessDenied",
    "DuplicateItemException": "DuplicateItem",
}


def failure(error: DynamoError, table: str | None = None) -> dict:
    """A statement's entry of ``Responses`` for an error (raised again if a batch cannot carry it)."""
    code = CODES.get(error.error_type)
    if code is None:
        raise error
    detail = {"Code": code, "Message": error.message}
    if "Item" in error.extra:
        detail["Item"] = error.extra["Item"]
    return {"Error": detail, "TableName": table} if table is not None else {"Error": detail}


def _parsed(specs: list[dict]) -> list[Any]:
    """Each statement bound (or the error it gave); one kind of statement for the whole batch."""
    out: list[Any] = []
    for spec in specs:
        try:
            statement = prepare(spec)
            if isinstance(statement, Exists):
                raise errors.partiql_exists_outside_transaction()
            out.append(statement)
        except DynamoError as error:
            out.append(error)
    kinds = {isinstance(s, Select) for s in out if not isinstance(s, DynamoError)}
    if len(kinds) > 1:
        raise errors.partiql_batch_mixed()
    return out


async def _plan(ctx, statements: list[Any], specs: list[dict]) -> list[Any]:
    """Each statement as ``(table, key read or WriteAction)``, or the error it gave."""
    planned: list[Any] = []
    seen = set()
    for statement, spec in zip(statements, specs):
        if isinstance(statement, DynamoError):
            planned.append(statement)
            continue
        table = partiql.table_of(statement)
        try:
            if isinstance(statement, Select):
                if statement.source.index is not None:
                    raise errors.partiql_batch_select()
                schema = await ctx.engine.key_schema(table)
                work: Any = (partiql.key_read(statement, schema), statement.projection)
                key = work[0]
            else:
                work = await write_action(ctx, statement, spec)
                key = work.key
        except DynamoError as error:
            planned.append((table, error))
            continue
        identity = item_identity(table, key)
        if identity in seen:
            raise errors.partiql_batch_duplicates()
        seen.add(identity)
        planned.append((table, work))
    return planned


async def _run(ctx, entry: Any, spec: dict) -> tuple[dict, tuple]:
    """``(response, (table, read half-units, write half-units) or ())`` of one statement."""
    if isinstance(entry, DynamoError):
        return failure(entry), ()
    table, work = entry
    if isinstance(work, DynamoError):
        return failure(work, table), ()
    try:
        if isinstance(work, tuple):
            key, projection = work
            consistent = bool(spec.get("ConsistentRead"))
            item = await ctx.engine.get(table, key, None, consistent)
            response = {"TableName": table}
            if item is not None:
                response["Item"] = partiql.project(projection, item)
            size = values.item_size(item) if item is not None else 0
            return response, (table, units.read_half_units(size, consistent=consistent), 0)
        outcome = await run_write(ctx, work)
    except DynamoError as error:
        return failure(error, table), ()
    response = {"TableName": table}
    if outcome.attributes:
        response["Item"] = outcome.attributes
    return response, (table, 0, units.write_half_units(outcome.new_size, outcome.old_size))


@operation("BatchExecuteStatement")
async def batch_execute_statement(ctx, body: dict) -> dict:
    specs = body["Statements"]
    planned = await _plan(ctx, _parsed(specs), specs)
    results = await asyncio.gather(*(_run(ctx, entry, spec) for entry, spec in zip(planned, specs)))
    out: dict = {"Responses": [response for response, _ in results]}
    mode = body.get("ReturnConsumedCapacity")
    if mode not in (None, "NONE"):
        tables: dict[str, list[int]] = {}
        for _, used in results:
            if used:
                table, read, write = used
                totals = tables.setdefault(table, [0, 0])
                totals[0] += read
                totals[1] += write
        out["ConsumedCapacity"] = [units.consumed_capacity(t, read, write, mode=mode)
                                   for t, (read, write) in tables.items()]
    return out
