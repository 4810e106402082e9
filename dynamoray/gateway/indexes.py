"""Query and Scan with ``IndexName``: which index, what it may return, where a page starts, and
what it costs.

- :func:`index_for` finds the index (the engine's cached index set first, the catalog again when
  the cache does not know it or still has it backfilling) and applies DynamoDB's rules: an unknown
  index, a GSI still backfilling, ConsistentRead on a GSI.
- :func:`select` checks ``Select`` for an index: ALL_ATTRIBUTES needs an ALL projection on a GSI,
  while an LSI then fetches the base items (:func:`fetches`: also when the projection or the filter
  names an attribute the LSI does not project; a GSI returns what it has).
- :func:`start_key`: an ExclusiveStartKey holds the table's and the index's key attributes.
- :func:`page_response`: ConsumedCapacity is the index's (and the table's for the items an LSI
  fetched), in ``GlobalSecondaryIndexes`` / ``LocalSecondaryIndexes`` with INDEXES.
"""

from __future__ import annotations

from typing import Any

from ..core import capacity as core_capacity, errors, index_reads, indexes, keys, values
from ..core.commands import Page
from ..core.expressions import ast
from . import capacity, reads


async def index_for(ctx: Any, table: str, body: dict) -> indexes.IndexDef:
    name = body["IndexName"]
    index_set = await ctx.engine.table_indexes(table)
    if index_set.get(name) is None or name in index_set.backfilling:
        index_set = await ctx.engine.table_indexes(table, refresh=True)
    index = index_set.get(name)
    if index is None:
        raise errors.table_has_no_index(name)
    if index.is_global and body.get("ConsistentRead"):
        raise errors.consistent_read_on_gsi()
    if name in index_set.backfilling:
        raise errors.index_backfilling(name)
    return index


def select(body: dict, index: indexes.IndexDef, projection_given: bool) -> bool:
    """Validate Select for a read on ``index``; True for COUNT."""
    count_only = reads.select(body, projection_given)
    if body.get("Select") == "ALL_ATTRIBUTES" and index.is_global and index.projected is not None:
        raise errors.select_all_on_gsi(index.name)
    return count_only


def fetches(body: dict, index: indexes.IndexDef, *nodes: Any) -> bool:
    """Whether an LSI read must fetch the base items: Select ALL_ATTRIBUTES, or a projection or
    filter naming an attribute the index does not project."""
    if index.is_global or index.projected is None:
        return False
    if body.get("Select") == "ALL_ATTRIBUTES":
        return True
    return any(name not in index.projected for name in index_reads.referenced_names(*nodes))


def returned(body: dict, index: indexes.IndexDef, projection: Any, fetch: bool) -> Any:
    """What a read on ``index`` returns of each item: the request's projection; or, when an LSI
    fetched base items only to evaluate the filter, what the index projects (the default Select is
    ALL_PROJECTED_ATTRIBUTES)."""
    if projection is not None or not fetch or body.get("Select") in ("ALL_ATTRIBUTES", "COUNT"):
        return projection
    return ast.Projection(tuple(ast.Path((name,)) for name in sorted(index.projected)))


def start_key(body: dict, index: indexes.IndexDef) -> dict | None:
    if "ExclusiveStartKey" not in body:
        return None
    key = values.validate_item(body["ExclusiveStartKey"])
    names = index.key_names
    if set(key) != set(names):
        raise errors.starting_key_invalid()
    try:
        keys.validate_key(index.table, {name: key[name] for name in index.table.names})
        own = [(n, k) for n, k, _ in index.schema.typed if n not in index.table.names]
        if any(values.type_of(key[n]) != k for n, k in own):
            raise errors.key_schema_mismatch()
    except errors.DynamoError as error:
        raise errors.validation(f"The provided starting key is invalid: {error.message}") from None
    return key


def page_response(body: dict, table: str, index: indexes.IndexDef, page: Page, count_only: bool,
                  consistent: bool) -> dict:
    response: dict = {"Count": page.count, "ScannedCount": page.scanned_count}
    if not count_only:
        response["Items"] = page.items
    if page.last_evaluated_key is not None:
        response["LastEvaluatedKey"] = page.last_evaluated_key
    index_half = core_capacity.scan_half_units(page.bytes_read, consistent=consistent)
    table_half = core_capacity.scan_half_units(page.fetched_bytes, consistent=consistent) if page.fetched_bytes else 0
    consumed = core_capacity.consumed_capacity(
        table, read_units=table_half,
        indexes=[core_capacity.IndexCapacity(index.name, index.is_global, read_units=index_half)],
        mode=body.get("ReturnConsumedCapacity"))
    return capacity.attach(response, consumed)
