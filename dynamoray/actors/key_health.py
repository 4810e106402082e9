"""Whether each table's KMS key is still usable (``KeyHealth``), for the data plane.

On DynamoDB a table whose customer managed (or AWS managed) key becomes unusable (disabled,
scheduled for deletion, its grant or key policy revoked) turns ``INACCESSIBLE_ENCRYPTION_CREDENTIALS``
and its reads and writes fail, until the key is usable again.  dynamoray keeps data keys in
memory once unwrapped, so an unusable master key would otherwise go unnoticed until a restart.

A :class:`KeyHealth` (one per :class:`~dynamoray.actors.keys.KeyManager`, made by its ``health``
property) checks every master key that a table names, every :data:`CHECK_EVERY` seconds, on a
daemon thread of its own: never on a request's path, which only reads the last answer
(:meth:`KeyHealth.refusal`).  The first check happens when the thread starts (the gateway's first
data-plane request); a key is taken as usable until a check says otherwise.  The server's own key
(what tables without SSE use) is not checked: it is the server's, not the table's.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from .. import logs
from ..events.keyring import KeyDisabled, KeyNotFound, KeyUnavailable

log = logs.get("keys")

CHECK_EVERY = 30.0  # seconds between two checks of the tables' master keys


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a master key is unusable, and since when (epoch seconds)."""

    arn: str
    code: str  # KMS's error code: DisabledException, NotFoundException, AccessDeniedException...
    since: float


def kms_code(error: Exception) -> str:
    """KMS's error code for a provider's refusal (DisabledException, NotFoundException, ...)."""
    return _code(error)


def _code(error: Exception) -> str:
    if isinstance(error, KeyDisabled):
        return "DisabledException"
    if isinstance(error, KeyNotFound):
        return "NotFoundException"
    return getattr(error, "code", "") or type(error).__name__


class KeyHealth:
    """The last known state of every table's master key (thread-safe reads)."""

    def __init__(self, keys: Any, every: float = CHECK_EVERY, clock: Callable[[], float] = time.time) -> None:
        self._keys = keys
        self.every = every
        self._clock = clock
        self._refusals: dict[str, Refusal] = {}  # master key ARN -> why it is unusable
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="key-health", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # noqa: BLE001 - a failed pass must not stop the checks for good
                log.exception("key_check_failed")
            self._stop.wait(self.every)

    def check(self) -> None:
        """One pass: refresh the tables' keys, then ask the provider about each master key."""
        self._keys.refresh(force=True)
        for arn in sorted(set(self._keys.table_masters())):
            try:
                self._keys.provider.describe(arn)
            except (KeyDisabled, KeyNotFound, KeyUnavailable) as error:
                code = _code(error)
                if code == "ThrottlingException" or code == "KMSUnreachable":
                    continue  # KMS is busy or away, not the key unusable: keep the last answer
                if arn not in self._refusals:
                    log.warning("kms_key_inaccessible", key=arn, code=code)
                    self._refusals[arn] = Refusal(arn, code, self._clock())
            else:
                if self._refusals.pop(arn, None) is not None:
                    log.info("kms_key_accessible_again", key=arn)

    def refused(self, arn: str, code: str) -> None:
        """Note the master key ``arn`` unusable (a call to the provider just failed), until a check
        finds it usable again."""
        if arn not in self._refusals:
            log.warning("kms_key_inaccessible", key=arn, code=code)
            self._refusals[arn] = Refusal(arn, code, self._clock())

    def accessible(self, arn: str) -> None:
        """Note the master key ``arn`` usable again (the provider just unwrapped a data key with it)."""
        if self._refusals.pop(arn, None) is not None:
            log.info("kms_key_accessible_again", key=arn)

    def refusal_of_key(self, arn: str | None) -> Refusal | None:
        return self._refusals.get(arn) if arn else None

    def any_refused(self) -> bool:
        return bool(self._refusals)

    def refusal(self, table: str) -> Refusal | None:
        """Why the master key of table ``table`` (a name) is unusable, or None."""
        if not self._refusals:
            return None
        arn = self._keys.master_of_name(table)
        return self._refusals.get(arn) if arn is not None else None
