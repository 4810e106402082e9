"""The pure side of backups and PITR (``core.backups``): settings, windows, restored descriptions."""

import pytest

from dynamoray.core import backups, tables
from dynamoray.core.errors import DynamoError
from dynamoray.schemas.events import BackupCreated, BackupDeleted, ContinuousBackupsChanged

DAY = 86_400.0


def source(mode: str = "PROVISIONED", **extra) -> dict:
    request = {"TableName": "src", "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}],
               "AttributeDefinitions": [{"AttributeName": "p", "AttributeType": "S"}], "BillingMode": mode,
               "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
               "DeletionProtectionEnabled": True, **extra}
    if mode == "PROVISIONED":
        request["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 6}
    return tables.new_table_description(request, arn="arn:aws:dynamodb:r:1:table/src", table_id="id-1", now=10.0)


def restored(src: dict, **request) -> dict:
    summary = backups.restore_summary(restore_time=5.0, in_progress=True, backup_arn="b")
    return backups.restored_description(src, {"TargetTableName": "dst", **request}, name="dst",
                                        arn="arn:aws:dynamodb:r:1:table/dst", table_id="id-2", now=20.0,
                                        restore_summary=summary)


def test_a_restored_table_keeps_keys_and_capacity_but_not_streams_or_protection():
    out = restored(source())
    assert (out["TableName"], out["TableId"], out["TableStatus"]) == ("dst", "id-2", "CREATING")
    assert out["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert out["KeySchema"] == source()["KeySchema"] and out["CreationDateTime"] == 20.0
    assert "StreamSpecification" not in out and out["DeletionProtectionEnabled"] is False
    assert out["RestoreSummary"] == {"SourceBackupArn": "b", "RestoreDateTime": 5.0, "RestoreInProgress": True}


def test_billing_overrides_follow_create_tables_rules():
    on_demand = restored(source(), BillingModeOverride="PAY_PER_REQUEST")
    assert on_demand["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    provisioned = restored(source("PAY_PER_REQUEST"), BillingModeOverride="PROVISIONED",
                           ProvisionedThroughputOverride={"ReadCapacityUnits": 1, "WriteCapacityUnits": 2})
    assert provisioned["ProvisionedThroughput"]["WriteCapacityUnits"] == 2
    with pytest.raises(DynamoError, match="must both be specified"):
        restored(source("PAY_PER_REQUEST"), BillingModeOverride="PROVISIONED")
    with pytest.raises(DynamoError, match="Neither ReadCapacityUnits nor WriteCapacityUnits"):
        restored(source("PAY_PER_REQUEST"), ProvisionedThroughputOverride={"ReadCapacityUnits": 1,
                                                                           "WriteCapacityUnits": 2})
    index = {"IndexName": "gsi", "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "ALL"}}
    with pytest.raises(DynamoError, match="ProvisionedThroughput must be specified for index: gsi"):
        restored(source(), GlobalSecondaryIndexOverride=[index])  # an index override follows CreateTable's rules


def test_pitr_keeps_its_start_while_enabled_and_restarts_after_a_disable():
    on = backups.updated_pitr(None, {"PointInTimeRecoveryEnabled": True}, now=100.0)
    assert on == {"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 35, "EnabledAt": 100.0}
    again = backups.updated_pitr(on, {"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 2}, now=200.0)
    assert again["EnabledAt"] == 100.0 and again["RecoveryPeriodInDays"] == 2
    off = backups.updated_pitr(again, {"PointInTimeRecoveryEnabled": False}, now=300.0)
    assert not backups.enabled(off)
    assert backups.updated_pitr(off, {"PointInTimeRecoveryEnabled": True}, now=400.0)["EnabledAt"] == 400.0


def test_the_window_is_bounded_by_the_recovery_period_and_ends_now():
    spec = {"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 2, "EnabledAt": 0.0}
    assert backups.window(spec, now=10 * DAY) == (8 * DAY, 10 * DAY)
    assert backups.window(spec, now=DAY) == (0.0, DAY)
    described = backups.continuous_description(spec, now=10 * DAY)["PointInTimeRecoveryDescription"]
    assert described["EarliestRestorableDateTime"] == 8 * DAY


def test_restore_time_checks():
    spec = {"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 35, "EnabledAt": 1000.0}
    assert backups.restore_time(spec, "t", {"UseLatestRestorableTime": True}, now=2000.0) == 2000.0
    assert backups.restore_time(spec, "t", {"RestoreDateTime": 1500.5}, now=2000.0) == 1500.5
    with pytest.raises(DynamoError) as info:
        backups.restore_time(spec, "t", {"RestoreDateTime": 999.0}, now=2000.0)
    assert info.value.error_type == "InvalidRestoreTimeException"
    assert info.value.message == ("Invalid restore time specified. RestoreDateTime must be between "
                                  "1970-01-01T00:16:40.000Z and 1970-01-01T00:33:20.000Z")
    with pytest.raises(DynamoError) as info:
        backups.restore_time(None, "t", {"UseLatestRestorableTime": True}, now=2000.0)
    assert info.value.error_type == "PointInTimeRecoveryUnavailableException"
    for request in ({}, {"UseLatestRestorableTime": True, "RestoreDateTime": 1500.0}):
        with pytest.raises(DynamoError) as info:
            backups.restore_time(spec, "t", request, now=2000.0)
        assert info.value.error_type == "ValidationException"


def test_timestamps_parse_from_numbers_and_iso_8601():
    assert backups.parse_time(12.5) == backups.parse_time("12.5") == 12.5
    assert backups.parse_time("1970-01-01T00:00:10Z") == 10.0
    assert backups.parse_time("1970-01-01T01:00:10+01:00") == 10.0
    with pytest.raises(DynamoError):
        backups.parse_time("yesterday")


def _backup(arn_ms: int, name: str, kind: str = "USER", table: str = "src", expires=None) -> BackupCreated:
    arn = backups.backup_arn(f"arn:aws:dynamodb:r:1:table/{table}", arn_ms, "0000abcd")
    return BackupCreated(arn, name, kind, "id-1", table, arn_ms, 7, 1, 10, "f", {"TableArn": "x"}, expires)


def test_the_catalog_folds_its_events_and_lists_oldest_first():
    state = backups.BackupCatalog()
    for b in (_backup(3000, "c"), _backup(1000, "a"), _backup(2000, "b", "SYSTEM", expires=5000),
              _backup(4000, "d", table="other")):
        backups.evolve(state, b)
    backups.evolve(state, ContinuousBackupsChanged("id-1", "src", {"PointInTimeRecoveryEnabled": True}))
    names = lambda request, now=0: [s["BackupName"] for s in backups.list_backups(state, request, now)[0]]  # noqa: E731
    assert names({}) == ["a", "c", "d"]
    assert names({"BackupType": "ALL", "TableName": "src"}) == ["a", "b", "c"]
    assert names({"BackupType": "ALL"}, now=5000) == ["a", "c", "d"]  # b expired
    assert names({"TimeRangeLowerBound": 1.0, "TimeRangeUpperBound": 3.0}) == ["a"]
    assert names({"TableName": "arn:aws:dynamodb:r:1:table/other"}) == ["d"]
    page, last = backups.list_backups(state, {"Limit": 1}, 0)
    assert [s["BackupName"] for s in page] == ["a"] and last == _backup(1000, "a").backup_arn
    assert names({"ExclusiveStartBackupArn": last}) == ["c", "d"]
    backups.evolve(state, BackupDeleted(last))
    assert names({}) == ["c", "d"] and state.pitr["id-1"]["PointInTimeRecoveryEnabled"]
    with pytest.raises(DynamoError) as info:
        state.backup(last)
    assert (info.value.error_type, info.value.message) == ("BackupNotFoundException", f"Backup not found: {last}")
