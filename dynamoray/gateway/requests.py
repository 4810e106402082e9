"""Request pieces several operations share: expressions (modern or legacy), ReturnValues, keys.

Every expression is parsed once here, at the edge; commands carry typed ASTs inward.
"""

from __future__ import annotations

from typing import Iterable

from ..core import errors, index_tables, values
from ..core.expressions import ExpressionContext, ast, legacy
from . import capacity

_EXPRESSION_FIELDS = (
    "ConditionExpression", "UpdateExpression", "ProjectionExpression", "FilterExpression",
    "KeyConditionExpression",
)


def expression_context(body: dict) -> ExpressionContext:
    """The request's placeholders, after DynamoDB's checks that expressions use them."""
    legacy.check_no_mixing(body)
    present = [f for f in _EXPRESSION_FIELDS if f in body]
    if "ExpressionAttributeNames" in body and not present:
        raise errors.validation("ExpressionAttributeNames can only be specified when using expressions")
    if "ExpressionAttributeValues" in body and not present:
        raise errors.validation(
            "ExpressionAttributeValues can only be specified when using expressions: "
            "ConditionExpression is null"
        )
    return ExpressionContext(body.get("ExpressionAttributeNames"), body.get("ExpressionAttributeValues"))


def write_condition(ex: ExpressionContext, body: dict) -> ast.Condition | None:
    if "ConditionExpression" in body:
        return ex.condition(body["ConditionExpression"], "ConditionExpression")
    if "Expected" in body:
        return legacy.expected_to_condition(body["Expected"], body.get("ConditionalOperator"))
    return None


def filter_condition(ex: ExpressionContext, body: dict, legacy_field: str) -> ast.Condition | None:
    if "FilterExpression" in body:
        return ex.condition(body["FilterExpression"], "FilterExpression")
    if legacy_field in body:
        return legacy.filter_to_condition(body[legacy_field], body.get("ConditionalOperator"))
    return None


def key_condition(ex: ExpressionContext, body: dict, schema) -> ast.KeyCondition:
    """A Query's key condition, from KeyConditionExpression or the legacy KeyConditions."""
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


def projection(ex: ExpressionContext, body: dict) -> ast.Projection | None:
    if "ProjectionExpression" in body:
        return ex.projection(body["ProjectionExpression"])
    if "AttributesToGet" in body:
        return legacy.attributes_to_get_to_projection(body["AttributesToGet"])
    return None


def return_values(body: dict, allowed: Iterable[str]) -> str:
    mode = body.get("ReturnValues") or "NONE"
    if mode not in allowed:
        raise errors.validation("Return values set to invalid value")
    return mode


def return_old_on_failure(body: dict) -> bool:
    return (body.get("ReturnValuesOnConditionCheckFailure") or "NONE") == "ALL_OLD"


def item(body: dict, field: str = "Item") -> dict:
    return values.validate_item(body[field])


def key(body: dict, field: str = "Key") -> dict:
    return values.validate_item(body[field])


async def run_write(ctx, body: dict, ex: ExpressionContext, command) -> dict:
    """Run a single-item write and shape its response (Attributes, ConsumedCapacity)."""
    ex.check_unused()
    table = body["TableName"]
    outcome = await ctx.engine.write(table, command)
    response: dict = {}
    if outcome.attributes:
        response["Attributes"] = outcome.attributes
    if body.get("ReturnItemCollectionMetrics") == "SIZE" and outcome.collection is not None:  # a table with LSIs
        response["ItemCollectionMetrics"] = index_tables.collection_metrics(outcome.collection)
    consumed = capacity.for_write(body, table, outcome.old_size, outcome.new_size, outcome.index_writes)
    return capacity.attach(response, consumed)
