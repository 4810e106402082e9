"""The progress of the restores a gateway runs (``BackupService``), for the admin API.

A restore first *reads* its items (a backup file, or the source table rebuilt as of an instant),
then *writes* them into the new table through the ordinary write path, then marks the table ACTIVE.
The :class:`RestoreBoard` keeps one frozen :class:`Restore` per target table, replaced at each step;
the server log's ``restore_progress`` lines and the admin API's ``DescribeRestore``/``ListRestores``
(``gateway/admin_backups.py``, followed by ``dynamoray restore-status``) show the same figures.
Finished restores stay listed for ``KEEP_FINISHED`` seconds.  Nothing here survives a restart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable

READING, WRITING, DONE, FAILED = "READING", "WRITING", "DONE", "FAILED"
KEEP_FINISHED = 3600.0  # seconds a finished restore stays listed


@dataclass(frozen=True)
class Restore:
    table: str
    source: str  # the backup's ARN, or the source table's ARN (point in time)
    restore_time: float  # the instant restored (seconds)
    started: float
    phase: str = READING
    items: int = 0  # written so far
    total: int | None = None  # known once read
    writing_since: float | None = None
    updated: float = 0.0  # when ``items`` last changed
    finished: float | None = None
    error: str | None = None

    def rate(self) -> float:
        """Items written per second since writing started."""
        if self.writing_since is None or self.items == 0:
            return 0.0
        return self.items / max((self.finished or self.updated) - self.writing_since, 1e-6)

    def percent(self) -> float:
        if self.phase == DONE:
            return 100.0
        return round(100.0 * self.items / self.total, 1) if self.total else 0.0

    def eta(self) -> float | None:
        """Seconds left at the current rate, None while it is unknown."""
        if self.phase == DONE:
            return 0.0
        rate = self.rate()
        if self.total is None or rate <= 0:
            return None
        return round((self.total - self.items) / rate, 1)

    def to_wire(self) -> dict:
        out = {"TableName": self.table, "Source": self.source, "RestoreDateTime": self.restore_time,
               "Phase": self.phase, "ItemsRestored": self.items, "Percent": self.percent(),
               "ItemsPerSecond": round(self.rate(), 1), "StartedAt": self.started}
        for member, value in (("ItemsTotal", self.total), ("EtaSeconds", self.eta()),
                              ("FinishedAt", self.finished), ("Error", self.error)):
            if value is not None:
                out[member] = value
        return out


class RestoreBoard:
    """The restores of one gateway process, by target table name (see the module docstring)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._restores: dict[str, Restore] = {}

    def started(self, table: str, source: str, restore_time: float) -> Restore:
        now = self._clock()
        self._forget_old(now)
        found = self._restores[table] = Restore(table, source, restore_time, now, updated=now)
        return found

    def _set(self, table: str, **changes: object) -> Restore:
        found = self._restores[table] = replace(self._restores[table], **changes)
        return found

    def writing(self, table: str, total: int) -> Restore:
        now = self._clock()
        return self._set(table, phase=WRITING, total=total, writing_since=now, updated=now)

    def advanced(self, table: str, items: int) -> Restore:
        return self._set(table, items=items, updated=self._clock())

    def finished(self, table: str) -> Restore:
        now = self._clock()
        return self._set(table, phase=DONE, finished=now, updated=now)

    def failed(self, table: str, error: str) -> Restore:
        now = self._clock()
        return self._set(table, phase=FAILED, finished=now, updated=now, error=error)

    def get(self, table: str) -> Restore | None:
        return self._restores.get(table)

    def all(self) -> list[Restore]:
        self._forget_old(self._clock())
        return sorted(self._restores.values(), key=lambda r: (r.started, r.table))

    def _forget_old(self, now: float) -> None:
        for name, restore in list(self._restores.items()):
            if restore.finished is not None and now - restore.finished > KEEP_FINISHED:
                del self._restores[name]
