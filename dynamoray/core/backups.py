"""Backups and point-in-time recovery, pure: the backup catalog as a fold of its events, and the
shapes of the backup operations (time and ids come in as arguments).

- A **backup** is a table's items at one offset of its log (the *cut*), kept in a file (see
  ``actors/backups.py``); its ``BackupCreated`` event carries the source table's description at
  the cut, so the backup outlives the table.  USER backups are kept until deleted; a SYSTEM backup
  (made when a table with point-in-time recovery is deleted) expires after the recovery period.
- **Point-in-time recovery** is a per-table setting (``ContinuousBackupsChanged``, keyed by table
  id, so a re-created table starts without it).  The restorable window runs from the later of the
  moment it was enabled and ``now - RecoveryPeriodInDays`` to *now*: every write acknowledged
  before now is in the log, so dynamoray has no five-minute lag.
"""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass, field
from typing import Any

from ..schemas.events import BackupCreated, BackupDeleted, ContinuousBackupsChanged
from . import errors, index_tables, tables
from . import sse as table_sse

USER, SYSTEM = "USER", "SYSTEM"
DEFAULT_RECOVERY_DAYS = 35
DAY = 86_400.0  # seconds


@dataclass
class BackupCatalog:
    backups: dict[str, BackupCreated] = field(default_factory=dict)  # ARN -> record, oldest first
    pitr: dict[str, dict] = field(default_factory=dict)  # table id -> point-in-time recovery spec

    def backup(self, arn: str) -> BackupCreated:
        found = self.backups.get(arn)
        if found is None:
            raise errors.backup_not_found(arn)
        return found


def evolve(state: BackupCatalog, event: Any) -> None:
    if isinstance(event, BackupCreated):
        state.backups[event.backup_arn] = event
    elif isinstance(event, BackupDeleted):
        state.backups.pop(event.backup_arn, None)
    elif isinstance(event, ContinuousBackupsChanged):
        state.pitr[event.table_id] = dict(event.spec)
    else:
        raise ValueError(f"not a backup event: {type(event).__name__}")


def backup_arn(table_arn: str, created_ms: int, suffix: str) -> str:
    """``<table ARN>/backup/<creation ms, 14 digits>-<8 hex>``, as DynamoDB names backups."""
    return f"{table_arn}/backup/{created_ms:014d}-{suffix}"


def expired(backup: BackupCreated, now_ms: int) -> bool:
    return backup.expires is not None and backup.expires <= now_ms


# --- shapes -------------------------------------------------------------------------------------


def details(b: BackupCreated, status: str = "AVAILABLE") -> dict:
    out = {
        "BackupArn": b.backup_arn, "BackupName": b.backup_name, "BackupSizeBytes": b.size_bytes,
        "BackupStatus": status, "BackupType": b.backup_type, "BackupCreationDateTime": b.created / 1000,
    }
    if b.expires is not None:
        out["BackupExpiryDateTime"] = b.expires / 1000
    return out


def _billing_mode(description: dict) -> str:
    return (description.get("BillingModeSummary") or {}).get("BillingMode", tables.PROVISIONED)


def description(b: BackupCreated, status: str = "AVAILABLE") -> dict:
    """DescribeBackup's ``BackupDescription``."""
    source = b.description
    throughput = source.get("ProvisionedThroughput") or {}
    out = {
        "BackupDetails": details(b, status),
        "SourceTableDetails": {
            "TableName": b.table_name, "TableId": b.table_id, "TableArn": source.get("TableArn"),
            "TableSizeBytes": b.size_bytes, "KeySchema": copy.deepcopy(source["KeySchema"]),
            "TableCreationDateTime": source.get("CreationDateTime"),
            "ProvisionedThroughput": {"ReadCapacityUnits": throughput.get("ReadCapacityUnits", 0),
                                      "WriteCapacityUnits": throughput.get("WriteCapacityUnits", 0)},
            "ItemCount": b.item_count, "BillingMode": _billing_mode(source),
        },
        "SourceTableFeatureDetails": {},
    }
    if (source.get("StreamSpecification") or {}).get("StreamEnabled"):
        out["SourceTableFeatureDetails"]["StreamDescription"] = copy.deepcopy(source["StreamSpecification"])
    return out


def summary(b: BackupCreated) -> dict:
    """A ListBackups ``BackupSummaries`` entry."""
    out = {"TableName": b.table_name, "TableId": b.table_id, "TableArn": b.description.get("TableArn"),
           **details(b)}
    return out


def _sort_key(arn: str) -> str:
    return arn.rpartition("/backup/")[2]  # creation ms (14 digits) then a random suffix


def table_name_of(name_or_arn: str) -> str:
    """ListBackups' and the PITR calls' table parameters take a name or a table ARN."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn.partition(":table/")[2].split("/")[0]
    return name_or_arn


def list_backups(state: BackupCatalog, request: dict, now_ms: int) -> tuple[list[dict], str | None]:
    """The page of ``BackupSummaries`` a ListBackups request asks for, and the ARN it stops at
    when there are more (``LastEvaluatedBackupArn``).  Oldest first."""
    wanted_type = request.get("BackupType") or USER
    table = table_name_of(request["TableName"]) if request.get("TableName") else None
    lower, upper = request.get("TimeRangeLowerBound"), request.get("TimeRangeUpperBound")
    start = request.get("ExclusiveStartBackupArn")
    found = []
    for b in sorted(state.backups.values(), key=lambda b: _sort_key(b.backup_arn)):
        created = b.created / 1000
        if expired(b, now_ms) or (wanted_type != "ALL" and b.backup_type != wanted_type):
            continue
        if (table is not None and b.table_name != table) or (start and _sort_key(b.backup_arn) <= _sort_key(start)):
            continue
        if (lower is not None and created < parse_time(lower)) or (upper is not None and created >= parse_time(upper)):
            continue
        found.append(b)
    limit = request.get("Limit")
    if limit is not None and len(found) > limit:
        return [summary(b) for b in found[:limit]], found[limit - 1].backup_arn
    return [summary(b) for b in found], None


# --- restores -------------------------------------------------------------------------------------


def restored_description(source: dict, request: dict, *, name: str, arn: str, table_id: str, now: float,
                         restore_summary: dict) -> dict:
    """The description of a table restored from ``source`` (the table's description at the cut)
    with RestoreTableFromBackup's / RestoreTableToPointInTime's overrides, status CREATING.

    Like DynamoDB, the restored table keeps the key schema, billing mode, throughput and table
    class, and not the stream, TTL, tags, deletion protection or point-in-time recovery.  It has
    the source's shard count (``tables.SHARDS``; 1 for a source made before shards existed)."""
    mode = request.get("BillingModeOverride") or _billing_mode(source)
    create = {
        "TableName": name, "KeySchema": copy.deepcopy(source["KeySchema"]),
        "AttributeDefinitions": copy.deepcopy(source["AttributeDefinitions"]), "BillingMode": mode,
        "TableClass": (source.get("TableClassSummary") or {}).get("TableClass"),
    }
    _restored_indexes(create, source, request, mode)
    throughput = request.get("ProvisionedThroughputOverride")
    if throughput is None and mode == tables.PROVISIONED and _billing_mode(source) == tables.PROVISIONED:
        given = source.get("ProvisionedThroughput") or {}
        throughput = {"ReadCapacityUnits": given.get("ReadCapacityUnits"),
                      "WriteCapacityUnits": given.get("WriteCapacityUnits")}
    if throughput is not None:
        create["ProvisionedThroughput"] = throughput
    out = tables.new_table_description(create, arn=arn, table_id=table_id, now=now)
    out[tables.SHARDS] = tables.shard_count(source)  # as many shards as the source had
    out["TableStatus"] = "CREATING"
    out["RestoreSummary"] = dict(restore_summary)
    # SSE: the source's key, or the override's (its KMSMasterKeyId already resolved to an ARN by the
    # operation, gateway/sse.py)
    override = request.get("SSESpecificationOverride")
    return table_sse.restored(out, source, table_sse.requested(override), (override or {}).get("KMSMasterKeyId"))


def _restored_indexes(create: dict, source: dict, request: dict, mode: str) -> None:
    """The source's secondary indexes, unless the request overrides them (an empty override drops
    them); AttributeDefinitions keep the key attributes still used."""
    kept = index_tables.create_request_members(source, mode)
    for member, override in (("GlobalSecondaryIndexes", "GlobalSecondaryIndexOverride"),
                             ("LocalSecondaryIndexes", "LocalSecondaryIndexOverride")):
        chosen = request[override] if request.get(override) is not None else kept.get(member)
        if chosen:
            create[member] = chosen
    used = {k["AttributeName"] for k in create["KeySchema"]}
    used |= {k["AttributeName"] for member in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
             for entry in create.get(member) or () for k in entry["KeySchema"]}
    create["AttributeDefinitions"] = [d for d in create["AttributeDefinitions"] if d["AttributeName"] in used]


def restore_summary(*, restore_time: float, in_progress: bool, backup_arn: str | None = None,
                    table_arn: str | None = None) -> dict:
    out: dict = {}
    if backup_arn is not None:
        out["SourceBackupArn"] = backup_arn
    if table_arn is not None:
        out["SourceTableArn"] = table_arn
    out["RestoreDateTime"] = restore_time
    out["RestoreInProgress"] = in_progress
    return out


# --- point-in-time recovery ----------------------------------------------------------------------


def updated_pitr(current: dict | None, spec: dict, now: float) -> dict:
    """The new setting for an UpdateContinuousBackups ``PointInTimeRecoverySpecification``."""
    enabled = bool(spec["PointInTimeRecoveryEnabled"])
    was = current or {}
    days = spec.get("RecoveryPeriodInDays") or was.get("RecoveryPeriodInDays") or DEFAULT_RECOVERY_DAYS
    if not enabled:
        return {"PointInTimeRecoveryEnabled": False, "RecoveryPeriodInDays": days}
    since = was.get("EnabledAt") if was.get("PointInTimeRecoveryEnabled") else None
    return {"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": days,
            "EnabledAt": now if since is None else since}


def enabled(spec: dict | None) -> bool:
    return bool(spec and spec.get("PointInTimeRecoveryEnabled"))


def window(spec: dict, now: float) -> tuple[float, float]:
    """(earliest, latest) restorable times, in seconds."""
    return max(spec["EnabledAt"], now - spec["RecoveryPeriodInDays"] * DAY), now


def continuous_description(spec: dict | None, now: float) -> dict:
    """DescribeContinuousBackups' ``ContinuousBackupsDescription``."""
    if not enabled(spec):
        return {"ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"}}
    earliest, latest = window(spec, now)
    return {"ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": {
        "PointInTimeRecoveryStatus": "ENABLED", "RecoveryPeriodInDays": spec["RecoveryPeriodInDays"],
        "EarliestRestorableDateTime": earliest, "LatestRestorableDateTime": latest,
    }}


def restore_time(spec: dict | None, table: str, request: dict, now: float) -> float:
    """The instant (seconds) a RestoreTableToPointInTime asks for, checked against the window."""
    if not enabled(spec):
        raise errors.point_in_time_recovery_unavailable(table)
    latest_wanted = request.get("UseLatestRestorableTime")
    given = request.get("RestoreDateTime")
    if latest_wanted and given is not None:
        raise errors.validation("Only one of RestoreDateTime or UseLatestRestorableTime can be specified")
    if not latest_wanted and given is None:
        raise errors.validation("Either RestoreDateTime or UseLatestRestorableTime must be specified")
    earliest, latest = window(spec, now)
    when = latest if latest_wanted else parse_time(given)
    if not earliest <= when <= latest:
        raise errors.invalid_restore_time(_iso(earliest), _iso(latest))
    return when


def _iso(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: Any) -> float:
    """A timestamp parameter: epoch seconds (number or numeric string) or ISO 8601."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        pass
    try:
        moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise errors.validation(f"Invalid timestamp: {value}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()
