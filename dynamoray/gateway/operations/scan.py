"""Scan, with parallel-scan segments."""

from ...core import errors
from ...core.commands import ScanSpec
from .. import indexes, reads, requests
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
    index = await indexes.index_for(ctx, table, body) if "IndexName" in body else None  # gateway/indexes.py
    projection = requests.projection(ex, body)
    if index is None:
        count_only = reads.select(body, projection is not None)
    else:
        count_only = indexes.select(body, index, projection is not None)
    segment, total = _segments(body)
    start = reads.start_key(body, schema) if index is None else indexes.start_key(body, index)
    filter_ = requests.filter_condition(ex, body, "ScanFilter")
    fetch = index is not None and indexes.fetches(body, index, projection, filter_)
    spec = ScanSpec(
        limit=body.get("Limit"),
        exclusive_start=start,
        filter=filter_,
        projection=projection if index is None else indexes.returned(body, index, projection, fetch),
        count_only=count_only,
        segment=segment,
        total_segments=total,
        index=None if index is None else index.name,
        fetch=fetch,
    )
    ex.check_unused()
    consistent = bool(body.get("ConsistentRead"))
    page = await ctx.engine.scan(table, spec, consistent)
    if index is not None:
        return indexes.page_response(body, table, index, page, count_only, consistent)
    return reads.page_response(body, table, page, count_only, consistent)
