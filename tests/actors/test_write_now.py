"""Writes finished on the caller's loop turn (``WritePipeline.write_now``, ``LocalEngine.write``):
decided, durable and folded before returning, or nothing done at all."""

from __future__ import annotations

import asyncio

import pytest

from dynamoray.actors import records
from dynamoray.actors.local import LocalEngine
from dynamoray.actors.pipeline import BrokenPartition, WritePipeline
from dynamoray.actors.records import table_topic
from dynamoray.core import keys, partition
from dynamoray.core.commands import PutCommand
from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import ExpressionContext
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.events.memory import MemoryLog

from .helpers import description, key, put

SCHEMA = keys.KeySchema("p", "S")
TOPIC = "dynamoray.table.t1"


def run(coro):
    return asyncio.run(coro)


def pipeline_on(log: MemoryLog, append_now=None, gate: asyncio.Event | None = None) -> tuple[WritePipeline, object]:
    log.create_topic(TOPIC, 1)
    writer = log.open_writer(TOPIC, 0)

    async def append(batch):
        if gate is not None:
            await gate.wait()
        return writer.append(batch)

    pipe = WritePipeline(partition.PartitionState(SCHEMA), append, records.change_encoder("t1"),
                         txn=records.TransactionEncoder("t1"),
                         append_now=writer.append_now if append_now is None else append_now)
    return pipe, writer


def stored(log: MemoryLog) -> int:
    return len(list(records.read_all(log, TOPIC)))


def test_a_lone_write_is_durable_and_folded_before_write_now_returns():
    log = MemoryLog()

    async def scenario():
        pipe, _ = pipeline_on(log)
        outcome = pipe.write_now(put("a", v="1"))
        return pipe, outcome

    pipe, outcome = run(scenario())
    assert outcome is not None and outcome.change is not None
    assert pipe.state.lookup(key("a"))["v"] == {"S": "1"}
    assert stored(log) == 1
    assert pipe.state.applied_offset == 0


def test_write_now_does_nothing_while_a_pipelined_write_is_in_flight():
    log = MemoryLog()

    async def scenario():
        gate = asyncio.Event()
        pipe, _ = pipeline_on(log, gate=gate)
        first = asyncio.ensure_future(pipe.write(put("a", v="1")))
        await asyncio.sleep(0.01)  # decided, queued, its append waiting on the gate
        refused = pipe.write_now(put("b", v="2"))
        nothing_yet = stored(log)
        gate.set()
        await first
        return pipe, refused, nothing_yet

    pipe, refused, nothing_yet = run(scenario())
    assert refused is None and nothing_yet == 0  # the later write did not overtake the first
    assert pipe.state.lookup(key("b")) is None
    assert pipe.state.lookup(key("a"))["v"] == {"S": "1"}


def test_a_failed_condition_raises_and_writes_nothing():
    log = MemoryLog()
    never = ExpressionContext(None, None).condition("attribute_exists(p)")

    async def scenario():
        pipe, _ = pipeline_on(log)
        with pytest.raises(DynamoError) as failed:
            pipe.write_now(PutCommand(item={"p": {"S": "a"}}, condition=never))
        return failed.value

    assert run(scenario()).error_type == "ConditionalCheckFailedException"
    assert stored(log) == 0


def test_a_log_that_cannot_commit_now_leaves_the_write_undone():
    log = MemoryLog()

    async def scenario():
        pipe, _ = pipeline_on(log, append_now=lambda batch: None)
        return pipe, pipe.write_now(put("a"))

    pipe, outcome = run(scenario())
    assert outcome is None
    assert pipe.state.lookup(key("a")) is None and stored(log) == 0


def test_a_failed_append_breaks_the_partition():
    log = MemoryLog()

    def failing(batch):
        raise OSError("disk gone")

    async def scenario():
        pipe, _ = pipeline_on(log, append_now=failing)
        with pytest.raises(BrokenPartition):
            pipe.write_now(put("a"))
        with pytest.raises(BrokenPartition):
            await pipe.write(put("b"))
        return pipe

    pipe = run(scenario())
    assert pipe.broken is not None and pipe.state.lookup(key("a")) is None


# --- the local engine: one write a loop turn at once, the rest pipelined ----------------------------


async def local_engine(tmp_path) -> LocalEngine:
    engine = LocalEngine(EmbeddedLog(tmp_path / "log"), shards=1)
    await engine.open()
    await engine.create_table(description("t"))
    return engine


def test_the_first_write_of_a_turn_commits_at_once_and_the_others_commit_together(tmp_path):
    async def scenario():
        engine = await local_engine(tmp_path)
        topic = table_topic(engine._groups["t"].table_id)
        committer = engine._log._topic(topic).committer
        before = committer.inline_commits
        await asyncio.gather(*(engine.write("t", put(f"k{i}")) for i in range(5)))
        commits = committer.inline_commits - before
        items = [await engine.get("t", key(f"k{i}"), consistent=True) for i in range(5)]
        await engine.close()
        return commits, items

    commits, items = run(scenario())
    assert all(item is not None for item in items)
    assert commits == 2  # one for the first write, one for the four queued behind it


def test_a_loop_of_writes_still_lets_other_tasks_run(tmp_path):
    async def scenario():
        engine = await local_engine(tmp_path)
        ticks, stop = 0, False

        async def ticker():
            nonlocal ticks
            while not stop:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)
        start = ticks
        for i in range(40):
            await engine.write("t", put(f"k{i}"))
        during = ticks - start
        stop = True
        await task
        count = len((await engine.scan("t", __import__("dynamoray.core.commands", fromlist=["ScanSpec"]).ScanSpec(),
                                       consistent=True)).items)
        await engine.close()
        return during, count

    during, count = run(scenario())
    assert count == 40
    assert during >= 15  # at least every other write gave the loop a turn


def test_writes_finished_at_once_survive_a_reopen(tmp_path):
    async def first():
        engine = await local_engine(tmp_path)
        for i in range(10):
            await engine.write("t", put(f"k{i}", v=str(i)))
        await engine.close()

    async def again():
        engine = LocalEngine(EmbeddedLog(tmp_path / "log"), shards=1)
        await engine.open()
        items = [await engine.get("t", key(f"k{i}"), consistent=True) for i in range(10)]
        await engine.close()
        return items

    run(first())
    items = run(again())
    assert [item["v"] for item in items] == [{"S": str(i)} for i in range(10)]


def test_a_mark_left_by_another_loop_does_not_hold_back_writes(tmp_path):
    async def scenario():
        engine = await local_engine(tmp_path)
        gone = asyncio.new_event_loop()
        gone.close()
        engine._wrote_now = gone  # as a loop closed before its turn ended would leave it
        topic = table_topic(engine._groups["t"].table_id)
        committer = engine._log._topic(topic).committer
        before = committer.inline_commits
        await asyncio.gather(*(engine.write("t", put(f"k{i}")) for i in range(3)))
        commits = committer.inline_commits - before
        await engine.close()
        return commits

    assert run(scenario()) == 2  # the first write of this turn at once, the other two together
