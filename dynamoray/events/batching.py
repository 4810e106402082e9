"""Group commit: many concurrent callers, one durable commit per batch.

Callers :meth:`GroupCommitter.submit` a request and :meth:`Pending.wait` for its outcome.  One committer
thread takes every request queued so far (up to ``max_batch`` records), hands the batch to the
backend's ``commit`` function (which makes it durable once, e.g. one fsync or one flush) and
resolves each request with its own result or error.  While a batch is being committed
the next one accumulates, so throughput grows with concurrency while a lone caller pays one
commit.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from .log import LogClosedError, LogUnavailableError


class Pending:
    """One submitted request: the backend's ``payload``, its record count, and its outcome.

    A bare lock is the cheapest way to park the caller (cheaper than a ``Future``'s condition):
    it is taken at creation, and :meth:`resolve` releases it.
    """

    __slots__ = ("payload", "size", "_lock", "_result", "_error", "done", "_callback")

    def __init__(self, payload: Any, size: int, callback: Callable[[Any, BaseException | None], None] | None = None) -> None:
        self.payload = payload
        self.size = size
        self._callback = callback  # called with (result, error) once resolved, on the resolving thread
        self._lock = threading.Lock()
        self._lock.acquire()
        self._result: Any = None
        self._error: BaseException | None = None
        self.done = False

    def resolve(self, result: Any = None, error: BaseException | None = None) -> None:
        if self.done:
            return
        self._result, self._error, self.done = result, error, True
        self._lock.release()
        if self._callback is not None:
            self._callback(result, error)

    def wait(self) -> Any:
        """Block until resolved; return the result or raise the error."""
        self._lock.acquire()
        self._lock.release()
        if self._error is not None:
            raise self._error
        return self._result


CommitFn = Callable[[list[Pending]], None]


class GroupCommitter:
    """A committer thread that batches queued requests into one ``commit`` call.

    ``commit(batch)`` must resolve every request of ``batch``; if it raises instead, the
    committer fails every still-unresolved request with :class:`LogUnavailableError`.
    """

    def __init__(self, commit: CommitFn, *, name: str, max_batch: int = 4096) -> None:
        self._commit = commit
        self._max_batch = max_batch
        self._queue: deque[Pending] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, payload: Any, size: int = 1,
               callback: Callable[[Any, BaseException | None], None] | None = None) -> Pending:
        """Queue a request; ``callback(result, error)``, if given, runs on the committer thread once
        it is resolved (so a caller need not park a thread in :meth:`Pending.wait`)."""
        pending = Pending(payload, size, callback)
        with self._cond:
            if self._closed:
                raise LogClosedError("the log is closed")
            self._queue.append(pending)
            if len(self._queue) == 1:
                self._cond.notify()
        return pending

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def _take(self) -> list[Pending] | None:
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if not self._queue:
                return None
            batch, total = [], 0
            while self._queue and (not batch or total + self._queue[0].size <= self._max_batch):
                pending = self._queue.popleft()
                batch.append(pending)
                total += pending.size
            return batch

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            try:
                self._commit(batch)
            except BaseException as exc:  # noqa: BLE001 - every caller must hear about it
                error = exc if isinstance(exc, LogUnavailableError) else LogUnavailableError(f"commit failed: {exc!r}")
                for pending in batch:
                    pending.resolve(error=error)
