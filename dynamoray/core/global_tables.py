"""Global tables in the table description: replicas, their status, and the 2017 API's view (pure).

A table with replicas lists every *other* region holding it under ``Replicas`` (``RegionName``,
``ReplicaStatus``), with ``GlobalTableVersion``.  ``ReplicaUpdates`` (UpdateTable, version
2019.11.21) and ``CreateGlobalTable``/``UpdateGlobalTable`` (version 2017.11.29) change that list;
the machinery behind both is the same (``gateway/replication.py``, ``actors/replicator.py``).
A replica needs the table's stream with NEW_AND_OLD_IMAGES: the 2019 API enables it if the table
has none, and a stream of another view type is refused, as is disabling the stream while the
table has replicas.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable

from . import errors

CURRENT_VERSION = "2019.11.21"
LEGACY_VERSION = "2017.11.29"
NEW_AND_OLD_IMAGES = "NEW_AND_OLD_IMAGES"
CREATING, ACTIVE, DELETING, UPDATING = "CREATING", "ACTIVE", "DELETING", "UPDATING"
# UpdateTable members whose change reaches every replica (version 2019.11.21 keeps them in sync;
# table class, deletion protection, tags, PITR and read capacity overrides stay per replica)
SYNCED_MEMBERS = ("BillingMode", "ProvisionedThroughput", "SSESpecification", "GlobalSecondaryIndexUpdates")


def has_replicas(description: dict) -> bool:
    return bool(description.get("Replicas"))


def replica_regions(description: dict) -> list[str]:
    """The other regions holding the table (whatever their status)."""
    return [entry["RegionName"] for entry in description.get("Replicas") or ()]


def replica_status(description: dict, region: str) -> str | None:
    for entry in description.get("Replicas") or ():
        if entry["RegionName"] == region:
            return entry["ReplicaStatus"]
    return None


def stream_enabled(description: dict) -> bool:
    return bool((description.get("StreamSpecification") or {}).get("StreamEnabled"))


def check_stream(description: dict) -> None:
    """A replica needs NEW_AND_OLD_IMAGES: a stream of another view type is refused."""
    spec = description.get("StreamSpecification") or {}
    if spec.get("StreamEnabled") and spec.get("StreamViewType") != NEW_AND_OLD_IMAGES:
        raise errors.replica_stream_type(description["TableName"], spec.get("StreamViewType"))


def check_stream_update(description: dict, request: dict) -> None:
    """UpdateTable may not disable the stream of a table with replicas."""
    spec = request.get("StreamSpecification")
    if spec is not None and not spec.get("StreamEnabled") and has_replicas(description):
        raise errors.replica_stream_disabled()


def plan(description: dict, updates: list[dict], local_region: str,
         known_regions: Iterable[str]) -> tuple[list[str], list[str]]:
    """Validate UpdateTable's ``ReplicaUpdates``: (regions to add, regions to remove)."""
    known = set(known_regions)
    current = set(replica_regions(description))
    creates: list[str] = []
    deletes: list[str] = []
    for update in updates:
        actions = [k for k in ("Create", "Update", "Delete") if update.get(k) is not None]
        if len(actions) != 1:
            raise errors.replica_update_member()
        region = update[actions[0]]["RegionName"]
        if region == local_region:
            raise errors.replica_in_own_region(region)
        if region not in known:
            raise errors.unknown_region(region)
        if actions[0] == "Create":
            if region in current or region in creates:
                raise errors.replica_exists(description["TableName"], region)
            creates.append(region)
        elif region not in current:
            raise errors.replica_missing(description["TableName"], region)
        elif actions[0] == "Delete":
            deletes.append(region)
    if creates:
        check_stream(description)
    return creates, deletes


def with_replica(description: dict, region: str, status: str, version: str | None = None) -> dict:
    """The description with ``region``'s replica in ``status`` (added if new)."""
    new = copy.deepcopy(description)
    entries = [e for e in new.get("Replicas") or () if e["RegionName"] != region]
    entries.append({"RegionName": region, "ReplicaStatus": status})
    new["Replicas"] = sorted(entries, key=lambda e: e["RegionName"])
    new["GlobalTableVersion"] = version or description.get("GlobalTableVersion") or CURRENT_VERSION
    return new


def without_replica(description: dict, region: str) -> dict:
    new = copy.deepcopy(description)
    entries = [e for e in new.get("Replicas") or () if e["RegionName"] != region]
    if entries:
        new["Replicas"] = entries
    else:
        new.pop("Replicas", None)
        new.pop("GlobalTableVersion", None)
    return new


def with_group(description: dict, regions: Iterable[str], local_region: str, version: str) -> dict:
    """The description of a member of the replica group ``regions`` (every other one ACTIVE,
    those being deleted left as they are)."""
    new = description
    for region in sorted(set(regions) - {local_region}):
        if replica_status(new, region) != DELETING:
            new = with_replica(new, region, ACTIVE, version)
    return new


def replica_definition(description: dict) -> dict:
    """A CreateTable request that makes the same table in another region: same keys, indexes,
    billing and stream (what a new replica is created from)."""
    out: dict[str, Any] = {
        "TableName": description["TableName"],
        "KeySchema": copy.deepcopy(description["KeySchema"]),
        "AttributeDefinitions": copy.deepcopy(description["AttributeDefinitions"]),
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": NEW_AND_OLD_IMAGES},
    }
    mode = (description.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    out["BillingMode"] = mode
    if mode == "PROVISIONED":
        throughput = description.get("ProvisionedThroughput") or {}
        out["ProvisionedThroughput"] = {"ReadCapacityUnits": throughput.get("ReadCapacityUnits", 1),
                                        "WriteCapacityUnits": throughput.get("WriteCapacityUnits", 1)}
    for member in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
        entries = []
        for index in description.get(member) or ():
            entry = {k: copy.deepcopy(index[k]) for k in ("IndexName", "KeySchema", "Projection")}
            if member == "GlobalSecondaryIndexes" and mode == "PROVISIONED":
                throughput = index.get("ProvisionedThroughput") or {}
                entry["ProvisionedThroughput"] = {"ReadCapacityUnits": throughput.get("ReadCapacityUnits", 1),
                                                  "WriteCapacityUnits": throughput.get("WriteCapacityUnits", 1)}
            entries.append(entry)
        if entries:
            out[member] = entries
    return out


def global_table_description(description: dict, local_region: str, account_id: str) -> dict:
    """The 2017 API's GlobalTableDescription of a table with replicas."""
    regions = sorted(set(replica_regions(description)) | {local_region})
    statuses = {e["RegionName"]: e["ReplicaStatus"] for e in description.get("Replicas") or ()}
    creating = any(s == CREATING for s in statuses.values())
    name = description["TableName"]
    return {
        "ReplicationGroup": [{"RegionName": r, "ReplicaStatus": statuses.get(r, ACTIVE)} for r in regions],
        "GlobalTableArn": f"arn:aws:dynamodb::{account_id}:global-table/{name}",
        "CreationDateTime": description.get("CreationDateTime"),
        "GlobalTableStatus": "CREATING" if creating else ACTIVE,
        "GlobalTableName": name,
    }


# --- settings kept in sync across the replicas (version 2019.11.21) ---------------------------------


def propagates(request: dict) -> bool:
    """Whether an UpdateTable request changes a setting every replica shares."""
    return any(request.get(member) is not None for member in SYNCED_MEMBERS)


def _mode(description: dict) -> str:
    return (description.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")


def _sse_kms(description: dict) -> bool:
    return bool(description.get("SSEDescription"))


def _throughput(described: dict | None) -> dict:
    described = described or {}
    return {"ReadCapacityUnits": described.get("ReadCapacityUnits", 1),
            "WriteCapacityUnits": described.get("WriteCapacityUnits", 1)}


def _indexes(description: dict) -> dict[str, dict]:
    return {index["IndexName"]: index for index in description.get("GlobalSecondaryIndexes") or ()
            if index.get("IndexStatus") != "DELETING"}


def replicated_settings(description: dict, ttl_setting: dict | None) -> dict:
    """The settings of the table that every replica takes (sent with ``UpdateReplicaSettings``):
    billing mode and throughput, the kind of encryption key (each region uses its own key), TTL,
    and the global secondary indexes' definitions."""
    mode = _mode(description)
    ttl_on = (ttl_setting or {}).get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
    out: dict[str, Any] = {
        "BillingMode": mode, "SSEKms": _sse_kms(description),
        "TimeToLive": {"Enabled": ttl_on, "AttributeName": (ttl_setting or {}).get("AttributeName")},
        "AttributeDefinitions": copy.deepcopy(description["AttributeDefinitions"]),
        "GlobalSecondaryIndexes": [
            {k: copy.deepcopy(index[k]) for k in ("IndexName", "KeySchema", "Projection")}
            | ({"ProvisionedThroughput": _throughput(index.get("ProvisionedThroughput"))} if mode == "PROVISIONED" else {})
            for index in _indexes(description).values()],
    }
    if mode == "PROVISIONED":
        out["ProvisionedThroughput"] = _throughput(description.get("ProvisionedThroughput"))
    return out


def _index_step(description: dict, settings: dict) -> dict | None:
    """One GSI change towards ``settings`` (DynamoDB takes one create or delete per UpdateTable)."""
    here, wanted = _indexes(description), {i["IndexName"]: i for i in settings.get("GlobalSecondaryIndexes") or ()}
    for name in sorted(set(here) - set(wanted)):
        return {"GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": name}}]}
    for name in sorted(set(wanted) - set(here)):
        index = wanted[name]
        names = {element["AttributeName"] for element in index["KeySchema"]}
        definitions = [d for d in settings["AttributeDefinitions"] if d["AttributeName"] in names]
        return {"AttributeDefinitions": definitions, "GlobalSecondaryIndexUpdates": [{"Create": copy.deepcopy(index)}]}
    return None


def settings_update(description: dict, ttl_setting: dict | None, settings: dict) -> tuple[dict | None, dict | None]:
    """What a replica changes to take ``settings`` (:func:`replicated_settings` of another
    region): an UpdateTable request (None if nothing differs; at most one index change, so a
    replica may need several rounds) and a TimeToLiveSpecification (None if TTL is the same)."""
    request: dict[str, Any] = {}
    mode = settings["BillingMode"]
    if mode != _mode(description):
        request["BillingMode"] = mode
    wanted = settings.get("ProvisionedThroughput")
    if mode == "PROVISIONED" and wanted and _throughput(description.get("ProvisionedThroughput")) != wanted:
        request["ProvisionedThroughput"] = dict(wanted)
    if bool(settings.get("SSEKms")) != _sse_kms(description):
        request["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"} if settings["SSEKms"] else {"Enabled": False}
    step = _index_step(description, settings)
    if step is not None:
        request.update(step)
    ttl_spec = None
    ttl, on = settings.get("TimeToLive") or {}, (ttl_setting or {}).get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
    if bool(ttl.get("Enabled")) != on or (on and ttl.get("AttributeName") != (ttl_setting or {}).get("AttributeName")):
        ttl_spec = {"Enabled": bool(ttl.get("Enabled")),
                    "AttributeName": ttl.get("AttributeName") or (ttl_setting or {}).get("AttributeName")}
    return (request or None), ttl_spec


def with_updating(description: dict) -> dict:
    """The description with every ACTIVE replica UPDATING: a settings change is on its way to it."""
    new = description
    for region in replica_regions(description):
        if replica_status(description, region) == ACTIVE:
            new = with_replica(new, region, UPDATING)
    return new

