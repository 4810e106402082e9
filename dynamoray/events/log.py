"""The event log port: one interface every backend implements, its record type and its errors.

A *topic* (one per table) has a fixed number of *partitions*; each partition is an append-only
sequence of records with increasing offsets.  A record is opaque bytes plus the commit timestamp
(ms) its writer stamped on it, monotonic per partition (``max(last, now)``, the clock injected).

A partition has one writer at a time.  :meth:`EventLog.open_writer` makes the caller the writer and
fences every earlier one: a superseded writer's next append raises :class:`FencedError` and writes
nothing.  :meth:`PartitionWriter.append` returns only once the records are durable.

Offsets: on the memory and embedded backends the offsets of a partition are contiguous.  On Kafka
they are strictly increasing but may have gaps: fencing records and the rejected appends of a
fenced writer take offsets and are never returned by :meth:`EventLog.read`.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Clock = Callable[[], int]
"""Returns the current wall-clock time in milliseconds since the epoch."""

Done = Callable[["list[int] | None", "BaseException | None"], None]
"""Called once a :meth:`PartitionWriter.submit` is durable: ``(offsets, None)`` or ``(None, error)``."""

_TOPIC_RE = re.compile(r"[A-Za-z0-9._-]{1,249}")
DEFAULT_MAX_RECORDS = 1000


def system_clock() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Record:
    """One record read back from a partition."""

    offset: int
    timestamp: int  # commit timestamp in ms, stamped by the writer
    value: bytes


# --- errors --------------------------------------------------------------------------------------


class LogError(Exception):
    """Base class of every event-log error."""


class UnknownTopicError(LogError):
    def __init__(self, topic: str, partition: int | None = None) -> None:
        where = topic if partition is None else f"{topic}/{partition}"
        super().__init__(f"unknown topic or partition: {where}")
        self.topic = topic
        self.partition = partition


class TopicExistsError(LogError):
    def __init__(self, topic: str) -> None:
        super().__init__(f"topic already exists: {topic}")
        self.topic = topic


class FencedError(LogError):
    """The writer was superseded by a newer one (``open_writer`` called again elsewhere)."""

    def __init__(self, topic: str, partition: int, epoch: int, appended: Sequence[int] = ()) -> None:
        super().__init__(f"writer epoch {epoch} of {topic}/{partition} was fenced by a newer writer")
        self.topic = topic
        self.partition = partition
        self.epoch = epoch
        self.appended = tuple(appended)  # offsets of a partial append that did land (Kafka only)


class TruncatedError(LogError):
    """The requested offset is before the first retained offset (see ``truncate_before``)."""

    def __init__(self, topic: str, partition: int, offset: int, start: int) -> None:
        super().__init__(f"offset {offset} of {topic}/{partition} was truncated; log starts at {start}")
        self.offset = offset
        self.start = start


class OffsetOutOfRangeError(LogError):
    """The requested offset is past the end of the partition."""

    def __init__(self, topic: str, partition: int, offset: int, end: int) -> None:
        super().__init__(f"offset {offset} of {topic}/{partition} is past the end offset {end}")
        self.offset = offset
        self.end = end


class LogClosedError(LogError):
    """The log or the writer was closed."""


class LogUnavailableError(LogError):
    """The backend could not complete the call (broker down, timeout, disk error)."""


def check_topic_name(topic: str) -> str:
    """Topic names follow Kafka's rule (they are also file names in the embedded backend)."""
    if not isinstance(topic, str) or not _TOPIC_RE.fullmatch(topic) or topic in (".", ".."):
        raise LogError(f"invalid topic name: {topic!r} (use 1-249 of [A-Za-z0-9._-])")
    return topic


def check_partitions(partitions: int) -> int:
    if not isinstance(partitions, int) or isinstance(partitions, bool) or not 1 <= partitions <= 1 << 20:
        raise LogError(f"invalid partition count: {partitions!r}")
    return partitions


def stamp(last: int, now: int) -> int:
    """The commit timestamp of the next record: never earlier than the previous one."""
    return now if now > last else last


# --- the port ------------------------------------------------------------------------------------


class PartitionWriter(ABC):
    """The single writer of one partition, obtained from :meth:`EventLog.open_writer`.

    Thread-safe: concurrent appends are committed together (group commit) in call order.
    """

    topic: str
    partition: int
    epoch: int

    @abstractmethod
    def append(self, values: Sequence[bytes]) -> list[int]:
        """Append ``values`` in order; return their offsets once durable.

        Raises :class:`FencedError` if a newer writer took over the partition.
        """

    def submit(self, values: Sequence[bytes], done: Done) -> None:
        """:meth:`append` without waiting: ``done`` is called once the records are durable (on any
        thread, maybe before this returns).  Submissions of one writer commit in submission order.
        This default runs ``append`` on a worker thread of the writer; backends override it."""
        executor = self.__dict__.get("_submitter")
        if executor is None:
            from concurrent.futures import ThreadPoolExecutor

            executor = self.__dict__["_submitter"] = ThreadPoolExecutor(1, thread_name_prefix="dynamoray-append")

        def run() -> None:
            try:
                offsets = self.append(values)
            except BaseException as error:  # noqa: BLE001 - handed to the caller
                done(None, error)
                return
            done(offsets, None)

        executor.submit(run)

    def append_now(self, values: Sequence[bytes]) -> list[int] | None:
        """:meth:`append` made durable on this thread, at once, when the backend can do that without
        waiting for another commit (the embedded log's idle committer, the memory log); None when it
        cannot, having written nothing (the caller then uses :meth:`submit`).  Raises like
        :meth:`append` if the commit itself fails.  This default never can."""
        return None

    @abstractmethod
    def close(self) -> None:
        """Release the writer; later appends raise :class:`LogClosedError`."""

    def __enter__(self) -> PartitionWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def append_async(writer: PartitionWriter, values: Sequence[bytes]) -> list[int]:
    """Await :meth:`PartitionWriter.submit` on an event loop: no thread waits for the commit (the
    embedded backend's committer thread wakes the loop itself)."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    here = threading.get_ident()

    def done(offsets: list[int] | None, error: BaseException | None) -> None:
        if threading.get_ident() == here:  # committed inline, on the loop's own thread
            _settle(future, offsets, error)
        else:
            loop.call_soon_threadsafe(_settle, future, offsets, error)

    writer.submit(values, done)
    return await future


def _settle(future: asyncio.Future, offsets: list[int] | None, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(offsets)


class EventLog(ABC):
    """A set of partitioned append-only topics."""

    @abstractmethod
    def create_topic(self, topic: str, partitions: int) -> None:
        """Create ``topic`` with a fixed number of partitions (TopicExistsError if present)."""

    @abstractmethod
    def delete_topic(self, topic: str) -> None:
        """Delete ``topic`` and all its records (UnknownTopicError if absent)."""

    @abstractmethod
    def partition_count(self, topic: str) -> int:
        """The number of partitions of ``topic`` (UnknownTopicError if absent)."""

    @abstractmethod
    def open_writer(self, topic: str, partition: int) -> PartitionWriter:
        """Become the partition's writer, fencing every earlier writer."""

    @abstractmethod
    def read(self, topic: str, partition: int, offset: int, max_records: int = DEFAULT_MAX_RECORDS) -> list[Record]:
        """Records at or after ``offset`` available now, at most ``max_records``, in order.

        ``offset`` may equal the end offset (returns ``[]``); past it raises OffsetOutOfRangeError,
        before the start raises TruncatedError.
        """

    @abstractmethod
    def tail(
        self, topic: str, partition: int, offset: int, timeout: float, max_records: int = DEFAULT_MAX_RECORDS
    ) -> list[Record]:
        """Like :meth:`read`, but block up to ``timeout`` seconds until a record is available."""

    @abstractmethod
    def start_offset(self, topic: str, partition: int) -> int:
        """The first retained offset (0 until the partition is truncated)."""

    @abstractmethod
    def end_offset(self, topic: str, partition: int) -> int:
        """One past the last offset ever written (the next record's offset, up to gaps)."""

    @abstractmethod
    def offset_for_time(self, topic: str, partition: int, timestamp: int) -> int:
        """The first retained record offset whose commit timestamp is >= ``timestamp`` (ms), else
        the end offset."""

    @abstractmethod
    def truncate_before(self, topic: str, partition: int, offset: int) -> None:
        """Drop the records before ``offset`` (retention); ``offset`` may be at most the end."""

    def release_topic(self, topic: str) -> None:  # noqa: B027  (optional: a no-op by default)
        """The caller is done with ``topic`` for now: the backend may free what it keeps open for
        it (files and a committer thread on the embedded log, idle consumers on Kafka).  The next
        call on the topic opens it again.  Calls in flight on other threads are unaffected."""

    @abstractmethod
    def close(self) -> None:
        """Release every resource; the log must not be used afterwards.  Calls in flight on other
        threads finish or raise :class:`LogClosedError`; later calls raise it."""

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
