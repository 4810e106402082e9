"""Table metadata: CreateTable/UpdateTable requests to TableDescriptions, with DynamoDB's rules.

A table description is kept in DynamoDB's wire shape (what DescribeTable returns), so the catalog
hands it out as it is.  Time and ids come in as arguments: this module does no I/O.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

from . import errors, index_tables, indexes, keys, throttle

PAY_PER_REQUEST, PROVISIONED = "PAY_PER_REQUEST", "PROVISIONED"

# Streams.  Every stream a table had in the last 24 h is kept under STREAMS, an internal member of
# the description (``public_description`` drops it before it goes on the wire): its label, view
# type, creation time, and per log partition the offset it starts at and, once disabled, ends at.
STREAMS = "_Streams"
STREAM_RETENTION_SECONDS = 24 * 3600
# Shards: how many log partitions the table's key space is hashed into (``core/shards.py``), fixed
# when the table is created (the engine's ``--shards`` setting).  A description without it is of a
# table made before shards existed: one shard.
SHARDS = "_Shards"
# The partition map: which host owns which range of the shards (``core/partition_map.py``), kept by
# the catalog from its ``PartitionMapChanged`` events.  A description without it: one range, on the
# table's hashed host.
PARTITIONS = "_Partitions"
INTERNAL_MEMBERS = (STREAMS, SHARDS, indexes.EPOCH, PARTITIONS)  # the epoch: see core/index_tables.py


def _throughput(request: dict, mode: str) -> dict:
    given = request.get("ProvisionedThroughput")
    if mode == PAY_PER_REQUEST:
        if given is not None:
            raise errors.invalid_parameter(
                "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"
            )
        return {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    if given is None:
        raise errors.invalid_parameter(
            "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"
        )
    return {
        "NumberOfDecreasesToday": 0,
        "ReadCapacityUnits": given["ReadCapacityUnits"],
        "WriteCapacityUnits": given["WriteCapacityUnits"],
    }


def new_table_description(request: dict, *, arn: str, table_id: str, now: float) -> dict:
    """Validate a CreateTable request and return the new table's description (status ACTIVE)."""
    schema = keys.key_schema_from_wire(request["KeySchema"], request["AttributeDefinitions"])
    mode = request.get("BillingMode") or PROVISIONED
    index_members, index_keys = index_tables.created_indexes(request, schema, mode, arn)
    keys.check_definitions_used(request["AttributeDefinitions"], list(schema.names) + index_keys,
                                has_indexes=index_tables.has_indexes(request))
    description: dict[str, Any] = {
        "AttributeDefinitions": copy.deepcopy(request["AttributeDefinitions"]),
        "TableName": request["TableName"],
        "KeySchema": copy.deepcopy(request["KeySchema"]),
        "TableStatus": "ACTIVE",
        "CreationDateTime": now,
        "ProvisionedThroughput": _throughput(request, mode),
        "TableSizeBytes": 0,
        "ItemCount": 0,
        "TableArn": arn,
        "TableId": table_id,
        "DeletionProtectionEnabled": bool(request.get("DeletionProtectionEnabled", False)),
        "TableClassSummary": {"TableClass": request.get("TableClass") or "STANDARD"},
    }
    description.update(index_members)  # LocalSecondaryIndexes / GlobalSecondaryIndexes, if any
    if mode == PAY_PER_REQUEST:
        description["BillingModeSummary"] = {
            "BillingMode": PAY_PER_REQUEST, "LastUpdateToPayPerRequestDateTime": now,
        }
    if request.get("OnDemandThroughput") is not None:  # on-demand maxima (enforced by core/throttle.py)
        description["OnDemandThroughput"] = throttle.on_demand_throughput(request["OnDemandThroughput"])
    stream = request.get("StreamSpecification")
    if stream is not None:
        view_type = _stream_view_type(stream, creating=True)
        if view_type is not None:
            return _enable_stream(description, view_type, now, {})
    return description


def key_schema_of(description: dict) -> keys.KeySchema:
    return keys.key_schema_from_wire(description["KeySchema"], description["AttributeDefinitions"])


def updated_description(description: dict, request: dict, now: float, stream_offsets: dict | None = None) -> dict:
    """Apply an UpdateTable request (billing mode, throughput, deletion protection, table class,
    streams).  ``stream_offsets`` maps each log partition (as a string) to its end offset now: where
    a stream being enabled starts, or where the one being disabled ends."""
    new = copy.deepcopy(description)
    changed = False
    mode = request.get("BillingMode")
    current = (description.get("BillingModeSummary") or {}).get("BillingMode", PROVISIONED)
    if request.get("ReplicaUpdates"):
        raise errors.validation("dynamoray does not support replicas yet")
    if request.get("GlobalSecondaryIndexUpdates"):  # secondary indexes: core/index_tables.py
        new = index_tables.updated_indexes(new, request, mode or current)
        changed = True
    if "StreamSpecification" in request:
        new = _update_stream(new, request["StreamSpecification"], now, stream_offsets or {})
        changed = True
    target = mode or current
    if mode is not None and mode != current:
        changed = True
        if mode == PAY_PER_REQUEST:
            new["BillingModeSummary"] = {
                "BillingMode": PAY_PER_REQUEST, "LastUpdateToPayPerRequestDateTime": now,
            }
        else:  # DynamoDB keeps when it last became on-demand (switches back are limited: core/throttle.py)
            last = (description.get("BillingModeSummary") or {}).get("LastUpdateToPayPerRequestDateTime")
            new["BillingModeSummary"] = {"BillingMode": PROVISIONED}
            if last is not None:
                new["BillingModeSummary"]["LastUpdateToPayPerRequestDateTime"] = last
    if "ProvisionedThroughput" in request or (mode == PROVISIONED and current != PROVISIONED):
        new["ProvisionedThroughput"] = _throughput(request, target)
        changed = True
    elif mode == PAY_PER_REQUEST and current != PAY_PER_REQUEST:
        new["ProvisionedThroughput"] = _throughput({}, PAY_PER_REQUEST)
    if "DeletionProtectionEnabled" in request:
        new["DeletionProtectionEnabled"] = bool(request["DeletionProtectionEnabled"])
        changed = True
    if request.get("OnDemandThroughput") is not None:  # on-demand maxima (core/throttle.py)
        new["OnDemandThroughput"] = throttle.on_demand_throughput(request["OnDemandThroughput"],
                                                                  description.get("OnDemandThroughput"))
        changed = True
    if "TableClass" in request:
        new["TableClassSummary"] = {"TableClass": request["TableClass"]}
        changed = True
    if "SSESpecification" in request:  # applied by core.sse once its key is known (operations/update_table.py)
        changed = True
    if not changed:
        raise errors.validation(
            "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
            "GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required"
        )
    return new


# --- streams -------------------------------------------------------------------------------------


def shard_count(description: dict) -> int:
    """How many shards (log partitions) the table has: 1 for a table made before shards existed."""
    return int(description.get(SHARDS, 1))


def with_shards(description: dict, shards: int) -> dict:
    """The description with its shard count set to ``shards`` unless it already has one."""
    return description if SHARDS in description else {**description, SHARDS: shards}


def public_description(description: dict) -> dict:
    """The description as DynamoDB shows it: without dynamoray's internal members."""
    return {k: v for k, v in description.items() if k not in INTERNAL_MEMBERS}


def stream_label(now: float) -> str:
    """A stream label: the creation time, ISO 8601 in UTC with milliseconds."""
    ms = int(round(now * 1000))
    moment = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}"


def stream_entries(description: dict, now: float) -> list[dict]:
    """The table's streams that are still readable (enabled, or disabled less than 24 h ago)."""
    return [
        entry for entry in description.get(STREAMS, ())
        if entry.get("DisabledAt") is None or now - entry["DisabledAt"] < STREAM_RETENTION_SECONDS
    ]


def _stream_view_type(spec: dict, creating: bool) -> str | None:
    """The view type a StreamSpecification enables, or None when it disables the stream."""
    view_type = spec.get("StreamViewType")
    if spec.get("StreamEnabled"):
        if not view_type:
            raise errors.stream_view_type_required(creating)
        return view_type
    if view_type:
        raise errors.stream_view_type_forbidden(creating)
    return None


def _enable_stream(description: dict, view_type: str, now: float, offsets: dict) -> dict:
    entries = stream_entries(description, now)
    labels = {entry["StreamLabel"] for entry in entries}
    created = now
    while stream_label(created) in labels:  # two streams enabled within one millisecond
        created += 0.001
    label = stream_label(created)
    entries.append({
        "StreamLabel": label, "StreamViewType": view_type, "CreationRequestDateTime": created,
        "StartOffsets": dict(offsets), "EndOffsets": None, "DisabledAt": None,
    })
    new = dict(description)
    new[STREAMS] = entries
    new["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view_type}
    new["LatestStreamLabel"] = label
    new["LatestStreamArn"] = f"{description['TableArn']}/stream/{label}"
    return new


def _update_stream(description: dict, spec: dict, now: float, offsets: dict) -> dict:
    view_type = _stream_view_type(spec, creating=False)
    enabled = (description.get("StreamSpecification") or {}).get("StreamEnabled", False)
    if view_type is not None:
        if enabled:
            raise errors.stream_already_enabled(description["TableName"])
        return _enable_stream(description, view_type, now, offsets)
    if not enabled:
        raise errors.no_stream_to_disable(description["TableName"])
    entries = []
    for entry in stream_entries(description, now):
        if entry["EndOffsets"] is None:
            entry = {**entry, "EndOffsets": dict(offsets), "DisabledAt": now}
        entries.append(entry)
    new = {k: v for k, v in description.items() if k != "StreamSpecification"}
    new[STREAMS] = entries
    return new
