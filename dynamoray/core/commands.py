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
    # a transaction's write: its position among the transaction's writes, (n, m) for "n of m" (saga.py)
    position: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class DeleteCommand:
    key: Item
    condition: ast.Condition | None = None
    return_values: L["NONE", "ALL_OLD"] = "NONE"
    return_old_on_failure: bool = False
    # a transaction's write: its position among the transaction's writes, (n, m) for "n of m" (saga.py)
    position: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class UpdateCommand:
    key: Item
    update: ast.Update | None = None
    condition: ast.Condition | None = None
    return_values: L["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"] = "NONE"
    return_old_on_failure: bool = False
    # a transaction's write: its position among the transaction's writes, (n, m) for "n of m" (saga.py)
    position: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class ConditionCheckCommand:
    """A transaction's ConditionCheck: decides, changes nothing."""

    key: Item
    condition: ast.Condition
    return_old_on_failure: bool = False


WriteCommand = PutCommand | DeleteCommand | UpdateCommand


@dataclass(frozen=True, slots=True)
class ExpireCommand:
    """A time-to-live deletion (the TTL sweeper's): delete the item if, when the command is
    decided, its ``attribute`` says it expired before ``now`` (epoch seconds; see ``core/ttl.py``).
    Otherwise (rewritten meanwhile, already deleted) nothing happens: never a
    ConditionalCheckFailed.  The change is made by the DynamoDB service principal."""

    key: Item
    attribute: str
    now: int


@dataclass(frozen=True, slots=True)
class ItemChange:
    """The fact a write produces: which item, and its images before and after.  ``principal`` and
    ``principal_type`` name who made it when that is not a request's caller (a TTL deletion:
    ``dynamodb.amazonaws.com``, ``Service``); they go to the log and to stream records."""

    event_name: str  # INSERT | MODIFY | REMOVE
    keys: Item
    old_image: Item | None
    new_image: Item | None
    principal: str | None = None
    principal_type: str | None = None
    # global tables (core/replication.py): the change's version (commit ms, origin region; "" is
    # this region), None for a change without one (a table with no replicas)
    origin: tuple[int, str] | None = None
    # a transaction's change: the position of its write in the transaction, (n, m) for "n of m"
    # (saga.py); it goes to the log and to stream records (dynamorayTransaction)
    position: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class ReplicatedWriteCommand:
    """A change another region made, applied here (global tables, ``core/replication.py``): the
    item's new image (None: deleted) wins only if ``version`` (origin commit ms, origin region) is
    newer than the item's current version, comparing this region's own versions as ``local_region``
    (last writer wins, the same decision in every region)."""

    key: Item
    item: Item | None
    version: tuple[int, str]
    local_region: str


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """What a decided write returns: the change to log (None when nothing changes, e.g. deleting a
    missing item), the attributes to hand back (ReturnValues), and the sizes capacity is counted on."""

    change: ItemChange | None
    attributes: Item | None
    old_size: int
    new_size: int
    # secondary indexes (core/indexes.py): half-units written to each index (capacity.IndexCapacity),
    # and on a table with LSIs the item collection written: (its partition key, its size in bytes)
    index_writes: tuple = ()
    collection: tuple | None = None


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
    # a secondary index (core/index_reads.py): hash_value and range are on its key, exclusive_start
    # holds the table's and the index's keys; ``fetch``: read the base items (an LSI projecting less
    # than the request needs)
    index: str | None = None
    fetch: bool = False


@dataclass(frozen=True, slots=True)
class ScanSpec:
    limit: int | None = None
    exclusive_start: Item | None = None
    filter: ast.Condition | None = None
    projection: ast.Projection | None = None
    count_only: bool = False
    segment: int = 0
    total_segments: int = 1
    index: str | None = None  # a secondary index, as in QuerySpec
    fetch: bool = False
    # a TTL sweep's page, (attribute, now): only the items expired at ``now``, from the partition's
    # expiry index (core/ttl_index.py), in (expiry, key) order
    expiry: tuple[str, int] | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """A Query/Scan page: items (projected, filtered), counts, the bytes read (for capacity) and
    the key to resume from."""

    items: list[Item]
    count: int
    scanned_count: int
    bytes_read: int
    last_evaluated_key: Item | None
    fetched_bytes: int = 0  # base-table bytes an LSI read fetched (bytes_read: the index's)


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
