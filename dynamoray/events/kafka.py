"""The Kafka backend (confluent-kafka, imported only here and in :mod:`.kafka_cursor`).

- Writes: one idempotent producer per log (``acks=all``), explicit partitions, commit timestamps
  stamped by our writer and carried in a record header (the broker's clock is never used).
  Fencing is the leader-epoch protocol recorded in the log, described in :mod:`.kafka_records`.
- Reads: consumers with explicit ``assign`` + seek (never a consumer group; ``group.id`` is a
  dummy), the end of a partition found by *partition EOF* (never ListOffsets "latest", which
  Tansu undercounts), and ``offset_for_time`` as a binary search over our own commit stamps.
- Retention: the retained start of each partition is recorded in a small compacted meta topic,
  which readers honour; DeleteRecords also reclaims the space when the broker supports it.
- Threads: every call may come from any thread.  Consumers are leased from a bounded pool
  (:mod:`.kafka_pool`), and no client is closed while another thread is inside it: a topic's
  consumers are stopped and closed *before* the topic is deleted, and ``close`` waits for the
  readers and producers in flight.
"""

from __future__ import annotations

import functools
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import confluent_kafka as ck
import confluent_kafka.admin as ck_admin

from .kafka_cursor import Cursor
from .kafka_fencing import FencedWriter, claim
from .kafka_pool import CursorPool
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


class KafkaLog(EventLog):
    """An event log on a Kafka cluster (or any Kafka-protocol broker, e.g. Tansu)."""

    def __init__(self, config: KafkaLogConfig | Mapping[str, Any], *, clock: Clock = system_clock) -> None:
        self.config = config if isinstance(config, KafkaLogConfig) else KafkaLogConfig(properties=dict(config))
        self._clock = clock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._producer: Any = None
        self._producing_now = 0  # threads inside the producer: close waits for them
        self._admin: Any = None
        self._partitions: dict[str, int] = {}
        self._pool: CursorPool[Cursor] = CursorPool(
            lambda topic, partition: Cursor(self.config, topic, partition),
            max_idle=self.config.idle_consumers, idle_timeout=self.config.consumer_idle_timeout)
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

    @contextmanager
    def _producing(self) -> Iterator[Any]:
        """The producer, for this block; ``close`` waits for the blocks in flight."""
        with self._lock:
            if self._closed:
                raise LogClosedError("the log is closed")
            if self._producer is None:
                self._producer = ck.Producer(self.config.producer_config())
            self._producing_now += 1
            producer = self._producer
        try:
            yield producer
        finally:
            with self._lock:
                self._producing_now -= 1
                self._changed.notify_all()

    def _with_cursor(self, topic: str, partition: int, fn, offset: int = -1):
        with self._pool.leased(topic, partition, offset) as cursor:
            return fn(cursor)

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
        self._pool.revive(topic)
        with self._lock:
            self._partitions[topic] = partitions

    def delete_topic(self, topic: str) -> None:
        """Stops and closes the topic's consumers first (readers in other threads get
        UnknownTopicError), then deletes it: no consumer ever sees its topic vanish."""
        self.partition_count(topic)
        with self._pool.retiring(topic, wait=self.config.timeout + 5):
            self._result(self.admin().delete_topics([topic])[topic])
            deadline = time.monotonic() + self.config.timeout
            while topic in self._listed() and time.monotonic() < deadline:
                time.sleep(0.01)
        with self._lock:
            self._partitions.pop(topic, None)
            for key in [k for k in self._ends if k[0] == topic]:
                del self._ends[key]

    def partition_count(self, topic: str) -> int:
        with self._lock:
            count = self._partitions.get(topic)
        if count is None:
            mark = self._pool.deletions()
            count = self._listed().get(topic)
            if count is None or not self._pool.revive(topic, listed_after=mark):
                raise UnknownTopicError(topic)
            with self._lock:
                self._partitions[topic] = count
        return count

    def release_topic(self, topic: str) -> None:
        self._pool.release(topic)

    def _check(self, topic: str, partition: int) -> None:
        if not isinstance(partition, int) or not 0 <= partition < self.partition_count(topic):
            raise UnknownTopicError(topic, partition)

    # --- the transports of kafka_fencing and kafka_retention ------------------------------------

    def produce(self, topic: str, partition: int, values: Sequence[bytes], expected: int, ts: int, epoch: int,
                kind: int) -> list[int]:
        with self._producing() as producer:
            return self._produce(producer, topic, partition, values, expected, ts, epoch, kind)

    def _produce(self, producer: Any, topic: str, partition: int, values: Sequence[bytes], expected: int, ts: int,
                 epoch: int, kind: int) -> list[int]:
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

    def new_cursor(self, topic: str, partition: int) -> Cursor:
        """A cursor outside the pool (the meta topic's, which its owner closes)."""
        with self._lock:
            if self._closed:
                raise LogClosedError("the log is closed")
        return Cursor(self.config, topic, partition)

    def produce_keyed(self, topic: str, key: str, value: str) -> None:
        with self._producing() as producer:
            producer.produce(topic, key=key, value=value, partition=0)
            if producer.flush(self.config.timeout):
                raise LogUnavailableError(f"could not write to {topic}")

    def open_writer(self, topic: str, partition: int) -> PartitionWriter:
        self._check(topic, partition)
        writer = claim(self, topic, partition, self._clock)
        with self._lock:
            closed = self._closed
            if not closed:
                self._writers.add(writer)
        if closed:  # closed while we claimed: nobody else would ever close this writer
            writer.close()
            raise LogClosedError("the log is closed")
        return writer

    # --- reading ---------------------------------------------------------------------------------

    def low_watermark(self, topic: str, partition: int) -> int:
        return self._with_cursor(topic, partition, Cursor.low_watermark)

    def end_offset(self, topic: str, partition: int) -> int:
        self._check(topic, partition)

        def scan(cursor: Cursor) -> int:
            guess = self._ends.get((topic, partition))
            if guess is None:  # "latest" may undercount (Tansu), so it is only where the scan starts
                guess = cursor.high_watermark()
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

    def _records(self, cursor: Cursor, offset: int, max_records: int, wait: float | None) -> list[Record]:
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

    def tail(self, topic: str, partition: int, offset: int, timeout: float,
             max_records: int = DEFAULT_MAX_RECORDS) -> list[Record]:
        self._bounds_check(topic, partition, offset)
        return self._with_cursor(topic, partition, lambda c: self._records(c, offset, max_records, timeout), offset)

    def _first_at(self, topic: str, partition: int, offset: int, end: int) -> Record | None:
        def first(cursor: Cursor) -> Record | None:
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
        """Commit what the writers queued, then stop every reader and producer in flight (they
        raise LogClosedError) and close each client once no thread is inside it."""
        with self._lock:
            writers = list(self._writers)
        for writer in writers:  # their queued appends still go out
            writer.close()
        with self._lock:
            self._closed = True
            writers = list(self._writers)
        for writer in writers:  # and any opened meanwhile
            writer.close()
        self._retention.close()
        self._pool.close(wait=self.config.timeout + 5)
        with self._lock:
            deadline = time.monotonic() + self.config.timeout + 5
            while self._producing_now and time.monotonic() < deadline:
                self._changed.wait(max(0.0, deadline - time.monotonic()))
            producer = None if self._producing_now else self._producer  # stuck: leak it, never crash
            self._producer = None
            self._admin = None  # dropping the last reference destroys the admin client
        if producer is not None:
            producer.flush(self.config.timeout)
            producer.close()
