"""ExecuteStatement: one PartiQL statement (``core/partiql``) on the existing item machinery.

A write runs as the single-item command it translates to (``engine.write``); a SELECT runs its
read plan, one Query per partition-key value or a Scan, a page at a time: ``Limit`` counts the
items read over the whole page, a page stops at 1 MB, and ``NextToken`` (with the page's
``LastEvaluatedKey``) resumes where it stopped.  The helpers here are shared with
BatchExecuteStatement and ExecuteTransaction.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ...core import errors, indexes, keys, partiql
from ...core.errors import DynamoError
from ...core.partiql import Exists, Select
from .. import capacity, requests
from . import operation

MAX_PAGE_BYTES = 1024 * 1024
CONDITION_FAILED = "ConditionalCheckFailedException"


def prepare(spec: dict) -> Any:
    """The statement of a request (or of one entry of a batch/transaction), parameters bound."""
    return partiql.prepare(spec["Statement"], spec.get("Parameters"))


async def write_action(ctx, statement: Any, spec: dict) -> partiql.WriteAction:
    schema = await ctx.engine.key_schema(partiql.table_of(statement))
    return partiql.write_action(statement, schema, requests.return_old_on_failure(spec))


async def run_write(ctx, action: partiql.WriteAction):
    """Run one write; a failed INSERT condition is DynamoDB's DuplicateItemException."""
    try:
        return await ctx.engine.write(action.table, action.command)
    except DynamoError as error:
        if action.insert and error.error_type == CONDITION_FAILED:
            raise errors.partiql_duplicate_item() from None
        raise


async def read_schema(ctx, source: Any, consistent: bool) -> tuple[keys.KeySchema, str | None]:
    """The key schema a SELECT reads by: the table's, or its index's."""
    if source.index is None:
        return await ctx.engine.key_schema(source.table), None
    found = indexes.index_set(await ctx.engine.describe_table(source.table)).get(source.index)
    if found is None:
        raise errors.table_has_no_index(source.index)
    if consistent and found.is_global:
        raise errors.consistent_read_on_gsi()
    return found.schema, source.index


@operation("ExecuteStatement")
async def execute_statement(ctx, body: dict) -> dict:
    statement = prepare(body)
    if isinstance(statement, Select):
        return await _select(ctx, body, statement)
    if isinstance(statement, Exists):
        raise errors.partiql_exists_outside_transaction()
    action = await write_action(ctx, statement, body)
    outcome = await run_write(ctx, action)
    response = {"Items": [outcome.attributes] if outcome.attributes else []}
    return capacity.attach(response, capacity.for_write(body, action.table, outcome.old_size, outcome.new_size))


async def _select(ctx, body: dict, select: Select) -> dict:
    consistent = bool(body.get("ConsistentRead"))
    schema, index = await read_schema(ctx, select.source, consistent)
    plan = partiql.read_plan(select, schema)
    parts = plan.queries or (plan.scan,)
    request = partiql.digest(body["Statement"], body.get("Parameters"))
    part, start = 0, None
    if "NextToken" in body:
        part, start = _resume(body["NextToken"], request, len(parts), schema if index is None else None)
    remaining = body.get("Limit")
    items, read, last = [], 0, None
    while part < len(parts):
        spec = dataclasses.replace(parts[part], limit=remaining, exclusive_start=start, index=index)
        read_part = ctx.engine.query if plan.queries else ctx.engine.scan
        page = await read_part(plan.table, spec, consistent)
        items.extend(partiql.project(plan.projection, item) for item in page.items)
        read += page.bytes_read
        if page.last_evaluated_key is not None:
            start = last = page.last_evaluated_key
            break
        part, start = part + 1, None
        if remaining is not None:
            remaining -= page.scanned_count
            if remaining <= 0:
                break
        if read >= MAX_PAGE_BYTES:
            break
    response: dict = {"Items": items}
    if part < len(parts):
        response["NextToken"] = partiql.encode_token(request, part, start)
    if last is not None:
        response["LastEvaluatedKey"] = last
    return capacity.attach(response, capacity.for_scan(body, plan.table, read, consistent))


def _resume(token: str, request: str, parts: int, schema: keys.KeySchema | None) -> tuple[int, dict | None]:
    part, start = partiql.decode_token(token, request)
    if part >= parts:
        raise errors.partiql_invalid_next_token()
    if start is not None and schema is not None:
        try:
            start = keys.validate_key(schema, start)
        except DynamoError:
            raise errors.partiql_invalid_next_token() from None
    return part, start
