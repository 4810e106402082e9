"""In-process event log for fast unit tests: every call is synchronous, nothing survives the process.

Semantics match the other backends (the contract suite in ``tests/events`` proves it), offsets are
contiguous.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from .log import (
    DEFAULT_MAX_RECORDS,
    Clock,
    EventLog,
    FencedError,
    LogClosedError,
    OffsetOutOfRangeError,
    PartitionWriter,
    Record,
    TopicExistsError,
    TruncatedError,
    UnknownTopicError,
    check_partitions,
    check_topic_name,
    stamp,
    system_clock,
)


@dataclass(slots=True)
class _Partition:
    records: list[Record] = field(default_factory=list)
    start: int = 0  # offset of records[0] (or the end offset when empty)
    epoch: int = 0
    last_ts: int = 0

    @property
    def end(self) -> int:
        return self.start + len(self.records)


class MemoryLog(EventLog):
    def __init__(self, clock: Clock = system_clock) -> None:
        self._clock = clock
        self._topics: dict[str, list[_Partition]] = {}
        self._cond = threading.Condition()
        self._closed = False

    def _partition(self, topic: str, partition: int) -> _Partition:
        if self._closed:
            raise LogClosedError("the log is closed")
        parts = self._topics.get(topic)
        if parts is None or not isinstance(partition, int) or not 0 <= partition < len(parts):
            raise UnknownTopicError(topic, partition)
        return parts[partition]

    def create_topic(self, topic: str, partitions: int) -> None:
        check_topic_name(topic)
        check_partitions(partitions)
        with self._cond:
            if topic in self._topics:
                raise TopicExistsError(topic)
            self._topics[topic] = [_Partition() for _ in range(partitions)]

    def delete_topic(self, topic: str) -> None:
        with self._cond:
            if self._topics.pop(topic, None) is None:
                raise UnknownTopicError(topic)

    def partition_count(self, topic: str) -> int:
        with self._cond:
            if topic not in self._topics:
                raise UnknownTopicError(topic)
            return len(self._topics[topic])

    def open_writer(self, topic: str, partition: int) -> PartitionWriter:
        with self._cond:
            part = self._partition(topic, partition)
            part.epoch += 1
            return _MemoryWriter(self, topic, partition, part.epoch)

    def _append(self, writer: _MemoryWriter, values: Sequence[bytes]) -> list[int]:
        with self._cond:
            part = self._partition(writer.topic, writer.partition)
            if part.epoch != writer.epoch:
                raise FencedError(writer.topic, writer.partition, writer.epoch)
            ts = stamp(part.last_ts, self._clock())
            part.last_ts = ts
            first = part.end
            part.records.extend(Record(first + i, ts, bytes(v)) for i, v in enumerate(values))
            self._cond.notify_all()
            return list(range(first, first + len(values)))

    def _slice(self, part: _Partition, topic: str, partition: int, offset: int, max_records: int) -> list[Record]:
        if offset < part.start:
            raise TruncatedError(topic, partition, offset, part.start)
        if offset > part.end:
            raise OffsetOutOfRangeError(topic, partition, offset, part.end)
        i = offset - part.start
        return part.records[i : i + max_records]

    def read(self, topic: str, partition: int, offset: int, max_records: int = DEFAULT_MAX_RECORDS) -> list[Record]:
        with self._cond:
            return self._slice(self._partition(topic, partition), topic, partition, offset, max_records)

    def tail(
        self, topic: str, partition: int, offset: int, timeout: float, max_records: int = DEFAULT_MAX_RECORDS
    ) -> list[Record]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self._slice(self._partition(topic, partition), topic, partition, offset, max_records)
                remaining = deadline - time.monotonic()
                if found or remaining <= 0:
                    return found
                self._cond.wait(remaining)

    def start_offset(self, topic: str, partition: int) -> int:
        with self._cond:
            return self._partition(topic, partition).start

    def end_offset(self, topic: str, partition: int) -> int:
        with self._cond:
            return self._partition(topic, partition).end

    def offset_for_time(self, topic: str, partition: int, timestamp: int) -> int:
        with self._cond:
            part = self._partition(topic, partition)
            i = bisect.bisect_left(part.records, timestamp, key=lambda r: r.timestamp)
            return part.start + i

    def truncate_before(self, topic: str, partition: int, offset: int) -> None:
        with self._cond:
            part = self._partition(topic, partition)
            if offset > part.end:
                raise OffsetOutOfRangeError(topic, partition, offset, part.end)
            if offset > part.start:
                del part.records[: offset - part.start]
                part.start = offset

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class _MemoryWriter(PartitionWriter):
    def __init__(self, log: MemoryLog, topic: str, partition: int, epoch: int) -> None:
        self._log = log
        self.topic = topic
        self.partition = partition
        self.epoch = epoch
        self._closed = False

    def append(self, values: Sequence[bytes]) -> list[int]:
        if self._closed:
            raise LogClosedError("the writer is closed")
        return self._log._append(self, values)

    def append_now(self, values: Sequence[bytes]) -> list[int]:
        return self.append(values)  # it never waits for another commit

    def submit(self, values: Sequence[bytes], done) -> None:
        """:meth:`append` at once (it never blocks), then ``done``."""
        try:
            offsets = self.append(values)
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            done(None, error)
            return
        done(offsets, None)

    def close(self) -> None:
        self._closed = True
