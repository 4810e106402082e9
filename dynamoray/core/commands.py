"""Commands a partition decides on, and the facts (changes) its decisions produce.

Commands are built at the edge (the gateway parses expressions once) and carry typed ASTs, never
expression strings.  A decision yields an :class:`ItemChange`, the fact that goes to the log; the
partition's state is the fold of its changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal as L

from .expressions import ast

Item = dict[str, Any]

INSERT, MODIFY, REMOVE = "INSERT", "MODIFY", "REMOVE"


@dataclass(frozen=True, slots=True)
class PutCommand:
    item: Item
    condition: ast.Condition | None = None
    return_values: L["NONE", "ALL_OLD"] = "NONE"
    return_old_on_failure: bool = False  # ReturnValuesOnConditionCheckFailure=ALL_OLD


@dataclass(frozen=True, slots=True)
class DeleteCommand:
    key: Item
    condition: ast.Condition | None = None
    return_values: L["NONE", "ALL_OLD"] = "NONE"
    return_old_on_failure: bool = False


@dataclass(frozen=True, slots=True)
class UpdateCommand:
    key: Item
    update: ast.Update | None = None
    condition: ast.Condition | None = None
    return_values: L["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"] = "NONE"
    return_old_on_failure: bool = False


@dataclass(frozen=True, slots=True)
class ConditionCheckCommand:
    """A transaction's ConditionCheck: decides, changes nothing."""

    key: Item
    condition: ast.Condition
    return_old_on_failure: bool = False


WriteCommand = PutCommand | DeleteCommand | UpdateCommand


@dataclass(frozen=True, slots=True)
class ItemChange:
    """The fact a write produces: which item, and its images before and after."""

    event_name: str  # INSERT | MODIFY | REMOVE
    keys: Item
    old_image: Item | None
    new_image: Item | None


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """What a decided write returns: the change to log (None when nothing changes, e.g. deleting a
    missing item), the attributes to hand back (ReturnValues), and the sizes capacity is counted on."""

    change: ItemChange | None
    attributes: Item | None
    old_size: int
    new_size: int


@dataclass(frozen=True, slots=True)
class QuerySpec:
    hash_value: Any
    range: ast.RangeKeyCondition | None = None
    forward: bool = True
    limit: int | None = None
    exclusive_start: Item | None = None  # the full primary key
    filter: ast.Condition | None = None
    projection: ast.Projection | None = None
    count_only: bool = False


@dataclass(frozen=True, slots=True)
class ScanSpec:
    limit: int | None = None
    exclusive_start: Item | None = None
    filter: ast.Condition | None = None
    projection: ast.Projection | None = None
    count_only: bool = False
    segment: int = 0
    total_segments: int = 1


@dataclass(frozen=True, slots=True)
class Page:
    """A Query/Scan page: items (projected, filtered), counts, the bytes read (for capacity) and
    the key to resume from."""

    items: list[Item]
    count: int
    scanned_count: int
    bytes_read: int
    last_evaluated_key: Item | None


@dataclass(frozen=True, slots=True)
class PreparedTransaction:
    """A transaction's phase 1 on one partition: the items it locks and the changes it will make.

    ``locked`` holds the key of every item of the transaction on this partition (a ConditionCheck
    or a Delete of a missing item locks its item without changing it); ``changes`` the changes
    still to apply on COMMIT, in action order."""

    transaction_id: str
    locked: tuple[Item, ...]
    changes: tuple[ItemChange, ...]
    offset: int = -1  # the log offset of its TransactionPrepared record, once folded
