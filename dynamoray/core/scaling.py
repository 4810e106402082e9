"""Auto scaling of provisioned capacity by target tracking (pure): a dynamoray extension.

In AWS, auto scaling is Application Auto Scaling, a separate API; dynamoray offers the same idea
through its admin API (``PutScalingPolicy``, ``gateway/admin_capacity.py``): per table or GSI, a
target utilization (consumed / provisioned, 20 to 90 %) and the bounds of read and write
capacity.  Every round (``scaling_interval``, 60 s by default) :func:`decide` looks at the units
consumed per second over the round:

- above the target for ``scale_out_rounds`` rounds in a row (default 2, as AWS's alarm waits two
  minutes): scale out to the capacity that would put utilization at the target;
- more than 20 % below the target for ``scale_in_rounds`` rounds in a row (default 15, AWS's
  fifteen minutes): scale in the same way;
- outside the bounds: back to the nearest bound at once.

The new capacity is ``ceil(consumed / target)``, kept within [min, max].
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping

MIN_TARGET, MAX_TARGET = 20.0, 90.0


@dataclass(frozen=True, slots=True)
class ScalingPolicy:
    target_utilization: float = 70.0  # percent
    min_read: int = 1
    max_read: int = 40000
    min_write: int = 1
    max_write: int = 40000
    scale_out_rounds: int = 2
    scale_in_rounds: int = 15

    def bounds(self, kind: str) -> tuple[int, int]:
        return (self.min_read, self.max_read) if kind == "Read" else (self.min_write, self.max_write)

    def to_wire(self) -> dict:
        return asdict(self)

    @classmethod
    def from_wire(cls, spec: Mapping[str, Any]) -> "ScalingPolicy":
        """A policy from JSON; ValueError says what is wrong."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(spec) - set(known))
        if unknown:
            raise ValueError(f"unknown policy members: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in spec.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number, not {value!r}")
            values[name] = float(value) if name == "target_utilization" else int(value)
        policy = replace(cls(), **values)
        if not MIN_TARGET <= policy.target_utilization <= MAX_TARGET:
            raise ValueError(f"target_utilization must be from {MIN_TARGET:g} to {MAX_TARGET:g} percent")
        for kind in ("Read", "Write"):
            low, high = policy.bounds(kind)
            if not 1 <= low <= high:
                raise ValueError(f"{kind.lower()} capacity bounds must satisfy 1 <= min <= max, not {low}..{high}")
        if policy.scale_out_rounds < 1 or policy.scale_in_rounds < 1:
            raise ValueError("scale_out_rounds and scale_in_rounds must be at least 1")
        return policy


@dataclass(frozen=True, slots=True)
class ScalingState:
    """Rounds in a row above the target (``high``) or well below it (``low``)."""

    high: int = 0
    low: int = 0


def desired(policy: ScalingPolicy, kind: str, consumed_per_second: float) -> int:
    low, high = policy.bounds(kind)
    wanted = math.ceil(consumed_per_second * 100 / policy.target_utilization - 1e-9)
    return min(high, max(low, wanted))


def decide(policy: ScalingPolicy, kind: str, provisioned: float, consumed_per_second: float,
           state: ScalingState) -> tuple[int | None, ScalingState]:
    """(the new capacity, or None to keep it; the state for the next round)."""
    low, high = policy.bounds(kind)
    if provisioned < low or provisioned > high:
        return min(high, max(low, int(provisioned))), ScalingState()
    utilization = consumed_per_second * 100 / provisioned if provisioned > 0 else math.inf
    goal = desired(policy, kind, consumed_per_second)
    if utilization > policy.target_utilization:
        state = ScalingState(high=state.high + 1)
        if state.high >= policy.scale_out_rounds and goal > provisioned:
            return goal, ScalingState()
        return None, state
    if utilization < policy.target_utilization * 0.8:
        state = ScalingState(low=state.low + 1)
        if state.low >= policy.scale_in_rounds and goal < provisioned:
            return goal, ScalingState()
        return None, state
    return None, ScalingState()
