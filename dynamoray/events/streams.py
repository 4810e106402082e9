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

This module is the reader and the package's entry point; the parts live beside it and are
re-exported here: ``stream_ids`` (ARNs, shard ids, sequence numbers, ``Stream``),
``stream_iterators`` (``ShardIterator``, the signed tokens) and ``stream_records`` (a logged change
shaped as a stream record).
"""

from __future__ import annotations

import functools
from typing import Any

from ..core import errors, tables
from ..schemas.events import ItemChanged
from .codec import EventCodec
from .log import Clock, EventLog, OffsetOutOfRangeError, Record, TruncatedError, system_clock
from .stream_ids import ShardId, Stream, parse_sequence_number, parse_stream_arn, sequence_number, streams_of
from .stream_iterators import ITERATOR_MAX_AGE_MS, REPLAY_PREFIX, IteratorCodec, ShardIterator, check_iterator_age
from .stream_records import TRANSACTION_MEMBER, event_id, stream_record, transaction_member

__all__ = [
    "ITERATOR_MAX_AGE_MS", "MAX_BYTES", "MAX_RECORDS", "REPLAY_PREFIX", "RETENTION_MS", "SCAN_LIMIT",
    "TRANSACTION_MEMBER", "IteratorCodec", "ShardId", "ShardIterator", "Stream", "StreamReader",
    "check_iterator_age", "event_id", "parse_sequence_number", "parse_stream_arn", "sequence_number",
    "stream_record", "streams_of", "transaction_member",
]

RETENTION_MS = tables.STREAM_RETENTION_SECONDS * 1000
MAX_RECORDS = 1000  # GetRecords returns at most 1000 records ...
MAX_BYTES = 1024 * 1024  # ... or about 1 MB
SCAN_LIMIT = 10_000  # log records one GetRecords looks at, at most (most are shown)


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
