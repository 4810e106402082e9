"""Secondary indexes in table metadata: CreateTable's and UpdateTable's index parameters, checked
with DynamoDB's rules and messages, and the index entries of a table description.

A description keeps each index in DescribeTable's shape (``LocalSecondaryIndexes`` /
``GlobalSecondaryIndexes`` entries with ``IndexName``, ``KeySchema``, ``Projection``, ``IndexArn``,
and for GSIs ``IndexStatus``, ``ProvisionedThroughput`` and, while an online creation backfills,
``Backfilling``), plus the internal ``_IndexEpoch`` (``indexes.EPOCH``), bumped by every GSI created
or deleted.  The engines fill ``ItemCount`` and ``IndexSizeBytes`` when they describe a table.

An UpdateTable GSI Create puts the index in ``CREATING`` (``Backfilling: true``) and a Delete in
``DELETING``; :func:`finish_index_changes` is the step the engine takes once the partitions have
done their part: ``ACTIVE`` for a backfilled index, gone for a deleted one.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable

from . import errors, indexes, keys

PAY_PER_REQUEST = "PAY_PER_REQUEST"
LSI_MEMBER, GSI_MEMBER = "LocalSecondaryIndexes", "GlobalSecondaryIndexes"


def _throughput(entry: dict, name: str, mode: str) -> dict:
    given = entry.get("ProvisionedThroughput")
    if mode == PAY_PER_REQUEST:
        if given is not None:
            raise errors.index_throughput_forbidden(name)
        return {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    if given is None:
        raise errors.index_throughput_required(name)
    return {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": given["ReadCapacityUnits"],
            "WriteCapacityUnits": given["WriteCapacityUnits"]}


def _check_key_schema(entry: dict, defined: list[str]) -> list[str]:
    """An index's KeySchema, in DynamoDB's order of checks; returns its attribute names."""
    schema = entry["KeySchema"]
    names = [k["AttributeName"] for k in schema]
    if any(n not in defined for n in names):
        raise errors.key_attributes_not_defined(names, defined)
    if len(names) == 2 and names[0] == names[1]:
        raise errors.hash_and_range_same_name()
    if schema[0]["KeyType"] != "HASH":
        raise errors.invalid_key_schema("The first KeySchemaElement is not a HASH key type")
    if len(schema) == 2 and schema[1]["KeyType"] != "RANGE":
        raise errors.invalid_key_schema("The second KeySchemaElement is not a RANGE key type")
    return names


def _check_projection(entry: dict) -> None:
    projection = entry.get("Projection") or {}
    kind = projection.get("ProjectionType")
    if kind is None:
        raise errors.unknown_projection_type(None)
    if projection.get("NonKeyAttributes") is not None and kind != indexes.INCLUDE:
        raise errors.non_key_attributes_not_allowed(kind)


def _projection(entry: dict) -> dict:
    projection = entry["Projection"]
    out = {"ProjectionType": projection["ProjectionType"]}
    if projection.get("NonKeyAttributes"):
        out["NonKeyAttributes"] = list(projection["NonKeyAttributes"])
    return out


def _lsi_entries(request: dict, table: keys.KeySchema, defined: list[str], seen: set, arn: str) -> list[dict]:
    lsis = request["LocalSecondaryIndexes"]
    if not lsis:
        raise errors.index_list_empty(LSI_MEMBER)
    if table.range_name is None:
        raise errors.lsi_without_table_range()
    out = []
    for entry in lsis:
        name = entry["IndexName"]
        names = _check_key_schema(entry, defined)
        if len(names) != 2:
            raise errors.lsi_without_range(name)
        if names[0] != table.hash_name:
            raise errors.lsi_hash_mismatch(name, names[0], table.hash_name)
        _check_projection(entry)
        if name in seen:
            raise errors.duplicate_index_name(name)
        seen.add(name)
        out.append({"IndexName": name, "KeySchema": copy.deepcopy(entry["KeySchema"]),
                    "Projection": _projection(entry), "IndexSizeBytes": 0, "ItemCount": 0,
                    "IndexArn": f"{arn}/index/{name}"})
    if len(out) > indexes.MAX_LSI:
        raise errors.too_many_lsi(indexes.MAX_LSI)
    return out


def _gsi_entry(entry: dict, defined: list[str], mode: str, arn: str, status: str = "ACTIVE") -> dict:
    name = entry["IndexName"]
    _check_key_schema(entry, defined)
    _check_projection(entry)
    if mode == PAY_PER_REQUEST and entry.get("ProvisionedThroughput") is not None:
        raise errors.index_throughput_forbidden(name)
    out = {"IndexName": name, "KeySchema": copy.deepcopy(entry["KeySchema"]), "Projection": _projection(entry),
           "IndexStatus": status}
    if status == "CREATING":
        out["Backfilling"] = True
    out.update({"ProvisionedThroughput": _throughput(entry, name, mode), "IndexSizeBytes": 0, "ItemCount": 0,
                "IndexArn": f"{arn}/index/{name}"})
    return out


def _gsi_entries(request: dict, defined: list[str], seen: set, mode: str, arn: str) -> list[dict]:
    gsis = request["GlobalSecondaryIndexes"]
    if not gsis:
        raise errors.index_list_empty(GSI_MEMBER)
    out = []
    for entry in gsis:
        name = entry["IndexName"]
        _check_key_schema(entry, defined)
        _check_projection(entry)
        if mode == PAY_PER_REQUEST and entry.get("ProvisionedThroughput") is not None:
            raise errors.index_throughput_forbidden(name)
        if name in seen:
            raise errors.duplicate_index_name(name)
        seen.add(name)
        out.append(entry)
    if len(out) > indexes.MAX_GSI:
        raise errors.too_many_gsi(indexes.MAX_GSI)
    return [_gsi_entry(entry, defined, mode, arn) for entry in out]


def _check_non_key_total(entries: list[dict]) -> None:
    count = sum(len((e.get("Projection") or {}).get("NonKeyAttributes") or ()) for e in entries)
    if count > indexes.MAX_NON_KEY_ATTRIBUTES:
        raise errors.too_many_projected_attributes(indexes.MAX_NON_KEY_ATTRIBUTES, count)


def created_indexes(request: dict, table: keys.KeySchema, mode: str, arn: str) -> tuple[dict, list[str]]:
    """CreateTable's indexes, checked: the description members to add and the index key names
    (for the check that every AttributeDefinition is used)."""
    defined = [d["AttributeName"] for d in request["AttributeDefinitions"]]
    members: dict[str, list[dict]] = {}
    seen: set[str] = set()
    if request.get(LSI_MEMBER) is not None:
        members[LSI_MEMBER] = _lsi_entries(request, table, defined, seen, arn)
    if request.get(GSI_MEMBER) is not None:
        members[GSI_MEMBER] = _gsi_entries(request, defined, seen, mode, arn)
    _check_non_key_total([e for entries in members.values() for e in entries])
    used = [k["AttributeName"] for entries in members.values() for e in entries for k in e["KeySchema"]]
    return members, used


def has_indexes(request: dict) -> bool:
    return request.get(LSI_MEMBER) is not None or request.get(GSI_MEMBER) is not None


# --- UpdateTable: GlobalSecondaryIndexUpdates ----------------------------------------------------------


def _actions(updates: list[dict]) -> list[tuple[str, dict]]:
    found, names = [], set()
    for update in updates:
        present = [(kind, update[kind]) for kind in ("Update", "Create", "Delete") if update.get(kind) is not None]
        if not present:
            raise errors.index_update_empty()
        if len(present) > 1:
            raise errors.index_update_ambiguous()
        name = present[0][1]["IndexName"]
        if name in names:
            raise errors.index_update_repeated(name)
        names.add(name)
        found.append(present[0])
    if sum(1 for kind, _ in found if kind != "Update") > 1:
        raise errors.one_online_index()
    return found


def _merged_definitions(description: dict, request: dict) -> list[dict]:
    current = {d["AttributeName"]: d["AttributeType"] for d in description["AttributeDefinitions"]}
    merged = copy.deepcopy(description["AttributeDefinitions"])
    for d in request.get("AttributeDefinitions") or ():
        existing = current.get(d["AttributeName"])
        if existing is not None and existing != d["AttributeType"]:
            raise errors.attribute_redefined(d["AttributeName"], existing, d["AttributeType"])
        if existing is None:
            merged.append({"AttributeName": d["AttributeName"], "AttributeType": d["AttributeType"]})
            current[d["AttributeName"]] = d["AttributeType"]
    return merged


def _mode(description: dict) -> str:
    return (description.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")


def _gsi(description: dict, name: str) -> dict | None:
    return next((e for e in description.get(GSI_MEMBER) or () if e["IndexName"] == name), None)


def _create(new: dict, request: dict, spec: dict, mode: str) -> None:
    name = spec["IndexName"]
    existing = [e["IndexName"] for member in (LSI_MEMBER, GSI_MEMBER) for e in new.get(member) or ()]
    if name in existing:
        raise errors.index_already_exists()
    defined = [d["AttributeName"] for d in request.get("AttributeDefinitions") or ()]
    entry = _gsi_entry(spec, defined, mode, new["TableArn"], status="CREATING")
    gsis = list(new.get(GSI_MEMBER) or ())
    if len(gsis) + 1 > indexes.MAX_GSI:
        raise errors.too_many_gsi(indexes.MAX_GSI)
    _check_non_key_total(gsis + list(new.get(LSI_MEMBER) or ()) + [entry])
    new["AttributeDefinitions"] = _merged_definitions(new, request)
    new[GSI_MEMBER] = gsis + [entry]


def updated_indexes(description: dict, request: dict, mode: str | None = None) -> dict:
    """The description after UpdateTable's ``GlobalSecondaryIndexUpdates`` (``mode``: the billing
    mode the table will have)."""
    actions = _actions(request.get("GlobalSecondaryIndexUpdates") or [])
    new = copy.deepcopy(description)
    mode = mode or _mode(description)
    if any(kind != "Update" for kind, _ in actions) and any(
            e.get("IndexStatus") in ("CREATING", "DELETING") for e in new.get(GSI_MEMBER) or ()):
        raise errors.one_online_index()
    for kind, spec in actions:
        name = spec["IndexName"]
        if kind == "Create":
            _create(new, request, spec, mode)
            new[indexes.EPOCH] = int(new.get(indexes.EPOCH, 0)) + 1
            continue
        entry = _gsi(new, name)
        if entry is None:
            raise errors.index_not_found(name, description["TableName"])
        if kind == "Delete":
            entry["IndexStatus"] = "DELETING"
            entry.pop("Backfilling", None)
            new[indexes.EPOCH] = int(new.get(indexes.EPOCH, 0)) + 1
        else:
            entry["ProvisionedThroughput"] = _throughput(spec, name, mode)
    return new


def pending_changes(description: dict) -> tuple[list[str], list[str]]:
    """GSIs being created and being deleted."""
    gsis = description.get(GSI_MEMBER) or ()
    return ([e["IndexName"] for e in gsis if e.get("IndexStatus") == "CREATING"],
            [e["IndexName"] for e in gsis if e.get("IndexStatus") == "DELETING"])


def finish_index_changes(description: dict, backfilled: set[str] | frozenset) -> dict | None:
    """The description once the ``backfilled`` GSIs are ACTIVE and the deleted ones gone (their
    key attributes leave AttributeDefinitions when nothing else uses them); None if unchanged."""
    gsis = description.get(GSI_MEMBER) or []
    if not any(e.get("IndexStatus") == "DELETING" or e["IndexName"] in backfilled and
               e.get("IndexStatus") == "CREATING" for e in gsis):
        return None
    new = copy.deepcopy(description)
    kept = []
    for entry in new.get(GSI_MEMBER) or []:
        if entry.get("IndexStatus") == "DELETING":
            continue
        if entry["IndexName"] in backfilled and entry.get("IndexStatus") == "CREATING":
            entry["IndexStatus"] = "ACTIVE"
            entry.pop("Backfilling", None)
        kept.append(entry)
    if kept:
        new[GSI_MEMBER] = kept
    else:
        new.pop(GSI_MEMBER, None)
    used = {k["AttributeName"] for k in new["KeySchema"]}
    used |= {k["AttributeName"] for m in (LSI_MEMBER, GSI_MEMBER) for e in new.get(m) or () for k in e["KeySchema"]}
    new["AttributeDefinitions"] = [d for d in new["AttributeDefinitions"] if d["AttributeName"] in used]
    return new


# --- restores --------------------------------------------------------------------------------------


def create_request_members(source: dict, mode: str) -> dict[str, Any]:
    """A table's indexes as CreateTable parameters (a restore keeps them unless overridden)."""
    out: dict[str, Any] = {}
    lsis = [{"IndexName": e["IndexName"], "KeySchema": copy.deepcopy(e["KeySchema"]),
             "Projection": copy.deepcopy(e["Projection"])} for e in source.get(LSI_MEMBER) or ()]
    gsis = []
    for e in source.get(GSI_MEMBER) or ():
        if e.get("IndexStatus") == "DELETING":
            continue
        entry = {"IndexName": e["IndexName"], "KeySchema": copy.deepcopy(e["KeySchema"]),
                 "Projection": copy.deepcopy(e["Projection"])}
        if mode != PAY_PER_REQUEST:
            given = e.get("ProvisionedThroughput") or {}
            entry["ProvisionedThroughput"] = {"ReadCapacityUnits": given.get("ReadCapacityUnits") or 1,
                                              "WriteCapacityUnits": given.get("WriteCapacityUnits") or 1}
        gsis.append(entry)
    if lsis:
        out[LSI_MEMBER] = lsis
    if gsis:
        out[GSI_MEMBER] = gsis
    return out


# --- DescribeTable and write responses ------------------------------------------------------------


def describe_stats(description: dict, stats: Iterable[tuple[str, int, int]]) -> dict:
    """The description with each index's ItemCount and IndexSizeBytes, summed over the
    ``indexes.index_stats`` of every shard."""
    totals: dict[str, list[int]] = {}
    for name, count, size in stats:
        found = totals.setdefault(name, [0, 0])
        found[0] += count
        found[1] += size
    for member in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
        for entry in description.get(member) or ():
            count, size = totals.get(entry["IndexName"], (0, 0))
            entry["ItemCount"], entry["IndexSizeBytes"] = count, size
    return description


def collection_metrics(collection: tuple | None) -> dict | None:
    """ItemCollectionMetrics (ReturnItemCollectionMetrics=SIZE) of a write's item collection."""
    if collection is None:
        return None
    key, size = collection
    low = float(size // 1024 ** 3)
    return {"ItemCollectionKey": dict(key), "SizeEstimateRangeGB": [low, low + 1.0]}
