"""Deterministic test knobs (a dynamoray extension): the server side of ``core/knobs.py``.

``dynamoray serve --test-knobs`` (``build_gateway(..., test_knobs=True)``) wraps the engine in a
:class:`KnobbedEngine`, whose ``test_knobs`` (:class:`Knobs`) the rest of the server looks for:
the TTL sweeper, the streams' trim (``streams.clock_of``) and the backup service (PITR window) read
its clock, and the throttler takes its tables' ceilings.  Without the flag nothing is wrapped and
these admin operations answer ``Test knobs are not enabled on this server``.

The admin API (``X-Amz-Target: DynamoRayAdmin_20261126.<Op>``, root only):

- ``SetTestKnobs {TableName, ConflictKeys?, PartitionCeilings?}``: replaces the table's knobs;
  returns them.  ``ConflictKeys``: keys (wire form) of items "held by a transaction";
  ``PartitionCeilings``: ``true`` or ``{ReadUnitsPerSecond?, WriteUnitsPerSecond?, BurstSeconds?}``.
- ``ClearTestKnobs {TableName?}``: one table's knobs, or every table's and the clock.
- ``GetTestKnobs {}`` -> ``{Tables: {name: knobs}, Now, ClockOffsetSeconds}``.
- ``SetClock {Time | AdvanceSeconds | Reset}`` -> ``{Now, ClockOffsetSeconds}``.
- ``SweepExpiredItems {}`` -> ``{Tables, Scanned, Deleted}``: one TTL round now, by the clock.

The knobs live in the gateway process: with ``serve --gateways N`` each process has its own.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from ..core import errors, knobs as core, saga
from ..core.commands import DeleteCommand, ExpireCommand, PutCommand, UpdateCommand
from .admin import ADMIN_SERVICE, is_root
from .operations import operation

_WRITES = (PutCommand, UpdateCommand, DeleteCommand, ExpireCommand)


class Knobs:
    """One server's knobs: per-table settings and the clock (``real time + offset``)."""

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self.offset = 0.0
        self.tables: dict[str, core.TableKnobs] = {}
        self.throttler: Any = None  # gateway/throttling.Throttler, when throttling is on
        self.sweeper: Any = None  # actors/ttl.TtlSweeper, when TTL expiry is on

    def real(self) -> float:
        return self._wall()

    def clock(self) -> float:
        return self._wall() + self.offset

    def clock_ms(self) -> int:
        return int(self.clock() * 1000)

    def conflicts(self, table: str, command: Any) -> bool:
        return isinstance(command, _WRITES) and self._held(table, command)

    def transaction_reasons(self, table_keys: list[tuple[str, Any]]) -> list[dict] | None:
        """TransactionConflict reasons when a transaction's items (``(table, command or key)``)
        include a conflict key; None when none does."""
        if not self.tables:
            return None
        return core.conflict_reasons([self._held(table, item) for table, item in table_keys])

    def _held(self, table: str, item: Any) -> bool:
        found = self.tables.get(table)
        if found is None or not found.tokens:
            return False
        try:
            return found.conflicts(item if isinstance(item, dict) else saga.command_key(found.schema, item))
        except errors.DynamoError:  # a bad key: the transaction reports it
            return False

    def set_table(self, name: str, table: core.TableKnobs) -> None:
        self.tables[name] = table
        self._throttle(name, table.ceilings)

    def clear(self, name: str | None = None) -> None:
        for table in list(self.tables) if name is None else [name]:
            self.tables.pop(table, None)
            self._throttle(table, None)
        if name is None:
            self.offset = 0.0

    def _throttle(self, name: str, ceilings: core.Ceilings | None) -> None:
        if self.throttler is None:
            if ceilings is not None:
                raise errors.test_knob("PartitionCeilings needs throttling, which is off on this server")
            return
        if ceilings is None:
            self.throttler.table_configs.pop(name, None)
        else:
            self.throttler.table_configs[name] = ceilings.config(self.throttler.config)
        self.throttler.changed(name, deleted=True)  # its buckets are made again, with the new ceilings


class KnobbedEngine:
    """The engine, with the knobs' transaction conflicts injected; every other call passes through."""

    def __init__(self, engine: Any, knobs: Knobs) -> None:
        self._engine = engine
        self.test_knobs = knobs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    async def write(self, table: str, command: Any) -> Any:
        if self.test_knobs.conflicts(table, command):
            raise errors.transaction_conflict()
        return await self._engine.write(table, command)

    async def transact_write(self, actions: list[tuple[str, Any]], client_token: str | None = None,
                             request_hash: str | None = None) -> Any:
        reasons = self.test_knobs.transaction_reasons(actions)
        if reasons is not None:
            raise errors.transaction_canceled(reasons)
        return await self._engine.transact_write(actions, client_token, request_hash)

    async def transact_get(self, reads: list[tuple[str, Any]]) -> list[Any]:
        reasons = self.test_knobs.transaction_reasons(reads)
        if reasons is not None:
            raise errors.transaction_canceled(reasons)
        return await self._engine.transact_get(reads)


# --- the admin API --------------------------------------------------------------------------------


def _knobs(ctx: Any) -> Knobs:
    if not is_root(ctx.principal):
        raise errors.access_denied(
            f"User: {ctx.principal.arn} is not authorized to perform this operation: "
            "only the root credentials may call the dynamoray admin API"
        )
    found = getattr(ctx.engine, "test_knobs", None)
    if found is None:
        raise errors.test_knobs_disabled()
    return found


def _table_name(body: dict) -> str:
    name = body.get("TableName")
    if not isinstance(name, str) or not name:
        raise errors.validation("1 validation error detected: Value null at 'tableName' failed to satisfy "
                                "constraint: Member must not be null")
    return name


def _clock(knobs: Knobs) -> dict:
    return {"Now": knobs.clock(), "ClockOffsetSeconds": knobs.offset}


@operation("SetTestKnobs", service=ADMIN_SERVICE)
async def set_test_knobs(ctx, body: dict) -> dict:
    knobs = _knobs(ctx)
    name = _table_name(body)
    table = core.parse_table_knobs(body, await ctx.engine.key_schema(name))
    knobs.set_table(name, table)
    return {"TableName": name, **table.to_wire()}


@operation("ClearTestKnobs", service=ADMIN_SERVICE)
async def clear_test_knobs(ctx, body: dict) -> dict:
    knobs = _knobs(ctx)
    knobs.clear(body.get("TableName"))
    return _clock(knobs)


@operation("GetTestKnobs", service=ADMIN_SERVICE)
async def get_test_knobs(ctx, body: dict) -> dict:
    knobs = _knobs(ctx)
    return {"Tables": {name: table.to_wire() for name, table in sorted(knobs.tables.items())}, **_clock(knobs)}


@operation("SetClock", service=ADMIN_SERVICE)
async def set_clock(ctx, body: dict) -> dict:
    knobs = _knobs(ctx)
    knobs.offset = core.clock_offset(body, knobs.offset, knobs.real())
    return _clock(knobs)


@operation("SweepExpiredItems", service=ADMIN_SERVICE)
async def sweep_expired_items(ctx, body: dict) -> dict:
    knobs = _knobs(ctx)
    if knobs.sweeper is None:
        raise errors.test_knob("TTL expiry is off on this server (--ttl-interval 0)")
    swept = await knobs.sweeper.sweep()
    return {"Tables": swept.tables, "Scanned": swept.scanned, "Deleted": swept.deleted}


def enable(engine: Any) -> KnobbedEngine:
    """The engine with test knobs (``build_gateway(..., test_knobs=True)``)."""
    return KnobbedEngine(engine, Knobs())
