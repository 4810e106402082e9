"""The Kafka backend's consumers: leased to one thread at a time, kept idle in a small LRU.

A librdkafka consumer costs a few threads and keeps fetching in the background, so the pool keeps
at most ``max_idle`` idle ones (least recently used beyond that, and any idle for ``idle_timeout``
seconds, are closed).  Two rules keep librdkafka from crashing the process:

- a consumer is closed only by the thread that holds it (a leased one is closed when it comes
  back), never while another thread is inside it;
- no consumer is assigned to a topic while it is deleted: :meth:`CursorPool.retire` refuses new
  leases of the topic, cancels the leased ones (their next poll raises), waits until they are back
  and closes them all *before* the caller deletes the topic.  (librdkafka 2.16 segfaults in its
  metadata cache when a consumer is still assigned to a topic that disappears under it.)

Written against a tiny cursor protocol, so it never touches confluent_kafka.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, Protocol, TypeVar

from .log import LogClosedError, LogError, LogUnavailableError, UnknownTopicError


class Cursor(Protocol):
    topic: str
    partition: int
    next: int  # the offset its next message would have (-1: unknown)
    cancelled: bool

    def cancel(self, error: Callable[[], LogError]) -> None:
        """Make the holder's current or next poll raise ``error()`` (called from another thread)."""

    def close(self) -> None: ...


C = TypeVar("C", bound=Cursor)


class CursorPool(Generic[C]):
    def __init__(self, make: Callable[[str, int], C], *, max_idle: int = 8, idle_timeout: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._make = make
        self._max_idle = max_idle
        self._idle_timeout = idle_timeout
        self._clock = clock
        self._cond = threading.Condition()
        self._idle: list[tuple[C, float]] = []  # (cursor, idle since), least recently used first
        self._leased: set[C] = set()
        self._retiring: dict[str, Callable[[], LogError]] = {}  # topic -> what its leases raise
        self._gone: dict[str, int] = {}  # deleted topic -> deletion number (see :meth:`revive`)
        self._deletions = 0
        self._closed = False

    # --- leases ----------------------------------------------------------------------------------

    def lease(self, topic: str, partition: int, offset: int = -1) -> C:
        """A cursor on the partition for this thread alone; prefers one already at ``offset``."""
        with self._cond:
            self._refuse(topic)
            expired = self._expired()
            match = None
            for i, (cursor, _) in enumerate(self._idle):
                if cursor.topic == topic and cursor.partition == partition:
                    if match is None or cursor.next == offset or self._idle[match][0].next != offset:
                        match = i
            cursor = self._idle.pop(match)[0] if match is not None else None
            if cursor is not None:  # leased in the same breath: a retire can never miss it
                self._leased.add(cursor)
        _close_all(expired)
        if cursor is not None:
            return cursor
        cursor = self._make(topic, partition)  # not assigned to anything yet
        with self._cond:
            try:
                self._refuse(topic)  # retired or closed while we were making it
            except LogError as error:
                refused = error
            else:
                self._leased.add(cursor)
                return cursor
        cursor.close()
        raise refused

    def give_back(self, cursor: C) -> None:
        """Return a leased cursor: kept idle, or closed here if its topic is going or the pool full."""
        with self._cond:
            self._leased.discard(cursor)
            self._cond.notify_all()
            closing = self._expired()
            if cursor.cancelled or self._closed or cursor.topic in self._retiring or cursor.topic in self._gone:
                closing.append(cursor)
            else:
                self._idle.append((cursor, self._clock()))
                while len(self._idle) > self._max_idle:
                    closing.append(self._idle.pop(0)[0])
        _close_all(closing)

    @contextmanager
    def leased(self, topic: str, partition: int, offset: int = -1) -> Iterator[C]:
        cursor = self.lease(topic, partition, offset)
        try:
            yield cursor
        finally:
            self.give_back(cursor)

    def _refuse(self, topic: str) -> None:
        if self._closed:
            raise LogClosedError("the log is closed")
        if topic in self._retiring:
            raise self._retiring[topic]()
        if topic in self._gone:
            raise UnknownTopicError(topic)

    def _expired(self) -> list[C]:
        horizon = self._clock() - self._idle_timeout
        keep = [(c, since) for c, since in self._idle if since > horizon]
        expired = [c for c, since in self._idle if since <= horizon]
        self._idle = keep
        return expired

    # --- topics ----------------------------------------------------------------------------------

    @contextmanager
    def retiring(self, topic: str, wait: float) -> Iterator[None]:
        """Around deleting ``topic``: no cursor of it exists inside the block.

        Leases of the topic raise UnknownTopicError from the start of the block; if the block
        raises, the topic is leased again as before, otherwise it stays gone until :meth:`revive`."""
        error = lambda: UnknownTopicError(topic)  # noqa: E731
        with self._cond:
            if self._closed:
                raise LogClosedError("the log is closed")
            self._retiring[topic] = error
            try:
                idle = self._drain(lambda c: c.topic == topic, error, wait)
            except BaseException:
                del self._retiring[topic]
                raise
        try:
            _close_all(idle)
            yield
        except BaseException:
            with self._cond:
                del self._retiring[topic]
            raise
        with self._cond:
            del self._retiring[topic]
            self._deletions += 1
            self._gone[topic] = self._deletions

    def _drain(self, which: Callable[[C], bool], error: Callable[[], LogError], wait: float) -> list[C]:
        """Cancel the leased cursors ``which`` selects, wait until they are back, and take the idle
        ones out (the caller closes them).  Holds ``self._cond``."""
        for cursor in self._leased:
            if which(cursor):
                cursor.cancel(error)
        deadline = time.monotonic() + wait
        while any(which(c) for c in self._leased):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LogUnavailableError("a reader of the topic did not stop in time")
            self._cond.wait(remaining)
        idle = [c for c, _ in self._idle if which(c)]
        self._idle = [(c, since) for c, since in self._idle if not which(c)]
        return idle

    def deletions(self) -> int:
        """A mark to pass to :meth:`revive`: the number of deletions completed so far."""
        with self._cond:
            return self._deletions

    def revive(self, topic: str, listed_after: int | None = None) -> bool:
        """The topic exists (again): allow leases of it.  With ``listed_after`` (a :meth:`deletions`
        mark taken before a listing that showed the topic), only if it was deleted before that
        listing began; False means the listing is stale (the topic is gone or going)."""
        with self._cond:
            if topic in self._retiring:
                return False
            gone = self._gone.get(topic)
            if gone is not None and listed_after is not None and gone > listed_after:
                return False
            self._gone.pop(topic, None)
            return True

    def release(self, topic: str) -> None:
        """Close the idle cursors of ``topic`` (the leased ones stay with their holders)."""
        with self._cond:
            idle = [c for c, _ in self._idle if c.topic == topic]
            self._idle = [(c, since) for c, since in self._idle if c.topic != topic]
        _close_all(idle)

    def idle_count(self) -> int:
        with self._cond:
            return len(self._idle)

    def close(self, wait: float) -> None:
        """Refuse new leases, stop the leased cursors (LogClosedError), close every cursor."""
        with self._cond:
            self._closed = True
            try:
                idle = self._drain(lambda c: True, lambda: LogClosedError("the log is closed"), wait)
            except LogUnavailableError:  # a holder is stuck: it closes its cursor when it returns it
                idle = [c for c, _ in self._idle]
                self._idle = []
        _close_all(idle)


def _close_all(cursors: list) -> None:
    for cursor in cursors:
        cursor.close()
