"""Scan, with parallel-scan segments."""

from ...core import errors
from ...core.commands import ScanSpec
from .. import reads, requests
from . import operation


def _segments(body: dict) -> tuple[int, int]:
    segment, total = body.get("Segment"), body.get("TotalSegments")
    if segment is None and total is None:
        return 0, 1
    if total is None:
        raise errors.validation(
            "The TotalSegments parameter is required but was not present in the request when Segment parameter is present"
        )
    if segment is None:
        raise errors.validation(
            "The Segment parameter is required but was not present in the request when parameter TotalSegments is present"
        )
    if segment >= total:
        raise errors.validation(
            f"The Segment parameter is zero-based and must be less than parameter TotalSegments: "
            f"Segment: {segment} is not less than TotalSegments: {total}"
        )
    return segment, total


@operation("Scan")
async def scan(ctx, body: dict) -> dict:
    table = body["TableName"]
    ex = requests.expression_context(body)
    schema = await ctx.engine.key_schema(table)
    if "IndexName" in body:
        raise errors.validation(f"The table does not have the specified index: {body['IndexName']}")
    projection = requests.projection(ex, body)
    count_only = reads.select(body, projection is not None)
    segment, total = _segments(body)
    spec = ScanSpec(
        limit=body.get("Limit"),
        exclusive_start=reads.start_key(body, schema),
        filter=requests.filter_condition(ex, body, "ScanFilter"),
        projection=projection,
        count_only=count_only,
        segment=segment,
        total_segments=total,
    )
    ex.check_unused()
    consistent = bool(body.get("ConsistentRead"))
    page = await ctx.engine.scan(table, spec, consistent)
    return reads.page_response(body, table, page, count_only, consistent)
