"""ListStreams: every readable stream, or one table's, ordered by table name and label."""

from ...events import streams
from .. import streams as shared
from . import operation


@operation("ListStreams", service="dynamodbstreams")
async def list_streams(ctx, body: dict) -> dict:
    limit = shared.limit(body, 100)
    after = None
    if "ExclusiveStartStreamArn" in body:
        after = streams.parse_stream_arn(body["ExclusiveStartStreamArn"])
    if "TableName" in body:
        described = [await ctx.engine.describe_table(body["TableName"])]  # ResourceNotFound if absent
    else:
        described = [await shared.describe(ctx, name) for name in await ctx.engine.list_tables()]
    found = sorted(
        (stream.table_name, stream.label, stream.arn)
        for description in described if description is not None
        for stream in streams.streams_of(description, shared.clock_of(ctx)())
    )
    if after is not None:
        found = [entry for entry in found if entry[:2] > after]
    page = found[:limit]
    out: dict = {
        "Streams": [{"StreamArn": arn, "TableName": table, "StreamLabel": label} for table, label, arn in page]
    }
    if len(found) > limit:
        out["LastEvaluatedStreamArn"] = page[-1][2]
    return out
