"""Backup and point-in-time-restore helpers that wait for the restored table, with a progress bar.

A restore creates the target table at once (``CREATING``, ``RestoreInProgress``) and loads its
items in the background; the helpers poll DescribeTable until it is ACTIVE and, with
``progress=True``, show the target's item count against the backup's (for a point in time, the
source table's current count, an estimate).  The bar is rich's when rich is installed
(``pip install rich``), else one plain line on stderr; any object with ``update(done, total)``
and ``close()`` can be passed instead.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any, Protocol

from .flows import Call, Flow, wait_for_table
from .waiters import Wait


class Progress(Protocol):
    def update(self, done: int, total: int | None) -> None: ...

    def close(self) -> None: ...


class TextProgress:
    """One line on stderr, rewritten in place."""

    def __init__(self, label: str) -> None:
        self.label = label

    def update(self, done: int, total: int | None) -> None:
        share = f" ({100 * done // total}%)" if total else ""
        sys.stderr.write(f"\r{self.label}: {done}/{total if total is not None else '?'} items{share}")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")


class RichProgress:
    """A rich progress bar (rich is an optional dependency)."""

    def __init__(self, label: str) -> None:
        from rich.progress import Progress as Bar

        self._bar = Bar(transient=False)
        self._task = self._bar.add_task(label, total=None)
        self._bar.start()

    def update(self, done: int, total: int | None) -> None:
        self._bar.update(self._task, completed=done, total=total)

    def close(self) -> None:
        self._bar.stop()


def make_progress(progress: bool | Progress, label: str) -> Progress | None:
    if progress is False:
        return None
    if progress is True:
        try:
            return RichProgress(label)
        except ImportError:
            return TextProgress(label)
    return progress


def timestamp(at: datetime | float) -> float:
    """A restore time as epoch seconds (a naive datetime is taken as local time, like boto3)."""
    return at.timestamp() if isinstance(at, datetime) else float(at)


def _wait_with_progress(target: str, wait: Wait, total: int | None, progress: Progress | None
                        ) -> Flow[dict[str, Any]]:
    def report(table: dict[str, Any]) -> None:
        if progress is not None:
            done = int(table.get("ItemCount", 0))
            progress.update(done if total is None else min(done, total), total)

    try:
        table = yield from wait_for_table(target, wait, report)
        if progress is not None:
            count = int(table.get("ItemCount", 0))
            progress.update(count, total if total is not None else count)
        return table
    finally:
        if progress is not None:
            progress.close()


def restore_from_backup(backup_arn: str, target: str, wait: Wait | None, progress: bool | Progress,
                        overrides: dict[str, Any]) -> Flow[dict[str, Any]]:
    total: int | None = None
    bar = None
    if progress is not False and wait is not None:
        backup = (yield Call("DescribeBackup", {"BackupArn": backup_arn}))["BackupDescription"]
        total = (backup.get("SourceTableDetails") or {}).get("ItemCount")
        bar = make_progress(progress, f"restoring {target}")
    described = yield Call("RestoreTableFromBackup", {"BackupArn": backup_arn, "TargetTableName": target,
                                                      **overrides})
    if wait is None:
        return dict(described["TableDescription"])
    return (yield from _wait_with_progress(target, wait, total, bar))


def restore_to_point_in_time(source: str, target: str, at: datetime | float | None, wait: Wait | None,
                             progress: bool | Progress, overrides: dict[str, Any]) -> Flow[dict[str, Any]]:
    total: int | None = None
    bar = None
    if progress is not False and wait is not None:
        total = (yield Call("DescribeTable", {"TableName": source}))["Table"].get("ItemCount")
        bar = make_progress(progress, f"restoring {target}")
    request: dict[str, Any] = {"SourceTableName": source, "TargetTableName": target, **overrides}
    if at is None:
        request["UseLatestRestorableTime"] = True
    else:
        request["RestoreDateTime"] = timestamp(at)
    described = yield Call("RestoreTableToPointInTime", request)
    if wait is None:
        return dict(described["TableDescription"])
    return (yield from _wait_with_progress(target, wait, total, bar))


def list_backups(table: str | None, backup_type: str) -> Flow[list[dict[str, Any]]]:
    backups: list[dict[str, Any]] = []
    start: str | None = None
    while True:
        payload: dict[str, Any] = {"BackupType": backup_type}
        if table is not None:
            payload["TableName"] = table
        if start is not None:
            payload["ExclusiveStartBackupArn"] = start
        response = yield Call("ListBackups", payload)
        backups.extend(response.get("BackupSummaries", []))
        start = response.get("LastEvaluatedBackupArn")
        if not start:
            return backups
