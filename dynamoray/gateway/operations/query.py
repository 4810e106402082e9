"""Query: one partition key, an optional sort-key condition, filter, projection, pagination."""

from ...core.commands import QuerySpec
from .. import indexes, reads, requests
from . import operation


@operation("Query")
async def query(ctx, body: dict) -> dict:
    table = body["TableName"]
    ex = requests.expression_context(body)
    schema = await ctx.engine.key_schema(table)
    index = await indexes.index_for(ctx, table, body) if "IndexName" in body else None  # gateway/indexes.py
    condition = requests.key_condition(ex, body, schema if index is None else index.schema)
    projection = requests.projection(ex, body)
    if index is None:
        count_only = reads.select(body, projection is not None)
    else:
        count_only = indexes.select(body, index, projection is not None)
    start = reads.start_key(body, schema) if index is None else indexes.start_key(body, index)
    filter_ = requests.filter_condition(ex, body, "QueryFilter")
    fetch = index is not None and indexes.fetches(body, index, projection, filter_)
    spec = QuerySpec(
        hash_value=condition.hash_value,
        range=condition.range,
        forward=body.get("ScanIndexForward", True),
        limit=body.get("Limit"),
        exclusive_start=start,
        filter=filter_,
        projection=projection if index is None else indexes.returned(body, index, projection, fetch),
        count_only=count_only,
        index=None if index is None else index.name,
        fetch=fetch,
    )
    ex.check_unused()
    consistent = bool(body.get("ConsistentRead"))
    page = await ctx.engine.query(table, spec, consistent)
    if index is not None:
        return indexes.page_response(body, table, index, page, count_only, consistent)
    return reads.page_response(body, table, page, count_only, consistent)
