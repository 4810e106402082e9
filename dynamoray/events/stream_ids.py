"""The names of DynamoDB Streams over a table's log (see ``events/streams.py``): stream ARNs, shard
ids, sequence numbers, and the streams a table description records.

- a **shard** is one log partition of one stream, ``shardId-<stream creation ms, 20 digits>-<partition,
  8 hex digits>``;
- a **sequence number** is the partition and the log offset, ``<partition + 1><offset, 20 digits>``,
  turned back into an offset without a lookup;
- a **stream** is a window of the table's log topic: per partition, the offset where it was enabled
  and (once disabled) where it ended (``core.tables.STREAMS``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core import errors, tables

_OFFSET_DIGITS = 20
_ARN_RE = re.compile(r"arn:aws[a-z-]*:dynamodb:[a-z0-9-]*:[0-9]*:table/([a-zA-Z0-9_.-]{3,255})/stream/([0-9T:.-]+)")
_SHARD_RE = re.compile(r"shardId-([0-9]{20})-([0-9a-f]{8})")
_SEQUENCE_RE = re.compile(r"[1-9][0-9]{20,39}")


def parse_stream_arn(arn: str) -> tuple[str, str]:
    """``(table name, stream label)`` of a stream ARN; ValidationException if malformed."""
    match = _ARN_RE.fullmatch(arn) if isinstance(arn, str) else None
    if match is None:
        raise errors.invalid_stream_arn(arn)
    return match.group(1), match.group(2)


@dataclass(frozen=True, slots=True)
class ShardId:
    stream_ms: int  # the stream's creation time: shard ids never repeat across a table's streams
    partition: int

    def __str__(self) -> str:
        return f"shardId-{self.stream_ms:020d}-{self.partition:08x}"

    @classmethod
    def parse(cls, text: str) -> ShardId | None:
        match = _SHARD_RE.fullmatch(text) if isinstance(text, str) else None
        return None if match is None else cls(int(match.group(1)), int(match.group(2), 16))


def sequence_number(partition: int, offset: int) -> str:
    return f"{partition + 1}{offset:0{_OFFSET_DIGITS}d}"


def parse_sequence_number(text: str) -> tuple[int, int] | None:
    """``(partition, offset)`` of a sequence number, or None if it is not one of ours."""
    if not isinstance(text, str) or _SEQUENCE_RE.fullmatch(text) is None:
        return None
    return int(text[:-_OFFSET_DIGITS]) - 1, int(text[-_OFFSET_DIGITS:])


# --- streams of a table --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stream:
    """One stream of a table, as its description records it."""

    arn: str
    label: str
    table_name: str
    view_type: str
    created: float  # CreationRequestDateTime, seconds since the epoch
    key_schema: list
    region: str
    start_offsets: Mapping[str, int]
    end_offsets: Mapping[str, int] | None  # None while enabled

    @property
    def enabled(self) -> bool:
        return self.end_offsets is None

    @property
    def stream_ms(self) -> int:
        return int(round(self.created * 1000))

    def shard_id(self, partition: int) -> str:
        return str(ShardId(self.stream_ms, partition))

    def start(self, partition: int) -> int:
        return int(self.start_offsets.get(str(partition), 0))

    def end(self, partition: int) -> int | None:
        """Where a closed shard ends (one past its last offset); None while the stream is enabled."""
        if self.end_offsets is None:
            return None
        return max(int(self.end_offsets.get(str(partition), 0)), self.start(partition))

    def describe(self) -> dict[str, Any]:
        """DescribeStream's StreamDescription, without the shards."""
        return {
            "StreamArn": self.arn, "StreamLabel": self.label,
            "StreamStatus": "ENABLED" if self.enabled else "DISABLED",
            "StreamViewType": self.view_type, "CreationRequestDateTime": self.created,
            "TableName": self.table_name, "KeySchema": [dict(k) for k in self.key_schema],
        }


def streams_of(description: dict, now_ms: int) -> list[Stream]:
    """The table's readable streams, oldest first."""
    table_arn = description["TableArn"]
    region = table_arn.split(":")[3]
    return [
        Stream(
            arn=f"{table_arn}/stream/{entry['StreamLabel']}", label=entry["StreamLabel"],
            table_name=description["TableName"], view_type=entry["StreamViewType"],
            created=entry["CreationRequestDateTime"], key_schema=description["KeySchema"], region=region,
            start_offsets=entry.get("StartOffsets") or {}, end_offsets=entry.get("EndOffsets"),
        )
        for entry in tables.stream_entries(description, now_ms / 1000)
    ]
