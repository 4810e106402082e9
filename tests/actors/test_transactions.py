"""Transactions below the gateway, without Ray: a partition's locks (the write pipeline), the
coordinator's decisions, and recovery from the logs alone after a crash at each step."""

from __future__ import annotations

import asyncio

import pytest

from dynamoray.actors import records
from dynamoray.actors.coordinator import COORDINATOR_TOPIC, TransactionCoordinator
from dynamoray.actors.local import LocalEngine
from dynamoray.actors.records import table_topic
from dynamoray.actors.local_transactions import LocalParticipants
from dynamoray.actors.pipeline import WritePipeline
from dynamoray.core import keys, partition, saga
from dynamoray.core.commands import ConditionCheckCommand, PutCommand, UpdateCommand
from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import ExpressionContext
from dynamoray.events.memory import MemoryLog
from dynamoray.schemas.events import ItemChanged, TransactionPrepared, TransactionReleased

from .helpers import description, increment, key, put

SCHEMA = keys.KeySchema("p", "S")
ALWAYS = ExpressionContext(None, None).condition("attribute_not_exists(never_there)")


def run(coro):
    return asyncio.run(coro)


def pipeline_on(log: MemoryLog, topic: str = "dynamoray.table.t1") -> WritePipeline:
    log.create_topic(topic, 1)
    writer = log.open_writer(topic, 0)

    async def append(batch):
        return writer.append(batch)

    return WritePipeline(partition.PartitionState(SCHEMA), append, records.change_encoder("t1"),
                         txn=records.TransactionEncoder("t1"))


def events(log: MemoryLog, topic: str, shard: int = 0) -> list:
    return [records.CODEC.decode(value) for value in records.read_all(log, topic, shard)]


def replayed(log: MemoryLog, topic: str) -> partition.PartitionState:
    state = partition.PartitionState(SCHEMA)
    for offset, value in records.read_all_with_offsets(log, topic):
        records.fold(state, value, offset)
    return state


# --- the partition: locks, phase 2, replay ---------------------------------------------------------


def test_a_prepared_transaction_locks_writes_out_but_not_reads():
    async def scenario():
        log = MemoryLog()
        pipe = pipeline_on(log)
        await pipe.write(put("a", v="old"))
        results = await pipe.prepare("T", [put("a", v="new"), ConditionCheckCommand(key("b"), ALWAYS)])
        assert [r.reason for r in results] == [None, None]
        for command in (put("a", v="x"), increment("b")):
            with pytest.raises(DynamoError) as caught:
                await pipe.write(command)
            assert (caught.value.error_type, caught.value.message) == (
                "TransactionConflictException", "Transaction is ongoing for the item")
        assert pipe.state.lookup(key("a"))["v"] == {"S": "old"}
        assert pipe.read_unlocked(key("a")) == (True, None)
        assert pipe.read_unlocked(key("c")) == (False, None)
        other = await pipe.prepare("U", [put("a", v="u"), put("c")])
        assert [r.reason["Code"] if r.reason else None for r in other] == ["TransactionConflict", None]
        await pipe.write(put("c", v="free"))  # U locked nothing: it failed
        return log, pipe

    log, pipe = run(scenario())
    assert pipe.state.locks and replayed(log, "dynamoray.table.t1").locks == pipe.state.locks


def test_commit_appends_tagged_changes_then_the_release():
    async def scenario():
        log = MemoryLog()
        pipe = pipeline_on(log)
        await pipe.prepare("T", [put("a", v="1"), put("b", v="2"), ConditionCheckCommand(key("c"), ALWAYS)])
        await asyncio.gather(pipe.finish("T", saga.COMMIT), pipe.finish("T", saga.COMMIT))  # at once
        await pipe.finish("T", saga.COMMIT)  # and again: nothing left
        return log, pipe

    log, pipe = run(scenario())
    kinds = [(type(e).__name__, getattr(e, "transaction_id", None)) for e in events(log, "dynamoray.table.t1")]
    assert kinds == [("TransactionPrepared", "T"), ("ItemChanged", "T"), ("ItemChanged", "T"),
                     ("TransactionReleased", "T")]
    assert not pipe.state.locks and pipe.state.lookup(key("b"))["v"] == {"S": "2"}
    state = replayed(log, "dynamoray.table.t1")
    assert not state.locks and state.collections == pipe.state.collections


def test_abort_releases_without_changing_anything():
    async def scenario():
        log = MemoryLog()
        pipe = pipeline_on(log)
        await pipe.write(put("a", v="old"))
        await pipe.prepare("T", [put("a", v="new")])
        await pipe.finish("T", saga.ABORT)
        await pipe.write(put("a", v="after"))
        return log, pipe

    log, pipe = run(scenario())
    found = events(log, "dynamoray.table.t1")
    assert [type(e) for e in found] == [ItemChanged, TransactionPrepared, TransactionReleased, ItemChanged]
    assert found[2].decision == "ABORT" and pipe.state.lookup(key("a"))["v"] == {"S": "after"}


def test_an_in_flight_single_write_makes_a_prepare_conflict():
    async def scenario():
        log = MemoryLog()
        pipe = pipeline_on(log)
        write = asyncio.ensure_future(pipe.write(put("a", v="w")))
        await asyncio.sleep(0)  # decided and queued, not yet folded
        results = await pipe.prepare("T", [put("a", v="t")])
        await write
        return results

    results = run(scenario())
    assert results[0].reason == saga.conflict_reason()


def test_a_replay_applies_only_what_a_partial_commit_left():
    log = MemoryLog()
    topic = "dynamoray.table.t1"
    pipe = pipeline_on(log, topic)
    run(pipe.prepare("T", [increment("a"), increment("b")]))
    prepared = pipe.state.prepared["T"]
    writer = log.open_writer(topic, 0)  # the host died after the first of its commit records
    writer.append([records.encode_transaction_change("t1", "T", prepared.changes[0])])
    state = replayed(log, topic)
    assert [c.keys for c in state.prepared["T"].changes] == [key("b")]

    async def resume():
        async def append(batch):
            return writer.append(batch)
        again = WritePipeline(state, append, records.change_encoder("t1"), txn=records.TransactionEncoder("t1"))
        await again.finish("T", saga.COMMIT)
        return again

    again = run(resume())
    assert again.state.lookup(key("a"))["n"] == {"N": "1"} and again.state.lookup(key("b"))["n"] == {"N": "1"}
    assert not replayed(log, topic).locks


def test_watches_report_a_change_between_the_two_rounds():
    async def scenario():
        pipe = pipeline_on(MemoryLog())
        pipe.watch("w1", [key("a"), key("b")])
        pipe.watch("w2", [key("c")])
        await pipe.write(put("a"))
        await pipe.prepare("T", [put("c")])  # a lock alone changes nothing
        return pipe.unwatch("w1"), pipe.unwatch("w2"), pipe.unwatch("unknown")

    assert run(scenario()) == (False, True, False)


# --- the coordinator over an engine, and crashes ----------------------------------------------------


class Participants(LocalParticipants):
    """The engine's participants, except that phase 2 fails on the tables in ``down``."""

    def __init__(self, engine, down=()) -> None:
        super().__init__(engine)
        self.down = set(down)
        self.gate: asyncio.Event | None = None

    async def prepare(self, node, transaction_id, parts):
        if self.gate is not None:
            await self.gate.wait()
        return await super().prepare(node, transaction_id, parts)

    async def finish(self, node, transaction_id, decision, participants):
        if any(p.table_name in self.down for p in participants):
            up = [p for p in participants if p.table_name not in self.down]
            await super().finish(node, transaction_id, decision, up)
            raise DynamoError("ServiceUnavailable", "down", status=503)
        await super().finish(node, transaction_id, decision, participants)


async def bank(log: MemoryLog, *names: str) -> LocalEngine:
    engine = LocalEngine(log)
    await engine.open()
    for name in names:
        await engine.create_table(description(name))
        await engine.write(name, PutCommand({"p": {"S": "acct"}, "n": {"N": "10"}}))
    return engine


def transfer(engine: LocalEngine, amount: int, token: str | None = None, *tables: str) -> saga.TransactWrite:
    ex = ExpressionContext(None, {":a": {"N": str(amount)}, ":m": {"N": str(-amount)}})
    src, dst = tables or ("src", "dst")
    debit = UpdateCommand(key("acct"), ex.update("ADD n :m"), ex.condition("n >= :a"))
    credit = UpdateCommand(key("acct"), ExpressionContext(None, {":a": {"N": str(amount)}}).update("ADD n :a"))
    actions = (saga.Action(engine._participant(src, debit), debit), saga.Action(engine._participant(dst, credit), credit))
    return saga.TransactWrite(actions, token, f"hash-{amount}" if token else None)


def prepared(engine: LocalEngine, table: str) -> bool:
    """Whether a transaction holds locks in some shard of ``table``."""
    return engine._group(table).has_prepared()


def locks(engine: LocalEngine, table: str) -> dict:
    return {token: txn for state in engine._group(table).states for token, txn in state.locks.items()}


async def balances(engine: LocalEngine, *tables: str) -> list[int]:
    return [int((await engine.get(t, key("acct")))["n"]["N"]) for t in tables]


def test_a_crash_after_the_commit_decision_is_finished_by_the_restart():
    log = MemoryLog()

    async def before_crash():
        engine = await bank(log, "src", "dst")
        coordinator = TransactionCoordinator(log, Participants(engine, down={"dst"}), in_thread=False,
                                             redrive_interval=None, finish_deadline=0.05)
        with pytest.raises(DynamoError) as caught:
            await coordinator.transact_write(transfer(engine, 3))
        assert caught.value.error_type == "InternalServerError"  # decided, not applied everywhere
        assert await balances(engine, "src", "dst") == [7, 10]
        assert prepared(engine, "dst")  # still locked

    async def after_restart():
        engine = LocalEngine(log)
        await engine.open()
        return engine, await balances(engine, "src", "dst")

    run(before_crash())
    engine, amounts = run(after_restart())
    assert amounts == [7, 13]
    assert not locks(engine, "dst") and not locks(engine, "src")
    dst_topic = table_topic(engine._group("dst").table_id)
    committed = [e for shard in range(log.partition_count(dst_topic)) for e in events(log, dst_topic, shard)
                 if isinstance(e, ItemChanged) and e.transaction_id is not None]
    assert len(committed) == 1
    kinds = [type(e).__name__ for e in events(log, COORDINATOR_TOPIC)]
    assert kinds == ["TransactionDecided", "TransactionCompleted"]


def test_a_crash_before_any_decision_is_aborted_by_the_restart():
    log = MemoryLog()

    async def before_crash():
        engine = await bank(log, "src", "dst")
        participants = LocalParticipants(engine)
        request = transfer(engine, 4)
        await participants.prepare(0, "orphan", [(a.participant, [a.command]) for a in request.actions])
        assert prepared(engine, "src")

    async def after_restart():
        engine = LocalEngine(log)
        await engine.open()
        await engine.write("src", increment("acct"))  # not locked any more
        return engine, await balances(engine, "src", "dst")

    run(before_crash())
    engine, amounts = run(after_restart())
    assert amounts == [11, 10]
    assert all(not prepared(engine, t) for t in ("src", "dst"))


def test_resolve_answers_pending_while_running_and_abort_for_unknown_transactions():
    async def scenario():
        log = MemoryLog()
        engine = await bank(log, "src", "dst")
        participants = Participants(engine)
        participants.gate = asyncio.Event()
        coordinator = TransactionCoordinator(log, participants, in_thread=False, redrive_interval=None)
        running = asyncio.ensure_future(coordinator.transact_write(transfer(engine, 1)))
        await asyncio.sleep(0.01)
        (txn,) = coordinator._active
        during = await coordinator.resolve(txn)
        participants.gate.set()
        await running
        return during, await coordinator.resolve(txn), await coordinator.resolve("never-heard-of")

    assert run(scenario()) == (saga.PENDING, saga.ABORT, saga.ABORT)


def test_tokens_survive_a_restart():
    log = MemoryLog()

    async def first():
        engine = await bank(log, "src", "dst")
        await engine.transact_write([(a.participant.table_name, a.command) for a in transfer(engine, 2).actions],
                                    "tok", "hash-2")

    async def second():
        engine = LocalEngine(log)
        await engine.open()
        request = transfer(engine, 2)
        replay = await engine.transact_write([(a.participant.table_name, a.command) for a in request.actions],
                                             "tok", "hash-2")
        with pytest.raises(DynamoError) as caught:
            await engine.transact_write([(a.participant.table_name, a.command) for a in request.actions],
                                        "tok", "other")
        return replay, caught.value.error_type, await balances(engine, "src", "dst")

    run(first())
    replay, error, amounts = run(second())
    assert replay.replayed and error == "IdempotentParameterMismatchException" and amounts == [8, 12]


def test_the_coordinator_topic_keeps_only_what_recovery_needs():
    async def scenario():
        log = MemoryLog()
        engine = await bank(log, "src", "dst")
        coordinator = TransactionCoordinator(log, Participants(engine), in_thread=False, redrive_interval=None,
                                             truncate_every=4)
        for i in range(8):
            await coordinator.transact_write(transfer(engine, 1, "keep-me" if i == 5 else None))
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        return log

    log = run(scenario())
    first = log.start_offset(COORDINATOR_TOPIC, 0)
    kept = events(log, COORDINATOR_TOPIC)
    assert first > 0  # older, finished decisions are gone
    assert any(getattr(e, "client_token", None) == "keep-me" for e in kept)  # the token's window is not over


def test_a_retry_of_a_commit_not_yet_applied_everywhere_waits_for_it():
    async def scenario():
        log = MemoryLog()
        engine = await bank(log, "src", "dst")
        participants = Participants(engine, down={"dst"})
        coordinator = TransactionCoordinator(log, participants, in_thread=False, redrive_interval=None,
                                             finish_deadline=0.05)
        with pytest.raises(DynamoError) as caught:
            await coordinator.transact_write(transfer(engine, 5, "tok"))
        assert caught.value.error_type == "InternalServerError"
        participants.down.clear()  # the partition is back
        replay = await coordinator.transact_write(transfer(engine, 5, "tok"))
        return replay, await balances(engine, "src", "dst")

    replay, amounts = run(scenario())
    assert replay.replayed and amounts == [5, 15]


# --- a host's transaction calls (no Ray) ------------------------------------------------------------


class Coordinator:
    """What a host's lock resolver asks: every transaction is presumed aborted."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def call(self, method: str, txn: str) -> str:
        self.asked.append(txn)
        return saga.ABORT


def test_a_host_prepares_finishes_and_snapshots_even_with_one_open_partition():
    from dynamoray.actors.host import PartitionHost, SharedLog

    from .helpers import new_table

    log = MemoryLog()
    (_, a), (_, b) = new_table(log, "a"), new_table(log, "b")

    async def scenario():
        coordinator = Coordinator()
        host = PartitionHost(SharedLog(log), max_open=1, coordinator=coordinator)
        await host.write(a, put("x", v="1"))
        await host.write(b, put("y", v="2"))
        results = await host.prepare("T", [(a, [put("x", v="3")]), (b, [ConditionCheckCommand(key("y"), ALWAYS)])])
        assert [[r.reason for r in part] for part in results] == [[None], [None]]
        locked = await host.snapshot(None, [(a, key("x")), (b, key("y"))])
        await host.finish("T", saga.COMMIT, [a, b])
        first = await host.snapshot("w", [(a, key("x")), (b, key("y"))])
        clean = await host.snapshot_check("w", [a, b])
        await host.snapshot("w2", [(a, key("x"))])
        await host.write(a, put("x", v="4"))
        dirty = await host.snapshot_check("w2", [a])
        await host.prepare("orphan", [(b, [put("z")])])  # its coordinator never decides
        finished = await host.resolve_locks()
        return locked, first, clean, dirty, finished, coordinator.asked, await host.get(b, key("z"))

    locked, first, clean, dirty, finished, asked, orphan = run(scenario())
    assert [conflict for conflict, _ in locked] == [True, True]
    assert [item["v"]["S"] for _, item in first] == ["3", "2"] and clean is True
    assert dirty is False
    assert finished == 1 and asked == ["orphan"] and orphan is None


class FlakyLog(MemoryLog):
    """A memory log whose next coordinator append fails: after writing (``landed``) or before."""

    def __init__(self) -> None:
        super().__init__()
        self.fail: str | None = None  # "landed" | "lost"

    def open_writer(self, topic, partition):
        writer = super().open_writer(topic, partition)
        if topic != COORDINATOR_TOPIC:
            return writer
        log, append = self, writer.append

        def flaky(values):
            mode, log.fail = log.fail, None
            if mode == "landed":
                append(values)
            if mode is not None:
                raise OSError("disk said no")
            return append(values)

        writer.append = flaky
        return writer


@pytest.mark.parametrize("mode, applied", [("landed", True), ("lost", False)])
def test_an_unclear_decision_append_is_settled_by_the_log(mode, applied):
    async def scenario():
        log = FlakyLog()
        engine = await bank(log, "src", "dst")
        coordinator = TransactionCoordinator(log, Participants(engine), in_thread=False, redrive_interval=None)
        log.fail = mode
        try:
            await coordinator.transact_write(transfer(engine, 1))
            outcome = "ok"
        except DynamoError as error:
            outcome = error.error_type
        held = [locks(engine, t) for t in ("src", "dst")]
        return outcome, await balances(engine, "src", "dst"), held

    outcome, amounts, held = run(scenario())
    assert outcome == ("ok" if applied else "InternalServerError")
    assert amounts == ([9, 11] if applied else [10, 10])
    assert held == [{}, {}]
