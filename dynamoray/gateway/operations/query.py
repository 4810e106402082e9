"""Query: one partition key, an optional sort-key condition, filter, projection, pagination."""

from ...core import errors
from ...core.commands import QuerySpec
from .. import reads, requests
from . import operation


@operation("Query")
async def query(ctx, body: dict) -> dict:
    table = body["TableName"]
    ex = requests.expression_context(body)
    schema = await ctx.engine.key_schema(table)
    if "IndexName" in body:
        raise errors.validation(f"The table does not have the specified index: {body['IndexName']}")
    condition = requests.key_condition(ex, body, schema)
    projection = requests.projection(ex, body)
    count_only = reads.select(body, projection is not None)
    spec = QuerySpec(
        hash_value=condition.hash_value,
        range=condition.range,
        forward=body.get("ScanIndexForward", True),
        limit=body.get("Limit"),
        exclusive_start=reads.start_key(body, schema),
        filter=requests.filter_condition(ex, body, "QueryFilter"),
        projection=projection,
        count_only=count_only,
    )
    ex.check_unused()
    consistent = bool(body.get("ConsistentRead"))
    page = await ctx.engine.query(table, spec, consistent)
    return reads.page_response(body, table, page, count_only, consistent)
