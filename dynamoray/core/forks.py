"""Table forks, pure: what a ``ForkTable`` request means and which log point it names.

A fork is a new table holding another table's items as of a point of its log (a dynamoray
extension, ``docs/extensions.md``): either an instant (``AtTime``: epoch seconds, or an ISO-8601
string) or a cut (``AtOffsets``: one log offset per shard, each included; -1 for "nothing of this
shard").  The engine side (``actors/forks.py``) rebuilds the source as of that point from its
snapshots and log, exactly as point-in-time recovery does, and loads the fork through the restore
machinery.  Unlike RestoreTableToPointInTime, a fork needs no PITR setting: any point the log
still holds will do.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any, Sequence

from . import errors

_TABLE_NAME = re.compile(r"[a-zA-Z0-9_.-]{3,255}")


@dataclass(frozen=True, slots=True)
class ForkRequest:
    source: str
    target: str
    at_time: float | None = None  # seconds since the epoch
    at_offsets: tuple[int, ...] | None = None  # one per shard, each included (-1: none)


def _table_name(body: dict, member: str) -> str:
    value = body.get(member)
    path = member[0].lower() + member[1:]
    if value is None:
        raise errors.constraint_violations(
            [errors.constraint_violation("null", path, "Member must not be null")])
    if not isinstance(value, str) or _TABLE_NAME.fullmatch(value) is None:
        raise errors.constraint_violations([errors.constraint_violation(
            f"'{value}'", path, errors.constraint_text("pattern", "[a-zA-Z0-9_.-]+") + " and length 3 to 255")])
    return value


def parse_instant(value: Any) -> float:
    """Epoch seconds from a number or an ISO-8601 string (a naive one is UTC)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise errors.fork_point("AtTime must be epoch seconds or an ISO-8601 date-time")
    if not isinstance(value, str):
        return float(value)
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise errors.fork_point(f"AtTime '{value}' is not an ISO-8601 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.timestamp()


def parse_request(body: dict) -> ForkRequest:
    """The ``ForkTable {SourceTableName, TargetTableName, AtTime | AtOffsets}`` request."""
    source, target = _table_name(body, "SourceTableName"), _table_name(body, "TargetTableName")
    at_time, at_offsets = body.get("AtTime"), body.get("AtOffsets")
    if (at_time is None) == (at_offsets is None):
        raise errors.fork_point("give exactly one of AtTime and AtOffsets")
    if at_time is not None:
        return ForkRequest(source, target, at_time=parse_instant(at_time))
    if not isinstance(at_offsets, list) or not at_offsets or not all(
            isinstance(o, int) and not isinstance(o, bool) for o in at_offsets):
        raise errors.fork_point("AtOffsets must be a list of integers, one log offset per shard")
    return ForkRequest(source, target, at_offsets=tuple(at_offsets))


def check_instant(when: float, now: float) -> float:
    if when > now:
        raise errors.fork_point("AtTime is in the future")
    return when


def check_offsets(offsets: Sequence[int], starts: Sequence[int], ends: Sequence[int]) -> list[int]:
    """A cut given by the caller: one offset per shard, each from -1 to the shard's last offset."""
    if len(offsets) != len(ends):
        raise errors.fork_point(f"AtOffsets has {len(offsets)} offsets but the table has {len(ends)} shards")
    for shard, (offset, end) in enumerate(zip(offsets, ends)):
        if not -1 <= offset < end:
            raise errors.fork_point(f"offset {offset} of shard {shard} is not in the log (from -1 to {end - 1})")
    check_retained(offsets, starts)
    return list(offsets)


def check_retained(cut: Sequence[int], starts: Sequence[int]) -> None:
    """Each shard's log must still reach back to its offset: a log truncated from ``start`` on
    (retention) can rebuild the points from ``start`` on, from the snapshot retention keeps."""
    for shard, (offset, start) in enumerate(zip(cut, starts)):
        if start > 0 and offset < start:
            raise errors.fork_point(f"the log of shard {shard} no longer reaches back to offset {offset} "
                                    f"(it starts at {start})")


def summary(source_arn: str, when: float, in_progress: bool = True) -> dict:
    """The fork's RestoreSummary: its source table and the instant it is a copy of."""
    return {"SourceTableArn": source_arn, "RestoreDateTime": when, "RestoreInProgress": in_progress}
