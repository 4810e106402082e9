"""The Kafka backend (confluent-kafka): the only module that imports ``confluent_kafka``.

- Writes: one idempotent producer per log (``acks=all``), explicit partitions, commit timestamps
  stamped by our writer and carried in a record header (the broker's clock is never used).
  Fencing is the leader-epoch protocol recorded in the log, described in :mod:`.kafka_records`.
- Reads: consumers with explicit ``assign`` + seek (never a consumer group; ``group.id`` is a
  dummy), the end of a partition found by *partition EOF* (never ListOffsets "latest", which
  Tansu undercounts), and ``offset_for_time`` as a binary search over our own commit stamps.
- Retention: the retained start of each partition is recorded in a small compacted meta topic,
  which readers honour; DeleteRecords also reclaims the space when the broker supports it.
"""

from __future__ import annotations

import functools
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import confluent_kafka as ck
import confluent_kafka.admin as ck_admin

from .kafka_fencing import FencedWriter, claim
from .kafka_records import DATA, HEADER, KafkaLogConfig, Stamp, pack_header, unpack_header
from .kafka_retention import Retention
from .log import (
    DEFAULT_MAX_RECORDS,
    Clock,
    EventLog,
    LogClosedError,
    LogUnavailableError,
    OffsetOutOfRangeError,
    PartitionWriter,
    Record,
    TopicExistsError,
    TruncatedError,
    UnknownTopicError,
    check_partitions,
    check_topic_name,
    system_clock,
)


class _Cursor:
    """One assigned consumer over one partition; remembers where it stands to avoid re-seeking."""

    def __init__(self, config: KafkaLogConfig, topic: str, partition: int) -> None:
        self.topic, self.partition = topic, partition
        self._consumer = ck.Consumer(config.consumer_config())
        self._timeout = config.timeout
        self.next = -1
        self.at_eof = False
        self.end = 0  # the end offset seen at the last partition EOF

    def pull(self, offset: int, limit: int, wait: float | None, at_least: int = 0) -> list[Any]:
        """Raw messages from ``offset`` on, at most ``limit``.

        ``wait=None``: stop at the end of the partition, but not before ``at_least`` (an end we
        know from an acknowledged write; a fetch may briefly lag it), and fail after the
        configured timeout; otherwise return as soon as one message came, or after ``wait`` s."""
        if offset != self.next or (wait is None and self.at_eof):
            self._consumer.assign([ck.TopicPartition(self.topic, self.partition, offset)])
            self.next, self.at_eof = offset, False
        out: list[Any] = []
        deadline = time.monotonic() + (self._timeout if wait is None else wait)
        while len(out) < limit:
            msgs = self._consumer.consume(limit - len(out), 0)
            if not msgs:
                remaining = deadline - time.monotonic()
                if (out and wait is not None) or remaining <= 0:
                    if wait is None:
                        raise LogUnavailableError(f"timed out reading {self.topic}/{self.partition}")
                    break
                msg = self._consumer.poll(min(remaining, 0.1))
                msgs = [] if msg is None else [msg]
            if self._take(msgs, out):
                if wait is None and self.end < at_least:  # lagging: fetch again
                    self._consumer.assign([ck.TopicPartition(self.topic, self.partition, self.next)])
                    self.at_eof = False
                    continue
                if wait is None or out:
                    break
        return out

    def _take(self, msgs: list[Any], out: list[Any]) -> bool:
        eof = False
        for msg in msgs:
            err = msg.error()
            if err is None:
                out.append(msg)
                self.next, self.at_eof = msg.offset() + 1, False
            elif err.code() == ck.KafkaError._PARTITION_EOF:
                self.end, self.at_eof, eof = msg.offset(), True, True
            elif err.code() in (ck.KafkaError.UNKNOWN_TOPIC_OR_PART, ck.KafkaError._UNKNOWN_PARTITION):
                raise UnknownTopicError(self.topic, self.partition)
            elif err.code() in (ck.KafkaError.OFFSET_OUT_OF_RANGE, ck.KafkaError._AUTO_OFFSET_RESET):
                offset, self.next = self.next, -1  # below the broker's start: deleted by retention
                raise TruncatedError(self.topic, self.partition, offset, -1)
            else:
                raise LogUnavailableError(str(err))
        return eof

    def stamps(self, start: int, stop: int) -> list[Stamp | None]:
        """The stamps of the raw records in [start, stop) (None for foreign records)."""
        msgs = self.pull(start, stop - start, None, at_least=stop) if stop > start else []
        return [unpack_header(m.offset(), m.headers()) for m in msgs if m.offset() < stop]

    def close(self) -> None:
        self._consumer.close()


class KafkaLog(EventLog):
    """An event log on a Kafka cluster (or any Kafka-protocol broker, e.g. Tansu)."""

    def __init__(self, config: KafkaLogConfig | Mapping[str, Any], *, clock: Clock = system_clock) -> None:
        self.config = config if isinstance(config, KafkaLogConfig) else KafkaLogConfig(properties=dict(config))
        self._clock = clock
        self._lock = threading.Lock()
        self._producer: Any = None
        self._admin: Any = None
        self._partitions: dict[str, int] = {}
        self._idle: dict[tuple[str, int], list[_Cursor]] = {}
        self._ends: dict[tuple[str, int], int] = {}
        self._writers: weakref.WeakSet[FencedWriter] = weakref.WeakSet()
        self.meta_topic = self.config.meta_topic
        self._retention = Retention(self)
        self._closed = False

    # --- clients (created lazily: constructing a KafkaLog makes no network call) ------------------

    def admin(self) -> Any:
        with self._lock:
            if self._closed:
                raise LogClosedError("the log is closed")
            if self._admin is None:
                self._admin = ck_admin.AdminClient(self.config.admin_config())
            return self._admin

    def _producer_client(self) -> Any:
        with self._lock:
            if self._closed:
                raise LogClosedError("the log is closed")
            if self._producer is None:
                self._producer = ck.Producer(self.config.producer_config())
            return self._producer

    def _cursor(self, topic: str, partition: int, offset: int = -1) -> _Cursor:
        with self._lock:
            idle = self._idle.get((topic, partition), [])
            for i, cursor in enumerate(idle):
                if cursor.next == offset:
                    return idle.pop(i)
            return idle.pop() if idle else _Cursor(self.config, topic, partition)

    def _release(self, cursor: _Cursor) -> None:
        with self._lock:
            idle = self._idle.setdefault((cursor.topic, cursor.partition), [])
            if len(idle) < 4 and not self._closed:
                idle.append(cursor)
                return
        cursor.close()

    def _with_cursor(self, topic: str, partition: int, fn, offset: int = -1):
        cursor = self._cursor(topic, partition, offset)
        try:
            return fn(cursor)
        finally:
            self._release(cursor)

    def _result(self, future: Any) -> Any:
        try:
            return future.result(timeout=self.config.timeout)
        except ck.KafkaException as exc:
            raise LogUnavailableError(str(exc)) from exc

    # --- topics ----------------------------------------------------------------------------------

    def _listed(self) -> dict[str, int]:
        try:  # list every topic: asking for one topic by name may auto-create it
            meta = self.admin().list_topics(timeout=self.config.timeout)
        except ck.KafkaException as exc:
            raise LogUnavailableError(str(exc)) from exc
        return {name: len(t.partitions) for name, t in meta.topics.items() if t.error is None}

    def create_topic(self, topic: str, partitions: int) -> None:
        check_topic_name(topic)
        check_partitions(partitions)
        if not self.ensure_topic(topic, partitions, self.config.topic_config):
            raise TopicExistsError(topic)
        self._retention.record(topic, "*", 0)  # forget the retention of an earlier incarnation
        with self._lock:
            self._partitions[topic] = partitions

    def delete_topic(self, topic: str) -> None:
        self.partition_count(topic)
        self._result(self.admin().delete_topics([topic])[topic])
        self._forget(topic)
        deadline = time.monotonic() + self.config.timeout
        while topic in self._listed() and time.monotonic() < deadline:
            time.sleep(0.01)

    def _forget(self, topic: str) -> None:
        with self._lock:
            self._partitions.pop(topic, None)
            for key in [k for k in self._idle if k[0] == topic]:
                for cursor in self._idle.pop(key):
                    cursor.close()
            for key in [k for k in self._ends if k[0] == topic]:
                del self._ends[key]

    def partition_count(self, topic: str) -> int:
        with self._lock:
            count = self._partitions.get(topic)
        if count is None:
            count = self._listed().get(topic)
            if count is None:
                raise UnknownTopicError(topic)
            with self._lock:
                self._partitions[topic] = count
        return count

    def _check(self, topic: str, partition: int) -> None:
        if not isinstance(partition, int) or not 0 <= partition < self.partition_count(topic):
            raise UnknownTopicError(topic, partition)

    # --- the transports of kafka_fencing and kafka_retention ------------------------------------

    def produce(self, topic: str, partition: int, values: Sequence[bytes], expected: int, ts: int, epoch: int,
                kind: int) -> list[int]:
        producer = self._producer_client()
        offsets: list[int | None] = [None] * len(values)
        errors: list[Any] = []

        def delivered(i: int, err: Any, msg: Any) -> None:
            if err is not None:
                errors.append(err)
            else:
                offsets[i] = msg.offset()

        for i, value in enumerate(values):
            header = [(HEADER, pack_header(expected + i, ts, epoch, kind))]
            while True:
                try:
                    producer.produce(topic, value=value, partition=partition, timestamp=ts, headers=header,
                                     on_delivery=functools.partial(delivered, i))
                    break
                except BufferError:
                    producer.poll(0.01)
        if producer.flush(self.config.timeout) or errors or None in offsets:
            raise LogUnavailableError(f"append to {topic}/{partition} failed: {errors[:1] or 'timeout'}")
        self._note_end(topic, partition, max(offsets) + 1)
        return offsets  # type: ignore[return-value]

    def _note_end(self, topic: str, partition: int, end: int) -> None:
        with self._lock:
            if end > self._ends.get((topic, partition), 0):
                self._ends[(topic, partition)] = end

    def stamps(self, topic: str, partition: int, start: int, stop: int) -> list[Stamp | None]:
        return self._with_cursor(topic, partition, lambda c: c.stamps(start, stop), start)

    def ensure_topic(self, topic: str, partitions: int, config: dict[str, str]) -> bool:
        """Create the topic unless it exists; True if this call created it."""
        new = ck_admin.NewTopic(topic, partitions, self.config.replication_factor, config=config)
        try:
            self.admin().create_topics([new])[topic].result(timeout=self.config.timeout)
            return True
        except ck.KafkaException as exc:
            if exc.args[0].code() != ck.KafkaError.TOPIC_ALREADY_EXISTS:
                raise LogUnavailableError(str(exc)) from exc
            return False

    def new_cursor(self, topic: str, partition: int) -> _Cursor:
        return _Cursor(self.config, topic, partition)

    def produce_keyed(self, topic: str, key: str, value: str) -> None:
        producer = self._producer_client()
        producer.produce(topic, key=key, value=value, partition=0)
        if producer.flush(self.config.timeout):
            raise LogUnavailableError(f"could not write to {topic}")

    def open_writer(self, topic: str, partition: int) -> PartitionWriter:
        self._check(topic, partition)
        writer = claim(self, topic, partition, self._clock)
        with self._lock:
            self._writers.add(writer)
        return writer

    # --- reading ---------------------------------------------------------------------------------

    def low_watermark(self, topic: str, partition: int) -> int:
        def low(cursor: _Cursor) -> int:
            tp = ck.TopicPartition(topic, partition)
            return cursor._consumer.get_watermark_offsets(tp, timeout=self.config.timeout, cached=False)[0]

        return self._with_cursor(topic, partition, low)

    def end_offset(self, topic: str, partition: int) -> int:
        self._check(topic, partition)

        def scan(cursor: _Cursor) -> int:
            guess = self._ends.get((topic, partition))
            if guess is None:  # "latest" may undercount (Tansu), so it is only where the scan starts
                tp = ck.TopicPartition(topic, partition)
                guess = cursor._consumer.get_watermark_offsets(tp, timeout=self.config.timeout, cached=False)[1]
            offset = guess
            while True:
                got = cursor.pull(offset, 10000, None, self._ends.get((topic, partition), 0))
                if cursor.at_eof:
                    return cursor.end
                offset = got[-1].offset() + 1

        end = self._with_cursor(topic, partition, scan)
        self._note_end(topic, partition, end)
        return end

    def start_offset(self, topic: str, partition: int) -> int:
        self._check(topic, partition)
        return max(self._retention.start(topic, partition, 0.0), self.low_watermark(topic, partition))

    def _bounds_check(self, topic: str, partition: int, offset: int) -> None:
        self._check(topic, partition)
        start = self._retention.start(topic, partition, self.config.retention_max_age)
        if offset < start:
            raise TruncatedError(topic, partition, offset, start)
        if offset > self._ends.get((topic, partition), 0):
            end = self.end_offset(topic, partition)
            if offset > end:
                raise OffsetOutOfRangeError(topic, partition, offset, end)

    def _records(self, cursor: _Cursor, offset: int, max_records: int, wait: float | None) -> list[Record]:
        out: list[Record] = []
        deadline = None if wait is None else time.monotonic() + wait
        known_end = self._ends.get((cursor.topic, cursor.partition), 0)  # read your own writes
        while len(out) < max_records:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            msgs = cursor.pull(offset, max_records - len(out), left, known_end)
            for msg in msgs:
                s = unpack_header(msg.offset(), msg.headers())
                if s is not None and s.valid and s.kind == DATA:
                    out.append(Record(s.offset, s.timestamp, msg.value()))
            if msgs:
                offset = msgs[-1].offset() + 1
            if (wait is None and cursor.at_eof) or (wait is not None and (out or left == 0)):
                break
        return out

    def read(self, topic: str, partition: int, offset: int, max_records: int = DEFAULT_MAX_RECORDS) -> list[Record]:
        self._bounds_check(topic, partition, offset)
        return self._with_cursor(topic, partition, lambda c: self._records(c, offset, max_records, None), offset)

    def tail(self, topic: str, partition: int, offset: int, timeout: float, max_records: int = DEFAULT_MAX_RECORDS) -> list[Record]:
        self._bounds_check(topic, partition, offset)
        return self._with_cursor(topic, partition, lambda c: self._records(c, offset, max_records, timeout), offset)

    def _first_at(self, topic: str, partition: int, offset: int, end: int) -> Record | None:
        def first(cursor: _Cursor) -> Record | None:
            found = self._records(cursor, offset, 1, None) if offset < end else []
            return found[0] if found and found[0].offset < end else None

        return self._with_cursor(topic, partition, first, offset)

    def offset_for_time(self, topic: str, partition: int, timestamp: int) -> int:
        end = self.end_offset(topic, partition)
        lo, hi = self.start_offset(topic, partition), end
        while lo < hi:  # the valid records' stamps are non-decreasing
            mid = (lo + hi) // 2
            rec = self._first_at(topic, partition, mid, hi)
            if rec is None or rec.timestamp >= timestamp:
                hi = mid
            else:
                lo = rec.offset + 1
        rec = self._first_at(topic, partition, lo, end)
        return end if rec is None else rec.offset

    def truncate_before(self, topic: str, partition: int, offset: int) -> None:
        end = self.end_offset(topic, partition)
        if offset > end:
            raise OffsetOutOfRangeError(topic, partition, offset, end)
        if offset <= self.start_offset(topic, partition):
            return
        self._retention.record(topic, str(partition), offset)
        if self.config.physical_truncation:
            tp = ck.TopicPartition(topic, partition, offset)
            self._result(self.admin().delete_records([tp])[tp])

    def close(self) -> None:
        with self._lock:
            writers = list(self._writers)
        for writer in writers:
            writer.close()
        self._retention.close()
        with self._lock:
            self._closed = True
            cursors = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
            producer, self._producer = self._producer, None
            self._admin = None  # dropping the last reference destroys the admin client
        for cursor in cursors:
            cursor.close()
        if producer is not None:
            producer.flush(self.config.timeout)
            producer.close()
