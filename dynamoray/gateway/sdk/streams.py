"""Stream subscription: every change of a table, in order per item, following shard lineage.

``follow_stream`` is a flow (see ``flows.py``): it lists the stream's shards (DescribeStream),
reads a shard only once its parent has been read to its end, takes a shard iterator
(GetShardIterator) and pages with GetRecords, emitting one :class:`StreamRecord` per change.
Shards that appear later (children of a closed shard) are read from their start.  An expired
iterator is renewed after the last record read.  With ``follow=False`` the flow ends once every
shard is read up to its current end; otherwise it polls every ``poll_interval`` seconds forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .convert import item_from_wire
from .errors import ExpiredIteratorException
from .flows import Call, Emit, Flow, Sleep

StartAt = Literal["TRIM_HORIZON", "LATEST"]


@dataclass(frozen=True)
class StreamRecord:
    """One change.  Images are plain Python (None when the view type leaves them out)."""

    event_name: str  # INSERT, MODIFY or REMOVE
    keys: dict[str, Any]
    new_image: dict[str, Any] | None
    old_image: dict[str, Any] | None
    sequence_number: str
    shard_id: str
    created_at: float | None  # ApproximateCreationDateTime, epoch seconds
    raw: dict[str, Any]

    @classmethod
    def from_wire(cls, record: dict[str, Any], shard_id: str) -> StreamRecord:
        change = record.get("dynamodb") or {}
        new, old = change.get("NewImage"), change.get("OldImage")
        return cls(str(record.get("eventName")), item_from_wire(change.get("Keys") or {}),
                   item_from_wire(new) if new is not None else None,
                   item_from_wire(old) if old is not None else None,
                   str(change.get("SequenceNumber")), shard_id, change.get("ApproximateCreationDateTime"), record)


@dataclass
class _Shard:
    shard_id: str
    parent: str | None
    iterator: str | None = None
    last_sequence: str | None = None
    start_kind: str = "TRIM_HORIZON"
    started: bool = False
    finished: bool = False


def _describe(stream_arn: str) -> Flow[list[dict[str, Any]]]:
    shards: list[dict[str, Any]] = []
    start: str | None = None
    while True:
        payload: dict[str, Any] = {"StreamArn": stream_arn}
        if start is not None:
            payload["ExclusiveStartShardId"] = start
        description = (yield Call("DescribeStream", payload, "dynamodbstreams"))["StreamDescription"]
        shards.extend(description.get("Shards", []))
        start = description.get("LastEvaluatedShardId")
        if not start:
            return shards


def _iterator(stream_arn: str, shard: _Shard, kind: str) -> Flow[str]:
    payload = {"StreamArn": stream_arn, "ShardId": shard.shard_id, "ShardIteratorType": kind}
    if kind == "AFTER_SEQUENCE_NUMBER":
        payload["SequenceNumber"] = str(shard.last_sequence)
    return str((yield Call("GetShardIterator", payload, "dynamodbstreams"))["ShardIterator"])


def _ready(shard: _Shard, shards: dict[str, _Shard]) -> bool:
    parent = shards.get(shard.parent) if shard.parent else None
    return not shard.finished and (parent is None or parent.finished)


def _read(stream_arn: str, shard: _Shard, page_size: int) -> Flow[int]:
    """One GetRecords on ``shard``: emits its records, returns how many."""
    try:
        page = yield Call("GetRecords", {"ShardIterator": shard.iterator, "Limit": page_size}, "dynamodbstreams")
    except ExpiredIteratorException:
        kind = "AFTER_SEQUENCE_NUMBER" if shard.last_sequence else "TRIM_HORIZON"
        shard.iterator = yield from _iterator(stream_arn, shard, kind)
        return 0
    records = page.get("Records") or []
    for record in records:
        parsed = StreamRecord.from_wire(record, shard.shard_id)
        shard.last_sequence = parsed.sequence_number
        yield Emit(parsed)
    shard.iterator = page.get("NextShardIterator")
    if shard.iterator is None:
        shard.finished = True
    return len(records)


def follow_stream(stream_arn: str, start: StartAt = "TRIM_HORIZON", follow: bool = True,
                  poll_interval: float = 1.0, page_size: int = 1000) -> Flow[None]:
    shards: dict[str, _Shard] = {}
    first_listing, rescan = True, True
    while True:
        if rescan:
            for raw in (yield from _describe(stream_arn)):
                if raw["ShardId"] not in shards:
                    shard = shards[raw["ShardId"]] = _Shard(raw["ShardId"], raw.get("ParentShardId"))
                    if first_listing:  # later shards (children) are read from their start
                        shard.start_kind = start
                        # LATEST: what is already closed at the start is history, not to be read
                        closed = bool((raw.get("SequenceNumberRange") or {}).get("EndingSequenceNumber"))
                        shard.finished = start == "LATEST" and closed
            first_listing, rescan = False, False
        ready = [s for s in shards.values() if _ready(s, shards)]
        for shard in ready:  # position every new shard first: LATEST is one moment for all
            if not shard.started:
                shard.iterator = yield from _iterator(stream_arn, shard, shard.start_kind)
                shard.started = True
        read = 0
        for shard in ready:
            read += yield from _read(stream_arn, shard, page_size)
            rescan = rescan or shard.finished
        if read or rescan:
            continue
        if not follow:
            return
        yield Sleep(poll_interval)
        rescan = True
