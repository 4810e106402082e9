"""DynamoDB Streams through boto3: StreamSpecification on CreateTable/UpdateTable, and the four
``dynamodbstreams`` operations with their errors.

The 15 minute iterator expiry is tested with an iterator the server itself signed with an old
issue time; the 24 hour trim with a server whose log clock runs 25 hours behind.

Tables have several shards (``conftest.SHARDS``), so a stream has one shard per log partition: the
tests read the stream shard of the partition key they wrote (``shard_of``), or every shard.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from botocore.exceptions import ClientError

from dynamoray.actors.local import LocalEngine
from dynamoray.core.shards import value_shard
from dynamoray.events import streams as stream_view
from dynamoray.events.memory import MemoryLog
from dynamoray.gateway import streams as gateway_streams
from dynamoray.gateway.runner import BackgroundServer, build_gateway
from dynamoray.gateway.server import ServerConfig

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, SHARDS, make_client, unique

VIEW_TYPES = ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]
LABEL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}")


@pytest.fixture(scope="module")
def streams(server):
    """A dynamodbstreams client (every test on the shared server asks for it)."""
    return make_client(server.endpoint, "dynamodbstreams")


def error_of(info) -> tuple[str, str]:
    error = info.value.response["Error"]
    return error["Code"], error["Message"]


KEY_SCHEMA = [{"AttributeName": "p", "KeyType": "HASH"}]
DEFINITIONS = [{"AttributeName": "p", "AttributeType": "S"}]


def create_table(ddb, spec: dict | None = None, name: str | None = None) -> dict:
    extra = {"StreamSpecification": spec} if spec is not None else {}
    return ddb.create_table(
        TableName=name or unique("st"), KeySchema=KEY_SCHEMA, AttributeDefinitions=DEFINITIONS,
        BillingMode="PAY_PER_REQUEST", **extra,
    )["TableDescription"]


def stream_table(ddb, view_type: str = "NEW_AND_OLD_IMAGES") -> tuple[str, str]:
    created = create_table(ddb, {"StreamEnabled": True, "StreamViewType": view_type})
    return created["TableName"], created["LatestStreamArn"]


def shard_ids(streams, arn: str) -> list[str]:
    return [s["ShardId"] for s in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]]


def shard_of(streams, arn: str, p: str = "a") -> str:
    """The stream shard of partition key ``p``: shards are listed in log-partition order."""
    ids = shard_ids(streams, arn)
    return ids[value_shard({"S": p}, len(ids))]


def in_one_shard(*names: str) -> list[str]:
    """``names`` made to share a shard (a suffix is added): the order of their records is then known."""
    shard, out = value_shard({"S": names[0]}, SHARDS), [names[0]]
    for name in names[1:]:
        out.append(next(f"{name}{i}" for i in range(1000) if value_shard({"S": f"{name}{i}"}, SHARDS) == shard))
    return out


def in_shard(shard: int, name: str) -> str:
    return next(f"{name}{i}" for i in range(1000) if value_shard({"S": f"{name}{i}"}, SHARDS) == shard)


def iterator(streams, arn: str, kind: str = "TRIM_HORIZON", p: str = "a", **extra) -> str:
    return streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard_of(streams, arn, p), ShardIteratorType=kind, **extra
    )["ShardIterator"]


def read_every_shard(streams, arn: str) -> list[dict]:
    return [r for shard in shard_ids(streams, arn)
            for r in read_all(streams, streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"])]


def read_all(streams, shard_iterator: str) -> list[dict]:
    records = []
    while shard_iterator:
        page = streams.get_records(ShardIterator=shard_iterator)
        records += page["Records"]
        if not page["Records"]:
            break
        shard_iterator = page.get("NextShardIterator")
    return records


def put(ddb, table: str, p: str, **attrs) -> None:
    item = {"p": {"S": p}, **{k: {"N": str(v)} for k, v in attrs.items()}}
    ddb.put_item(TableName=table, Item=item)


# --- StreamSpecification -------------------------------------------------------------------------


def test_create_table_with_a_stream_describes_it(ddb, streams):
    created = create_table(ddb, {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    name, arn, label = created["TableName"], created["LatestStreamArn"], created["LatestStreamLabel"]
    assert LABEL.fullmatch(label)
    assert arn == f"arn:aws:dynamodb:{REGION}:000000000000:table/{name}/stream/{label}"
    described = ddb.describe_table(TableName=name)["Table"]
    assert described["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert (described["LatestStreamArn"], described["LatestStreamLabel"]) == (arn, label)
    assert streams.list_streams(TableName=name)["Streams"] == [{"StreamArn": arn, "TableName": name, "StreamLabel": label}]


def test_create_table_with_a_disabled_stream_has_none(ddb, streams):
    created = create_table(ddb, {"StreamEnabled": False})
    assert "LatestStreamArn" not in created and "StreamSpecification" not in created
    assert streams.list_streams(TableName=created["TableName"])["Streams"] == []


@pytest.mark.parametrize("spec, message", [
    ({"StreamEnabled": True},
     "One or more parameter values were invalid: Table is being created with a stream enabled, UpdateViewType is required"),
    ({"StreamEnabled": False, "StreamViewType": "KEYS_ONLY"},
     "One or more parameter values were invalid: Table is being created with a stream disabled, "
     "UpdateViewType should not be specified"),
])
def test_create_table_stream_specification_errors(ddb, streams, spec, message):
    with pytest.raises(ClientError) as info:
        create_table(ddb, spec)
    assert error_of(info) == ("ValidationException", message)


def test_update_table_enables_and_disables_streams(ddb, streams):
    name = create_table(ddb)["TableName"]
    enabled = ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    arn = enabled["TableDescription"]["LatestStreamArn"]
    assert enabled["TableDescription"]["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    for view_type in ("KEYS_ONLY", "NEW_IMAGE"):  # re-enabling, or changing the view type, needs a disable first
        with pytest.raises(ClientError) as info:
            ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": view_type})
        assert error_of(info) == ("ValidationException", f"Table already has an enabled stream: TableName: {name}")
    disabled = ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})["TableDescription"]
    assert "StreamSpecification" not in disabled and disabled["LatestStreamArn"] == arn
    with pytest.raises(ClientError) as info:
        ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    assert error_of(info) == ("ValidationException", f"Table has no stream to disable: TableName: {name}")
    again = ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    new_arn = again["TableDescription"]["LatestStreamArn"]
    assert new_arn != arn
    listed = streams.list_streams(TableName=name)["Streams"]
    assert [s["StreamArn"] for s in listed] == [arn, new_arn]  # the disabled one stays for 24 h
    statuses = [streams.describe_stream(StreamArn=a)["StreamDescription"]["StreamStatus"] for a in (arn, new_arn)]
    assert statuses == ["DISABLED", "ENABLED"]


@pytest.mark.parametrize("spec, message", [
    ({"StreamEnabled": True},
     "One or more parameter values were invalid: If stream is being enabled then UpdateViewType is required"),
    ({"StreamEnabled": False, "StreamViewType": "KEYS_ONLY"},
     "One or more parameter values were invalid: If stream is being disabled, then UpdateViewType must not be specified"),
])
def test_update_table_stream_specification_errors(ddb, streams, spec, message):
    name, _ = stream_table(ddb)
    with pytest.raises(ClientError) as info:
        ddb.update_table(TableName=name, StreamSpecification=spec)
    assert error_of(info) == ("ValidationException", message)


def test_other_updates_keep_the_stream(ddb, streams):
    name, arn = stream_table(ddb, "OLD_IMAGE")
    updated = ddb.update_table(TableName=name, DeletionProtectionEnabled=False)["TableDescription"]
    assert updated["LatestStreamArn"] == arn
    assert updated["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "OLD_IMAGE"}


# --- ListStreams and DescribeStream --------------------------------------------------------------


def test_list_streams_pages(ddb, streams):
    arns = {stream_table(ddb)[1] for _ in range(3)}
    seen, start = [], {}
    while True:
        page = streams.list_streams(Limit=1, **start)
        assert len(page["Streams"]) <= 1
        seen += [s["StreamArn"] for s in page["Streams"]]
        if "LastEvaluatedStreamArn" not in page:
            break
        start = {"ExclusiveStartStreamArn": page["LastEvaluatedStreamArn"]}
    assert arns <= set(seen) and len(seen) == len(set(seen))


def test_list_streams_errors(streams):
    with pytest.raises(ClientError) as info:
        streams.list_streams(TableName="no_such_table")
    assert error_of(info) == ("ResourceNotFoundException", "Requested resource not found: Table: no_such_table not found")
    with pytest.raises(ClientError) as info:
        streams.list_streams(Limit=101)
    assert error_of(info) == (
        "ValidationException",
        "1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: "
        "Member must have value less than or equal to 100",
    )
    with pytest.raises(ClientError) as info:
        streams.list_streams(ExclusiveStartStreamArn="kossaapaaasdafsdaasdasdasdasasdasfadfadfasdasdas")
    assert error_of(info)[0] == "ValidationException"


def test_describe_stream(ddb, streams):
    name, arn = stream_table(ddb, "KEYS_ONLY")
    description = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert description["StreamArn"] == arn and description["StreamLabel"] == arn.rsplit("/", 1)[1]
    assert (description["StreamStatus"], description["StreamViewType"]) == ("ENABLED", "KEYS_ONLY")
    assert description["TableName"] == name and description["KeySchema"] == KEY_SCHEMA
    assert abs(description["CreationRequestDateTime"].timestamp() - time.time()) < 60
    shards = description["Shards"]
    assert len(shards) == SHARDS  # one per log partition of the table
    assert [s["ShardId"][-8:] for s in shards] == [f"{i:08x}" for i in range(SHARDS)]
    for shard in shards:
        assert re.fullmatch(r"shardId-\d{20}-[0-9a-f]{8}", shard["ShardId"]) and "ParentShardId" not in shard
        assert set(shard["SequenceNumberRange"]) == {"StartingSequenceNumber"}  # open
    assert "LastEvaluatedShardId" not in description
    first = streams.describe_stream(StreamArn=arn, Limit=1)["StreamDescription"]
    assert first["Shards"] == shards[:1] and first["LastEvaluatedShardId"] == shards[0]["ShardId"]
    after = streams.describe_stream(StreamArn=arn, Limit=1, ExclusiveStartShardId=shards[-1]["ShardId"])
    assert after["StreamDescription"]["Shards"] == []


def test_describe_stream_errors(ddb, streams):
    name, arn = stream_table(ddb)
    gone = arn.rsplit("/", 1)[0] + "/2001-01-01T00:00:00.000"
    with pytest.raises(ClientError) as info:
        streams.describe_stream(StreamArn=gone)
    assert error_of(info) == ("ResourceNotFoundException", f"Requested resource not found: Stream: {gone} not found")
    with pytest.raises(ClientError) as info:
        streams.describe_stream(StreamArn="sdfadfsdfnlfkajakfgjalksfgklasjklasdjfklasdfasdfgasf")
    assert error_of(info) == ("ValidationException", "Invalid StreamArn: sdfadfsdfnlfkajakfgjalksfgklasjklasdjfklasdfasdfgasf")


# --- GetShardIterator and GetRecords -------------------------------------------------------------


def _changes(ddb, table: str, p: str) -> None:
    put(ddb, table, p, x=1)  # INSERT
    put(ddb, table, p, x=1)  # the same item again: no record
    ddb.update_item(TableName=table, Key={"p": {"S": p}}, UpdateExpression="SET y = :y",
                    ExpressionAttributeValues={":y": {"N": "2"}})  # MODIFY
    ddb.delete_item(TableName=table, Key={"p": {"S": p}})  # REMOVE
    ddb.delete_item(TableName=table, Key={"p": {"S": p}})  # nothing to delete: no record


@pytest.mark.parametrize("view_type", VIEW_TYPES)
def test_records_arrive_in_order_once_with_the_right_images(ddb, streams, view_type):
    table, arn = stream_table(ddb, view_type)
    _changes(ddb, table, "a")
    records = read_all(streams, iterator(streams, arn))
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    one = {"p": {"S": "a"}, "x": {"N": "1"}}
    two = {"p": {"S": "a"}, "x": {"N": "1"}, "y": {"N": "2"}}
    new = {"KEYS_ONLY": False, "NEW_IMAGE": True, "OLD_IMAGE": False, "NEW_AND_OLD_IMAGES": True}[view_type]
    old = {"KEYS_ONLY": False, "NEW_IMAGE": False, "OLD_IMAGE": True, "NEW_AND_OLD_IMAGES": True}[view_type]
    expected = [(one, None), (two, one), (None, two)]
    for record, (new_image, old_image) in zip(records, expected):
        body = record["dynamodb"]
        assert body["Keys"] == {"p": {"S": "a"}} and body["StreamViewType"] == view_type
        assert body.get("NewImage") == (new_image if new else None)
        assert body.get("OldImage") == (old_image if old else None)
        assert body["SizeBytes"] > 0 and abs(body["ApproximateCreationDateTime"].timestamp() - time.time()) < 60
        assert (record["eventVersion"], record["eventSource"], record["awsRegion"]) == ("1.1", "aws:dynamodb", REGION)
        assert "userIdentity" not in record
    numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
    assert all(n.isdecimal() and len(n) >= 21 for n in numbers)
    assert [int(n) for n in numbers] == sorted(int(n) for n in numbers) and len(set(numbers)) == 3
    assert len({r["eventID"] for r in records}) == 3


def test_latest_and_next_iterators_see_each_new_record_once(ddb, streams):
    table, arn = stream_table(ddb, "KEYS_ONLY")
    before, one, two = in_one_shard("before", "one", "two")
    put(ddb, table, before)
    latest = iterator(streams, arn, "LATEST", p=before)
    empty = streams.get_records(ShardIterator=latest)
    assert empty["Records"] == [] and "NextShardIterator" in empty
    following = empty["NextShardIterator"]
    for p in (one, two):
        put(ddb, table, p)  # acknowledged, so already in the stream
        page = streams.get_records(ShardIterator=following)
        assert [r["dynamodb"]["Keys"]["p"]["S"] for r in page["Records"]] == [p]
        following = page["NextShardIterator"]
    assert streams.get_records(ShardIterator=following)["Records"] == []


def test_sequence_number_iterators_and_limit(ddb, streams):
    table, arn = stream_table(ddb, "KEYS_ONLY")
    a, b, c = in_one_shard("a", "b", "c")
    for p in (a, b, c):
        put(ddb, table, p)
    first = streams.get_records(ShardIterator=iterator(streams, arn), Limit=1)
    assert [r["dynamodb"]["Keys"]["p"]["S"] for r in first["Records"]] == [a]
    rest = streams.get_records(ShardIterator=first["NextShardIterator"])
    assert [r["dynamodb"]["Keys"]["p"]["S"] for r in rest["Records"]] == [b, c]
    second = rest["Records"][0]["dynamodb"]["SequenceNumber"]
    at = read_all(streams, iterator(streams, arn, "AT_SEQUENCE_NUMBER", SequenceNumber=second))
    after = read_all(streams, iterator(streams, arn, "AFTER_SEQUENCE_NUMBER", SequenceNumber=second))
    assert [r["dynamodb"]["Keys"]["p"]["S"] for r in at] == [b, c]
    assert [r["dynamodb"]["Keys"]["p"]["S"] for r in after] == [c]
    shard = next(s for s in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
                 if s["ShardId"] == shard_of(streams, arn, a))
    start = shard["SequenceNumberRange"]["StartingSequenceNumber"]
    from_start = read_all(streams, iterator(streams, arn, "AT_SEQUENCE_NUMBER", SequenceNumber=start))
    assert [r["dynamodb"]["Keys"]["p"]["S"] for r in from_start] == [a, b, c]


def test_at_timestamp(ddb, streams):
    table, arn = stream_table(ddb, "KEYS_ONLY")
    put(ddb, table, "a")
    records = read_all(streams, iterator(streams, arn, "AT_TIMESTAMP", Timestamp=time.time() - 60))
    assert [r["dynamodb"]["Keys"]["p"]["S"] for r in records] == ["a"]
    with pytest.raises(ClientError) as info:
        iterator(streams, arn, "AT_TIMESTAMP", Timestamp=time.time() + 3600)
    assert error_of(info) == ("ValidationException", "The Timestamp must not be in the future")


def test_batch_writes_appear_as_item_changes(ddb, streams):
    table, arn = stream_table(ddb, "NEW_IMAGE")
    ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {"p": {"S": p}}}} for p in ("a", "b", "c")]})
    records = read_every_shard(streams, arn)
    assert sorted(r["dynamodb"]["NewImage"]["p"]["S"] for r in records) == ["a", "b", "c"]
    assert {r["eventName"] for r in records} == {"INSERT"}


def test_a_disabled_stream_is_closed_and_still_readable(ddb, streams):
    table, arn = stream_table(ddb, "KEYS_ONLY")
    during, after, later = in_one_shard("during", "after", "later")
    put(ddb, table, during)
    open_iterator = iterator(streams, arn, "LATEST", p=during)
    ddb.update_table(TableName=table, StreamSpecification={"StreamEnabled": False})
    put(ddb, table, after)
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    assert all(s["SequenceNumberRange"]["EndingSequenceNumber"].isdecimal() for s in shards)  # every shard closed
    page = streams.get_records(ShardIterator=iterator(streams, arn, p=during))
    assert [r["dynamodb"]["Keys"]["p"]["S"] for r in page["Records"]] == [during]
    assert "NextShardIterator" not in page  # the end of a closed shard
    end = streams.get_records(ShardIterator=open_iterator)
    assert end["Records"] == [] and "NextShardIterator" not in end
    new_arn = ddb.update_table(
        TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    )["TableDescription"]["LatestStreamArn"]
    put(ddb, table, later)
    assert [r["dynamodb"]["Keys"]["p"]["S"] for r in read_every_shard(streams, new_arn)] == [later]


def test_get_shard_iterator_errors(ddb, streams):
    table, arn = stream_table(ddb)
    shard = shard_of(streams, arn)
    sequence = "1" + "0" * 20
    cases = [
        (dict(ShardId="shardId-00000000000000000001-00000000", ShardIteratorType="LATEST"),
         ("ResourceNotFoundException",
          f"Requested resource not found: Shard: shardId-00000000000000000001-00000000 in Stream: {arn} not found")),
        (dict(ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER"),
         ("ValidationException", "SequenceNumber is required when ShardIteratorType is AT_SEQUENCE_NUMBER")),
        (dict(ShardId=shard, ShardIteratorType="LATEST", SequenceNumber=sequence),
         ("ValidationException", "SequenceNumber must not be specified when ShardIteratorType is LATEST")),
        (dict(ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber="9" * 30),
         ("ValidationException", f"Invalid SequenceNumber {'9' * 30} for shard {shard}")),
    ]
    for arguments, expected in cases:
        with pytest.raises(ClientError) as info:
            streams.get_shard_iterator(StreamArn=arn, **arguments)
        assert error_of(info) == expected
    gone = arn.rsplit("/", 1)[0] + "/2001-01-01T00:00:00.000"
    with pytest.raises(ClientError) as info:
        streams.get_shard_iterator(StreamArn=gone, ShardId=shard, ShardIteratorType="LATEST")
    assert error_of(info)[0] == "ResourceNotFoundException"


def test_get_records_errors(ddb, streams):
    table, arn = stream_table(ddb)
    with pytest.raises(ClientError) as info:
        streams.get_records(ShardIterator="sdfsdfsgagaddafgagasgasgasdfasdfasdfasdfasdgasdasdgasdg")
    assert error_of(info) == ("ValidationException", "Invalid ShardIterator")
    with pytest.raises(ClientError) as info:
        streams.get_records(ShardIterator=iterator(streams, arn), Limit=1001)
    assert error_of(info) == (
        "ValidationException",
        "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: "
        "Member must have value less than or equal to 1000",
    )


def test_iterators_expire_after_15_minutes(ddb, streams):
    table, arn = stream_table(ddb)
    issued = int(time.time() * 1000) - 15 * 60 * 1000 - 5000
    token = gateway_streams.ITERATORS.encode(stream_view.ShardIterator(arn, shard_of(streams, arn), 0, issued))
    with pytest.raises(ClientError) as info:
        streams.get_records(ShardIterator=token)
    code, message = error_of(info)
    assert code == "ExpiredIteratorException"
    assert message.startswith("Iterator expired. The iterator was created at time ")
    assert message.endswith("which is further in the future than the tolerated delay of 900000 milliseconds.")


# --- the 24 hour trim: a server whose log clock runs 25 hours behind -----------------------------


@pytest.fixture(scope="module")
def old_log_server():
    day_ago = 25 * 3600 * 1000
    engine = LocalEngine(MemoryLog(clock=lambda: time.time_ns() // 1_000_000 - day_ago), shards=SHARDS)
    asyncio.run(engine.open())
    background = BackgroundServer(build_gateway(engine, ACCESS_KEY, SECRET_KEY, ServerConfig(region=REGION))).start()
    yield background
    background.stop()


def test_records_older_than_24_hours_are_trimmed(old_log_server):
    ddb = make_client(old_log_server.endpoint)
    streams = make_client(old_log_server.endpoint, "dynamodbstreams")
    table, arn = stream_table(ddb, "KEYS_ONLY")
    old = in_shard(0, "old")  # in the first shard: its first sequence number is 1 followed by 20 zeros
    put(ddb, table, old)  # committed, by the log's clock, 25 hours ago
    assert read_all(streams, iterator(streams, arn, p=old)) == []  # TRIM_HORIZON is past it
    with pytest.raises(ClientError) as info:
        iterator(streams, arn, "AT_SEQUENCE_NUMBER", p=old, SequenceNumber="1" + "0" * 20)
    assert error_of(info)[0] == "TrimmedDataAccessException"
    token = gateway_streams.ITERATORS.encode(
        stream_view.ShardIterator(arn, shard_of(streams, arn, old), 0, int(time.time() * 1000))
    )
    with pytest.raises(ClientError) as info:
        streams.get_records(ShardIterator=token)
    assert error_of(info)[0] == "TrimmedDataAccessException"
