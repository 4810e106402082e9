"""The audit log, the I/O shell of ``core/audit.py``: CloudTrail-shaped records of API calls,
appended to topic ``dynamoray.audit`` of the engine's log (durable, and encrypted at rest like
every other topic).

Off the request's critical path: a request only appends its record to an in-memory buffer;
:meth:`Auditor.flush` (every ``flush_interval`` seconds, from the gateway's telemetry loop, and on
shutdown) encodes the buffered records and appends them in one commit on a worker thread.  If the
log cannot take them they are kept for the next flush, up to ``max_buffered``; past that the oldest
are dropped and counted (``dynamoray_audit_dropped_total``).

Every control-plane call is recorded, and the admin API's changes (``CreateUser``,
``UpdateAuditSettings``...; not its reads).  Data-plane calls (item reads and writes, PartiQL, stream
records) are recorded for the tables whose data-plane auditing is on: an admin API switch
(``UpdateAuditSettings {TableName, DataPlane}``, ``"*"`` for every table), a dynamoray extension
kept in topic ``dynamoray.audit.settings``.  ``LookupAuditEvents`` reads the log back, newest
first, through :func:`core.audit.matches`.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Awaitable, Callable

import orjson

from .. import logs
from ..core import audit as core_audit
from ..events.log import EventLog
from ..schemas.events import AuditRecorded, AuditSettingsChanged
from .topics import GatewayTopic

AUDIT_TOPIC = "dynamoray.audit"
SETTINGS_TOPIC = "dynamoray.audit.settings"
ALL_TABLES = "*"
log = logs.get("audit")


class Auditor:
    def __init__(self, log_source: Callable[[], Awaitable[EventLog]], *, flush_interval: float = 1.0,
                 max_buffered: int = 100_000, wall: Callable[[], float] = time.time) -> None:
        self.flush_interval = flush_interval
        self.max_buffered = max_buffered
        self.wall = wall
        self._records = GatewayTopic(AUDIT_TOPIC, log_source)
        self._settings = GatewayTopic(SETTINGS_TOPIC, log_source)
        self.data_plane: set[str] = set()  # tables whose data-plane calls are recorded ("*": all)
        self._buffer: list[dict] = []
        self._flushing: asyncio.Lock | None = None
        self.dropped = 0

    async def open(self) -> None:
        for event in await self._settings.open(replay=True):
            self._apply(event)
        await self._records.open()
        log.info("audit_opened", data_plane=sorted(self.data_plane))

    def _apply(self, event: AuditSettingsChanged) -> None:
        if event.data_plane:
            self.data_plane.add(event.table_name)
        else:
            self.data_plane.discard(event.table_name)

    # --- the request path --------------------------------------------------------------------------

    def wants(self, name: str, tables: list[str], admin: bool = False) -> bool:
        """Whether a call is recorded: every control-plane call, data-plane calls of audited tables,
        and the admin API's changes (not its reads: looking at the audit log or the usage report
        would fill the log with itself)."""
        if admin:
            return not core_audit.read_only(name, {})
        if not core_audit.is_data_event(name):
            return True
        chosen = self.data_plane
        return bool(chosen) and (ALL_TABLES in chosen or any(t in chosen for t in tables))

    def add(self, record: dict) -> None:
        self._buffer.append(record)
        if len(self._buffer) > self.max_buffered:
            extra = len(self._buffer) - self.max_buffered
            del self._buffer[:extra]
            self.dropped += extra

    # --- flushing -------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Append what is buffered in one commit (kept for the next flush if the log fails)."""
        if self._flushing is None:
            self._flushing = asyncio.Lock()
        async with self._flushing:
            if not self._buffer or not self._records.opened:
                return
            batch, self._buffer = self._buffer, []
            try:
                await self._records.append([AuditRecorded(record) for record in batch])
            except Exception:  # noqa: BLE001 - never fail a request for its audit record; retry later
                log.exception("audit_flush_failed", records=len(batch))
                self._buffer[:0] = batch
                extra = len(self._buffer) - self.max_buffered
                if extra > 0:
                    del self._buffer[:extra]
                    self.dropped += extra

    async def close(self) -> None:
        await self.flush()
        await self._records.close()
        await self._settings.close()

    # --- the admin API -----------------------------------------------------------------------------

    async def set_data_plane(self, table: str, enabled: bool) -> None:
        event = AuditSettingsChanged(table, enabled, int(self.wall() * 1000))
        await self._settings.append([event])
        self._apply(event)

    async def lookup(self, *, table: str | None = None, event_name: str | None = None, since: str | None = None,
                     until: str | None = None, user: str | None = None, limit: int = 50,
                     token: str | None = None) -> tuple[list[dict], str | None]:
        """Matching records, newest first, ``limit`` at a time; the token resumes after the last."""
        await self.flush()
        before = _decode_token(token)
        since_ms = _ms(since) if since is not None else None

        def scan() -> list[tuple[int, dict]]:
            found = []
            for position, event in enumerate(self._records.events(since_ms)):
                found.append((position, event.audit))
            return found

        matched = [
            (position, record) for position, record in await asyncio.to_thread(scan)
            if core_audit.matches(record, table=table, event_name=event_name, since=since, until=until, user=user)
        ]
        matched.sort(key=lambda pair: (pair[1].get("eventTime", ""), pair[0]), reverse=True)
        if before is not None:
            matched = [pair for pair in matched if (pair[1].get("eventTime", ""), pair[0]) < before]
        page = matched[:limit]
        token_out = None
        if len(matched) > limit:
            last_position, last = page[-1]
            token_out = _encode_token(last.get("eventTime", ""), last_position)
        return [record for _, record in page], token_out


def _ms(iso: str) -> int:
    """An ISO 8601 UTC time (``2026-11-26T15:14:00Z``) in ms, rounded down to its second."""
    from datetime import datetime, timezone

    text = iso.rstrip("Z")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def _encode_token(event_time: str, position: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([event_time, position])).decode()


def _decode_token(token: str | None) -> tuple[str, int] | None:
    if not token:
        return None
    try:
        event_time, position = orjson.loads(base64.urlsafe_b64decode(token.encode()))
        return str(event_time), int(position)
    except (ValueError, TypeError):
        from ..core import errors

        raise errors.validation("Invalid NextToken") from None
