"""What Query and Scan share: Select, the starting key, and the response page."""

from __future__ import annotations

from ..core import errors, keys, values
from ..core.commands import Page
from . import capacity


def select(body: dict, projection_given: bool) -> bool:
    """Validate Select against the projection; returns True for COUNT."""
    mode = body.get("Select")
    if mode is None:
        return False
    if mode == "ALL_PROJECTED_ATTRIBUTES" and "IndexName" not in body:
        raise errors.validation("ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName")
    if mode == "SPECIFIC_ATTRIBUTES" and not projection_given:
        raise errors.validation(
            "Select type SPECIFIC_ATTRIBUTES requires AttributesToGet or ProjectionExpression"
        )
    if mode in ("ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "COUNT") and projection_given:
        field = "ProjectionExpression" if "ProjectionExpression" in body else "AttributesToGet"
        raise errors.validation(
            f"Cannot specify the {field} when choosing to get {'only the Count' if mode == 'COUNT' else mode}"
        )
    return mode == "COUNT"


def start_key(body: dict, schema: keys.KeySchema) -> dict | None:
    if "ExclusiveStartKey" not in body:
        return None
    key = values.validate_item(body["ExclusiveStartKey"])
    try:
        return keys.validate_key(schema, key)
    except errors.DynamoError as error:
        raise errors.validation(f"The provided starting key is invalid: {error.message}") from None


def page_response(body: dict, table: str, page: Page, count_only: bool, consistent: bool) -> dict:
    response: dict = {"Count": page.count, "ScannedCount": page.scanned_count}
    if not count_only:
        response["Items"] = page.items
    if page.last_evaluated_key is not None:
        response["LastEvaluatedKey"] = page.last_evaluated_key
    return capacity.attach(response, capacity.for_scan(body, table, page.bytes_read, consistent))
