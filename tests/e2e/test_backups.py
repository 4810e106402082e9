"""On-demand backups and point-in-time recovery through boto3, on every engine."""

import time

import pytest
from botocore.exceptions import ClientError

from .conftest import create, unique


def _code(info) -> str:
    return info.value.response["Error"]["Code"]


def _message(info) -> str:
    return info.value.response["Error"]["Message"]


def wait_active(ddb, name: str, deadline: float = 60.0) -> dict:
    stop = time.monotonic() + deadline
    while True:
        try:
            table = ddb.describe_table(TableName=name)["Table"]
            if table["TableStatus"] == "ACTIVE":
                return table
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        assert time.monotonic() < stop, f"{name} never became ACTIVE"
        time.sleep(0.05)


def items_of(ddb, name: str) -> dict:
    pages = ddb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True)
    return {item["p"]["S"]: item for page in pages for item in page["Items"]}


def put(ddb, name: str, key: str, **values: str) -> None:
    ddb.put_item(TableName=name, Item={"p": {"S": key}, **{k: {"S": v} for k, v in values.items()}})


def instant() -> float:
    """A moment strictly between the writes acknowledged before it and those made after it."""
    time.sleep(0.02)
    moment = time.time()
    time.sleep(0.02)
    return moment


@pytest.fixture
def source(ddb):
    name = create(ddb, [("p", "S", "HASH")])
    for i in range(30):
        put(ddb, name, f"k{i}", v=str(i))
    return name


# --- on-demand backups ----------------------------------------------------------------------------


def test_a_backup_is_a_cut_that_restores_to_a_new_table(ddb, source):
    details = ddb.create_backup(TableName=source, BackupName="before-change")["BackupDetails"]
    put(ddb, source, "k0", v="changed after the backup")
    ddb.delete_item(TableName=source, Key={"p": {"S": "k1"}})
    assert details["BackupStatus"] == "AVAILABLE" and details["BackupType"] == "USER"
    assert details["BackupName"] == "before-change" and details["BackupSizeBytes"] > 0
    assert details["BackupArn"].startswith(ddb.describe_table(TableName=source)["Table"]["TableArn"] + "/backup/")

    described = ddb.describe_backup(BackupArn=details["BackupArn"])["BackupDescription"]
    assert described["BackupDetails"] == details
    assert described["SourceTableDetails"]["TableName"] == source
    assert described["SourceTableDetails"]["ItemCount"] == 30
    assert described["SourceTableDetails"]["BillingMode"] == "PAY_PER_REQUEST"
    assert described["SourceTableDetails"]["KeySchema"] == [{"AttributeName": "p", "KeyType": "HASH"}]

    target = unique("restored")
    restored = ddb.restore_table_from_backup(TargetTableName=target, BackupArn=details["BackupArn"])
    description = restored["TableDescription"]
    assert description["TableName"] == target and description["TableStatus"] == "CREATING"
    assert description["RestoreSummary"]["SourceBackupArn"] == details["BackupArn"]
    assert description["RestoreSummary"]["RestoreInProgress"] is True
    table = wait_active(ddb, target)
    assert table["RestoreSummary"]["RestoreInProgress"] is False
    assert table["ItemCount"] == 30 and table["TableId"] != described["SourceTableDetails"]["TableId"]
    items = items_of(ddb, target)
    assert len(items) == 30 and items["k0"]["v"] == {"S": "0"} and "k1" in items
    assert "StreamSpecification" not in table


def test_backups_are_listed_filtered_and_paged(ddb, source):
    other = create(ddb, [("p", "S", "HASH")])
    start = time.time() - 1
    arns = [ddb.create_backup(TableName=source, BackupName=f"b{i}-x")["BackupDetails"]["BackupArn"] for i in range(3)]
    ddb.create_backup(TableName=other, BackupName="other")
    listed = ddb.list_backups(TableName=source)["BackupSummaries"]
    assert [b["BackupArn"] for b in listed] == arns  # oldest first
    assert {b["TableName"] for b in listed} == {source} and all(b["BackupStatus"] == "AVAILABLE" for b in listed)
    first = ddb.list_backups(TableName=source, Limit=2)
    assert [b["BackupArn"] for b in first["BackupSummaries"]] == arns[:2]
    assert first["LastEvaluatedBackupArn"] == arns[1]
    rest = ddb.list_backups(TableName=source, Limit=2, ExclusiveStartBackupArn=first["LastEvaluatedBackupArn"])
    assert [b["BackupArn"] for b in rest["BackupSummaries"]] == arns[2:] and "LastEvaluatedBackupArn" not in rest
    by_arn = ddb.list_backups(TableName=ddb.describe_table(TableName=source)["Table"]["TableArn"])
    assert len(by_arn["BackupSummaries"]) == 3
    assert ddb.list_backups(TableName=source, TimeRangeUpperBound=start)["BackupSummaries"] == []
    assert len(ddb.list_backups(TableName=source, TimeRangeLowerBound=start)["BackupSummaries"]) == 3
    assert ddb.list_backups(TableName=source, BackupType="SYSTEM")["BackupSummaries"] == []
    pages = ddb.get_paginator("list_backups").paginate(TableName=source, PaginationConfig={"PageSize": 1})
    assert [b["BackupArn"] for page in pages for b in page["BackupSummaries"]] == arns


def test_delete_backup_then_it_is_gone(ddb, source):
    arn = ddb.create_backup(TableName=source, BackupName="short-lived")["BackupDetails"]["BackupArn"]
    deleted = ddb.delete_backup(BackupArn=arn)["BackupDescription"]
    assert deleted["BackupDetails"]["BackupStatus"] == "DELETED"
    assert deleted["BackupDetails"]["BackupArn"] == arn
    for call in (lambda: ddb.describe_backup(BackupArn=arn), lambda: ddb.delete_backup(BackupArn=arn),
                 lambda: ddb.restore_table_from_backup(TargetTableName=unique(), BackupArn=arn)):
        with pytest.raises(ClientError) as info:
            call()
        assert _code(info) == "BackupNotFoundException"
        assert _message(info) == f"Backup not found: {arn}"
    assert ddb.list_backups(TableName=source)["BackupSummaries"] == []


def test_a_backup_outlives_its_table(ddb, source):
    arn = ddb.create_backup(TableName=source, BackupName="survivor")["BackupDetails"]["BackupArn"]
    ddb.delete_table(TableName=source)
    assert ddb.describe_backup(BackupArn=arn)["BackupDescription"]["SourceTableDetails"]["TableName"] == source
    target = unique("revived")
    ddb.restore_table_from_backup(TargetTableName=target, BackupArn=arn, BillingModeOverride="PROVISIONED",
                                  ProvisionedThroughputOverride={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4})
    table = wait_active(ddb, target)
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
    assert "BillingModeSummary" not in table or table["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert len(items_of(ddb, target)) == 30


def test_backup_errors(ddb, source, table_s):
    with pytest.raises(ClientError) as info:
        ddb.create_backup(TableName="no_such_table", BackupName="nothing")
    assert (_code(info), _message(info)) == ("TableNotFoundException", "Table not found: no_such_table")
    missing = ddb.describe_table(TableName=source)["Table"]["TableArn"] + "/backup/01700000000000-00000000"
    with pytest.raises(ClientError) as info:
        ddb.describe_backup(BackupArn=missing)
    assert _code(info) == "BackupNotFoundException"
    arn = ddb.create_backup(TableName=source, BackupName="taken")["BackupDetails"]["BackupArn"]
    with pytest.raises(ClientError) as info:
        ddb.restore_table_from_backup(TargetTableName=table_s, BackupArn=arn)
    assert (_code(info), _message(info)) == ("TableAlreadyExistsException", f"Table already exists: {table_s}")
    with pytest.raises(ClientError) as info:
        ddb.restore_table_from_backup(TargetTableName=unique(), BackupArn=arn, BillingModeOverride="PROVISIONED")
    assert _code(info) == "ValidationException"
    assert "ReadCapacityUnits and WriteCapacityUnits must both be specified" in _message(info)


# --- point-in-time recovery -----------------------------------------------------------------------


def test_continuous_backups_are_off_until_enabled(ddb, source):
    off = ddb.describe_continuous_backups(TableName=source)["ContinuousBackupsDescription"]
    assert off == {"ContinuousBackupsStatus": "ENABLED",
                   "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"}}
    before = time.time()
    on = ddb.update_continuous_backups(TableName=source, PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 7})["ContinuousBackupsDescription"]
    pitr = on["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED" and pitr["RecoveryPeriodInDays"] == 7
    assert before - 1 <= pitr["EarliestRestorableDateTime"].timestamp() <= pitr["LatestRestorableDateTime"].timestamp()
    described = ddb.describe_continuous_backups(TableName=source)["ContinuousBackupsDescription"]
    assert described["PointInTimeRecoveryDescription"]["EarliestRestorableDateTime"] == pitr["EarliestRestorableDateTime"]
    ddb.update_continuous_backups(TableName=source, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
    assert ddb.describe_continuous_backups(TableName=source)["ContinuousBackupsDescription"] == off
    for call in (lambda: ddb.describe_continuous_backups(TableName="no_such_table"),
                 lambda: ddb.update_continuous_backups(TableName="no_such_table", PointInTimeRecoverySpecification={
                     "PointInTimeRecoveryEnabled": True})):
        with pytest.raises(ClientError) as info:
            call()
        assert (_code(info), _message(info)) == ("TableNotFoundException", "Table not found: no_such_table")


def test_restore_to_several_instants_gives_the_table_as_it_was_then(ddb):
    name = create(ddb, [("p", "S", "HASH")])
    ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    expected, moments = [], []
    for round_ in range(3):
        for i in range(6):
            put(ddb, name, f"k{i}", v=f"{round_}-{i}", extra="x" * round_)
        ddb.delete_item(TableName=name, Key={"p": {"S": f"k{round_}"}})
        ddb.update_item(TableName=name, Key={"p": {"S": "counter"}}, UpdateExpression="ADD n :one",
                        ExpressionAttributeValues={":one": {"N": "1"}})
        moments.append(instant())
        expected.append(items_of(ddb, name))
    put(ddb, name, "after", v="not in any restore")
    targets = []
    for moment in moments:
        target = unique("pitr")
        restored = ddb.restore_table_to_point_in_time(SourceTableName=name, TargetTableName=target,
                                                      RestoreDateTime=moment)["TableDescription"]
        assert restored["TableStatus"] == "CREATING"
        assert restored["RestoreSummary"]["SourceTableArn"].endswith(f":table/{name}")
        assert abs(restored["RestoreSummary"]["RestoreDateTime"].timestamp() - moment) < 0.01
        targets.append(target)
    for target, want in zip(targets, expected):
        wait_active(ddb, target)
        assert items_of(ddb, target) == want
    latest = unique("latest")
    ddb.restore_table_to_point_in_time(SourceTableName=name, TargetTableName=latest, UseLatestRestorableTime=True)
    wait_active(ddb, latest)
    assert items_of(ddb, latest) == items_of(ddb, name)


def test_point_in_time_errors(ddb, source, table_s):
    with pytest.raises(ClientError) as info:
        ddb.restore_table_to_point_in_time(SourceTableName=source, TargetTableName=unique(), UseLatestRestorableTime=True)
    assert (_code(info), _message(info)) == (
        "PointInTimeRecoveryUnavailableException", f"Point in time recovery is not enabled for table '{source}'")
    ddb.update_continuous_backups(TableName=source, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    for moment in (time.time() - 3600, time.time() + 3600):
        with pytest.raises(ClientError) as info:
            ddb.restore_table_to_point_in_time(SourceTableName=source, TargetTableName=unique(), RestoreDateTime=moment)
        assert _code(info) == "InvalidRestoreTimeException"
        assert _message(info).startswith("Invalid restore time specified. RestoreDateTime must be between ")
    with pytest.raises(ClientError) as info:
        ddb.restore_table_to_point_in_time(SourceTableName="no_such_table", TargetTableName=unique(),
                                           UseLatestRestorableTime=True)
    assert (_code(info), _message(info)) == ("TableNotFoundException", "Table not found: no_such_table")
    with pytest.raises(ClientError) as info:
        ddb.restore_table_to_point_in_time(SourceTableName=source, TargetTableName=table_s, UseLatestRestorableTime=True)
    assert (_code(info), _message(info)) == ("TableAlreadyExistsException", f"Table already exists: {table_s}")
    with pytest.raises(ClientError) as info:
        ddb.restore_table_to_point_in_time(SourceTableName=source, TargetTableName=unique())
    assert _code(info) == "ValidationException"
    with pytest.raises(ClientError) as info:
        ddb.restore_table_to_point_in_time(TargetTableName=unique(), UseLatestRestorableTime=True)
    assert _code(info) == "ValidationException"


def test_restore_by_source_arn(ddb, source):
    ddb.update_continuous_backups(TableName=source, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    arn = ddb.describe_table(TableName=source)["Table"]["TableArn"]
    target = unique("by_arn")
    ddb.restore_table_to_point_in_time(SourceTableArn=arn, TargetTableName=target, UseLatestRestorableTime=True)
    wait_active(ddb, target)
    assert len(items_of(ddb, target)) == 30


def test_deleting_a_table_with_pitr_leaves_a_system_backup(ddb, source):
    ddb.update_continuous_backups(TableName=source, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    ddb.delete_table(TableName=source)
    assert ddb.list_backups(TableName=source)["BackupSummaries"] == []  # USER backups only by default
    (system,) = ddb.list_backups(TableName=source, BackupType="SYSTEM")["BackupSummaries"]
    assert system["BackupType"] == "SYSTEM" and "BackupExpiryDateTime" in system
    assert ddb.list_backups(TableName=source, BackupType="ALL")["BackupSummaries"] == [system]
    target = unique("undeleted")
    ddb.restore_table_from_backup(TargetTableName=target, BackupArn=system["BackupArn"])
    wait_active(ddb, target)
    assert len(items_of(ddb, target)) == 30
