"""Table forks (a dynamoray extension, ``docs/extensions.md``): the admin API's ``ForkTable``,
then a wait until the fork is ACTIVE.  The admin API takes the root credentials only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .backups import timestamp
from .flows import Call, Flow, wait_for_table
from .waiters import Wait

ADMIN = "dynamorayadmin"


def fork_table(source: str, target: str, at: datetime | float | None, offsets: Sequence[int] | None,
               wait: Wait | None) -> Flow[dict[str, Any]]:
    """Fork ``source`` into ``target`` as of ``at`` (a datetime or epoch seconds), or of the cut
    ``offsets`` (one log offset per shard), or of now; returns the fork's description."""
    if at is not None and offsets is not None:
        raise ValueError("give at or offsets, not both")
    request: dict[str, Any] = {"SourceTableName": source, "TargetTableName": target}
    if at is not None:
        request["AtTime"] = timestamp(at)
    elif offsets is not None:
        request["AtOffsets"] = list(offsets)
    else:  # now: the table's cut at this moment
        request["AtOffsets"] = (yield from table_offsets(source))
    described = yield Call("ForkTable", request, ADMIN)
    if wait is None:
        return dict(described["TableDescription"])
    return (yield from wait_for_table(target, wait))


def table_offsets(table: str) -> Flow[list[int]]:
    """The table's cut now (each shard's applied log offset): a fork point for later."""
    answer = yield Call("DescribeTableOffsets", {"TableName": table}, ADMIN)
    return list(answer["Offsets"])
