"""Tables an engine could not open because their KMS key was unusable (``LockedTables``).

A table whose SSE key is disabled, pending deletion or refused (access denied) when a process
starts cannot be rebuilt: its records and snapshots are sealed under data keys that key wraps.
Rather than fail the whole start (or answer 500s), the engine opens every other table and keeps
such a table *locked*: DescribeTable shows it (INACCESSIBLE_ENCRYPTION_CREDENTIALS, from the
KeyManager's ``KeyHealth``, which the failed unwrap told at once), every data-plane call on it is
DynamoDB's 400 (``errors.kms_inaccessible``), and each such call (at most every
:data:`RETRY_EVERY` seconds) tries to open it again in the background, so the table comes back
once its key is usable, without a restart.
"""

from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable

from .. import logs
from ..core import errors, sse
from ..events.encryption import KeyInaccessible

log = logs.get("keys")

RETRY_EVERY = 1.0  # seconds between two attempts to open a locked table


def own_key(description: dict, error: KeyInaccessible) -> bool:
    """Whether ``error`` is about the table's own SSE key (else it is the server's: no table
    opens, and the process must not start)."""
    return (description.get(sse.SSE) or {}).get("KMSMasterKeyArn") == error.master_key


class LockedTables:
    """The locked tables of one engine (used on its event loop)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._errors: dict[str, KeyInaccessible] = {}
        self._tried: dict[str, float] = {}
        self._tasks: dict[str, asyncio.Task] = {}
        self._clock = clock

    def __contains__(self, name: object) -> bool:
        return name in self._errors

    def lock(self, name: str, error: KeyInaccessible) -> None:
        if name not in self._errors:
            log.warning("table_key_inaccessible", table=name, key=error.master_key, code=error.code)
        self._errors[name] = error

    def unlock(self, name: str) -> None:
        if self._errors.pop(name, None) is not None:
            log.info("table_key_accessible_again", table=name)
        self._tried.pop(name, None)

    def refusal(self, name: str) -> errors.DynamoError:
        """The 400 a data-plane call on the locked table gets."""
        error = self._errors[name]
        return errors.kms_inaccessible(name, error.master_key, error.code)

    def retry(self, name: str, reopen: Callable[[], Awaitable[None]]) -> None:
        """Try to open the table again in the background (``reopen`` raises KeyInaccessible while
        its key is unusable), unless an attempt is running or was made less than RETRY_EVERY ago."""
        now = self._clock()
        if name in self._tasks or now - self._tried.get(name, float("-inf")) < RETRY_EVERY:
            return
        self._tried[name] = now
        task = asyncio.get_running_loop().create_task(self._attempt(name, reopen))
        self._tasks[name] = task
        task.add_done_callback(lambda _t: self._tasks.pop(name, None))

    async def _attempt(self, name: str, reopen: Callable[[], Awaitable[None]]) -> None:
        try:
            await reopen()
        except KeyInaccessible as error:
            self._errors[name] = error
        except Exception:  # noqa: BLE001 - a background attempt: the log is where it is seen
            log.exception("table_reopen_failed", table=name)
        else:
            self.unlock(name)

    async def wait(self) -> None:
        """Until the attempts under way are done (tests, close)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    def cancel(self) -> None:
        for task in self._tasks.values():
            task.cancel()

