"""The events of the log: frozen models named in the past tense, and their versioned Avro schemas.

Each model has an Avro schema ``<Name>.v<version>.avsc`` next to this module.  Avro stays flat:
item images, keys and table descriptions are carried as orjson bytes (``JSON_FIELDS``), which
encodes ~25x faster than a recursive AttributeValue schema.  In the models they are plain
wire-form dicts (see ``dynamoray.core.values``).

Evolution rules (checked by ``tests/schemas/test_event_schemas.py``): a new version only *appends*
fields, each with a default, and only appends enum symbols; the model gains the same field with
the same default.  ``SCHEMA_IDS`` is append-only: never renumber, reorder or delete a line, since
the id is written in front of every stored event.

The log position (offset) and the commit timestamp of an event are not in the event: the log
stamps them and hands them back with it (``dynamoray.events.codec.LoggedEvent``).

The IAM store's events live in ``iam_events.py``; every name there is re-exported here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .iam_events import (  # noqa: F401 - re-exported: callers import every event from here
    IAM_EVENTS,
    AccessKeyCreated,
    AccessKeyDeleted,
    InlinePolicyChanged,
    ManagedPolicyChanged,
    PolicyAttachmentChanged,
    PrincipalCreated,
    PrincipalDeleted,
    ResourcePolicyChanged,
)

Item = dict[str, dict[str, Any]]

# (schema id, event name, version). Append-only.
SCHEMA_IDS: tuple[tuple[int, str, int], ...] = (
    (1, "ItemChanged", 1),
    (2, "TableCreated", 1),
    (3, "TableUpdated", 1),
    (4, "TableDeleted", 1),
    (5, "SnapshotTaken", 1),
    (6, "TransactionDecided", 1),
    (7, "LeaderEpochStarted", 1),
    (8, "TagsChanged", 1),
    (9, "TimeToLiveChanged", 1),
    (10, "TransactionPrepared", 1),
    (11, "TransactionReleased", 1),
    (12, "TransactionCompleted", 1),
    (13, "TransactionDecided", 2),
    (14, "PrincipalCreated", 1),
    (15, "PrincipalDeleted", 1),
    (16, "AccessKeyCreated", 1),
    (17, "AccessKeyDeleted", 1),
    (18, "InlinePolicyChanged", 1),
    (19, "ManagedPolicyChanged", 1),
    (20, "PolicyAttachmentChanged", 1),
    (21, "ResourcePolicyChanged", 1),
    (22, "BackupCreated", 1),
    (23, "BackupDeleted", 1),
    (24, "ContinuousBackupsChanged", 1),
    (25, "HookDeployed", 1),
    (26, "HookRemoved", 1),
    (27, "DataKeyCreated", 1),
    (28, "AuditRecorded", 1),
    (29, "AuditSettingsChanged", 1),
    (30, "UsageRecorded", 1),
    (31, "StorageSampled", 1),
    (32, "ScalingPolicyChanged", 1),
    (33, "ItemChanged", 2),
    (34, "ExportUpdated", 1),
    (35, "ImportUpdated", 1),
    (36, "ItemChanged", 3),
    (37, "PartitionMapChanged", 1),
)

# Avro ``bytes`` fields whose model value is JSON (encoded with orjson).
JSON_FIELDS = frozenset(
    {"keys", "old_image", "new_image", "description", "time_index", "participants", "tags", "spec", "session_context",
     "changes", "audit", "policy"}
)


@dataclass(frozen=True, slots=True)
class ItemChanged:
    table_id: str
    shard: int
    event_name: str  # INSERT | MODIFY | REMOVE
    keys: Item
    old_image: Item | None = None
    new_image: Item | None = None
    region: str = ""
    transaction_id: str | None = None
    principal: str | None = None
    principal_type: str | None = None
    request_id: str | None = None
    # global tables (core/replication.py): the change's version is (origin_timestamp, region), the
    # region empty for this one; None for a change without a version (a table with no replicas)
    origin_timestamp: int | None = None
    # a transaction's change (v3): its write's position "n of m" among the transaction's writes
    transaction_index: int | None = None
    transaction_count: int | None = None


@dataclass(frozen=True, slots=True)
class TableCreated:
    table_id: str
    table_name: str
    description: dict[str, Any]
    region: str = ""


@dataclass(frozen=True, slots=True)
class TableUpdated:
    table_id: str
    table_name: str
    description: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TableDeleted:
    table_id: str
    table_name: str


@dataclass(frozen=True, slots=True)
class SnapshotTaken:
    table_id: str
    shard: int
    offset: int
    timestamp: int
    location: str
    time_index: list[list[int]] | None = None


@dataclass(frozen=True, slots=True)
class TransactionDecided:
    transaction_id: str
    decision: str  # COMMIT | ABORT
    participants: list[list[Any]]
    client_token: str | None = None
    request_hash: str | None = None


@dataclass(frozen=True, slots=True)
class TransactionPrepared:
    """Phase 1 passed on one partition: ``changes`` holds ``[keys, event_name, old, new]`` per
    locked item (``event_name`` and the images ``None`` for an item that is only checked)."""

    transaction_id: str
    table_id: str
    shard: int
    changes: list[list[Any]]


@dataclass(frozen=True, slots=True)
class TransactionReleased:
    transaction_id: str
    table_id: str
    shard: int
    decision: str  # COMMIT | ABORT


@dataclass(frozen=True, slots=True)
class TransactionCompleted:
    transaction_id: str


@dataclass(frozen=True, slots=True)
class LeaderEpochStarted:
    table_id: str
    shard: int
    epoch: int
    owner: str


@dataclass(frozen=True, slots=True)
class TagsChanged:
    table_id: str
    table_name: str
    tags: dict[str, str]


@dataclass(frozen=True, slots=True)
class TimeToLiveChanged:
    table_id: str
    table_name: str
    spec: dict[str, Any]


Event = ItemChanged | TableCreated | TableUpdated | TableDeleted | SnapshotTaken | TransactionDecided | LeaderEpochStarted
Event = Event | TagsChanged | TimeToLiveChanged
Event = Event | TransactionPrepared | TransactionReleased | TransactionCompleted

# --- the IAM store (topic dynamoray.iam; folded by dynamoray.core.principals): iam_events.py ----


EVENT_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        ItemChanged, TableCreated, TableUpdated, TableDeleted, SnapshotTaken, TransactionDecided,
        LeaderEpochStarted, TagsChanged, TimeToLiveChanged, TransactionPrepared, TransactionReleased,
        TransactionCompleted,
    )
}
EVENT_TYPES.update({cls.__name__: cls for cls in IAM_EVENTS})


# --- backups and point-in-time recovery (topic dynamoray.backups; folded by dynamoray.core.backups) --


@dataclass(frozen=True, slots=True)
class BackupCreated:
    backup_arn: str
    backup_name: str
    backup_type: str  # USER | SYSTEM
    table_id: str
    table_name: str
    created: int  # ms
    offset: int  # the cut: the last offset of the table's log the backup holds
    item_count: int
    size_bytes: int
    location: str
    description: dict[str, Any]
    expires: int | None = None  # ms; SYSTEM backups only


@dataclass(frozen=True, slots=True)
class BackupDeleted:
    backup_arn: str


@dataclass(frozen=True, slots=True)
class ContinuousBackupsChanged:
    table_id: str
    table_name: str
    spec: dict[str, Any]


BACKUP_EVENTS = (BackupCreated, BackupDeleted, ContinuousBackupsChanged)
EVENT_TYPES.update({cls.__name__: cls for cls in BACKUP_EVENTS})


# --- stored-procedure hooks (topic dynamoray.hooks; folded by dynamoray.core.hooks) --------------


@dataclass(frozen=True, slots=True)
class HookDeployed:
    name: str
    table_name: str
    spec: dict[str, Any]  # the DeployHook settings (core.hooks.HookSpec.to_wire)
    function: bytes  # the function, pickled by value
    source: str  # where it came from, e.g. "orders_hooks:totals"
    deployed_at: int  # ms


@dataclass(frozen=True, slots=True)
class HookRemoved:
    name: str
    removed_at: int  # ms


HOOK_EVENTS = (HookDeployed, HookRemoved)
EVENT_TYPES.update({cls.__name__: cls for cls in HOOK_EVENTS})


# --- encryption at rest (topic dynamoray.keys, never encrypted itself; folded by core.encryption) ---


@dataclass(frozen=True, slots=True)
class DataKeyCreated:
    key_id: str  # 16 hex digits: the id sealed records name
    master_key: str  # the ARN of the master key that wraps it
    wrapped: bytes  # the data key, wrapped by the key provider (keyring or KMS ciphertext blob)
    created: int  # ms


EVENT_TYPES[DataKeyCreated.__name__] = DataKeyCreated


# --- audit, usage and capacity policies (topics dynamoray.audit, dynamoray.audit.settings,
# dynamoray.usage, dynamoray.capacity; folded by dynamoray.core.audit / usage / scaling) --------------


@dataclass(frozen=True, slots=True)
class AuditRecorded:
    audit: dict[str, Any]  # one CloudTrail-shaped record (core.audit.record)


@dataclass(frozen=True, slots=True)
class AuditSettingsChanged:
    table_name: str  # "*": every table
    data_plane: bool  # record the table's data-plane calls too
    changed_at: int  # ms


@dataclass(frozen=True, slots=True)
class UsageRecorded:
    """Request units consumed on a table during part of a UTC day (half-units)."""

    table_name: str
    day: str  # YYYY-MM-DD (UTC)
    billing_mode: str  # PROVISIONED | PAY_PER_REQUEST (when the units were consumed)
    read_units: int  # half-units
    write_units: int  # half-units
    replicated_write_units: int = 0  # half-units (global tables)


@dataclass(frozen=True, slots=True)
class StorageSampled:
    """A table's size and settings, standing for the ``covers`` ms before ``sampled_at``."""

    table_name: str
    sampled_at: int  # ms
    covers: int  # ms
    size_bytes: int
    billing_mode: str
    provisioned_read: int
    provisioned_write: int
    backup_bytes: int  # on-demand backups of the table
    pitr: bool  # point-in-time recovery enabled (billed on the table's size)


@dataclass(frozen=True, slots=True)
class ScalingPolicyChanged:
    table_name: str
    index_name: str | None = None
    policy: dict[str, Any] | None = None  # core.scaling.ScalingPolicy.to_wire(), None: removed


CAPACITY_EVENTS = (AuditRecorded, AuditSettingsChanged, UsageRecorded, StorageSampled, ScalingPolicyChanged)
EVENT_TYPES.update({cls.__name__: cls for cls in CAPACITY_EVENTS})


# --- exports to S3 and imports from S3 (topic dynamoray.exports; folded by core.exports / imports) ---


@dataclass(frozen=True, slots=True)
class ExportUpdated:
    export_arn: str
    description: dict[str, Any]  # the whole ExportDescription (times in epoch seconds)


@dataclass(frozen=True, slots=True)
class ImportUpdated:
    import_arn: str
    description: dict[str, Any]  # the whole ImportTableDescription (times in epoch seconds)


TRANSFER_EVENTS = (ExportUpdated, ImportUpdated)
EVENT_TYPES.update({cls.__name__: cls for cls in TRANSFER_EVENTS})


# --- a table's partition map (catalog topic; folded by core.catalog, see core/partition_map.py) ---


@dataclass(frozen=True, slots=True)
class PartitionMapChanged:
    table_id: str
    table_name: str
    spec: dict[str, Any]  # partition_map.to_wire(): the ranges of shards and their hosts, the version


EVENT_TYPES[PartitionMapChanged.__name__] = PartitionMapChanged


def schema_file(name: str, version: int) -> str:
    return f"{name}.v{version}.avsc"


def load_schema(name: str, version: int) -> dict[str, Any]:
    """The JSON of a shipped Avro schema (parse it with fastavro before use)."""
    text = resources.files(__package__).joinpath(schema_file(name, version)).read_text()
    return json.loads(text)
