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
all queued appends in one transaction, hence one fsync (see :mod:`.batching`).  Fencing is checked
inside that transaction (``BEGIN IMMEDIATE`` takes SQLite's write lock), so it also holds between
processes opening the same directory; tails in another process see new records by polling.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from .batching import GroupCommitter, Pending
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

_SHIFT = 40  # offsets below 2**40 per partition
_SCHEMA = """
CREATE TABLE IF NOT EXISTS partitions(
    p INTEGER PRIMARY KEY, start INTEGER NOT NULL, next INTEGER NOT NULL,
    epoch INTEGER NOT NULL, last_ts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS records(k INTEGER PRIMARY KEY, ts INTEGER NOT NULL, v BLOB NOT NULL);
"""
_POLL = 0.02  # seconds between polls while tailing writes made by another process


def _connect(path: Path, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    return conn


class _Topic:
    """One open topic file: a reader connection, a writer connection and its committer."""

    def __init__(self, name: str, path: Path, synchronous: str, clock: Clock) -> None:
        self.name = name
        self.path = path
        self._clock = clock
        self.reader = _connect(path, synchronous)
        self.read_lock = threading.Lock()
        self._writer = _connect(path, synchronous)
        self.changed = threading.Condition()
        self.version = 0  # bumped after every commit made by this process
        self.partitions = self.query("SELECT count(*) FROM partitions")[0][0]
        self.committer = GroupCommitter(self._commit, name=f"dynamoray-log-{name}")

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self.read_lock:
            return self.reader.execute(sql, args).fetchall()

    def _commit(self, batch: list[Pending]) -> None:
        conn = self._writer
        conn.execute("BEGIN IMMEDIATE")
        try:
            results = self._apply(conn, batch)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        with self.changed:
            self.version += 1
            self.changed.notify_all()
        for pending, result in zip(batch, results):
            if isinstance(result, Exception):
                pending.resolve(error=result)
            else:
                pending.resolve(result)

    def _apply(self, conn: sqlite3.Connection, batch: list[Pending]) -> list:
        state: dict[int, list[int]] = {}  # p -> [next, epoch, last_ts]
        rows: list[tuple[int, int, bytes]] = []
        results: list = []
        now = self._clock()
        for pending in batch:
            partition, epoch, values = pending.payload
            if partition not in state:
                state[partition] = list(
                    conn.execute("SELECT next, epoch, last_ts FROM partitions WHERE p=?", (partition,)).fetchone()
                )
            part = state[partition]
            if part[1] != epoch:
                results.append(FencedError(self.name, partition, epoch))
                continue
            ts = part[2] = stamp(part[2], now)
            first, base = part[0], partition << _SHIFT
            rows.extend((base | (first + i), ts, v) for i, v in enumerate(values))
            part[0] = first + len(values)
            results.append(list(range(first, first + len(values))))
        conn.executemany("INSERT INTO records(k, ts, v) VALUES (?, ?, ?)", rows)
        conn.executemany(
            "UPDATE partitions SET next=?, last_ts=? WHERE p=?", [(s[0], s[2], p) for p, s in state.items()]
        )
        return results

    def close(self) -> None:
        self.committer.close()
        self._writer.close()
        self.reader.close()


class EmbeddedLog(EventLog):
    """A durable event log in ``directory`` (created if missing)."""

    def __init__(self, directory: str | os.PathLike, *, clock: Clock = system_clock, synchronous: str = "FULL") -> None:
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError(f"synchronous must be FULL, EXTRA or NORMAL, not {synchronous!r}")
        self._dir = Path(directory)
        self._dir.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._sync = synchronous
        self._topics: dict[str, _Topic] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _path(self, topic: str) -> Path:
        return self._dir / f"{check_topic_name(topic)}.db"

    def _topic(self, topic: str) -> _Topic:
        with self._lock:
            if self._closed:
                raise LogClosedError("the log is closed")
            found = self._topics.get(topic)
            if found is None:
                path = self._path(topic)
                if not path.exists():
                    raise UnknownTopicError(topic)
                found = _Topic(topic, path, self._sync, self._clock)
                if found.partitions == 0:  # being created by another process
                    found.close()
                    raise UnknownTopicError(topic)
                self._topics[topic] = found
            return found

    def _check(self, topic: str, partition: int) -> _Topic:
        t = self._topic(topic)
        if not isinstance(partition, int) or not 0 <= partition < t.partitions:
            raise UnknownTopicError(topic, partition)
        return t

    def create_topic(self, topic: str, partitions: int) -> None:
        path = self._path(topic)
        check_partitions(partitions)
        with self._lock:
            conn = _connect(path, self._sync)
            try:
                conn.executescript(_SCHEMA)
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
        self._topic(topic)
        with self._lock:
            self._topics.pop(topic).close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self._path(topic)}{suffix}").unlink(missing_ok=True)

    def partition_count(self, topic: str) -> int:
        return self._topic(topic).partitions

    def open_writer(self, topic: str, partition: int) -> PartitionWriter:
        t = self._check(topic, partition)
        with t.read_lock:  # one autocommit statement: fetchall() steps it to its commit
            ((epoch,),) = t.reader.execute(
                "UPDATE partitions SET epoch = epoch + 1 WHERE p=? RETURNING epoch", (partition,)
            ).fetchall()
        return _EmbeddedWriter(t, partition, epoch)

    def _bounds(self, t: _Topic, partition: int) -> tuple[int, int]:
        return t.query("SELECT start, next FROM partitions WHERE p=?", (partition,))[0]

    def read(self, topic: str, partition: int, offset: int, max_records: int = DEFAULT_MAX_RECORDS) -> list[Record]:
        t = self._check(topic, partition)
        with t.read_lock:
            conn = t.reader
            conn.execute("BEGIN")  # one snapshot for the bounds and the rows
            try:
                start, end = conn.execute("SELECT start, next FROM partitions WHERE p=?", (partition,)).fetchone()
                if offset < start:
                    raise TruncatedError(topic, partition, offset, start)
                if offset > end:
                    raise OffsetOutOfRangeError(topic, partition, offset, end)
                base = partition << _SHIFT
                rows = conn.execute(
                    "SELECT k, ts, v FROM records WHERE k >= ? AND k < ? ORDER BY k LIMIT ?",
                    (base | offset, base | end, max_records),
                ).fetchall()
            finally:
                conn.execute("COMMIT")
        return [Record(k - base, ts, v) for k, ts, v in rows]

    def tail(
        self, topic: str, partition: int, offset: int, timeout: float, max_records: int = DEFAULT_MAX_RECORDS
    ) -> list[Record]:
        t = self._check(topic, partition)
        deadline = time.monotonic() + timeout
        while True:
            seen = t.version
            found = self.read(topic, partition, offset, max_records)
            remaining = deadline - time.monotonic()
            if found or remaining <= 0:
                return found
            with t.changed:
                if t.version == seen:
                    t.changed.wait(min(remaining, _POLL))

    def start_offset(self, topic: str, partition: int) -> int:
        return self._bounds(self._check(topic, partition), partition)[0]

    def end_offset(self, topic: str, partition: int) -> int:
        return self._bounds(self._check(topic, partition), partition)[1]

    def offset_for_time(self, topic: str, partition: int, timestamp: int) -> int:
        t = self._check(topic, partition)
        lo, hi = self._bounds(t, partition)
        base = partition << _SHIFT
        while lo < hi:  # stamps are non-decreasing within a partition
            mid = (lo + hi) // 2
            rows = t.query("SELECT ts FROM records WHERE k = ?", (base | mid,))
            if not rows:  # truncated under us: everything before the new start is gone
                lo = max(mid + 1, self._bounds(t, partition)[0])
            elif rows[0][0] >= timestamp:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def truncate_before(self, topic: str, partition: int, offset: int) -> None:
        t = self._check(topic, partition)
        base = partition << _SHIFT
        with t.read_lock:
            conn = t.reader
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

    def close(self) -> None:
        with self._lock:
            self._closed = True
            topics, self._topics = list(self._topics.values()), {}
        for t in topics:
            t.close()


class _EmbeddedWriter(PartitionWriter):
    def __init__(self, topic: _Topic, partition: int, epoch: int) -> None:
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
        return self._topic.committer.submit((self.partition, self.epoch, values), len(values)).wait()

    def close(self) -> None:
        self._closed = True
