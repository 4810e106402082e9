"""One open topic of the embedded log (:mod:`.embedded`): its SQLite file, a reader connection, a
writer connection and the committer thread that group-commits appends (see :mod:`.batching`).

The reader connection is used only under ``read_lock`` (:meth:`Topic.use`), and :meth:`Topic.close`
takes that lock too: SQLite connections are never closed while another thread is inside them.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .batching import GroupCommitter, Pending
from .log import Clock, FencedError, LogClosedError, LogError, UnknownTopicError, stamp

SHIFT = 40  # offsets below 2**40 per partition
BUSY_WAIT = 30.0  # seconds the committer thread waits for another process's write lock
SCHEMA = """
CREATE TABLE IF NOT EXISTS partitions(
    p INTEGER PRIMARY KEY, start INTEGER NOT NULL, next INTEGER NOT NULL,
    epoch INTEGER NOT NULL, last_ts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS records(k INTEGER PRIMARY KEY, ts INTEGER NOT NULL, v BLOB NOT NULL);
"""


def connect(path: Path, synchronous: str, *, create: bool = True) -> sqlite3.Connection:
    """A connection to ``path``; with ``create=False`` a missing file raises instead of being made."""
    target = path if create else f"{path.resolve().as_uri()}?mode=rw"
    conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False, timeout=30, uri=not create)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
    except BaseException:
        conn.close()
        raise
    return conn


def open_topic(name: str, path: Path, synchronous: str, clock: Clock) -> Topic:
    """The topic's file, opened; UnknownTopicError while it is missing or still being created (by
    another process: the file may exist before its tables and partitions do)."""
    try:
        reader = connect(path, synchronous, create=False)
    except sqlite3.OperationalError as exc:  # "unable to open database file": not there
        raise UnknownTopicError(name) from exc
    try:
        (partitions,) = reader.execute("SELECT count(*) FROM partitions").fetchone()
        if partitions == 0:
            raise UnknownTopicError(name)
        writer = connect(path, synchronous, create=False)
    except sqlite3.OperationalError as exc:
        reader.close()
        if "no such table" in str(exc) or "unable to open" in str(exc):
            raise UnknownTopicError(name) from exc
        raise
    except BaseException:
        reader.close()
        raise
    return Topic(name, reader, writer, partitions, clock)


def _begin(conn: sqlite3.Connection) -> bool:
    """``BEGIN IMMEDIATE``: False if another connection holds the write lock (SQLITE_BUSY)."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorcode", sqlite3.SQLITE_BUSY) & 0xFF == sqlite3.SQLITE_BUSY:
            return False
        raise
    return True


class Released(LogError):
    """The topic was released under the call: open it again and retry."""


class Topic:
    """One open topic file: a reader connection, a writer connection and its committer."""

    def __init__(self, name: str, reader: sqlite3.Connection, writer: sqlite3.Connection, partitions: int,
                 clock: Clock) -> None:
        self.name = name
        self._clock = clock
        self.reader = reader
        self.read_lock = threading.Lock()
        self._writer = writer
        self.partitions = partitions
        self.writers = 0  # open writers (under read_lock): a topic with writers is never released
        self._gone: Callable[[], LogError] | None = None  # set once closed: what later calls raise
        self._closed = False
        self.changed = threading.Condition()
        self.version = 0  # bumped after every commit made by this process
        # the writer never waits in SQLite's busy handler: an inline commit (on the caller's thread,
        # often an event loop) gives way when another process holds the write lock, and the
        # committer thread waits for the lock itself (_begin)
        writer.execute("PRAGMA busy_timeout=0")
        self.committer = GroupCommitter(self._commit, name=f"dynamoray-log-{name}", inline=self._commit_inline)

    @contextmanager
    def use(self) -> Iterator[sqlite3.Connection]:
        """The reader connection, for this thread alone, unless the topic was closed."""
        with self.read_lock:
            if self._gone is not None:
                raise self._gone()
            yield self.reader

    def _commit(self, batch: list[Pending]) -> None:
        """On the committer thread: waits up to BUSY_WAIT seconds for another process's write lock."""
        conn = self._writer
        deadline = None
        while not _begin(conn):
            now = time.monotonic()
            deadline = deadline or now + BUSY_WAIT
            if now >= deadline:
                raise sqlite3.OperationalError("database is locked")
            time.sleep(0.001)
        self._finish(conn, batch)

    def _commit_inline(self, batch: list[Pending]) -> bool:
        """On the caller's thread: False, having done nothing, if another process holds the lock."""
        conn = self._writer
        if not _begin(conn):
            return False
        self._finish(conn, batch)
        return True

    def _finish(self, conn: sqlite3.Connection, batch: list[Pending]) -> None:
        """The rest of a commit, once ``BEGIN IMMEDIATE`` holds the write lock: resolves ``batch``."""
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
            first, base = part[0], partition << SHIFT
            rows.extend((base | (first + i), ts, v) for i, v in enumerate(values))
            part[0] = first + len(values)
            results.append(list(range(first, first + len(values))))
        conn.executemany("INSERT INTO records(k, ts, v) VALUES (?, ?, ?)", rows)
        conn.executemany(
            "UPDATE partitions SET next=?, last_ts=? WHERE p=?", [(s[0], s[2], p) for p, s in state.items()]
        )
        return results

    def close(self, gone: Callable[[], LogError] = lambda: LogClosedError("the log is closed")) -> None:
        """Close both connections once no thread is inside them; later calls raise ``gone()``."""
        with self.read_lock:
            if self._closed:
                return
            self._closed = True
            if self._gone is None:
                self._gone = gone
        self.committer.close()  # commits what is queued, then its thread ends
        self._writer.close()
        with self.read_lock:
            self.reader.close()

    def release(self) -> bool:
        """Close the topic unless a writer is open on it; calls in flight then retry on a new one."""
        with self.read_lock:
            if self.writers or self._gone is not None:
                return False
            self._gone = Released
        self.close()
        return True
