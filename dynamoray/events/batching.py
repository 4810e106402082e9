"""Group commit: many concurrent callers, one durable commit per batch.

Callers :meth:`GroupCommitter.submit` a request and :meth:`Pending.wait` for its outcome.  One committer
thread takes every request queued so far (up to ``max_batch`` records), hands the batch to the
backend's ``commit`` function (which makes it durable once, e.g. one fsync or one flush) and
resolves each request with its own result or error.  While a batch is being committed
the next one accumulates, so throughput grows with concurrency while a lone caller pays one
commit.

Inline commits.  A backend that passes ``inline`` lets :meth:`GroupCommitter.submit` (with
``inline=True``) commit on the caller's own thread when nothing is queued and no commit is running.
That skips two thread wake-ups and the GIL hand-offs between the caller and the committer thread,
which, in a process whose event loop keeps the GIL busy, cost milliseconds per commit (see
docs/benchmarks.md, "Hot path, fifth pass").  ``inline(batch)`` either commits the batch (and
resolves it) or returns False without side effects (e.g. another process holds the write lock),
and the request then goes to the committer thread as usual.  Commits never overlap, and requests
still commit in submission order.
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
InlineFn = Callable[[list[Pending]], bool]


class GroupCommitter:
    """A committer thread that batches queued requests into one ``commit`` call.

    ``commit(batch)`` must resolve every request of ``batch``; if it raises instead, the
    committer fails every still-unresolved request with :class:`LogUnavailableError`.
    """

    def __init__(self, commit: CommitFn, *, name: str, max_batch: int = 4096, inline: InlineFn | None = None) -> None:
        self._commit = commit
        self._inline = inline
        self._max_batch = max_batch
        self._queue: deque[Pending] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._busy = False  # a commit is running (on the committer thread or inline)
        self.inline_commits = 0  # how many requests were committed on their caller's thread
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, payload: Any, size: int = 1,
               callback: Callable[[Any, BaseException | None], None] | None = None,
               *, inline: bool = False) -> Pending:
        """Queue a request; ``callback(result, error)``, if given, runs on the committer thread once
        it is resolved (so a caller need not park a thread in :meth:`Pending.wait`).  With
        ``inline``, an idle committer commits it on this thread instead, before returning (the
        callback then runs on this thread)."""
        pending = Pending(payload, size, callback)
        if inline and self._claim():
            self._commit_inline(pending, requeue=True)
            return pending
        with self._cond:
            if self._closed:
                raise LogClosedError("the log is closed")
            self._queue.append(pending)
            if len(self._queue) == 1:
                self._cond.notify()
        return pending

    def commit_now(self, payload: Any, size: int = 1) -> Pending | None:
        """Commit one request on this thread, now, if the committer is idle and nothing is queued;
        None (nothing written, nothing queued) otherwise, or when the backend cannot commit inline
        at the moment (e.g. another process holds the write lock).  The request returned is
        resolved: its :meth:`Pending.wait` does not block."""
        if not self._claim():
            return None
        pending = Pending(payload, size)
        return pending if self._commit_inline(pending, requeue=False) else None

    def _claim(self) -> bool:
        """Take the idle committer for an inline commit on this thread: False if there is no inline
        function, a commit runs or requests wait.  Raises once closed."""
        with self._cond:
            if self._closed:
                raise LogClosedError("the log is closed")
            if self._inline is None or self._busy or self._queue:
                return False
            self._busy = True
            return True

    def _commit_inline(self, pending: Pending, *, requeue: bool) -> bool:
        """Commit ``pending`` on this thread (after :meth:`_claim`): False if the backend gave way,
        having written nothing; the request is then first in line for the committer thread if
        ``requeue``, else left to the caller."""
        committed: bool | None = None  # None: the commit failed, and the request heard it
        try:
            committed = self._inline([pending])
        except BaseException as exc:  # noqa: BLE001 - the caller must hear about it
            pending.resolve(error=_unavailable(exc))
        finally:
            with self._cond:
                self._busy = False
                if committed is False and requeue:
                    self._queue.appendleft(pending)
                elif committed:
                    self.inline_commits += 1
                if self._queue:
                    self._cond.notify_all()
        return committed is not False

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def _take(self) -> list[Pending] | None:
        with self._cond:
            while self._busy or (not self._queue and not self._closed):
                self._cond.wait()
            if not self._queue:
                return None
            self._busy = True
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
                error = _unavailable(exc)
                for pending in batch:
                    pending.resolve(error=error)
            finally:
                with self._cond:
                    self._busy = False


def _unavailable(exc: BaseException) -> LogUnavailableError:
    return exc if isinstance(exc, LogUnavailableError) else LogUnavailableError(f"commit failed: {exc!r}")
