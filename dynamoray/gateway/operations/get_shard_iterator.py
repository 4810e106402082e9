"""GetShardIterator: a signed position in one shard (TRIM_HORIZON, LATEST, AT/AFTER a sequence
number, AT_TIMESTAMP)."""

import asyncio

from .. import streams as shared
from . import operation


@operation("GetShardIterator", service="dynamodbstreams")
async def get_shard_iterator(ctx, body: dict) -> dict:
    reader = await shared.open_reader(ctx, body["StreamArn"])
    iterator = await asyncio.to_thread(
        reader.iterator, body["ShardId"], body["ShardIteratorType"], body.get("SequenceNumber"), body.get("Timestamp")
    )
    return {"ShardIterator": shared.ITERATORS.encode(iterator)}
