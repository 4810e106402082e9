"""The durable local event log (the ``dynamoray serve`` default): SQLite files under a directory.

Layout: one database file per topic, ``<directory>/<topic>.db``, in WAL mode, holding

- ``partitions(p, start, next, epoch, last_ts)``: retained range, writer epoch, last commit stamp;
- ``records(k, ts, v)`` with ``k = p << 40 | offset`` as the rowid, so a partition is one rowid
  range and a replay is a sequential b-tree scan.

Durability: an append is acknowledged only after the SQLite transaction that holds it committed
with ``synchronous=FULL``, which fsyncs the WAL on every commit.  A kill -9 or a power cut can
therefore never lose an acknowledged append, and SQLite's journal makes every commit atomic, so
no torn record or half-applied batch is ever visible.  (``synchronous="NORMAL"`` skips that fsync:
it still survives kill -9, since the data reached the OS, but not a power cut; it is offered for
benchmarks only.)

Group commit: appends from every thread go through one committer thread per topic, which writes
all queued appends in one transaction, hence one fsync (see :mod:`.batching`).  An append made
while that committer is idle commits on the caller's own thread instead (no thread hand-off).  Fencing is checked
inside that transaction (``BEGIN IMMEDIATE`` takes SQLite's write lock), so it also holds between
processes opening the same directory; tails in another process see new records by polling.

Threads: every call may come from any thread.  A topic's reader connection is used only under its
``read_lock``, and closing a topic (``close``, ``delete_topic``, ``release_topic``) takes that lock
too, so it never frees a connection another thread is inside; the calls that come after raise
:class:`LogClosedError` (or :class:`UnknownTopicError` for a deleted topic).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from .embedded_topic import SCHEMA, SHIFT, Released, Topic, connect, open_topic
from .log import (
    DEFAULT_MAX_RECORDS,
    Clock,
    Done,
    EventLog,
    LogClosedError,
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

_POLL = 0.02  # seconds between polls while tailing writes made by another process
_T = TypeVar("_T")


class EmbeddedLog(EventLog):
    """A durable event log in ``directory`` (created if missing)."""

    def __init__(self, directory: str | os.PathLike, *, clock: Clock = system_clock, synchronous: str = "FULL") -> None:
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError(f"synchronous must be FULL, EXTRA or NORMAL, not {synchronous!r}")
        self._dir = Path(directory)
        self._dir.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._sync = synchronous
        self._topics: dict[str, Topic] = {}
        self._lock = threading.Lock()
        self._closed = False

    @property
    def directory(self) -> Path:
        """Where the topic files are (consumer groups keep their offsets beside them: ``consumer.py``)."""
        return self._dir

    def _path(self, topic: str) -> Path:
        return self._dir / f"{check_topic_name(topic)}.db"

    def _topic(self, topic: str) -> Topic:
        with self._lock:
            if self._closed:
                raise LogClosedError("the log is closed")
            found = self._topics.get(topic)
            if found is None:
                found = self._topics[topic] = open_topic(topic, self._path(topic), self._sync, self._clock)
            return found

    def _check(self, topic: str, partition: int) -> Topic:
        t = self._topic(topic)
        if not isinstance(partition, int) or not 0 <= partition < t.partitions:
            raise UnknownTopicError(topic, partition)
        return t

    def _using(self, topic: str, partition: int, fn: Callable[[Topic, sqlite3.Connection], _T]) -> _T:
        """``fn(topic, reader connection)`` with the connection to itself; retried on a freshly
        opened topic if it was released under us."""
        while True:
            t = self._check(topic, partition)
            try:
                with t.use() as conn:
                    return fn(t, conn)
            except Released:
                with self._lock:
                    if self._topics.get(topic) is t:
                        del self._topics[topic]

    def create_topic(self, topic: str, partitions: int) -> None:
        path = self._path(topic)
        check_partitions(partitions)
        with self._lock:
            if self._closed:
                raise LogClosedError("the log is closed")
            conn = connect(path, self._sync)
            try:
                conn.executescript(SCHEMA)
                conn.execute("BEGIN IMMEDIATE")
                if conn.execute("SELECT count(*) FROM partitions").fetchone()[0]:
                    conn.execute("ROLLBACK")
                    raise TopicExistsError(topic)
                conn.executemany("INSERT INTO partitions VALUES (?, 0, 0, 0, 0)", [(p,) for p in range(partitions)])
                conn.execute("COMMIT")
            finally:
                conn.close()
            stale = self._topics.pop(topic, None)
        if stale is not None:
            stale.close()

    def delete_topic(self, topic: str) -> None:
        """Calls in flight on the topic finish first; later ones raise UnknownTopicError."""
        self._topic(topic)
        with self._lock:
            t = self._topics.pop(topic, None)
            if t is not None:
                t.close(lambda: UnknownTopicError(topic))
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self._path(topic)}{suffix}").unlink(missing_ok=True)

    def release_topic(self, topic: str) -> None:
        """Close the topic's files and committer thread unless a writer is open on it; the next
        call on the topic opens it again.  Lets many hosts share one log handle."""
        with self._lock:
            t = self._topics.get(topic)
        if t is not None and t.release():
            with self._lock:
                if self._topics.get(topic) is t:
                    del self._topics[topic]

    def partition_count(self, topic: str) -> int:
        return self._topic(topic).partitions

    def open_writer(self, topic: str, partition: int) -> PartitionWriter:
        def claim(t: Topic, conn: sqlite3.Connection) -> PartitionWriter:
            # one autocommit statement: fetchall() steps it to its commit
            ((epoch,),) = conn.execute(
                "UPDATE partitions SET epoch = epoch + 1 WHERE p=? RETURNING epoch", (partition,)
            ).fetchall()
            t.writers += 1
            return _EmbeddedWriter(t, partition, epoch)

        return self._using(topic, partition, claim)

    def _bounds(self, topic: str, partition: int) -> tuple[int, int]:
        return self._using(topic, partition, lambda t, conn: conn.execute(
            "SELECT start, next FROM partitions WHERE p=?", (partition,)).fetchone())

    def read(self, topic: str, partition: int, offset: int, max_records: int = DEFAULT_MAX_RECORDS) -> list[Record]:
        base = partition << SHIFT if isinstance(partition, int) else 0

        def rows(t: Topic, conn: sqlite3.Connection) -> list[tuple]:
            conn.execute("BEGIN")  # one snapshot for the bounds and the rows
            try:
                start, end = conn.execute("SELECT start, next FROM partitions WHERE p=?", (partition,)).fetchone()
                if offset < start:
                    raise TruncatedError(topic, partition, offset, start)
                if offset > end:
                    raise OffsetOutOfRangeError(topic, partition, offset, end)
                return conn.execute(
                    "SELECT k, ts, v FROM records WHERE k >= ? AND k < ? ORDER BY k LIMIT ?",
                    (base | offset, base | end, max_records),
                ).fetchall()
            finally:
                conn.execute("COMMIT")

        return [Record(k - base, ts, v) for k, ts, v in self._using(topic, partition, rows)]

    def tail(
        self, topic: str, partition: int, offset: int, timeout: float, max_records: int = DEFAULT_MAX_RECORDS
    ) -> list[Record]:
        deadline = time.monotonic() + timeout
        while True:
            t = self._check(topic, partition)
            seen = t.version
            found = self.read(topic, partition, offset, max_records)
            remaining = deadline - time.monotonic()
            if found or remaining <= 0:
                return found
            with t.changed:
                if t.version == seen:
                    t.changed.wait(min(remaining, _POLL))

    def start_offset(self, topic: str, partition: int) -> int:
        return self._bounds(topic, partition)[0]

    def end_offset(self, topic: str, partition: int) -> int:
        return self._bounds(topic, partition)[1]

    def offset_for_time(self, topic: str, partition: int, timestamp: int) -> int:
        def search(t: Topic, conn: sqlite3.Connection) -> int:
            base = partition << SHIFT
            conn.execute("BEGIN")  # one snapshot: a truncation cannot remove records under the search
            try:
                lo, hi = conn.execute("SELECT start, next FROM partitions WHERE p=?", (partition,)).fetchone()
                while lo < hi:  # stamps are non-decreasing within a partition
                    mid = (lo + hi) // 2
                    (ts,) = conn.execute("SELECT ts FROM records WHERE k = ?", (base | mid,)).fetchone()
                    if ts >= timestamp:
                        hi = mid
                    else:
                        lo = mid + 1
                return lo
            finally:
                conn.execute("COMMIT")

        return self._using(topic, partition, search)

    def truncate_before(self, topic: str, partition: int, offset: int) -> None:
        def truncate(t: Topic, conn: sqlite3.Connection) -> None:
            base = partition << SHIFT
            conn.execute("BEGIN IMMEDIATE")
            try:
                start, end = conn.execute("SELECT start, next FROM partitions WHERE p=?", (partition,)).fetchone()
                if offset > end:
                    raise OffsetOutOfRangeError(topic, partition, offset, end)
                if offset > start:
                    conn.execute("DELETE FROM records WHERE k >= ? AND k < ?", (base | start, base | offset))
                    conn.execute("UPDATE partitions SET start=? WHERE p=?", (offset, partition))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        self._using(topic, partition, truncate)

    def close(self) -> None:
        """Calls in flight finish first; every later call raises LogClosedError."""
        with self._lock:
            self._closed = True
            topics, self._topics = list(self._topics.values()), {}
        for t in topics:
            t.close()


class _EmbeddedWriter(PartitionWriter):
    def __init__(self, topic: Topic, partition: int, epoch: int) -> None:
        self._topic = topic
        self.topic = topic.name
        self.partition = partition
        self.epoch = epoch
        self._closed = False

    def append(self, values: Sequence[bytes]) -> list[int]:
        if self._closed:
            raise LogClosedError("the writer is closed")
        if not values:
            return []
        return self._topic.committer.submit((self.partition, self.epoch, values), len(values), inline=True).wait()

    def append_now(self, values: Sequence[bytes]) -> list[int] | None:
        if self._closed:
            raise LogClosedError("the writer is closed")
        if not values:
            return []
        pending = self._topic.committer.commit_now((self.partition, self.epoch, values), len(values))
        return None if pending is None else pending.wait()

    def submit(self, values: Sequence[bytes], done: Done) -> None:
        """:meth:`append` without waiting for another commit: an idle committer commits the values on
        this thread (then ``done`` runs before this returns); otherwise the committer thread calls
        ``done`` once durable (see :mod:`.batching`, "Inline commits")."""
        if self._closed:
            raise LogClosedError("the writer is closed")
        if not values:
            done([], None)
            return
        self._topic.committer.submit((self.partition, self.epoch, values), len(values), done, inline=True)

    def close(self) -> None:
        with self._topic.read_lock:
            if not self._closed:
                self._closed = True
                self._topic.writers -= 1
