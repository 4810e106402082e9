"""UpdateTable: billing mode, provisioned throughput, deletion protection, table class, streams, SSE."""

import time

from ...core import global_tables, sse, tables
from .. import sse as sse_keys
from .. import streams
from . import operation


@operation("UpdateTable")
async def update_table(ctx, body: dict) -> dict:
    name = body["TableName"]
    if body.get("ReplicaUpdates"):  # global tables (gateway/replication.py)
        from ..replication import update_replicas

        return {"TableDescription": tables.public_description(await update_replicas(ctx, name, body["ReplicaUpdates"]))}
    described = await apply_update(ctx, name, body)
    if global_tables.has_replicas(described) and global_tables.propagates(body):  # to every replica
        from ..replica_settings import settings_changed

        described = await settings_changed(ctx, described)
    return {"TableDescription": tables.public_description(described)}


async def apply_update(ctx, name: str, body: dict) -> dict:
    """The update in this region only (a replica taking another region's settings calls it too)."""
    current = await ctx.engine.describe_table(name)
    global_tables.check_stream_update(current, body)  # a global table keeps its stream
    offsets = None
    if "StreamSpecification" in body:  # a stream starts (or ends) at the log's end offsets now
        offsets = await streams.end_offsets(ctx, current)
    updated = tables.updated_description(current, body, time.time(), stream_offsets=offsets)
    if "SSESpecification" in body:  # encryption at rest: another key (core/sse.py)
        wanted = sse.requested(body["SSESpecification"])
        sse.check_update(current, wanted)
        updated = sse.with_key(updated, await sse_keys.key_arn_of(ctx, wanted))
    return await ctx.engine.replace_table(name, updated)
