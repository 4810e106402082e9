"""Deterministic test knobs, pure (a dynamoray extension, ``docs/extensions.md``).

Off unless the server runs with ``--test-knobs``; then the admin API sets them
(``gateway/knobs.py``):

- **Per table** (:class:`TableKnobs`, ``SetTestKnobs {TableName, ...}``):
  - ``ConflictKeys``: items "held by another transaction".  A TransactWriteItems or TransactGetItems
    that names one is cancelled with a ``TransactionConflict`` reason for it (``None`` for the
    others); a PutItem, UpdateItem or DeleteItem on one (and BatchWriteItem, ExecuteStatement)
    fails with TransactionConflictException, as DynamoDB answers while a transaction holds an item.
  - ``PartitionCeilings``: every shard of the table throttled at DynamoDB's per-partition maximum,
    3,000 read and 1,000 write units a second (or the given ``ReadUnitsPerSecond`` and
    ``WriteUnitsPerSecond``) with ``BurstSeconds`` of burst (1 by default, where the server
    otherwise allows 10), to reproduce hot-key throttling.
- **Per server**: a controllable clock, ``now = real time + offset``.  ``SetClock {Time}`` moves it
  to an instant, ``SetClock {AdvanceSeconds}`` forward (or back), ``SetClock {Reset: true}`` back to
  real time.  It drives TTL expiry, the streams' 24-hour trim and the PITR window
  (``EarliestRestorableDateTime``, ``LatestRestorableDateTime``).

Keys are compared as partition items are (:func:`partition.item_token`), so ``{"N": "1.0"}`` and
``{"N": "1"}`` name the same item.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from . import errors, keys, partition, throttle
from .saga import NO_REASON, conflict_reason

DEFAULT_BURST_SECONDS = 1.0
MAX_CONFLICT_KEYS = 100


@dataclass(frozen=True, slots=True)
class Ceilings:
    read: float = throttle.PARTITION_READ_CEILING
    write: float = throttle.PARTITION_WRITE_CEILING
    burst_seconds: float = DEFAULT_BURST_SECONDS

    def config(self, base: throttle.ThrottleConfig) -> throttle.ThrottleConfig:
        """The throttling settings of a table with these ceilings (``base``: the server's)."""
        return replace(base, partition_read=self.read, partition_write=self.write, ceiling_seconds=self.burst_seconds)

    def to_wire(self) -> dict:
        return {"ReadUnitsPerSecond": self.read, "WriteUnitsPerSecond": self.write, "BurstSeconds": self.burst_seconds}


@dataclass(frozen=True, slots=True)
class TableKnobs:
    schema: keys.KeySchema
    conflict_keys: tuple[dict, ...] = ()
    ceilings: Ceilings | None = None
    tokens: frozenset = frozenset()  # the item tokens of ``conflict_keys``

    def conflicts(self, key: dict) -> bool:
        return bool(self.tokens) and partition.item_token(self.schema, key) in self.tokens

    def to_wire(self) -> dict:
        out: dict[str, Any] = {"ConflictKeys": [dict(k) for k in self.conflict_keys]}
        if self.ceilings is not None:
            out["PartitionCeilings"] = self.ceilings.to_wire()
        return out


def _positive(spec: dict, member: str, default: float) -> float:
    value = spec.get(member, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise errors.test_knob(f"PartitionCeilings.{member} must be a positive number")
    return float(value)


def parse_ceilings(spec: Any) -> Ceilings | None:
    """``PartitionCeilings``: true (DynamoDB's ceilings), false/absent (none), or a map."""
    if spec is None or spec is False:
        return None
    if spec is True:
        return Ceilings()
    if not isinstance(spec, dict):
        raise errors.test_knob("PartitionCeilings must be true, false or a map")
    return Ceilings(_positive(spec, "ReadUnitsPerSecond", throttle.PARTITION_READ_CEILING),
                    _positive(spec, "WriteUnitsPerSecond", throttle.PARTITION_WRITE_CEILING),
                    _positive(spec, "BurstSeconds", DEFAULT_BURST_SECONDS))


def parse_table_knobs(body: dict, schema: keys.KeySchema) -> TableKnobs:
    """``SetTestKnobs``'s knobs of one table (what is not given is off)."""
    given = body.get("ConflictKeys", [])
    if not isinstance(given, list) or len(given) > MAX_CONFLICT_KEYS:
        raise errors.test_knob(f"ConflictKeys must be a list of at most {MAX_CONFLICT_KEYS} keys")
    conflict_keys = tuple(keys.validate_key(schema, key) for key in given)
    tokens = frozenset(partition.item_token(schema, key) for key in conflict_keys)
    return TableKnobs(schema, conflict_keys, parse_ceilings(body.get("PartitionCeilings")), tokens)


def clock_offset(body: dict, offset: float, real_now: float) -> float:
    """The clock's new offset (seconds added to real time) after ``SetClock``."""
    given = [m for m in ("Time", "AdvanceSeconds", "Reset") if body.get(m) is not None]
    if len(given) != 1:
        raise errors.test_knob("SetClock takes exactly one of Time, AdvanceSeconds and Reset")
    value = body[given[0]]
    if given[0] == "Reset":
        if value is not True:
            raise errors.test_knob("Reset must be true")
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise errors.test_knob(f"{given[0]} must be a number of seconds")
    return value - real_now if given[0] == "Time" else offset + value


def conflict_reasons(hits: list[bool]) -> list[dict] | None:
    """The cancellation reasons of a transaction whose items ``hits`` says are conflict keys (in
    the transaction's order); None when none is."""
    if not any(hits):
        return None
    return [conflict_reason() if hit else dict(NO_REASON) for hit in hits]
