"""The Kafka backend's reader: one librdkafka consumer assigned to one partition.

Never a consumer group (``group.id`` is a dummy): explicit ``assign`` + seek, and the end of a
partition is found by *partition EOF* (never ListOffsets "latest", which Tansu undercounts).
:mod:`.kafka_pool` leases these to one thread at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import confluent_kafka as ck

from .kafka_records import KafkaLogConfig, Stamp, unpack_header
from .log import LogError, LogUnavailableError, TruncatedError, UnknownTopicError


class Cursor:
    """One assigned consumer over one partition; remembers where it stands to avoid re-seeking."""

    def __init__(self, config: KafkaLogConfig, topic: str, partition: int) -> None:
        self.topic, self.partition = topic, partition
        self._consumer = ck.Consumer(config.consumer_config())
        self._timeout = config.timeout
        self.next = -1
        self.at_eof = False
        self.end = 0  # the end offset seen at the last partition EOF
        self.cancelled = False
        self._cancel: Callable[[], LogError] | None = None
        self._closed = False

    def cancel(self, error: Callable[[], LogError]) -> None:
        """Called from another thread: the holder's pull raises ``error()`` within one poll."""
        self._cancel, self.cancelled = error, True

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
            if self._cancel is not None:
                raise self._cancel()
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
                self.cancelled = True  # deleted elsewhere: never keep this consumer for reuse
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

    def low_watermark(self) -> int:
        tp = ck.TopicPartition(self.topic, self.partition)
        return self._consumer.get_watermark_offsets(tp, timeout=self._timeout, cached=False)[0]

    def high_watermark(self) -> int:
        tp = ck.TopicPartition(self.topic, self.partition)
        return self._consumer.get_watermark_offsets(tp, timeout=self._timeout, cached=False)[1]

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._consumer.close()
