"""Hooks on the in-process engine: exactly-once aggregates, retries, bisect, dead letters, positions,
the 100-action limit, and the registry across a restart (the Ray side is in test_hooks_ray.py)."""

from __future__ import annotations

import asyncio
import random

import pytest

from dynamoray.actors.hook_runner import HookRunner
from dynamoray.actors.hooks import DeadLetters, HookService, RunnerSettings
from dynamoray.actors.local import LocalEngine
from dynamoray.core import errors, hooks
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.events.log import UnknownTopicError
from dynamoray.hooks import pickle_function

from .hook_helpers import (
    actual_totals, delete_order, description, expected_totals, greedy_join, make_totals, order, scan_all, unique, until,
)

FAST = RunnerSettings(session_ms=2000, poll_interval=0.005, backoff_base=0.001)


async def engine_with(*names: str, log=None) -> LocalEngine:
    engine = LocalEngine(log)
    await engine.open()
    for name in names:
        key = "customer" if name.startswith("totals") else "id"
        await engine.create_table(description(name, key))
    return engine


def spec(name: str, table: str, **settings) -> hooks.HookSpec:
    return hooks.spec_from_wire({"HookName": name, "TableName": table, **hooks.spec_to_wire_options(settings)})


class Running:
    """HookRunners as tasks; stopped (and awaited) on exit."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task] = []

    async def start(self, engine, hook_spec, function, member="m0", **kwargs) -> HookRunner:
        event_log = await engine.stream_log()
        runner = HookRunner(hook_spec, function, engine, event_log, member_id=member,
                            dead_letters=DeadLetters(event_log, hook_spec.name), session_ms=FAST.session_ms,
                            poll_interval=FAST.poll_interval, backoff_base=FAST.backoff_base, **kwargs)
        self.tasks.append(asyncio.get_running_loop().create_task(runner.run(self.stop)))
        return runner

    async def __aenter__(self) -> "Running":
        return self

    async def __aexit__(self, *exc) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks)


async def totals_match(engine, orders: str, totals: str) -> bool:
    return actual_totals(await scan_all(engine, totals)) == expected_totals(await scan_all(engine, orders))


async def write_orders(engine, orders: str, count: int, seed: int = 1) -> None:
    """Inserts, updates (a new amount or customer) and deletes of ``count`` orders."""
    rng = random.Random(seed)
    for _step in range(count):
        i = rng.randrange(count // 2 + 1)
        if rng.random() < 0.15:
            await engine.write(orders, delete_order(i))
        else:
            await engine.write(orders, order(i, rng.randrange(5), rng.randrange(1, 100)))


# --- exactly once ------------------------------------------------------------------------------------


def test_a_totals_hook_stays_exact_through_lost_acks_and_a_zombie_member():
    """Two members that both think they own every partition, and an engine that fails a fifth of
    the commits (half of those after committing): each change is still counted exactly once."""

    class Flaky:
        def __init__(self, engine) -> None:
            self.engine, self.rng, self.lost = engine, random.Random(7), 0

        def __getattr__(self, name):
            return getattr(self.engine, name)

        async def transact_write(self, actions, *args):
            roll = self.rng.random()
            if roll < 0.1:
                raise errors.service_unavailable()
            result = await self.engine.transact_write(actions, *args)
            if roll < 0.2:
                self.lost += 1
                raise errors.internal_server_error()  # it committed; the answer was lost
            return result

    async def main() -> None:
        orders, totals = unique("orders"), unique("totals")
        engine = await engine_with(orders, totals)
        flaky = Flaky(engine)
        hook = spec("totals", orders, batch_size=7)
        async with Running() as running:
            await running.start(flaky, hook, make_totals(totals), "a", join=greedy_join)
            await running.start(flaky, hook, make_totals(totals), "b", join=greedy_join)
            await write_orders(engine, orders, 300)
            await until(lambda: totals_match(engine, orders, totals))
            await asyncio.sleep(0.3)  # nothing more may arrive
            assert await totals_match(engine, orders, totals)
        assert flaky.lost > 0

    asyncio.run(main())


def test_checkpoints_resume_a_restarted_member_where_the_last_commit_left_it():
    async def main() -> None:
        orders, totals = unique("orders"), unique("totals")
        engine = await engine_with(orders, totals)
        hook = spec("resume", orders, batch_size=5)
        await write_orders(engine, orders, 60, seed=3)
        for round_ in range(3):  # stop the member mid-stream, start a new one
            async with Running() as running:
                runner = await running.start(engine, hook, make_totals(totals), f"m{round_}")
                await until(lambda: runner.stats.batches >= 2)  # noqa: B023  (called before the loop moves on)
            await write_orders(engine, orders, 40, seed=10 + round_)
        async with Running() as running:
            await running.start(engine, hook, make_totals(totals))
            await until(lambda: totals_match(engine, orders, totals))

    asyncio.run(main())


def test_writes_to_one_item_in_a_batch_are_merged_and_reads_see_them():
    seen = []
    orders, counters = unique("orders"), unique("totals")

    def counter(records, ctx):
        for _ in records:
            current = ctx.get_item(TableName=counters, Key={"customer": {"S": "all"}})
            seen.append(int(current["n"]["N"]) if current else 0)
            ctx.put_item(TableName=counters, Item={"customer": {"S": "all"}, "n": {"N": str(seen[-1] + 1)}})

    async def main() -> None:
        engine = await engine_with(orders, counters)
        async with Running() as running:
            await running.start(engine, spec("count", orders, batch_size=50), counter)
            for i in range(120):
                await engine.write(orders, order(i, 0, 1))
            await until(lambda: engine.get(counters, {"customer": {"S": "all"}}))
            await until(lambda: _count_is(engine, counters, 120))

    asyncio.run(main())
    assert seen[:3] == [0, 1, 2] and seen[-1] == 119


async def _count_is(engine, table, n) -> bool:
    item = await engine.get(table, {"customer": {"S": "all"}})
    return item is not None and item["n"]["N"] == str(n)


# --- failures -----------------------------------------------------------------------------------------


def test_a_failing_batch_goes_to_the_dead_letter_topic_after_its_retries():
    calls: list[list[str]] = []
    orders, copies = unique("orders"), unique("totals")

    def failing(records, ctx):
        ids = [r["dynamodb"]["Keys"]["id"]["S"] for r in records]
        calls.append(ids)
        if "o3" in ids:
            raise ValueError("no o3 please")
        ctx.put_item(TableName=copies, Item={"customer": {"S": ids[0]}})

    async def main() -> None:
        engine = await engine_with(orders, copies)
        hook = spec("dlq", orders, batch_size=100, maximum_retry_attempts=2)
        for i in range(6):  # o3 is in the first batch of its partition
            await engine.write(orders, order(i, 0, 1))
        log = await engine.stream_log()
        letters = DeadLetters(log, "dlq")
        async with Running() as running:
            runner = await running.start(engine, hook, failing)
            await until(lambda: runner.stats.dead_letters == 1 and runner.stats.batches >= 1)
            await engine.write(orders, order(100, 0, 1))  # processing goes on after the dead letter
            await until(lambda: engine.get(copies, {"customer": {"S": "o100"}}))
        entries, next_offset = letters.read()
        (entry,) = entries
        bad = [ids for ids in calls if "o3" in ids]
        assert len(bad) == 3 and all(ids == bad[0] for ids in bad)  # 1 try + 2 retries, the same batch
        assert entry["attempts"] == 3 and entry["error"] == {**entry["error"], "type": "ValueError",
                                                             "message": "no o3 please"}
        assert [r["dynamodb"]["Keys"]["id"]["S"] for r in entry["records"]] == bad[0]
        assert entry["hook"] == "dlq" and entry["table"] == orders and next_offset == entry["Offset"] + 1
        assert await engine.get(copies, {"customer": {"S": bad[0][0]}}) is None  # its writes never committed

    asyncio.run(main())


def test_bisect_isolates_the_one_bad_record():
    orders, copies = unique("orders"), unique("totals")

    def picky(records, ctx):
        for record in records:
            key = record["dynamodb"]["Keys"]["id"]["S"]
            if key == "o13":
                raise RuntimeError("poison")
            ctx.put_item(TableName=copies, Item={"customer": {"S": key}})

    async def main() -> None:
        engine = await engine_with(orders, copies)
        for i in range(40):
            await engine.write(orders, order(i, 0, 1))
        hook = spec("bisect", orders, batch_size=40, maximum_retry_attempts=1, bisect_batch_on_error=True)
        async with Running() as running:
            runner = await running.start(engine, hook, picky)
            await until(lambda: _all_copied(engine, copies, [i for i in range(40) if i != 13]))
            await until(lambda: runner.stats.dead_letters == 1)
        (entry,) = DeadLetters(await engine.stream_log(), "bisect").read()[0]
        assert [r["dynamodb"]["Keys"]["id"]["S"] for r in entry["records"]] == ["o13"]
        assert entry["attempts"] == 2 and entry["error"]["message"] == "poison"
        assert await engine.get(copies, {"customer": {"S": "o13"}}) is None

    asyncio.run(main())


async def _all_copied(engine, table, numbers) -> bool:
    items = await scan_all(engine, table)
    return sorted(i["customer"]["S"] for i in items) == sorted(f"o{n}" for n in numbers)


def test_a_batch_over_the_transaction_limit_is_split_and_a_record_over_it_fails():
    orders, copies = unique("orders"), unique("totals")

    def fan_out(records, ctx):
        for record in records:
            key = record["dynamodb"]["Keys"]["id"]["S"]
            count = 120 if key == "o7" else 3
            for j in range(count):
                ctx.put_item(TableName=copies, Item={"customer": {"S": f"{key}-{j}"}})

    async def main() -> None:
        engine = await engine_with(orders, copies)
        for i in range(60):  # 60 records x 3 writes: more than 99 per batch unless split
            await engine.write(orders, order(i, 0, 1))
        hook = spec("split", orders, batch_size=100, maximum_retry_attempts=0)
        async with Running() as running:
            runner = await running.start(engine, hook, fan_out)
            await until(lambda: runner.stats.dead_letters == 1)
            await until(lambda: _count_items(engine, copies, 59 * 3))
        (entry,) = DeadLetters(await engine.stream_log(), "split").read()[0]
        assert [r["dynamodb"]["Keys"]["id"]["S"] for r in entry["records"]] == ["o7"]
        assert entry["error"]["message"] == errors.hook_batch_too_large(120, 99).message

    asyncio.run(main())


async def _count_items(engine, table, n) -> bool:
    return len(await scan_all(engine, table)) == n


def test_discard_drops_a_failed_batch_without_a_dead_letter():
    def always_fails(records, ctx):
        raise KeyError("x")

    async def main() -> None:
        orders = unique("orders")
        engine = await engine_with(orders)
        await engine.write(orders, order(1, 0, 1))
        hook = spec("discard", orders, maximum_retry_attempts=0, on_failure=None)
        async with Running() as running:
            runner = await running.start(engine, hook, always_fails)
            await until(lambda: runner.stats.failures == 1 and sum(runner.stats.positions.values()) >= 1)
            assert runner.stats.dead_letters == 0
        with pytest.raises(UnknownTopicError):  # no dead-letter topic was ever made
            DeadLetters(await engine.stream_log(), "discard").read()

    asyncio.run(main())


# --- positions and modes ---------------------------------------------------------------------------


def test_trim_horizon_sees_earlier_changes_and_latest_only_later_ones():
    seen: dict[str, list[str]] = {"early": [], "late": []}

    def recorder(name):
        def record(records, ctx):
            seen[name].extend(r["dynamodb"]["Keys"]["id"]["S"] for r in records)
        return record

    async def main() -> None:
        orders = unique("orders")
        engine = await engine_with(orders)
        for i in range(5):
            await engine.write(orders, order(i, 0, 1))
        async with Running() as running:
            early = await running.start(engine, spec("early", orders), recorder("early"), "e")
            late = await running.start(engine, spec("late", orders, starting_position="LATEST"), recorder("late"), "l")
            await until(lambda: len(seen["early"]) == 5 and len(late.stats.positions) == len(early.stats.positions))
            await asyncio.sleep(0.1)
            for i in range(5, 8):
                await engine.write(orders, order(i, 0, 1))
            await until(lambda: len(seen["early"]) == 8 and len(seen["late"]) == 3)
        assert sorted(seen["late"]) == ["o5", "o6", "o7"]

    asyncio.run(main())


def test_records_look_like_dynamodb_streams_records():
    got = []

    async def main() -> None:
        orders = unique("orders")
        engine = await engine_with(orders)
        async with Running() as running:
            await running.start(engine, spec("shape", orders, view_type="NEW_AND_OLD_IMAGES"),
                                lambda records, ctx: got.extend(records))
            await engine.write(orders, order(1, 0, 5))
            await engine.write(orders, order(1, 0, 5))  # no change: not shown, like the stream
            await engine.write(orders, order(1, 0, 6))
            await engine.write(orders, delete_order(1))
            await until(lambda: len(got) == 3)
    asyncio.run(main())
    insert, modify, remove = got
    assert [r["eventName"] for r in got] == ["INSERT", "MODIFY", "REMOVE"]
    assert insert["dynamodb"]["Keys"] == {"id": {"S": "o1"}} and "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["amount"] == {"N": "5"} and modify["dynamodb"]["NewImage"]["amount"] == {"N": "6"}
    assert remove["dynamodb"]["OldImage"]["amount"] == {"N": "6"} and "NewImage" not in remove["dynamodb"]
    assert insert["eventSource"] == "aws:dynamodb"
    assert insert["eventSourceARN"].endswith(":table/" + remove["eventSourceARN"].split("/")[-1])
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in got]
    assert numbers == sorted(numbers)


def test_at_least_once_mode_writes_directly_and_commits_group_offsets():
    async def main() -> None:
        orders, copies_ = unique("orders"), unique("totals")
        engine = await engine_with(orders, copies_)

        def copy(records, ctx):
            for r in records:
                ctx.put_item(TableName=copies_, Item={"customer": r["dynamodb"]["Keys"]["id"]})

        hook = spec("plain", orders, exactly_once=False)
        for i in range(10):
            await engine.write(orders, order(i, 0, 1))
        async with Running() as running:
            runner = await running.start(engine, hook, copy)
            await until(lambda: _all_copied(engine, copies_, range(10)))
            await until(lambda: runner.stats.batches >= 1)
        assert hooks.CHECKPOINT_TABLE not in await engine.list_tables()  # no checkpoint items in this mode
        from dynamoray.events.consumer import join_group

        log = await engine.stream_log()
        topic = runner._target.topic
        member = join_group(log, hooks.group_of("plain"), [topic], "probe")
        committed = sum(member.committed(topic, p) or 0 for p in range(log.partition_count(topic)))
        member.close()
        assert committed == 10

    asyncio.run(main())


# --- the registry ------------------------------------------------------------------------------------


def test_deployed_hooks_restart_with_the_server_and_resume_from_their_checkpoints(tmp_path):
    async def serve_once(first: bool, orders: str, totals: str, writes: int, seed: int) -> None:
        engine = LocalEngine(EmbeddedLog(tmp_path / "log"))
        await engine.open()
        if first:
            await engine.create_table(description(orders))
            await engine.create_table(description(totals, "customer"))
        service = HookService(engine, settings=FAST)
        await service.open()
        if first:
            await service.deploy(spec("totals", orders, batch_size=10), pickle_function(make_totals(totals)), "t:t")
        assert [h["HookName"] for h in service.list()] == ["totals"]
        await write_orders(engine, orders, writes, seed)
        await until(lambda: totals_match(engine, orders, totals))
        await service.close()
        await engine.close()

    orders, totals = unique("orders"), unique("totals")
    asyncio.run(serve_once(True, orders, totals, 80, 1))
    asyncio.run(serve_once(False, orders, totals, 80, 2))


def test_deploy_remove_and_their_errors():
    async def main() -> None:
        orders = unique("orders")
        engine = await engine_with(orders)
        service = HookService(engine, settings=FAST)
        await service.open()
        function = pickle_function(lambda records, ctx: None)
        with pytest.raises(errors.DynamoError) as raised:
            await service.deploy(spec("h", "missing_table"), function, "x")
        assert raised.value.error_type == "ResourceNotFoundException"
        with pytest.raises(errors.DynamoError) as raised:
            await service.deploy(spec("h", orders), b"not a pickle", "x")
        assert raised.value.error_type == "ValidationException"
        first = await service.deploy(spec("h", orders), function, "m:f")
        second = await service.deploy(spec("h", orders, batch_size=3), function, "m:g")
        assert (first["Version"], second["Version"], second["BatchSize"]) == (1, 2, 3)
        assert len(await service.status("h")) == 1
        await service.remove("h")
        assert service.list() == [] and await service.launcher.status("h") == []
        with pytest.raises(errors.DynamoError) as raised:
            await service.remove("h")
        assert raised.value.message == "Hook not found: h"
        assert await service.dead_letters("h", None, 10) == ([], 0)  # its topic stays
        with pytest.raises(errors.DynamoError):
            await service.dead_letters("never", None, 10)
        await service.close()

    asyncio.run(main())
