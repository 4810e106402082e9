"""UpdateTable: billing mode, provisioned throughput, deletion protection, table class, streams."""

import time

from ...core import tables
from .. import streams
from . import operation


@operation("UpdateTable")
async def update_table(ctx, body: dict) -> dict:
    name = body["TableName"]
    current = await ctx.engine.describe_table(name)
    offsets = None
    if "StreamSpecification" in body:  # a stream starts (or ends) at the log's end offsets now
        offsets = await streams.end_offsets(ctx, current)
    updated = tables.updated_description(current, body, time.time(), stream_offsets=offsets)
    return {"TableDescription": tables.public_description(await ctx.engine.replace_table(name, updated))}
