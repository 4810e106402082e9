"""The change feed: an extension endpoint that hands out a table's item changes, for caches outside
the server (the SDK's in-process accelerator, ``sdk/accelerator.py``).

``X-Amz-Target: DynamoRayChangeFeed_20241101.GetChanges``, signed with SigV4 like any request;
IAM checks the action ``dynamodb:GetChanges`` on the table's ARN.  It reads the table's log
directly (every shard, through the engine's log object), whether or not the table has a DynamoDB
stream, and always gives the whole new image, whatever a stream's view type would be.

Request: ``{"TableName": T, "TableId": id?, "Positions": {"<shard>": offset}?, "Limit": n?}``.
Without ``Positions`` (or with another table's ``TableId``, or positions no longer retained) the
answer is ``{"TableId", "Positions": <the end of every shard>, "Changes": [], "Reset": true}``:
a follower starts at the end (it holds nothing yet, so nothing is missed), and a ``Reset`` tells it
to drop what it cached of the table.  Otherwise ``Changes`` lists, in log order per shard, up to
``Limit`` (default 1000) changes per shard as ``{"Keys", "NewImage"?}`` (no ``NewImage``: the
item was deleted), and ``Positions`` where to continue.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..actors.records import CODEC, table_topic
from ..core import errors
from ..events.log import LogError, OffsetOutOfRangeError, TruncatedError, UnknownTopicError
from ..schemas.events import ItemChanged
from .operations import operation

FEED_PREFIX = "DynamoRayChangeFeed_20241101"
FEED_SERVICE = "dynamoraychanges"
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000


def _check(body: dict) -> tuple[str, dict[int, int] | None, int]:
    table = body.get("TableName")
    if not isinstance(table, str) or not table:
        raise errors.validation("TableName is required")
    limit = body.get("Limit", DEFAULT_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise errors.validation(f"Limit must be an integer from 1 to {MAX_LIMIT}")
    raw = body.get("Positions")
    if raw is None:
        return table, None, limit
    try:
        positions = {int(shard): int(offset) for shard, offset in raw.items()}
    except (AttributeError, TypeError, ValueError):
        raise errors.validation("Positions must map shard numbers to log offsets") from None
    return table, positions, limit


def _ends(log_: Any, topic: str) -> dict[int, int]:
    return {shard: log_.end_offset(topic, shard) for shard in range(log_.partition_count(topic))}


def _read(log_: Any, topic: str, positions: dict[int, int], limit: int) -> tuple[list[dict], dict[int, int]] | None:
    """Blocking: the changes after ``positions`` and the positions after them; None when the
    positions do not fit the topic (other shards, truncated or past the end)."""
    if set(positions) != set(range(log_.partition_count(topic))):
        return None
    changes: list[dict] = []
    after = dict(positions)
    try:
        for shard, offset in positions.items():
            batch = log_.read(topic, shard, offset, limit)
            for record in batch:
                event = CODEC.decode(record.value)
                if type(event) is ItemChanged:
                    change = {"Keys": event.keys}
                    if event.new_image is not None:
                        change["NewImage"] = event.new_image
                    changes.append(change)
            if batch:
                after[shard] = batch[-1].offset + 1
    except (TruncatedError, OffsetOutOfRangeError):
        return None
    return changes, after


@operation("GetChanges", service=FEED_SERVICE)
async def get_changes(ctx: Any, body: dict) -> dict:
    table, positions, limit = _check(body)
    description = await ctx.engine.describe_table(table)  # ResourceNotFoundException if none
    table_id = description["TableId"]
    topic = table_topic(table_id)
    log_ = await ctx.engine.stream_log()
    try:
        found = None
        if positions is not None and body.get("TableId") in (None, table_id):
            found = await asyncio.to_thread(_read, log_, topic, positions, limit)
        if found is None:
            ends = await asyncio.to_thread(_ends, log_, topic)
            return {"TableId": table_id, "Positions": _wire(ends), "Changes": [], "Reset": True}
    except UnknownTopicError:  # deleted meanwhile
        raise errors.resource_not_found() from None
    except LogError as error:
        raise errors.internal_server_error(f"The table's log could not be read: {error}") from None
    changes, after = found
    return {"TableId": table_id, "Positions": _wire(after), "Changes": changes}


def _wire(positions: dict[int, int]) -> dict[str, int]:
    return {str(shard): offset for shard, offset in sorted(positions.items())}
