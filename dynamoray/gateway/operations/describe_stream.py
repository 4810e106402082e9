"""DescribeStream: the stream's status and view type, and its shards (one per log partition)."""

import asyncio

from .. import streams as shared
from . import operation


@operation("DescribeStream", service="dynamodbstreams")
async def describe_stream(ctx, body: dict) -> dict:
    limit = shared.limit(body, 100)
    reader = await shared.open_reader(ctx, body["StreamArn"])
    shards = await asyncio.to_thread(reader.shards)
    if (body.get("ShardFilter") or {}).get("Type") == "CHILD_SHARDS":
        shards = []  # log partitions never split: no shard has children
    start = body.get("ExclusiveStartShardId")
    if start is not None:
        shards = [shard for shard in shards if shard["ShardId"] > start]
    page = shards[:limit]
    description = {**reader.stream.describe(), "Shards": page}
    if len(shards) > limit:
        description["LastEvaluatedShardId"] = page[-1]["ShardId"]
    return {"StreamDescription": description}
