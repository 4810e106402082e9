"""Stream subscription: records as plain Python, sync and async, shard lineage, LATEST, renewal."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

import pytest

from dynamoray.gateway.sdk import StreamRecord, SyncTransport, Update
from dynamoray.gateway.sdk.errors import ExpiredIteratorException
from dynamoray.gateway.sdk.flows import Call, Emit, Sleep
from dynamoray.gateway.sdk.streams import follow_stream

from .conftest import make_async_client, make_client, unique
from .fakes import FakeSync, Script, drive


def test_every_change_in_order_with_images(client):
    name = unique("st")
    table = client.create_table(name, hash_key=("p", "S"), stream="NEW_AND_OLD_IMAGES")
    table.put({"p": "a", "n": 1, "tags": {"x"}})
    table.update({"p": "a"}, Update().add("n", 1))
    table.delete({"p": "a"})
    records = list(table.stream(follow=False))
    assert [r.event_name for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert all(isinstance(r, StreamRecord) and r.keys == {"p": "a"} for r in records)
    assert (records[0].old_image, records[0].new_image) == (None, {"p": "a", "n": 1, "tags": {"x"}})
    assert (records[1].old_image["n"], records[1].new_image["n"]) == (1, 2)
    assert (records[2].old_image, records[2].new_image) == ({"p": "a", "n": 2, "tags": {"x"}}, None)
    assert len({r.sequence_number for r in records}) == 3 and records[0].created_at > 0
    client.delete_table(name)


def test_following_from_latest_sees_only_new_changes(sdk_server):
    script = Script()
    client = make_client(sdk_server.endpoint, transport=FakeSync(SyncTransport(sdk_server.endpoint), script))
    name = unique("st")
    table = client.create_table(name, hash_key=("p", "S"), stream="KEYS_ONLY")
    table.put({"p": "before"})
    stream = table.stream(start="LATEST", poll_interval=0.05)  # positioned when iteration starts
    got: list[StreamRecord] = []
    reader = threading.Thread(target=lambda: got.extend(itertools.islice(stream, 3)), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while "GetRecords" not in script.operations() and time.monotonic() < deadline:
        time.sleep(0.01)
    for i in range(3):
        table.put({"p": f"after-{i}", "v": i})
    reader.join(timeout=60)
    # order is kept per item (per shard), so compare the set of keys
    assert sorted(r.keys["p"] for r in got) == [f"after-{i}" for i in range(3)]
    assert all(r.new_image is None and r.event_name == "INSERT" for r in got)  # KEYS_ONLY
    client.delete_table(name)


def test_async_subscription(sdk_server):
    async def run():
        async with make_async_client(sdk_server.endpoint) as client:
            name = unique("ast")
            table = await client.create_table(name, hash_key=("p", "S"), stream="NEW_IMAGE")
            for i in range(5):
                await table.put({"p": f"k{i}", "i": i})
            drained = sorted([r.new_image async for r in table.stream(follow=False)], key=lambda i: i["i"])
            followed = []
            async for record in table.stream(poll_interval=0.05):  # follows: break out when done
                followed.append(record.keys["p"])
                if len(followed) == 5:
                    break
            arn = (await table.describe())["LatestStreamArn"]
            by_arn = sorted([r.keys["p"] async for r in client.stream(arn, follow=False)])
            await client.delete_table(name)
            return drained, followed, by_arn

    drained, followed, by_arn = asyncio.run(run())
    assert drained == [{"p": f"k{i}", "i": i} for i in range(5)]
    assert sorted(followed) == by_arn == [f"k{i}" for i in range(5)]


def test_a_table_without_a_stream_says_so(client, table_s):
    with pytest.raises(ValueError, match="has no stream"):
        next(iter(client.table(table_s).stream()))


# --- lineage, against a scripted stream ----------------------------------------------------------------


def record(seq: str, key: str) -> dict:
    return {"eventName": "INSERT", "dynamodb": {"Keys": {"p": {"S": key}}, "SequenceNumber": seq}}


class ScriptedStream:
    """A parent shard (closed, 2 records), then a child (open) that shows up once the parent is read;
    the child's first iterator expires once."""

    def __init__(self) -> None:
        self.parent_done = False
        self.expired = False
        self.iterators: list[tuple[str, str, str | None]] = []

    def __call__(self, call: Call):
        op, req = call.operation, call.payload
        if op == "DescribeStream":
            shards = [{"ShardId": "parent", "SequenceNumberRange": {"StartingSequenceNumber": "1",
                                                                    "EndingSequenceNumber": "2"}}]
            if self.parent_done:
                shards.append({"ShardId": "child", "ParentShardId": "parent",
                               "SequenceNumberRange": {"StartingSequenceNumber": "3"}})
            return {"StreamDescription": {"Shards": shards}}
        if op == "GetShardIterator":
            self.iterators.append((req["ShardId"], req["ShardIteratorType"], req.get("SequenceNumber")))
            return {"ShardIterator": f"{req['ShardId']}:{len(self.iterators)}"}
        shard = req["ShardIterator"].split(":")[0]
        if shard == "parent":
            self.parent_done = True
            return {"Records": [record("1", "a"), record("2", "b")]}  # no NextShardIterator: closed
        if not self.expired and req["ShardIterator"] == "child:2":
            return {"Records": [record("3", "c")], "NextShardIterator": "child:stale"}
        if req["ShardIterator"] == "child:stale":
            self.expired = True
            return ExpiredIteratorException("Iterator expired")  # thrown into the flow by drive()
        return {"Records": [], "NextShardIterator": req["ShardIterator"]}


def test_parents_are_read_before_children_and_expired_iterators_renewed():
    stream = ScriptedStream()
    steps, _ = drive(follow_stream("arn", follow=False), stream)
    emitted = [s.value for s in steps if isinstance(s, Emit)]
    assert [(r.shard_id, r.keys["p"]) for r in emitted] == [("parent", "a"), ("parent", "b"), ("child", "c")]
    assert stream.iterators == [("parent", "TRIM_HORIZON", None), ("child", "TRIM_HORIZON", None),
                                ("child", "AFTER_SEQUENCE_NUMBER", "3")]
    assert not any(isinstance(s, Sleep) for s in steps)


def test_latest_skips_shards_already_closed_and_polls_when_following():
    stream = ScriptedStream()
    stream.parent_done = True  # both shards exist at the start; the parent is closed
    flow = follow_stream("arn", start="LATEST", follow=True, poll_interval=0.25)
    sleeps = []
    send = None
    for _ in range(40):  # a following flow never ends: stop it after its second idle poll
        step = flow.send(send)
        send = None
        if isinstance(step, Sleep):
            sleeps.append(step.seconds)
            if len(sleeps) == 2:
                break
        elif isinstance(step, Call):
            send = stream(step)
    assert stream.iterators[0] == ("child", "LATEST", None)
    assert all(i[0] == "child" for i in stream.iterators) and sleeps == [0.25, 0.25]
