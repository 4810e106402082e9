"""Deterministic test knobs (a dynamoray extension) through boto3 and the admin API, on a server
started with them (``build_gateway(..., test_knobs=True)``, ``dynamoray serve --test-knobs``),
and the stream replay beyond 24 hours the controllable clock lets a test reach."""

import asyncio
import time

import pytest
from botocore.exceptions import ClientError

from dynamoray.actors.local import LocalEngine
from dynamoray.boto3_extensions import REPLAY_AT_SEQUENCE_NUMBER, REPLAY_TRIM_HORIZON
from dynamoray.gateway.admin_client import AdminClient, AdminError
from dynamoray.gateway.runner import BackgroundServer, build_gateway
from dynamoray.gateway.server import ServerConfig

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, SHARDS, create, make_client, unique
from .test_backups import wait_active

HOUR, DAY = 3600, 86_400
CONFLICT = ("TransactionConflictException", "Transaction is ongoing for the item")


@pytest.fixture(scope="module")
def knob_server():
    engine = LocalEngine(shards=SHARDS)
    asyncio.run(engine.open())
    gateway = build_gateway(engine, ACCESS_KEY, SECRET_KEY, ServerConfig(region=REGION), ttl_interval=HOUR,
                            test_knobs=True)  # TTL rounds run on SweepExpiredItems only (after the first)
    background = BackgroundServer(gateway).start()
    yield background
    background.stop()
    asyncio.run(engine.close())


@pytest.fixture(scope="module")
def kddb(knob_server):
    return make_client(knob_server.endpoint)


@pytest.fixture
def admin(knob_server):
    client = AdminClient(knob_server.endpoint, ACCESS_KEY, SECRET_KEY, REGION)
    yield client
    client.call("ClearTestKnobs")  # every table's knobs, and the clock back to real time


def error_of(info) -> tuple[str, str]:
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def key(p: str) -> dict:
    return {"p": {"S": p}}


def test_knobs_are_off_unless_the_server_enables_them(server):
    with pytest.raises(AdminError) as info:
        AdminClient(server.endpoint, ACCESS_KEY, SECRET_KEY, REGION).call("SetClock", AdvanceSeconds=1)
    assert (info.value.code, info.value.message) == (
        "ValidationException", "Test knobs are not enabled on this server: start it with dynamoray serve --test-knobs")


# --- injected transaction conflicts ---------------------------------------------------------------


def test_conflict_keys_cancel_transactions_and_refuse_plain_writes(kddb, admin):
    table = create(kddb, [("p", "S", "HASH")])
    kddb.put_item(TableName=table, Item={**key("held"), "v": {"N": "1"}})
    answer = admin.call("SetTestKnobs", TableName=table, ConflictKeys=[key("held")])
    assert answer == {"TableName": table, "ConflictKeys": [key("held")]}

    with pytest.raises(ClientError) as info:
        kddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": key("free")}},
            {"Update": {"TableName": table, "Key": key("held"), "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"N": "2"}}}},
        ])
    assert info.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in info.value.response["CancellationReasons"]] == ["None", "TransactionConflict"]
    with pytest.raises(ClientError) as info:
        kddb.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": key("held")}}])
    assert info.value.response["CancellationReasons"] == [
        {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]
    for write in (lambda: kddb.put_item(TableName=table, Item=key("held")),
                  lambda: kddb.delete_item(TableName=table, Key=key("held")),
                  lambda: kddb.update_item(TableName=table, Key=key("held"), UpdateExpression="REMOVE v")):
        with pytest.raises(ClientError) as info:
            write()
        assert error_of(info) == CONFLICT

    assert kddb.get_item(TableName=table, Key=key("held"))["Item"]["v"] == {"N": "1"}  # reads are not blocked
    kddb.put_item(TableName=table, Item=key("free"))  # nor other items
    assert "Item" not in kddb.get_item(TableName=table, Key=key("free2"))
    admin.call("ClearTestKnobs", TableName=table)
    kddb.put_item(TableName=table, Item={**key("held"), "v": {"N": "3"}})
    assert kddb.get_item(TableName=table, Key=key("held"))["Item"]["v"] == {"N": "3"}


def test_conflict_keys_compare_numbers_by_value(kddb, admin):
    table = create(kddb, [("p", "S", "HASH"), ("n", "N", "RANGE")])
    admin.call("SetTestKnobs", TableName=table, ConflictKeys=[{"p": {"S": "a"}, "n": {"N": "1.0"}}])
    with pytest.raises(ClientError) as info:
        kddb.put_item(TableName=table, Item={"p": {"S": "a"}, "n": {"N": "1"}})
    assert error_of(info) == CONFLICT
    kddb.put_item(TableName=table, Item={"p": {"S": "a"}, "n": {"N": "2"}})


@pytest.mark.parametrize("knobs, message", [
    ({"ConflictKeys": [{"q": {"S": "x"}}]}, "The provided key element does not match the schema"),
    ({"ConflictKeys": "x"}, "Invalid test knob: ConflictKeys must be a list of at most 100 keys"),
    ({"PartitionCeilings": {"WriteUnitsPerSecond": 0}},
     "Invalid test knob: PartitionCeilings.WriteUnitsPerSecond must be a positive number"),
    ({"PartitionCeilings": "yes"}, "Invalid test knob: PartitionCeilings must be true, false or a map"),
])
def test_bad_knobs_are_refused(kddb, admin, knobs, message):
    table = create(kddb, [("p", "S", "HASH")])
    with pytest.raises(AdminError) as info:
        admin.call("SetTestKnobs", TableName=table, **knobs)
    assert info.value.code == "ValidationException" and info.value.message.startswith(message)
    assert admin.call("GetTestKnobs")["Tables"] == {}


# --- partition ceilings ---------------------------------------------------------------------------


def _writes_until_throttled(kddb, table: str, most: int, pad: int = 0) -> tuple[int, ClientError | None]:
    """Puts to one key until one is throttled; ``pad`` bytes make each put cost ~pad/1024 units."""
    extra = {"pad": {"S": "x" * pad}} if pad else {}
    for n in range(most):
        try:
            kddb.put_item(TableName=table, Item={**key("hot"), "n": {"N": str(n)}, **extra})
        except ClientError as error:
            return n, error
    return most, None


def test_partition_ceilings_throttle_a_hot_key(kddb, admin):
    hot, cool = create(kddb, [("p", "S", "HASH")]), create(kddb, [("p", "S", "HASH")])
    answer = admin.call("SetTestKnobs", TableName=hot, PartitionCeilings={"WriteUnitsPerSecond": 5})
    assert answer["PartitionCeilings"] == {"ReadUnitsPerSecond": 3000.0, "WriteUnitsPerSecond": 5.0,
                                           "BurstSeconds": 1.0}
    # 20-unit puts: the first drains the 5-unit burst (a bucket may go below zero), and the bucket
    # stays empty for ~3 s after it, however slowly the machine runs the puts (small puts raced it)
    done, error = _writes_until_throttled(kddb, hot, 40, pad=20_000)
    assert error is not None and done >= 1
    assert error.response["Error"]["Code"] == "ThrottlingException"
    assert error.response["throttlingReasons"][0]["reason"] == "TableWriteKeyRangeThroughputExceeded"
    assert _writes_until_throttled(kddb, cool, 40) == (40, None)  # the server's own ceilings are far higher


def test_partition_ceilings_default_to_dynamodbs(kddb, admin):
    table = create(kddb, [("p", "S", "HASH")])
    answer = admin.call("SetTestKnobs", TableName=table, PartitionCeilings=True)
    assert answer["PartitionCeilings"] == {"ReadUnitsPerSecond": 3000.0, "WriteUnitsPerSecond": 1000.0,
                                           "BurstSeconds": 1.0}
    assert admin.call("GetTestKnobs")["Tables"][table]["PartitionCeilings"]["WriteUnitsPerSecond"] == 1000.0


# --- the clock ------------------------------------------------------------------------------------


def test_the_clock_is_set_advanced_and_reset(admin):
    real = time.time()
    moved = admin.call("SetClock", Time=real + DAY)
    assert abs(moved["Now"] - (real + DAY)) < 60 and abs(moved["ClockOffsetSeconds"] - DAY) < 60
    advanced = admin.call("SetClock", AdvanceSeconds=HOUR)
    assert abs(advanced["ClockOffsetSeconds"] - (DAY + HOUR)) < 60
    assert admin.call("SetClock", Reset=True)["ClockOffsetSeconds"] == 0
    with pytest.raises(AdminError) as info:
        admin.call("SetClock", Time=1, AdvanceSeconds=1)
    assert info.value.message == "Invalid test knob: SetClock takes exactly one of Time, AdvanceSeconds and Reset"


def test_the_clock_drives_ttl_expiry(kddb, admin):
    table = create(kddb, [("p", "S", "HASH")])
    kddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    kddb.put_item(TableName=table, Item={**key("soon"), "exp": {"N": str(int(time.time()) + HOUR)}})
    kddb.put_item(TableName=table, Item={**key("later"), "exp": {"N": str(int(time.time()) + 3 * HOUR)}})
    assert admin.call("SweepExpiredItems")["Deleted"] == 0
    admin.call("SetClock", AdvanceSeconds=2 * HOUR)
    assert admin.call("SweepExpiredItems")["Deleted"] == 1
    assert "Item" not in kddb.get_item(TableName=table, Key=key("soon"), ConsistentRead=True)
    assert "Item" in kddb.get_item(TableName=table, Key=key("later"), ConsistentRead=True)


def test_the_clock_drives_the_pitr_window(kddb, admin):
    table = create(kddb, [("p", "S", "HASH")])
    kddb.put_item(TableName=table, Item=key("a"))
    kddb.update_continuous_backups(TableName=table, PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 1})
    enabled_at = time.time()
    now = admin.call("SetClock", AdvanceSeconds=2 * DAY)["Now"]
    described = kddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    window = described["PointInTimeRecoveryDescription"]
    assert abs(window["EarliestRestorableDateTime"].timestamp() - (now - DAY)) < 60
    assert abs(window["LatestRestorableDateTime"].timestamp() - now) < 60
    with pytest.raises(ClientError) as info:
        kddb.restore_table_to_point_in_time(SourceTableName=table, TargetTableName=unique("then"),
                                            RestoreDateTime=enabled_at)
    assert info.value.response["Error"]["Code"] == "InvalidRestoreTimeException"
    target = unique("then")
    kddb.restore_table_to_point_in_time(SourceTableName=table, TargetTableName=target, RestoreDateTime=now - HOUR)
    wait_active(kddb, target)
    assert kddb.scan(TableName=target)["Count"] == 1


# --- stream replay beyond 24 hours ----------------------------------------------------------------


def _stream(kddb) -> tuple[str, str]:
    created = kddb.create_table(TableName=unique("st"), KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                                AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                                BillingMode="PAY_PER_REQUEST",
                                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    return created["TableDescription"]["TableName"], created["TableDescription"]["LatestStreamArn"]


def _shard_of_old(streams, arn: str) -> tuple[str, str]:
    """The shard holding the table's one record, and that record's sequence number."""
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records = streams.get_records(ShardIterator=it)["Records"]
        if records:
            return shard["ShardId"], records[0]["dynamodb"]["SequenceNumber"]
    raise AssertionError("no record")


def test_a_record_48_hours_old_is_trimmed_but_replayable(knob_server, kddb, admin):
    streams = make_client(knob_server.endpoint, "dynamodbstreams")
    table, arn = _stream(kddb)
    kddb.put_item(TableName=table, Item={**key("old"), "v": {"S": "two days ago"}})
    shard, sequence = _shard_of_old(streams, arn)
    admin.call("SetClock", AdvanceSeconds=2 * DAY)

    def iterator(kind: str, **extra) -> str:
        return streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind,
                                          **extra)["ShardIterator"]

    assert streams.get_records(ShardIterator=iterator("TRIM_HORIZON"))["Records"] == []  # past the 24 h trim
    with pytest.raises(ClientError) as info:
        iterator("AT_SEQUENCE_NUMBER", SequenceNumber=sequence)
    assert info.value.response["Error"]["Code"] == "TrimmedDataAccessException"

    page = streams.get_records(ShardIterator=iterator(REPLAY_TRIM_HORIZON))
    assert [r["dynamodb"]["NewImage"]["v"]["S"] for r in page["Records"]] == ["two days ago"]
    replayed = streams.get_records(ShardIterator=iterator(REPLAY_AT_SEQUENCE_NUMBER, SequenceNumber=sequence))
    assert [r["dynamodb"]["SequenceNumber"] for r in replayed["Records"]] == [sequence]
    kddb.put_item(TableName=table, Item={**key("old"), "v": {"S": "now"}})  # same key: same shard
    following = streams.get_records(ShardIterator=page["NextShardIterator"])  # the replay goes on
    assert [r["dynamodb"]["NewImage"]["v"]["S"] for r in following["Records"]] == ["now"]


def test_an_unknown_iterator_type_still_gets_dynamodbs_message(knob_server, kddb):
    streams = make_client(knob_server.endpoint, "dynamodbstreams")
    _, arn = _stream(kddb)
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    with pytest.raises(ClientError) as info:
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="REPLAY_LATER")
    assert info.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'REPLAY_LATER' at 'shardIteratorType' failed to satisfy constraint: "
        "Member must satisfy enum value set: [TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, "
        "AT_TIMESTAMP]")
