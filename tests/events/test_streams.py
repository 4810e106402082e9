"""The DynamoDB Streams view over the event log: ids, iterators, records, windows, trim and expiry.

Everything runs on a MemoryLog with an injected clock: the 24 h trim and the 15 minute iterator
expiry are tested by moving the clock, never by sleeping.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynamoray.core import tables
from dynamoray.core.errors import DynamoError
from dynamoray.core.values import item_size
from dynamoray.events import streams
from dynamoray.events.codec import EventCodec
from dynamoray.events.memory import MemoryLog
from dynamoray.schemas.events import ItemChanged, TableUpdated

T0 = 1_795_000_000_000  # ms
HOUR = 3600 * 1000
TOPIC = "dynamoray.table.t1"
TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/music"
CODEC = EventCodec()


class Clock:
    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def key(p: str) -> dict:
    return {"p": {"S": p}}


def item(p: str, x: int) -> dict:
    return {"p": {"S": p}, "x": {"N": str(x)}}


def change(name: str, p: str, old: int | None, new: int | None, **extra) -> bytes:
    old_image = item(p, old) if old is not None else None
    new_image = item(p, new) if new is not None else None
    return CODEC.encode(ItemChanged("t1", 0, name, key(p), old_image, new_image, **extra))


def description(view_type: str | None = "NEW_AND_OLD_IMAGES", created: float = T0 / 1000) -> dict:
    """A table description, with a stream enabled at ``created`` unless ``view_type`` is None."""
    request = {
        "TableName": "music", "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "p", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST",
    }
    if view_type is not None:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view_type}
    return tables.new_table_description(request, arn=TABLE_ARN, table_id="t1", now=created)


class Fixture:
    """A table topic with ``partitions`` partitions, a writer per partition and a reader."""

    def __init__(self, partitions: int = 1, view_type: str | None = "NEW_AND_OLD_IMAGES") -> None:
        self.clock = Clock()
        self.log = MemoryLog(clock=self.clock)
        self.log.create_topic(TOPIC, partitions)
        self.writers = [self.log.open_writer(TOPIC, p) for p in range(partitions)]
        self.description = description(view_type)

    def append(self, *values: bytes, partition: int = 0) -> list[int]:
        return self.writers[partition].append(list(values))

    def reader(self, index: int = -1) -> streams.StreamReader:
        stream = streams.streams_of(self.description, self.clock())[index]
        return streams.StreamReader(self.log, TOPIC, stream, self.clock)

    def read_all(self, reader: streams.StreamReader, kind: str = "TRIM_HORIZON", limit: int = 1000) -> list[dict]:
        iterator = reader.iterator(reader.stream.shard_id(0), kind)
        records, _ = reader.read(iterator, limit)
        return records


def expect_error(error_type: str, message: str | None = None):
    class Check:
        def __enter__(self):
            return self

        def __exit__(self, kind, error, tb):
            assert isinstance(error, DynamoError), f"expected {error_type}, got {error!r}"
            assert error.error_type == error_type
            if message is not None:
                assert error.message == message
            self.error = error
            return True

    return Check()


# --- identifiers ---------------------------------------------------------------------------------


@given(st.integers(0, 1 << 20), st.integers(0, 10**20 - 1))
def test_sequence_numbers_round_trip_and_have_21_to_40_digits(partition, offset):
    text = streams.sequence_number(partition, offset)
    assert text.isdecimal() and 21 <= len(text) <= 40
    assert streams.parse_sequence_number(text) == (partition, offset)


@given(st.integers(0, 64), st.integers(0, 10**12), st.integers(0, 10**12))
def test_sequence_numbers_increase_with_the_offset(partition, a, b):
    ordered = int(streams.sequence_number(partition, a)) < int(streams.sequence_number(partition, b))
    assert ordered == (a < b)


@pytest.mark.parametrize("text", ["", "abc", "0" * 21, "12345", "1" * 41, None, 7])
def test_foreign_sequence_numbers_do_not_parse(text):
    assert streams.parse_sequence_number(text) is None


def test_shard_ids_round_trip_within_the_length_limits():
    shard = streams.ShardId(T0, 300)
    text = str(shard)
    assert text == "shardId-00000001795000000000-0000012c"
    assert 28 <= len(text) <= 65
    assert streams.ShardId.parse(text) == shard
    assert streams.ShardId.parse("shardId-1-2") is None


def test_stream_arns_parse_and_bad_ones_are_validation_errors():
    arn = f"{TABLE_ARN}/stream/2026-11-26T14:55:46.123"
    assert streams.parse_stream_arn(arn) == ("music", "2026-11-26T14:55:46.123")
    with expect_error("ValidationException", "Invalid StreamArn: not-an-arn"):
        streams.parse_stream_arn("not-an-arn")


# --- iterators -----------------------------------------------------------------------------------


@given(st.text(max_size=80), st.integers(0, 2**62), st.integers(0, 2**50))
def test_iterators_round_trip(arn, position, issued):
    codec = streams.IteratorCodec(b"secret")
    iterator = streams.ShardIterator(arn, "shardId-00000001795000000000-00000000", position, issued)
    token = codec.encode(iterator)
    assert len(token) <= 2048
    assert codec.decode(token) == iterator


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),  # the signature
    lambda t: "x" + t,  # the body
    lambda t: "garbage",
    lambda t: "",
])
def test_tampered_iterators_are_rejected(mangle):
    codec = streams.IteratorCodec(b"secret")
    token = codec.encode(streams.ShardIterator("arn", "shard", 5, T0))
    with expect_error("ValidationException", "Invalid ShardIterator"):
        codec.decode(mangle(token))


def test_another_servers_iterators_are_rejected():
    token = streams.IteratorCodec(b"one").encode(streams.ShardIterator("arn", "shard", 5, T0))
    with expect_error("ValidationException", "Invalid ShardIterator"):
        streams.IteratorCodec(b"two").decode(token)


# --- records -------------------------------------------------------------------------------------


def test_records_arrive_once_in_order_with_both_images():
    f = Fixture()
    f.append(change("INSERT", "a", None, 1), change("MODIFY", "a", 1, 2))
    f.append(change("REMOVE", "a", 2, None))
    records = f.read_all(f.reader())
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert [r["dynamodb"]["SequenceNumber"] for r in records] == [streams.sequence_number(0, o) for o in (0, 1, 2)]
    first, second, third = (r["dynamodb"] for r in records)
    assert first["NewImage"] == item("a", 1) and "OldImage" not in first
    assert second["OldImage"] == item("a", 1) and second["NewImage"] == item("a", 2)
    assert third["OldImage"] == item("a", 2) and "NewImage" not in third
    assert all(r["dynamodb"]["Keys"] == key("a") for r in records)
    assert len({r["eventID"] for r in records}) == 3
    assert records[0]["eventVersion"] == "1.1" and records[0]["eventSource"] == "aws:dynamodb"
    assert records[0]["awsRegion"] == "eu-west-1"
    assert first["ApproximateCreationDateTime"] == T0 // 1000


@pytest.mark.parametrize("view_type, has_new, has_old", [
    ("KEYS_ONLY", False, False), ("NEW_IMAGE", True, False),
    ("OLD_IMAGE", False, True), ("NEW_AND_OLD_IMAGES", True, True),
])
def test_view_types_choose_the_images(view_type, has_new, has_old):
    f = Fixture(view_type=view_type)
    f.append(change("MODIFY", "a", 1, 2))
    (record,) = f.read_all(f.reader())
    body = record["dynamodb"]
    assert body["StreamViewType"] == view_type
    assert ("NewImage" in body) == has_new and ("OldImage" in body) == has_old
    images = [item("a", 2)] * has_new + [item("a", 1)] * has_old
    assert body["SizeBytes"] == sum(item_size(i) for i in [key("a"), *images])


def test_a_modify_that_changes_nothing_is_not_a_record_but_is_consumed():
    f = Fixture()
    f.append(change("INSERT", "a", None, 1), change("MODIFY", "a", 1, 1), change("MODIFY", "a", 1, 2))
    reader = f.reader()
    records = f.read_all(reader)
    assert [r["dynamodb"]["SequenceNumber"][-1] for r in records] == ["0", "2"]


def test_events_other_than_item_changes_are_skipped():
    f = Fixture()
    f.append(CODEC.encode(TableUpdated("t1", "music", {})), change("INSERT", "a", None, 1))
    (record,) = f.read_all(f.reader())
    assert record["dynamodb"]["SequenceNumber"] == streams.sequence_number(0, 1)


def test_transactional_writes_appear_as_their_item_changes():
    f = Fixture()
    f.append(change("INSERT", "a", None, 1, transaction_id="tx1"), change("INSERT", "b", None, 2, transaction_id="tx1"))
    records = f.read_all(f.reader())
    assert [r["dynamodb"]["Keys"] for r in records] == [key("a"), key("b")]


def test_ttl_deletes_carry_the_service_identity():
    f = Fixture()
    f.append(change("REMOVE", "a", 1, None, principal="dynamodb.amazonaws.com", principal_type="Service"))
    f.append(change("REMOVE", "b", 1, None, principal="arn:aws:iam::1:root", principal_type="Account"))
    ttl, user = f.read_all(f.reader())
    assert ttl["userIdentity"] == {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}
    assert "userIdentity" not in user


def test_limit_pages_through_the_shard_and_latest_sees_only_new_records():
    f = Fixture()
    f.append(*(change("INSERT", f"k{i}", None, i) for i in range(5)))
    reader = f.reader()
    latest = reader.iterator(reader.stream.shard_id(0), "LATEST")
    iterator = reader.iterator(reader.stream.shard_id(0), "TRIM_HORIZON")
    seen = []
    while True:
        records, iterator = reader.read(iterator, 2)
        if not records:
            break
        assert len(records) <= 2
        seen += [r["dynamodb"]["Keys"]["p"]["S"] for r in records]
    assert seen == [f"k{i}" for i in range(5)]
    assert reader.read(latest)[0] == []
    f.append(change("INSERT", "new", None, 9))
    records, _ = reader.read(latest)
    assert [r["dynamodb"]["Keys"] for r in records] == [key("new")]


def test_a_response_stays_under_one_megabyte():
    f = Fixture(view_type="NEW_IMAGE")
    big = {"p": {"S": "a"}, "blob": {"S": "x" * 300_000}}
    f.append(*(CODEC.encode(ItemChanged("t1", 0, "INSERT", key("a"), None, big)) for _ in range(5)))
    reader = f.reader()
    records, following = reader.read(reader.iterator(reader.stream.shard_id(0), "TRIM_HORIZON"))
    assert len(records) == 3
    records, _ = reader.read(following)
    assert len(records) == 2


def test_sequence_number_iterators():
    f = Fixture()
    f.append(*(change("INSERT", f"k{i}", None, i) for i in range(3)))
    reader = f.reader()
    shard = reader.stream.shard_id(0)
    second = streams.sequence_number(0, 1)
    at, _ = reader.read(reader.iterator(shard, "AT_SEQUENCE_NUMBER", second))
    after, _ = reader.read(reader.iterator(shard, "AFTER_SEQUENCE_NUMBER", second))
    assert [r["dynamodb"]["SequenceNumber"] for r in at] == [second, streams.sequence_number(0, 2)]
    assert [r["dynamodb"]["SequenceNumber"] for r in after] == [streams.sequence_number(0, 2)]


@pytest.mark.parametrize("kind, sequence, error", [
    ("AT_SEQUENCE_NUMBER", None, "SequenceNumber is required when ShardIteratorType is AT_SEQUENCE_NUMBER"),
    ("TRIM_HORIZON", "100000000000000000000",
     "SequenceNumber must not be specified when ShardIteratorType is TRIM_HORIZON"),
    ("AT_SEQUENCE_NUMBER", "200000000000000000000",  # another partition's
     "Invalid SequenceNumber 200000000000000000000 for shard {shard}"),
    ("AFTER_SEQUENCE_NUMBER", "100000000000000000009",  # past the end
     "Invalid SequenceNumber 100000000000000000009 for shard {shard}"),
])
def test_bad_sequence_numbers_are_validation_errors(kind, sequence, error):
    f = Fixture()
    f.append(change("INSERT", "a", None, 1))
    reader = f.reader()
    shard = reader.stream.shard_id(0)
    with expect_error("ValidationException", error.format(shard=shard)):
        reader.iterator(shard, kind, sequence)


def test_at_timestamp_starts_at_the_first_record_committed_then():
    f = Fixture()
    f.append(change("INSERT", "a", None, 1))
    f.clock.now += 5000
    f.append(change("INSERT", "b", None, 2))
    reader = f.reader()
    shard = reader.stream.shard_id(0)
    records, _ = reader.read(reader.iterator(shard, "AT_TIMESTAMP", timestamp=(T0 + 1000) / 1000))
    assert [r["dynamodb"]["Keys"] for r in records] == [key("b")]
    with expect_error("ValidationException", "The Timestamp must not be in the future"):
        reader.iterator(shard, "AT_TIMESTAMP", timestamp=(f.clock.now + 60_000) / 1000)


def test_unknown_shards_are_not_found():
    f = Fixture()
    reader = f.reader()
    for shard in ["shardId-00000001795000000000-00000001", "shardId-00000000000000000001-00000000", "nonsense"]:
        with expect_error("ResourceNotFoundException"):
            reader.iterator(shard, "LATEST")


# --- the stream window ---------------------------------------------------------------------------


def test_a_stream_shows_only_changes_made_while_it_was_enabled():
    f = Fixture(view_type=None)
    assert streams.streams_of(f.description, f.clock()) == []
    f.append(change("INSERT", "before", None, 1))
    f.description = tables.updated_description(
        f.description, {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}},
        T0 / 1000, stream_offsets={"0": f.log.end_offset(TOPIC, 0)},
    )
    f.append(change("INSERT", "during", None, 2))
    f.clock.now += 1000
    f.description = tables.updated_description(
        f.description, {"StreamSpecification": {"StreamEnabled": False}},
        f.clock.now / 1000, stream_offsets={"0": f.log.end_offset(TOPIC, 0)},
    )
    f.append(change("INSERT", "after", None, 3))
    reader = f.reader()
    assert not reader.stream.enabled and reader.stream.describe()["StreamStatus"] == "DISABLED"
    records, following = reader.read(reader.iterator(reader.stream.shard_id(0), "TRIM_HORIZON"))
    assert [r["dynamodb"]["Keys"] for r in records] == [key("during")]
    assert following is None  # the end of a closed shard
    (shard,) = reader.shards()
    assert shard["SequenceNumberRange"] == {
        "StartingSequenceNumber": streams.sequence_number(0, 1), "EndingSequenceNumber": streams.sequence_number(0, 1),
    }


def test_a_disabled_stream_is_readable_for_24_hours():
    f = Fixture()
    f.description = tables.updated_description(
        f.description, {"StreamSpecification": {"StreamEnabled": False}}, T0 / 1000, stream_offsets={"0": 0}
    )
    f.clock.now = T0 + 24 * HOUR - 1
    assert len(streams.streams_of(f.description, f.clock())) == 1
    f.clock.now = T0 + 24 * HOUR
    assert streams.streams_of(f.description, f.clock()) == []


def test_each_partition_is_a_shard():
    f = Fixture(partitions=3)
    f.append(change("INSERT", "a", None, 1), partition=2)
    reader = f.reader()
    shards = reader.shards()
    assert [s["ShardId"] for s in shards] == [reader.stream.shard_id(p) for p in range(3)]
    assert all("EndingSequenceNumber" not in s["SequenceNumberRange"] and "ParentShardId" not in s for s in shards)
    records, _ = reader.read(reader.iterator(reader.stream.shard_id(2), "TRIM_HORIZON"))
    assert records[0]["dynamodb"]["SequenceNumber"] == streams.sequence_number(2, 0)
    assert reader.read(reader.iterator(reader.stream.shard_id(1), "TRIM_HORIZON"))[0] == []


# --- trim and expiry -----------------------------------------------------------------------------


def test_records_older_than_24_hours_are_trimmed():
    f = Fixture()
    f.append(change("INSERT", "old", None, 1))
    reader = f.reader()
    old_iterator = reader.iterator(reader.stream.shard_id(0), "TRIM_HORIZON")
    f.clock.now += 2 * HOUR
    f.append(change("INSERT", "young", None, 2))
    f.clock.now = T0 + 24 * HOUR + 1
    shard = reader.stream.shard_id(0)
    assert [r["dynamodb"]["Keys"] for r in f.read_all(reader)] == [key("young")]
    assert reader.shards()[0]["SequenceNumberRange"]["StartingSequenceNumber"] == streams.sequence_number(0, 1)
    with expect_error("TrimmedDataAccessException"):
        reader.iterator(shard, "AT_SEQUENCE_NUMBER", streams.sequence_number(0, 0))
    fresh = streams.ShardIterator(old_iterator.arn, shard, old_iterator.position, f.clock.now)
    with expect_error("TrimmedDataAccessException"):
        reader.read(fresh)


def test_iterators_expire_after_15_minutes():
    f = Fixture()
    reader = f.reader()
    iterator = reader.iterator(reader.stream.shard_id(0), "LATEST")
    f.clock.now += 15 * 60 * 1000
    records, following = reader.read(iterator)  # exactly 15 minutes old: still valid
    assert records == [] and following.issued_ms == f.clock.now
    f.clock.now += 1
    with expect_error("ExpiredIteratorException") as check:
        reader.read(iterator)
    assert check.error.message == (
        "Iterator expired. The iterator was created at time Wed Nov 18 11:06:40 UTC 2026 while right now it is "
        "Wed Nov 18 11:21:40 UTC 2026 which is further in the future than the tolerated delay of 900000 milliseconds."
    )
    assert reader.read(following)[1] is not None  # the iterator a read handed back is fresh


# --- labels --------------------------------------------------------------------------------------


def test_stream_labels_are_iso_8601_with_milliseconds():
    assert tables.stream_label(1795000000.467) == "2026-11-18T11:06:40.467"
    assert tables.stream_label(1795000000.9996) == "2026-11-18T11:06:41.000"


def test_streams_enabled_within_one_millisecond_get_distinct_labels():
    table = description(view_type="KEYS_ONLY")
    disable = {"StreamSpecification": {"StreamEnabled": False}}
    enable = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}}
    table = tables.updated_description(table, disable, T0 / 1000, stream_offsets={"0": 0})
    table = tables.updated_description(table, enable, T0 / 1000, stream_offsets={"0": 0})
    labels = [s.label for s in streams.streams_of(table, T0)]
    assert labels == ["2026-11-18T11:06:40.000", "2026-11-18T11:06:40.001"]
    assert table["LatestStreamArn"] == f"{TABLE_ARN}/stream/2026-11-18T11:06:40.001"
    assert [s.shard_id(0) for s in streams.streams_of(table, T0)] == [
        "shardId-00000001795000000000-00000000", "shardId-00000001795000000001-00000000",
    ]
