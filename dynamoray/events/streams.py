"""DynamoDB Streams as a read-only view over a table's event log.

The log holds every item change in commit order; this module presents it as DynamoDB Streams:

- **Stream**: a window of the table's log topic.  The table description records, per log
  partition, the offset where the stream was enabled and (once disabled) where it ended
  (``core.tables.STREAMS``), so a stream shows exactly the changes made while it was enabled.  A
  disabled stream stays readable, as ``DISABLED``, for 24 hours.
- **Shard**: one log partition of one stream, ``shardId-<stream creation ms, 20 digits>-<partition,
  8 hex digits>``.  Partitions never split, so shards have no parents; a disabled stream's shards
  are closed (they get an ``EndingSequenceNumber``).
- **Sequence number**: the partition and the log offset, ``<partition + 1><offset, 20 digits>``: 21
  digits or more, increasing within a shard, and turned back into an offset without a lookup.
- **Record**: an ``ItemChanged`` event.  ``ApproximateCreationDateTime`` is the commit timestamp
  the writer stamped (seconds); a MODIFY that changed nothing is not shown, like on DynamoDB.
- **Trim**: records committed more than 24 hours ago are not served (the log keeps them longer, for
  point-in-time recovery); reading at such a position raises TrimmedDataAccessException.
- **Replay** (a dynamoray extension): the iterator types ``REPLAY_TRIM_HORIZON``,
  ``REPLAY_AT_TIMESTAMP``, ``REPLAY_AT_SEQUENCE_NUMBER`` and ``REPLAY_AFTER_SEQUENCE_NUMBER`` work as
  the types they are named after, without the 24-hour trim: they read from any point the log still
  holds (the stream's start at the earliest), and so do the iterators GetRecords returns after them.
- **Iterator**: an opaque token (stream ARN, shard, next offset, issue time) signed with HMAC-SHA256
  under a per-server secret; it expires 15 minutes after it was issued.

The reader needs only the table description and read access to the log.  Its methods call the log
(blocking): run them off the event loop.  The clock is injected (ms since the epoch).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from ..core import errors, tables
from ..core.values import item_size, values_equal
from ..schemas.events import ItemChanged
from .codec import EventCodec
from .log import Clock, EventLog, OffsetOutOfRangeError, Record, TruncatedError, system_clock

RETENTION_MS = tables.STREAM_RETENTION_SECONDS * 1000
ITERATOR_MAX_AGE_MS = 15 * 60 * 1000
MAX_RECORDS = 1000  # GetRecords returns at most 1000 records ...
MAX_BYTES = 1024 * 1024  # ... or about 1 MB
SCAN_LIMIT = 10_000  # log records one GetRecords looks at, at most (most are shown)
_OFFSET_DIGITS = 20

_ARN_RE = re.compile(r"arn:aws[a-z-]*:dynamodb:[a-z0-9-]*:[0-9]*:table/([a-zA-Z0-9_.-]{3,255})/stream/([0-9T:.-]+)")
_SHARD_RE = re.compile(r"shardId-([0-9]{20})-([0-9a-f]{8})")
_SEQUENCE_RE = re.compile(r"[1-9][0-9]{20,39}")


# --- identifiers ---------------------------------------------------------------------------------


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


# --- records -------------------------------------------------------------------------------------


def event_id(topic: str, partition: int, offset: int) -> str:
    return hashlib.sha256(f"{topic}/{partition}/{offset}".encode()).hexdigest()[:32]


def stream_record(
    event: ItemChanged, partition: int, record: Record, view_type: str, region: str, topic: str
) -> dict[str, Any] | None:
    """The GetRecords record of one logged item change (None for a MODIFY that changed nothing)."""
    old, new = event.old_image, event.new_image
    if event.event_name == "MODIFY" and old is not None and new is not None and values_equal({"M": old}, {"M": new}):
        return None
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": record.timestamp // 1000,
        "Keys": event.keys,
        "SequenceNumber": sequence_number(partition, record.offset),
    }
    size = item_size(event.keys)
    if view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and new is not None:
        body["NewImage"] = new
        size += item_size(new)
    if view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and old is not None:
        body["OldImage"] = old
        size += item_size(old)
    body["SizeBytes"] = max(size, 1)
    body["StreamViewType"] = view_type
    out: dict[str, Any] = {
        "eventID": event_id(topic, partition, record.offset), "eventName": event.event_name,
        "eventVersion": "1.1", "eventSource": "aws:dynamodb", "awsRegion": event.region or region,
        "dynamodb": body,
    }
    if event.principal_type == "Service":  # a TTL delete
        out["userIdentity"] = {"PrincipalId": event.principal or "dynamodb.amazonaws.com", "Type": "Service"}
    if event.transaction_id is not None:  # a dynamoray extension: the transaction as a unit
        out[TRANSACTION_MEMBER] = transaction_member(event)
    return out


TRANSACTION_MEMBER = "dynamorayTransaction"  # SDKs that follow the model drop it (docs/extensions.md)


def transaction_member(event: ItemChanged) -> dict[str, Any]:
    """``{"Id", "Index", "Count"}``: the transaction of a change, and its write's position in it
    ("Index of Count", from 1); a change logged before positions were kept has the Id only."""
    member: dict[str, Any] = {"Id": event.transaction_id}
    if event.transaction_index is not None:
        member["Index"], member["Count"] = event.transaction_index, event.transaction_count
    return member


# --- iterators -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShardIterator:
    arn: str
    shard_id: str
    position: int  # the next log offset to read
    issued_ms: int
    replay: bool = False  # a REPLAY_* iterator: no 24-hour trim


REPLAY_PREFIX = "REPLAY_"  # REPLAY_TRIM_HORIZON, REPLAY_AT_TIMESTAMP, REPLAY_AT/AFTER_SEQUENCE_NUMBER


def check_iterator_age(iterator: ShardIterator, now_ms: int) -> None:
    if now_ms - iterator.issued_ms > ITERATOR_MAX_AGE_MS:
        raise errors.iterator_expired(iterator.issued_ms, now_ms, ITERATOR_MAX_AGE_MS)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class IteratorCodec:
    """Shard iterators as opaque tokens: ``base64(json body).base64(hmac)``, signed with a secret."""

    _VERSION = 1

    def __init__(self, secret: bytes) -> None:
        self._secret = bytes(secret)

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._secret, body, hashlib.sha256).digest()[:20]

    def encode(self, iterator: ShardIterator) -> str:
        fields = [self._VERSION, iterator.arn, iterator.shard_id, iterator.position, iterator.issued_ms]
        body = orjson.dumps(fields + [1] if iterator.replay else fields)  # (a replay: one more field)
        return f"{_b64(body)}.{_b64(self._mac(body))}"

    def decode(self, token: str) -> ShardIterator:
        """The iterator a token carries; ValidationException if it is malformed or not ours."""
        try:
            body_text, _, mac_text = token.rpartition(".")
            body, mac = _unb64(body_text), _unb64(mac_text)
            if not body or not hmac.compare_digest(mac, self._mac(body)):
                raise ValueError("bad signature")
            fields = orjson.loads(body)
            version, arn, shard_id, position, issued = fields[:5]
            replay = fields[5:] == [1]
        except (ValueError, TypeError, KeyError, binascii.Error, orjson.JSONDecodeError):
            raise errors.invalid_shard_iterator() from None
        if version != self._VERSION or not all(isinstance(v, int) for v in (position, issued)):
            raise errors.invalid_shard_iterator()
        return ShardIterator(arn, shard_id, position, issued, replay)


# --- the reader ----------------------------------------------------------------------------------


_default_codec = functools.cache(EventCodec)  # parsing the schemas costs ms: once per process


class StreamReader:
    """Reads one stream of a table from the table's log topic (one shard per log partition)."""

    def __init__(
        self, log: EventLog, topic: str, stream: Stream, clock: Clock = system_clock,
        codec: EventCodec | None = None,
    ) -> None:
        self.stream = stream
        self._log = log
        self._topic = topic
        self._clock = clock
        self._codec = codec or _default_codec()

    # shards and positions

    def shards(self) -> list[dict[str, Any]]:
        """DescribeStream's Shards, sorted by shard id."""
        shards = []
        for partition in range(self._log.partition_count(self._topic)):
            first = self._horizon(partition)
            numbers = {"StartingSequenceNumber": sequence_number(partition, first)}
            end = self.stream.end(partition)
            if end is not None:
                numbers["EndingSequenceNumber"] = sequence_number(partition, max(end - 1, first))
            shards.append({"ShardId": self.stream.shard_id(partition), "SequenceNumberRange": numbers})
        return sorted(shards, key=lambda shard: shard["ShardId"])

    def partition_of(self, shard_id: str) -> int:
        parsed = ShardId.parse(shard_id)
        if (
            parsed is None or parsed.stream_ms != self.stream.stream_ms
            or parsed.partition >= self._log.partition_count(self._topic)
        ):
            raise errors.shard_not_found(shard_id, self.stream.arn)
        return parsed.partition

    def _end(self, partition: int) -> int:
        end = self.stream.end(partition)
        return end if end is not None else self._log.end_offset(self._topic, partition)

    def _horizon(self, partition: int, replay: bool = False) -> int:
        """The oldest position still served: the stream's start, or the first record under 24 h old
        (for a replay: the first record the log still holds)."""
        if replay:
            untrimmed = self._log.start_offset(self._topic, partition)
        else:
            untrimmed = self._log.offset_for_time(self._topic, partition, self._clock() - RETENTION_MS)
        return min(max(self.stream.start(partition), untrimmed), self._end(partition))

    def iterator(
        self, shard_id: str, iterator_type: str, sequence: str | None = None, timestamp: Any = None
    ) -> ShardIterator:
        """GetShardIterator (and the REPLAY_* extension types, see the module docstring)."""
        partition = self.partition_of(shard_id)
        replay = iterator_type.startswith(REPLAY_PREFIX)
        kind = iterator_type[len(REPLAY_PREFIX):] if replay else iterator_type
        if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            if sequence is None:
                raise errors.sequence_number_required(iterator_type)
            position = self._offset_of(partition, shard_id, sequence) + (kind == "AFTER_SEQUENCE_NUMBER")
            self._check_untrimmed(partition, position, replay)
        elif sequence is not None:
            raise errors.sequence_number_not_allowed(iterator_type)
        elif kind == "LATEST":
            position = self._end(partition)
        elif kind == "TRIM_HORIZON":
            position = self._horizon(partition, replay)
        else:  # AT_TIMESTAMP
            position = self._at_time(partition, timestamp, replay)
        return ShardIterator(self.stream.arn, shard_id, position, self._clock(), replay)

    def _offset_of(self, partition: int, shard_id: str, sequence: str) -> int:
        parsed = parse_sequence_number(sequence)
        if parsed is None or parsed[0] != partition:
            raise errors.invalid_sequence_number(sequence, shard_id)
        if not self.stream.start(partition) <= parsed[1] <= self._end(partition):  # outside the shard
            raise errors.invalid_sequence_number(sequence, shard_id)
        return parsed[1]

    def _at_time(self, partition: int, timestamp: Any, replay: bool = False) -> int:
        if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)):
            raise errors.timestamp_required()
        ms = int(timestamp * 1000)
        if ms > self._clock():
            raise errors.timestamp_in_future()
        at = self._log.offset_for_time(self._topic, partition, ms)
        return min(max(at, self._horizon(partition, replay)), self._end(partition))

    def _check_untrimmed(self, partition: int, position: int, replay: bool = False) -> None:
        try:
            first = self._log.read(self._topic, partition, position, 1)
        except TruncatedError:
            raise errors.records_trimmed() from None
        except OffsetOutOfRangeError:  # past the end: nothing there to be trimmed
            return
        if first and first[0].timestamp < self._clock() - RETENTION_MS and not replay:
            raise errors.records_trimmed()

    # records

    def read(self, iterator: ShardIterator, limit: int = MAX_RECORDS) -> tuple[list[dict], ShardIterator | None]:
        """GetRecords: up to ``limit`` records (or about 1 MB) and the next iterator, None at the end
        of a closed shard."""
        now = self._clock()
        check_iterator_age(iterator, now)
        partition = self.partition_of(iterator.shard_id)
        end = self._end(partition)
        records, position = self._collect(partition, iterator.position, end, limit, now, iterator.replay)
        if not self.stream.enabled and position >= end:
            return records, None
        return records, ShardIterator(iterator.arn, iterator.shard_id, position, now, iterator.replay)

    def _collect(self, partition: int, position: int, end: int, limit: int, now: int,
                 replay: bool = False) -> tuple[list[dict], int]:
        """Records from ``position`` up to ``end``: at most ``limit``, and no more than MAX_BYTES
        unless a single record is larger.  Returns them and the position after the last one taken."""
        records: list[dict] = []
        size = scanned = 0
        full = False
        while not full and position < end and len(records) < limit and scanned < SCAN_LIMIT:
            try:
                want = min(max(limit - len(records), 64), SCAN_LIMIT - scanned)
                batch = self._log.read(self._topic, partition, position, want)
            except TruncatedError:
                raise errors.records_trimmed() from None
            except OffsetOutOfRangeError:
                break
            if not batch:
                break
            if scanned == 0 and batch[0].timestamp < now - RETENTION_MS and not replay:
                raise errors.records_trimmed()
            for record in batch:
                if record.offset >= end:
                    position = end
                    break
                shown = self._record(partition, record)
                if shown is not None:
                    cost = shown["dynamodb"]["SizeBytes"]
                    if records and size + cost > MAX_BYTES:
                        full = True  # this record starts the next call
                        break
                    records.append(shown)
                    size += cost
                position, scanned = record.offset + 1, scanned + 1
                if len(records) >= limit:
                    break
        return records, position

    def _record(self, partition: int, record: Record) -> dict | None:
        event = self._codec.decode(record.value)
        if not isinstance(event, ItemChanged):
            return None
        return stream_record(event, partition, record, self.stream.view_type, self.stream.region, self._topic)
