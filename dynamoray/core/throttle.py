"""DynamoDB's throughput limits as token buckets (pure: the clock comes in as ``now``, in seconds).

A :class:`Bucket` fills at ``rate`` units a second up to ``capacity`` units.  A request is
*admitted* when every bucket it draws from holds more than zero units, and once it has run it is
*charged* with the capacity it actually consumed, which may take a bucket below zero (a debt the
refill pays back, as DynamoDB does for a read whose size it only knows afterwards).  So over any
stretch of ``t`` seconds a bucket admits at most ``rate * t + capacity`` units plus one request's
worth.

What :func:`admit` checks, for a table of ``S`` shards ("partitions" here):

- **Provisioned** (ProvisionedThroughputExceededException): the table's bucket, filling at the
  provisioned rate and holding :data:`BURST_SECONDS` (300 s) of it, the unused capacity DynamoDB
  keeps as burst credit.  Each shard has its share (rate/S, 300 s of burst).  A shard past its
  share is still served while the table has unused capacity (**adaptive capacity**: a hot partition
  borrows what the others leave); without adaptive capacity it is throttled.
- **Every table**: each shard's **partition ceiling**, 3,000 read and 1,000 write units a second
  (DynamoDB's per-partition maximum), whatever the mode.
- **On demand** (ThrottlingException): the table's ``OnDemandThroughput`` maxima, when set
  (``MaxReadRequestUnits``/``MaxWriteRequestUnits``), plus the ceilings.
- **Global secondary indexes** have their own throughput: a Query or Scan of an index draws on the
  index's read bucket (not the table's), and a write to the table is refused while any of its
  GSIs' write buckets is empty (DynamoDB throttles base-table writes on an under-provisioned GSI).
  Local secondary indexes share the table's throughput.

A refused request gets a :class:`Throttle`: its ThrottlingReason (``TableWriteProvisionedThroughput
Exceeded``, ``IndexReadMaxOnDemandThroughputExceeded``, ``TableReadKeyRangeThroughputExceeded``...)
and the index it concerns.  State is a :class:`TableBuckets` per table, replaced (never mutated) by
:func:`charge`; its ``buckets`` mapping is treated as immutable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, NamedTuple

from . import errors

PROVISIONED, PAY_PER_REQUEST = "PROVISIONED", "PAY_PER_REQUEST"
READ, WRITE = "Read", "Write"
KINDS = (READ, WRITE)
BURST_SECONDS = 300.0
PARTITION_READ_CEILING = 3000.0
PARTITION_WRITE_CEILING = 1000.0

# bucket keys: ("table", kind), ("share", shard, kind), ("ceiling", shard, kind), ("index", name, kind)
TABLE, SHARE, CEILING, INDEX = "table", "share", "ceiling", "index"


class Bucket(NamedTuple):
    """Immutable like the frozen dataclasses here, and a NamedTuple because one is made per
    request on the hot path (a third of the cost of a frozen dataclass)."""

    rate: float  # units a second
    capacity: float  # the most units it holds
    tokens: float  # units held at ``at`` (below zero: a debt)
    at: float


def full_bucket(rate: float, seconds: float, now: float) -> Bucket:
    capacity = rate * seconds
    return Bucket(rate, capacity, capacity, now)


def level(bucket: Bucket, now: float) -> float:
    """The units the bucket holds at ``now``."""
    elapsed = now - bucket.at
    if elapsed <= 0:
        return bucket.tokens
    return min(bucket.capacity, bucket.tokens + bucket.rate * elapsed)


def take(bucket: Bucket, units: float, now: float) -> Bucket:
    """The bucket after ``units`` were consumed at ``now`` (it may go below zero)."""
    rate, capacity, tokens, at = bucket
    if now > at:
        return Bucket(rate, capacity, min(capacity, tokens + rate * (now - at)) - units, now)
    return Bucket(rate, capacity, tokens - units, at)


def resized(bucket: Bucket, rate: float, seconds: float, now: float) -> Bucket:
    """The bucket with a new rate (UpdateTable): what it holds is kept, up to the new capacity."""
    capacity = rate * seconds
    return Bucket(rate, capacity, min(capacity, level(bucket, now)), max(now, bucket.at))


# --- limits: what a table description allows -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Throughput:
    """The limits of one table or GSI, in units a second: the provisioned rates, or an on-demand
    table's maxima (``None``: no maximum)."""

    provisioned: bool
    read: float | None
    write: float | None

    def of(self, kind: str) -> float | None:
        return self.read if kind == READ else self.write


@dataclass(frozen=True, slots=True)
class TableLimits:
    name: str
    arn: str
    throughput: Throughput
    shards: int = 1
    indexes: tuple[tuple[str, Throughput], ...] = ()  # the ACTIVE GSIs

    def index(self, name: str) -> Throughput | None:
        for index, throughput in self.indexes:
            if index == name:
                return throughput
        return None


def _on_demand_max(spec: Any, member: str) -> float | None:
    value = (spec or {}).get(member)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else None


def throughput_of(entry: dict, provisioned: bool) -> Throughput:
    """A table's or GSI entry's limits, from its ProvisionedThroughput or OnDemandThroughput."""
    if provisioned:
        given = entry.get("ProvisionedThroughput") or {}
        return Throughput(True, float(given.get("ReadCapacityUnits") or 0), float(given.get("WriteCapacityUnits") or 0))
    spec = entry.get("OnDemandThroughput")
    return Throughput(False, _on_demand_max(spec, "MaxReadRequestUnits"), _on_demand_max(spec, "MaxWriteRequestUnits"))


def billing_mode(description: dict) -> str:
    return (description.get("BillingModeSummary") or {}).get("BillingMode", PROVISIONED)


def limits_of(description: dict, shards: int = 1) -> TableLimits:
    """The limits a table description sets (``shards``: its shard count)."""
    provisioned = billing_mode(description) == PROVISIONED
    indexes = tuple(
        (entry["IndexName"], throughput_of(entry, provisioned))
        for entry in description.get("GlobalSecondaryIndexes") or ()
        if entry.get("IndexStatus", "ACTIVE") in ("ACTIVE", "UPDATING")
    )
    return TableLimits(description["TableName"], description.get("TableArn", ""), throughput_of(description, provisioned),
                       max(1, shards), indexes)


# --- configuration and state ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ThrottleConfig:
    """``ceiling_seconds``: how much burst a shard has at its partition ceiling (DynamoDB measures
    the ceiling over about a second; dynamoray's shards never split for heat, so it allows a
    little more); ``max_seconds``: the burst above an on-demand maximum."""

    burst_seconds: float = BURST_SECONDS
    adaptive: bool = True
    partition_read: float = PARTITION_READ_CEILING
    partition_write: float = PARTITION_WRITE_CEILING
    ceiling_seconds: float = 10.0
    max_seconds: float = 1.0

    def ceiling(self, kind: str) -> float:
        return self.partition_read if kind == READ else self.partition_write


@dataclass(frozen=True, slots=True)
class TableBuckets:
    limits: TableLimits
    buckets: Mapping[tuple, Bucket] = field(default_factory=dict)  # treated as immutable


@dataclass(frozen=True, slots=True)
class Throttle:
    """Why a request was refused: DynamoDB's ThrottlingReason, and the GSI it concerns."""

    reason: str
    provisioned: bool
    index: str | None = None

    def error(self, table_arn: str) -> errors.DynamoError:
        resource = table_arn if self.index is None else f"{table_arn}/index/{self.index}"
        return errors.throughput_exceeded(self.reason, resource, self.provisioned, self.index is not None)


def _wanted(limits: TableLimits, config: ThrottleConfig) -> dict[tuple, tuple[float, float]]:
    """Every bucket the limits call for: key -> (rate, seconds of burst)."""
    out: dict[tuple, tuple[float, float]] = {}
    table = limits.throughput
    for kind in KINDS:
        rate = table.of(kind)
        if table.provisioned:
            out[(TABLE, kind)] = (rate or 0.0, config.burst_seconds)
            for shard in range(limits.shards):
                out[(SHARE, shard, kind)] = ((rate or 0.0) / limits.shards, config.burst_seconds)
        elif rate is not None:
            out[(TABLE, kind)] = (rate, config.max_seconds)
        for shard in range(limits.shards):
            out[(CEILING, shard, kind)] = (config.ceiling(kind), config.ceiling_seconds)
        for name, index in limits.indexes:
            rate = index.of(kind)
            if index.provisioned:
                out[(INDEX, name, kind)] = (rate or 0.0, config.burst_seconds)
            elif rate is not None:
                out[(INDEX, name, kind)] = (rate, config.max_seconds)
    return out


def open_table(limits: TableLimits, config: ThrottleConfig, now: float) -> TableBuckets:
    """A table's buckets, full (a new table, or one this gateway had not seen yet)."""
    return TableBuckets(limits, {key: full_bucket(rate, seconds, now)
                                 for key, (rate, seconds) in _wanted(limits, config).items()})


def retarget(state: TableBuckets, limits: TableLimits, config: ThrottleConfig, now: float) -> TableBuckets:
    """New limits (an UpdateTable): buckets that stay keep what they hold; new ones start full."""
    if limits == state.limits:
        return state
    old = state.buckets
    buckets = {}
    for key, (rate, seconds) in _wanted(limits, config).items():
        current = old.get(key)
        buckets[key] = full_bucket(rate, seconds, now) if current is None else resized(current, rate, seconds, now)
    return TableBuckets(limits, buckets)


# --- admission and charging -------------------------------------------------------------------------


def _empty(buckets: Mapping[tuple, Bucket], key: tuple, now: float) -> bool:
    bucket = buckets.get(key)
    return bucket is not None and level(bucket, now) <= 0


def admit(state: TableBuckets, kind: str, shard: int | None, now: float, config: ThrottleConfig,
          index: str | None = None) -> Throttle | None:
    """``None`` if a ``kind`` request on ``shard`` (None: not known, or several) may run, else why
    not.  ``index``: the GSI a Query or Scan reads (its own bucket only)."""
    buckets, limits = state.buckets, state.limits
    provisioned = limits.throughput.provisioned
    if index is not None and limits.index(index) is not None:
        return _index_throttle(limits, buckets, index, kind, now)
    mode = "ProvisionedThroughputExceeded" if provisioned else "MaxOnDemandThroughputExceeded"
    if _empty(buckets, (TABLE, kind), now):
        return Throttle(f"Table{kind}{mode}", provisioned)
    if shard is not None:
        if not config.adaptive and _empty(buckets, (SHARE, shard, kind), now):
            return Throttle(f"Table{kind}KeyRangeThroughputExceeded", provisioned)
        if _empty(buckets, (CEILING, shard, kind), now):
            return Throttle(f"Table{kind}KeyRangeThroughputExceeded", provisioned)
    if kind == WRITE:
        for name, _ in limits.indexes:
            throttle = _index_throttle(limits, buckets, name, WRITE, now)
            if throttle is not None:
                return throttle
    return None


def _index_throttle(limits: TableLimits, buckets: Mapping[tuple, Bucket], index: str, kind: str,
                    now: float) -> Throttle | None:
    if not _empty(buckets, (INDEX, index, kind), now):
        return None
    throughput = limits.index(index)
    mode = "ProvisionedThroughputExceeded" if throughput.provisioned else "MaxOnDemandThroughputExceeded"
    return Throttle(f"Index{kind}{mode}", throughput.provisioned, index)


def charge(state: TableBuckets, kind: str, shards: Mapping[int, float] | None, units: float, now: float,
           index_units: Mapping[str, float] | None = None) -> TableBuckets:
    """The buckets after a request consumed ``units`` of ``kind`` on the table (and
    ``index_units`` per GSI).  ``shards`` says how the table's units fall on its shards (shard ->
    share, summing to 1); ``None`` spreads them evenly."""
    old = state.buckets
    changed: dict[tuple, Bucket] = {}
    if units > 0:
        bucket = old.get((TABLE, kind))
        if bucket is not None:
            changed[(TABLE, kind)] = take(bucket, units, now)
        if shards is None:
            count = state.limits.shards
            shards = {shard: 1.0 / count for shard in range(count)}
        for shard, part in shards.items():
            amount = units * part
            if amount > 0:
                for key in ((SHARE, shard, kind), (CEILING, shard, kind)):
                    bucket = old.get(key)
                    if bucket is not None:
                        changed[key] = take(bucket, amount, now)
    if index_units:
        for name, amount in index_units.items():
            bucket = old.get((INDEX, name, kind))
            if bucket is not None and amount > 0:
                changed[(INDEX, name, kind)] = take(bucket, amount, now)
    if not changed:
        return state
    return TableBuckets(state.limits, {**old, **changed})


def retry_after(state: TableBuckets, kind: str, now: float) -> float:
    """Seconds until the table's ``kind`` bucket holds units again (0 if it does; inf if it never
    refills), for the dashboard and tests."""
    bucket = state.buckets.get((TABLE, kind))
    if bucket is None:
        return 0.0
    held = level(bucket, now)
    if held > 0:
        return 0.0
    return math.inf if bucket.rate <= 0 else (-held) / bucket.rate + 1e-9


def provisioned_rates(limits: TableLimits) -> Iterable[tuple[str | None, str, float]]:
    """(index or None, kind, units a second) of every provisioned rate: CloudWatch's
    ProvisionedReadCapacityUnits / ProvisionedWriteCapacityUnits."""
    for index, throughput in ((None, limits.throughput), *limits.indexes):
        if throughput.provisioned:
            for kind in KINDS:
                yield index, kind, throughput.of(kind) or 0.0


# --- capacity-mode switches (UpdateTable) -----------------------------------------------------------


def check_mode_switch(description: dict, request: dict, now: float, interval: float) -> None:
    """DynamoDB limits switches to on-demand: ``interval`` seconds must have passed since the table
    last became PAY_PER_REQUEST (its ``LastUpdateToPayPerRequestDateTime``, set when it is created
    on demand too).  AWS's interval is one day; ``interval`` 0 allows any switch (dynamoray's
    default, see docs/capacity.md)."""
    if interval <= 0 or request.get("BillingMode") != PAY_PER_REQUEST or billing_mode(description) == PAY_PER_REQUEST:
        return
    last = (description.get("BillingModeSummary") or {}).get("LastUpdateToPayPerRequestDateTime")
    if isinstance(last, (int, float)) and now - last < interval:
        raise errors.mode_switch_limited(f"{interval / 86400:g}")


def on_demand_throughput(spec: dict, current: dict | None = None) -> dict:
    """The ``OnDemandThroughput`` a CreateTable/UpdateTable sets (merged over ``current``): each
    maximum is at least 1, or -1 for none; a member left out keeps its value."""
    out = {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1, **(current or {})}
    for member in ("MaxReadRequestUnits", "MaxWriteRequestUnits"):
        value = spec.get(member)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or (value < 1 and value != -1):
            raise errors.invalid_parameter(f"{member} must be at least 1, or -1 for no maximum")
        out[member] = value
    return out
