"""What the gateway does around every request besides running it: throttling, CloudWatch-style
metrics, the audit log and usage metering (issue 10).  One object, :class:`Telemetry`, called by
``server.Gateway.respond`` with the handler, and run as a gateway service for its background loop.

Around a request (:meth:`Telemetry.run`):

1. IAM (the ``authorize`` step ``server.py`` hands over), then admission (``throttling.py``): a
   throttled request stops here with DynamoDB's error; a batch may lose some keys to
   ``Unprocessed*``.
2. The handler runs on the request asking ``ReturnConsumedCapacity: INDEXES`` (``capacity.py``),
   so what it consumed is known whatever the client asked; the client then gets the shape it asked
   for.
3. The consumption is charged to the buckets, counted in the metrics and metered for billing; the
   outcome is counted (latency, errors, throttles) and, when wanted, a CloudTrail-shaped record is
   buffered for the audit log.

In the background (:meth:`start`/:meth:`stop`): every ``sample_interval`` a dashboard sample
(``metrics.Recorder.sample``), audit flushes, usage flushes and storage samples when due, and the
auto-scaling step (``scaling.py``) when policies exist.  Each step fails on its own and is logged.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from .. import logs
from ..core import audit as core_audit, errors, throttle
from ..core.errors import DynamoError
from . import capacity
from .access import table_name
from .metrics import Recorder
from .throttling import TABLE_CHANGES, Admission, Throttled, Throttler

log = logs.get("telemetry")
_ITEM_READS = frozenset({"Query", "Scan", "ExecuteStatement"})
_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"})
_KIND = {"GetItem": "Read", "Query": "Read", "Scan": "Read", "BatchGetItem": "Read", "TransactGetItems": "Read"}


def _kind(name: str, body: dict) -> str:
    if name in _KIND:
        return _KIND[name]
    if name in ("ExecuteStatement", "BatchExecuteStatement"):
        spec = body if name == "ExecuteStatement" else ((body.get("Statements") or [{}])[0] or {})
        return "Read" if str(spec.get("Statement", "")).lstrip()[:6].upper() == "SELECT" else "Write"
    return "Write"


def tables_of(name: str, body: dict, admission: Admission | None = None) -> list[str]:
    """The tables a request names (for metrics labels and the audit record's resources)."""
    if admission is not None and admission.uses:
        uses = admission.uses
        if len(uses) == 1:  # the common case: one item
            return [uses[0].table]
        return list(dict.fromkeys(use.table for use in uses))
    found: list[str] = []
    for member in ("TableName", "SourceTableName", "TargetTableName"):
        if isinstance(body.get(member), str):
            found.append(table_name(body[member]))
    if isinstance(body.get("RequestItems"), dict):
        found.extend(table_name(t) for t in body["RequestItems"])
    for element in body.get("TransactItems") or ():
        for spec in element.values() if isinstance(element, dict) else ():
            if isinstance(spec, dict) and isinstance(spec.get("TableName"), str):
                found.append(table_name(spec["TableName"]))
    for member in ("ResourceArn", "StreamArn", "BackupArn", "TableArn"):
        value = body.get(member)
        if isinstance(value, str) and ":table/" in value:
            found.append(table_name(value))
    return list(dict.fromkeys(found))


class Telemetry:
    def __init__(self, engine: Any, *, throttler: Throttler | None = None, recorder: Recorder | None = None,
                 auditor: Any = None, usage: Any = None, scaler: Any = None, region: str = "us-east-1",
                 sample_interval: float = 1.0, wall: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.throttler = throttler
        self.recorder = recorder if recorder is not None else Recorder()
        self.auditor = auditor
        self.usage = usage
        self.scaler = scaler
        self.region = region
        self.sample_interval = sample_interval
        self.wall = wall
        self._task: asyncio.Task | None = None
        self._seen: DynamoError | None = None  # the last error run() counted (see refused())
        self._last: dict[str, float] = {}

    def limits(self) -> list[throttle.TableLimits]:
        return self.throttler.limits() if self.throttler is not None else []

    # --- one request --------------------------------------------------------------------------------

    async def run(self, ctx: Any, service: str, name: str, payload: dict, handler: Callable[[Any, dict], Awaitable[dict]],
                  authorize: Callable[[], Awaitable[None]] | None = None, remote: str | None = None,
                  headers: dict | None = None, admit: bool = True) -> dict:
        """``admit=False`` skips throttling's admission (the accelerator's cache hits: accelerator.py)."""
        started = time.perf_counter()
        admission: Admission | None = None
        try:
            if authorize is not None:
                await authorize()
            body = payload
            if self.throttler is not None and service == "dynamodb" and admit:
                admission = await self.throttler.admit(name, payload)
                if admission is not None:
                    body = admission.body
            consuming = service == "dynamodb" and name in capacity.CONSUMING
            result = await handler(ctx, capacity.detailed(body) if consuming else body)
        except Throttled as throttled:
            self._throttled(name, throttled.refused)
            tables = list(dict.fromkeys(use.table for use, _ in throttled.refused))
            self._finish_error(ctx, service, name, payload, throttled.error, admission, remote, headers, tables)
            raise throttled.error from None
        except DynamoError as error:
            self._finish_error(ctx, service, name, payload, error, admission, remote, headers)
            raise
        except Exception as error:
            self._finish_error(ctx, service, name, payload, errors.internal_server_error(), admission, remote, headers)
            raise error
        if consuming:
            self._consumed(name, payload, admission, result)
        if admission is not None and admission.unprocessed is not None:
            member, left = admission.unprocessed
            result[member] = {**left, **(result.get(member) or {})}
            self._throttled(name, admission.refused)
        self._succeeded(ctx, service, name, payload, result, admission, started, remote, headers)
        return result

    def refused(self, error: DynamoError) -> None:
        """An error raised before :meth:`run` (authentication, the target, validation): counted
        once with TableName "" (an error run() already counted is the one it saw last)."""
        if error is self._seen:
            return
        cell = self.recorder.cell("", "")
        if error.status >= 500:
            cell.system += 1
        else:
            cell.user += 1

    def _consumed(self, name: str, payload: dict, admission: Admission | None, result: dict) -> None:
        consumed = capacity.consumed_of(result, _kind(name, payload))
        capacity.as_asked(result, payload.get("ReturnConsumedCapacity"))
        if self.throttler is not None and admission is not None:
            self.throttler.charge(admission, consumed)
        recorder = self.recorder
        for part in consumed:
            table = table_name(part.table)
            cell = recorder.cell(table, name)
            cell.read += part.read
            cell.write += part.write
            index_read = index_write = 0.0
            for index, units in part.index_read:
                recorder.index_cell(table, index, name).read += units
                index_read += units
            for index, units in part.index_write:
                recorder.index_cell(table, index, name).write += units
                index_write += units
            if self.usage is not None:
                self.usage.add(table, self._mode(table), part.read + index_read, part.write + index_write)

    def _mode(self, table: str) -> str:
        state = self.throttler.state_of(table) if self.throttler is not None else None
        if state is None:
            return throttle.PAY_PER_REQUEST
        return throttle.PROVISIONED if state.limits.throughput.provisioned else throttle.PAY_PER_REQUEST

    def _throttled(self, name: str, refused: list) -> None:
        recorder = self.recorder
        for table in dict.fromkeys(use.table for use, _ in refused):
            recorder.cell(table, name).throttled += 1
        for use, _ in refused:
            cell = recorder.index_cell(use.table, use.index, name) if use.index else recorder.cell(use.table, name)
            if use.kind == throttle.READ:
                cell.read_events += 1
            else:
                cell.write_events += 1

    def _succeeded(self, ctx: Any, service: str, name: str, payload: dict, result: dict, admission: Admission | None,
                   started: float, remote: str | None, headers: dict | None) -> None:
        milliseconds = (time.perf_counter() - started) * 1000
        tables = tables_of(name, payload, admission)
        recorder = self.recorder
        for table in tables or ("",):
            cell = recorder.cell(table, name)
            recorder.latency(cell, milliseconds)
            if name in _ITEM_READS:
                cell.item_requests += 1
                cell.items += len(result["Items"]) if "Items" in result else int(result.get("Count") or 0)
        if self.throttler is not None and name in TABLE_CHANGES:
            for table in tables:
                self.throttler.changed(table, deleted=name == "DeleteTable")
        if name == "DeleteTable":
            for table in tables:
                recorder.forget(table)
        if self.auditor is not None:
            self._audit(ctx, service, name, payload, tables, remote, headers, result=result)

    def _finish_error(self, ctx: Any, service: str, name: str, payload: dict, error: DynamoError,
                      admission: Admission | None, remote: str | None, headers: dict | None,
                      tables: list[str] | None = None) -> None:
        self._seen = error
        tables = tables or tables_of(name, payload, admission)
        kind = error.error_type
        for table in tables or ("",):
            cell = self.recorder.cell(table, name)
            if kind == "ConditionalCheckFailedException":
                cell.conditional += 1
            elif kind == "TransactionConflictException" or (
                    kind == "TransactionCanceledException"
                    and any(r.get("Code") == "TransactionConflict" for r in error.extra.get("CancellationReasons", ()))):
                cell.conflict += 1
            elif error.status >= 500:
                cell.system += 1
            elif kind not in ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"):
                cell.user += 1
        if kind == "ConditionalCheckFailedException" and admission is not None and self.throttler is not None \
                and name in _WRITES:
            self.throttler.charge_failed_writes(admission)
        if self.auditor is not None:
            self._audit(ctx, service, name, payload, tables, remote, headers, error=error)

    def _audit(self, ctx: Any, service: str, name: str, payload: dict, tables: list[str], remote: str | None,
               headers: dict | None, result: dict | None = None, error: DynamoError | None = None) -> None:
        admin = service not in ("dynamodb", "dynamodbstreams")
        if not self.auditor.wants(name, tables, admin):
            return
        principal = ctx.principal
        self.auditor.add(core_audit.record(
            name=name, time_ms=int(self.wall() * 1000), region=ctx.region, principal_arn=principal.arn,
            access_key=principal.access_key, account_id=ctx.account_id, request_id=ctx.request_id,
            source_ip=remote, user_agent=(headers or {}).get("user-agent"), body=payload, response=result,
            error=(error.error_type, error.message) if error is not None else None, tables=tables, admin=admin,
            key_of=self._key_of))

    def _key_of(self, table: str, item: dict) -> dict | None:
        schema = self.throttler.schema_of(table_name(table)) if self.throttler is not None else None
        if schema is None:
            return None
        return {name: item[name] for name in schema.names if name in item}

    # --- the background loop ------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        for part in (self.auditor, self.usage):
            if part is not None:
                try:
                    await part.close()
                except Exception:  # noqa: BLE001 - shutting down: log and go on
                    log.exception("telemetry_close_failed", part=type(part).__name__)

    async def _open(self) -> None:
        for part in (self.auditor, self.usage, self.scaler):
            if part is not None:
                await self._step(f"open_{type(part).__name__}", part.open)

    async def _step(self, what: str, call: Callable[[], Awaitable[Any]]) -> None:
        try:
            await call()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - one failing step must not stop the others
            log.exception("telemetry_step_failed", step=what)

    def _due(self, what: str, interval: float) -> bool:
        now = time.monotonic()
        if now - self._last.get(what, 0.0) >= interval:
            self._last[what] = now
            return True
        return False

    async def _loop(self) -> None:
        await self._open()
        while True:
            self.recorder.sample(self.wall(), self._provisioned())
            if self.auditor is not None:
                self.recorder.audit_dropped = self.auditor.dropped
                if self._due("audit", self.auditor.flush_interval):
                    await self._step("audit_flush", self.auditor.flush)
            if self.usage is not None:
                if self._due("usage", self.usage.flush_interval):
                    await self._step("usage_flush", self.usage.flush)
                if self.usage.sample_due():
                    await self._step("usage_sample", self.usage.sample)
            if self.scaler is not None and self._due("scaling", self.scaler.interval):
                await self._step("auto_scaling", lambda: self.scaler.step(self.recorder))
            await asyncio.sleep(self.sample_interval)

    def _provisioned(self) -> dict[str, tuple[float, float]]:
        out = {}
        for limits in self.limits():
            if limits.throughput.provisioned:
                out[limits.name] = (limits.throughput.read or 0.0, limits.throughput.write or 0.0)
        return out


# --- building it -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TelemetryOptions:
    """What ``dynamoray serve`` turns on (all of it by default; see docs/capacity.md)."""

    throttling: bool = True
    throttle: throttle.ThrottleConfig = field(default_factory=throttle.ThrottleConfig)
    switch_interval: float = 0.0  # seconds between switches to PAY_PER_REQUEST (AWS: 86400)
    audit: bool = True
    audit_flush: float = 1.0
    usage: bool = True
    usage_flush: float = 60.0
    storage_interval: float = 3600.0
    auto_scaling: bool = True
    scaling_interval: float = 60.0
    sample_interval: float = 1.0


def build_telemetry(engine: Any, options: TelemetryOptions, region: str) -> Telemetry:
    from .audit import Auditor
    from .scaling import AutoScaler
    from .usage import UsageMeter

    throttler = Throttler(engine, options.throttle, switch_interval=options.switch_interval) if options.throttling else None
    auditor = Auditor(engine.stream_log, flush_interval=options.audit_flush) if options.audit else None
    usage = UsageMeter(engine, engine.stream_log, flush_interval=options.usage_flush,
                       storage_interval=options.storage_interval) if options.usage else None
    scaler = AutoScaler(engine, engine.stream_log, throttler, interval=options.scaling_interval) \
        if options.auto_scaling else None
    return Telemetry(engine, throttler=throttler, auditor=auditor, usage=usage, scaler=scaler, region=region,
                     sample_interval=options.sample_interval)
