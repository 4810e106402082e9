"""GetRecords: up to Limit (1000) records or 1 MB from a shard iterator, and the next iterator."""

import asyncio

from ...events import streams
from .. import streams as shared
from . import operation


@operation("GetRecords", service="dynamodbstreams")
async def get_records(ctx, body: dict) -> dict:
    limit = shared.limit(body, streams.MAX_RECORDS)
    iterator = shared.ITERATORS.decode(body["ShardIterator"])
    streams.check_iterator_age(iterator, shared.clock_of(ctx)())
    reader = await shared.open_reader(ctx, iterator.arn)
    records, following = await asyncio.to_thread(reader.read, iterator, limit)
    out: dict = {"Records": records}
    if following is not None:
        out["NextShardIterator"] = shared.ITERATORS.encode(following)
    return out
