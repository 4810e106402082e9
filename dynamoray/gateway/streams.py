"""What the DynamoDB Streams operations share: finding a stream, reading its log, signing iterators.

The engine supplies two things: table descriptions (``describe_table``) and the log the tables
are written to (``stream_log()``); ``dynamoray.events.streams`` does the rest.  Log reads block,
so they run on a worker thread.

Shard iterators are signed with a per-server secret: random at start-up, or
``DYNAMORAY_STREAM_ITERATOR_SECRET`` when several gateways must accept each other's iterators.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import Any

from ..actors.records import table_topic
from ..core import errors
from ..core.errors import DynamoError
from ..events import streams
from ..events.log import system_clock


def _secret() -> bytes:
    configured = os.environ.get("DYNAMORAY_STREAM_ITERATOR_SECRET")
    return configured.encode() if configured else secrets.token_bytes(32)


ITERATORS = streams.IteratorCodec(_secret())
clock = system_clock


def clock_of(ctx: Any) -> Any:
    """The clock (ms) of the request's server: the test knobs' when it has them (``knobs.py``)."""
    knobs = getattr(ctx.engine, "test_knobs", None)
    return clock if knobs is None else knobs.clock_ms


async def describe(ctx: Any, table: str) -> dict | None:
    """The table's description, or None if there is no such table."""
    try:
        return await ctx.engine.describe_table(table)
    except DynamoError as error:
        if error.error_type == "ResourceNotFoundException":
            return None
        raise


async def open_reader(ctx: Any, arn: str) -> streams.StreamReader:
    """A reader of the stream ``arn``: ValidationException if malformed, ResourceNotFound if gone."""
    table, _ = streams.parse_stream_arn(arn)
    description = await describe(ctx, table)
    if description is not None:
        now = clock_of(ctx)
        for stream in streams.streams_of(description, now()):
            if stream.arn == arn:
                log = await ctx.engine.stream_log()
                return streams.StreamReader(log, table_topic(description["TableId"]), stream, now)
    raise errors.stream_not_found(arn)


async def end_offsets(ctx: Any, description: dict) -> dict[str, int]:
    """Each partition of the table's log and its end offset now (where a stream starts or ends)."""
    log = await ctx.engine.stream_log()
    topic = table_topic(description["TableId"])

    def read() -> dict[str, int]:
        return {str(p): log.end_offset(topic, p) for p in range(log.partition_count(topic))}

    return await asyncio.to_thread(read)


def limit(body: dict, maximum: int) -> int:
    """The request's Limit (``maximum`` when absent); the model checks the lower bound, DynamoDB the upper."""
    value = body.get("Limit")
    if value is None:
        return maximum
    if value > maximum:
        raise errors.constraint_violations(
            [errors.constraint_violation(f"'{value}'", "limit", errors.constraint_text("max", maximum))]
        )
    return value
