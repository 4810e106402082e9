"""Auto scaling, the I/O shell of ``core/scaling.py`` (a dynamoray extension: AWS does this in
Application Auto Scaling, a separate API).

Policies are set through the admin API (``PutScalingPolicy``) and kept, event-sourced, in topic
``dynamoray.capacity``.  Every ``interval`` seconds the telemetry loop calls :meth:`step`: for
each policy it takes the units consumed per second since the previous step from the metrics
(``metrics.Recorder``: the table's own units, or the GSI's), asks :func:`core.scaling.decide`
what to provision, and applies a change as an UpdateTable would (``core.tables.
updated_description`` then ``engine.replace_table``), on a table still in PROVISIONED mode.
"""

from __future__ import annotations

import time
from typing import Any, Awaitable, Callable

from .. import logs
from ..core import scaling as core_scaling, tables, throttle
from ..core.errors import DynamoError
from ..events.log import EventLog
from ..schemas.events import ScalingPolicyChanged
from .topics import GatewayTopic

CAPACITY_TOPIC = "dynamoray.capacity"
log = logs.get("scaling")

Target = tuple[str, "str | None"]  # (table, GSI or None)


class AutoScaler:
    def __init__(self, engine: Any, log_source: Callable[[], Awaitable[EventLog]], throttler: Any = None, *,
                 interval: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.throttler = throttler
        self.interval = interval
        self.clock, self.wall = clock, wall
        self._topic = GatewayTopic(CAPACITY_TOPIC, log_source)
        self.policies: dict[Target, core_scaling.ScalingPolicy] = {}
        self._states: dict[tuple[Target, str], core_scaling.ScalingState] = {}
        self._previous: dict[Target, tuple[float, float, float]] = {}  # (time, read, write) totals
        self.changes: list[dict] = []  # the scaling actions taken (the newest 100), for DescribeScalingPolicies

    async def open(self) -> None:
        for event in await self._topic.open(replay=True):
            self._apply(event)

    def _apply(self, event: ScalingPolicyChanged) -> None:
        target = (event.table_name, event.index_name)
        if event.policy is None:
            self.policies.pop(target, None)
        else:
            self.policies[target] = core_scaling.ScalingPolicy.from_wire(event.policy)

    async def put(self, table: str, index: str | None, policy: core_scaling.ScalingPolicy) -> None:
        event = ScalingPolicyChanged(table, index, policy.to_wire())
        await self._topic.append([event])
        self._apply(event)

    async def delete(self, table: str, index: str | None) -> bool:
        if (table, index) not in self.policies:
            return False
        event = ScalingPolicyChanged(table, index, None)
        await self._topic.append([event])
        self._apply(event)
        return True

    async def close(self) -> None:
        await self._topic.close()

    # --- one round -------------------------------------------------------------------------------

    def _consumed(self, recorder: Any) -> dict[Target, tuple[float, float]]:
        totals: dict[Target, list[float]] = {}
        for (table, _), cell in recorder.cells.items():
            entry = totals.setdefault((table, None), [0.0, 0.0])
            entry[0] += cell.read
            entry[1] += cell.write
        for (table, index, _), cell in recorder.indexes.items():
            entry = totals.setdefault((table, index), [0.0, 0.0])
            entry[0] += cell.read
            entry[1] += cell.write
        return {target: (read, write) for target, (read, write) in totals.items()}

    async def step(self, recorder: Any) -> None:
        now = self.clock()
        totals = self._consumed(recorder)
        for target, policy in list(self.policies.items()):
            read, write = totals.get(target, (0.0, 0.0))
            before = self._previous.get(target)
            self._previous[target] = (now, read, write)
            if before is None or now <= before[0]:
                continue
            span = now - before[0]
            rates = {"Read": (read - before[1]) / span, "Write": (write - before[2]) / span}
            try:
                await self._scale(target, policy, rates)
            except DynamoError as error:  # the table went away or changed mode: try next round
                log.warning("auto_scaling_skipped", table=target[0], index=target[1], error=error.error_type)

    async def _scale(self, target: Target, policy: core_scaling.ScalingPolicy, rates: dict[str, float]) -> None:
        table, index = target
        description = await self.engine.describe_table(table)
        if throttle.billing_mode(description) != throttle.PROVISIONED:
            return
        entry = description if index is None else next(
            (e for e in description.get("GlobalSecondaryIndexes") or () if e["IndexName"] == index), None)
        if entry is None:
            return
        current = entry.get("ProvisionedThroughput") or {}
        wanted = {}
        for kind in ("Read", "Write"):
            provisioned = float(current.get(f"{kind}CapacityUnits") or 0)
            state = self._states.get((target, kind), core_scaling.ScalingState())
            change, self._states[(target, kind)] = core_scaling.decide(policy, kind, provisioned, rates[kind], state)
            wanted[f"{kind}CapacityUnits"] = change if change is not None else int(provisioned)
        if all(wanted[k] == int(current.get(k) or 0) for k in wanted):
            return
        if index is None:
            request = {"ProvisionedThroughput": wanted}
        else:
            request = {"GlobalSecondaryIndexUpdates": [{"Update": {"IndexName": index, "ProvisionedThroughput": wanted}}]}
        updated = tables.updated_description(description, request, self.wall())
        await self.engine.replace_table(table, updated)
        if self.throttler is not None:
            self.throttler.changed(table)
        change = {"TableName": table, "IndexName": index, "From": {k: int(current.get(k) or 0) for k in wanted},
                  "To": wanted, "At": self.wall(), "ConsumedPerSecond": rates}
        self.changes = (self.changes + [change])[-100:]
        log.info("auto_scaled", **{k: v for k, v in change.items() if k != "ConsumedPerSecond"})

    def describe(self, table: str | None = None) -> list[dict]:
        return [{"TableName": t, "IndexName": i, "Policy": p.to_wire()}
                for (t, i), p in sorted(self.policies.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
                if table is None or t == table]
