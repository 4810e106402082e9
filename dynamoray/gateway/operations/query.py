"""Query: one partition key, an optional sort-key condition, filter, projection, pagination."""

from ...core import errors
from ...core.commands import QuerySpec
from ...core.expressions import legacy
from .. import reads, requests
from . import operation


def _key_condition(ex, body: dict, schema):
    key_types = {name: kind for name, kind, _ in schema.typed}
    if "KeyConditionExpression" in body:
        return ex.key_condition(body["KeyConditionExpression"], schema.hash_name, schema.range_name,
                                key_types=key_types)
    if "KeyConditions" in body:
        return legacy.key_conditions_to_key_condition(body["KeyConditions"], schema.hash_name,
                                                      schema.range_name, key_types=key_types)
    raise errors.validation(
        "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."
    )


@operation("Query")
async def query(ctx, body: dict) -> dict:
    table = body["TableName"]
    ex = requests.expression_context(body)
    schema = await ctx.engine.key_schema(table)
    if "IndexName" in body:
        raise errors.validation(f"The table does not have the specified index: {body['IndexName']}")
    condition = _key_condition(ex, body, schema)
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
