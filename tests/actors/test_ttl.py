"""The TTL sweeper (``actors/ttl.py``) over the in-process engine: what it deletes and keeps, a
rewrite racing a deletion, the log records it leaves, pacing, and its lifecycle."""

from __future__ import annotations

import asyncio

import pytest

from dynamoray.actors import records
from dynamoray.actors.local import LocalEngine
from dynamoray.actors.ttl import TtlSweeper
from dynamoray.core.commands import ExpireCommand, PutCommand, ScanSpec
from dynamoray.core.errors import DynamoError

from .helpers import description

NOW = 1_700_000_000
ON = {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}


def item(p: str, exp=None, **extra) -> dict:
    out = {"p": {"S": p}, **extra}
    if exp is not None:
        out["exp"] = exp if isinstance(exp, dict) else {"N": str(exp)}
    return out


async def engine_with(name: str, *items: dict, ttl: dict | None = ON) -> tuple[LocalEngine, dict]:
    engine = LocalEngine()
    desc = await engine.create_table(description(name))
    if ttl is not None:
        await engine.set_ttl(name, ttl)
    for i in items:
        await engine.write(name, PutCommand(i))
    return engine, desc


async def keys_left(engine: LocalEngine, name: str) -> set[str]:
    return {i["p"]["S"] for i in (await engine.scan(name, ScanSpec())).items}


def sweeper(engine, **kwargs) -> TtlSweeper:
    kwargs.setdefault("clock", lambda: NOW)
    return TtlSweeper(engine, 0.01, **kwargs)


def test_a_round_deletes_the_expired_items_and_keeps_the_others():
    async def main():
        engine, _ = await engine_with(
            "t", item("past", NOW - 10), item("future", NOW + 3600), item("text", {"S": str(NOW - 10)}),
            item("none"), item("ancient", NOW - 6 * 365 * 86400), item("set", {"NS": [str(NOW - 10)]}),
            item("also_past", NOW - 86400))
        await engine.create_table(description("no_ttl"))
        await engine.write("no_ttl", PutCommand(item("past", NOW - 10)))
        result = await sweeper(engine).sweep()
        assert await keys_left(engine, "t") == {"future", "text", "none", "ancient", "set"}
        assert await keys_left(engine, "no_ttl") == {"past"}  # TTL off: never swept
        # the expiry index: the sweep visits the 2 expired items only, not the 7 of the table
        assert (result.tables, result.scanned, result.expired, result.deleted) == (1, 2, 2, 2)

    asyncio.run(main())


def test_a_page_at_a_time_over_many_items():
    async def main():
        items = [item(f"k{i}", NOW - 1 if i % 3 == 0 else NOW + 1) for i in range(250)]
        engine, _ = await engine_with("t", *items)
        sleeps: list[float] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)

        ticks = iter(range(10_000))
        sweep = sweeper(engine, page_size=40, share=0.25, timer=lambda: next(ticks), sleep=sleep)
        result = await sweep.sweep()
        assert result.deleted == 84 and result.scanned == 84  # the expiry index: expired items only
        assert await keys_left(engine, "t") == {f"k{i}" for i in range(250) if i % 3}
        # each page's busy time is one tick: at a quarter share, three ticks of rest follow it
        assert sleeps == [3.0] * 2  # 3 pages of expired items (40, 40, 4), no rest after the last one

    asyncio.run(main())


class RacingEngine:
    """The engine, with a user's write slipped in between the sweeper's scan and its deletion."""

    def __init__(self, engine: LocalEngine, table: str, rewrite: dict) -> None:
        self.engine = engine
        self.table = table
        self.rewrite = rewrite
        self.commands: list = []

    def __getattr__(self, name):
        return getattr(self.engine, name)

    async def write(self, table, command):
        self.commands.append(command)
        if isinstance(command, ExpireCommand) and command.key == {"p": self.rewrite["p"]}:
            await self.engine.write(table, PutCommand(self.rewrite))
        return await self.engine.write(table, command)


@pytest.mark.parametrize("rewrite", [
    item("a", NOW + 3600, v={"S": "renewed"}),  # a later TTL
    item("a", v={"S": "kept"}),  # no TTL any more
    item("a", {"S": "soon"}),  # not a number any more
])
def test_an_item_rewritten_before_its_deletion_is_applied_survives(rewrite):
    async def main():
        engine, _ = await engine_with("t", item("a", NOW - 5), item("b", NOW - 5))
        racing = RacingEngine(engine, "t", rewrite)
        result = await sweeper(racing).sweep()
        assert len(racing.commands) == 2 and result.expired == 2 and result.deleted == 1
        assert await keys_left(engine, "t") == {"a"}
        assert (await engine.scan("t", ScanSpec())).items == [rewrite]

    asyncio.run(main())


def test_the_deletion_is_in_the_log_by_the_service_principal():
    async def main():
        engine, desc = await engine_with("t", item("a", NOW - 5, v={"S": "x"}), item("b"))
        await sweeper(engine).sweep()
        log = await engine.stream_log()
        topic = records.table_topic(desc["TableId"])
        changes = [records.decode_change(v) for shard in range(log.partition_count(topic))  # every shard
                   for v in records.read_all(log, topic, shard)]
        by_item = {}
        for c in changes:
            by_item.setdefault(c.keys["p"]["S"], []).append((c.event_name, c.principal, c.principal_type))
        assert by_item == {"a": [("INSERT", None, None), ("REMOVE", "dynamodb.amazonaws.com", "Service")],
                           "b": [("INSERT", None, None)]}
        assert [c.old_image for c in changes if c.event_name == "REMOVE"] == [item("a", NOW - 5, v={"S": "x"})]

    asyncio.run(main())


def test_disabling_ttl_stops_expiry_and_a_deleted_table_is_skipped():
    async def main():
        engine, _ = await engine_with("t", item("a", NOW - 5), ttl={"TimeToLiveStatus": "DISABLED"})
        sweep = sweeper(engine)
        assert (await sweep.sweep()).tables == 0
        assert await keys_left(engine, "t") == {"a"}

        class Vanishing:  # the table is deleted between reading the settings and scanning it
            def __getattr__(self, name):
                return getattr(engine, name)

            async def ttl_settings(self):
                return {"gone": ON, **await engine.ttl_settings()}

        await engine.set_ttl("t", ON)
        result = await sweeper(Vanishing()).sweep()
        assert result.deleted == 1 and await keys_left(engine, "t") == set()

    asyncio.run(main())


def test_ttl_settings_lists_every_table_with_a_setting():
    async def main():
        engine, _ = await engine_with("t")
        await engine.create_table(description("u"))
        assert await engine.ttl_settings() == {"t": ON}
        await engine.delete_table("t")
        assert await engine.ttl_settings() == {}

    asyncio.run(main())


def test_started_it_sweeps_round_after_round_until_stopped():
    async def main():
        engine, _ = await engine_with("t", item("a", NOW - 5))
        sweep = sweeper(engine)
        sweep.start()
        for _ in range(500):
            if sweep.rounds >= 2:
                break
            await asyncio.sleep(0.01)
        assert sweep.rounds >= 2 and sweep.totals.deleted == 1
        await engine.write("t", PutCommand(item("b", NOW - 5)))
        for _ in range(500):
            if await keys_left(engine, "t") == set():
                break
            await asyncio.sleep(0.01)
        assert await keys_left(engine, "t") == set()
        await sweep.stop()
        rounds = sweep.rounds
        await asyncio.sleep(0.05)
        assert sweep.rounds == rounds

    asyncio.run(main())


def test_a_failing_round_does_not_stop_the_sweeper():
    async def main():
        engine, _ = await engine_with("t", item("a", NOW - 5))
        calls = []

        class Flaky:
            def __getattr__(self, name):
                return getattr(engine, name)

            async def ttl_settings(self):
                calls.append(1)
                if len(calls) == 1:
                    raise RuntimeError("catalog unavailable")
                return await engine.ttl_settings()

        sweep = sweeper(Flaky())
        sweep.start()
        for _ in range(500):
            if sweep.totals.deleted:
                break
            await asyncio.sleep(0.01)
        await sweep.stop()
        assert len(calls) >= 2 and sweep.totals.deleted == 1

    asyncio.run(main())


def test_a_locked_item_is_left_for_a_later_round():
    async def main():
        engine, _ = await engine_with("t", item("a", NOW - 5))

        class Locked:
            def __getattr__(self, name):
                return getattr(engine, name)

            async def write(self, table, command):
                raise DynamoError("TransactionConflictException", "locked")

        assert (await sweeper(Locked()).sweep()).deleted == 0
        assert (await sweeper(engine).sweep()).deleted == 1

    asyncio.run(main())


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        TtlSweeper(object(), 0)
    with pytest.raises(ValueError):
        TtlSweeper(object(), 1, share=0)


def _indexes(engine: LocalEngine, name: str) -> list:
    return [state.expiry for state in engine._groups[name].states]


def test_the_round_after_ttl_is_turned_off_drops_the_expiry_index_of_every_shard():
    async def main():
        engine, _ = await engine_with("t", *(item(f"k{i}", NOW + 60 + i) for i in range(20)))
        sweep = sweeper(engine)
        await sweep.sweep()
        indexes = _indexes(engine, "t")
        assert len(indexes) > 1 and all(index is not None for index in indexes)
        assert sum(len(index) for index in indexes) == 20
        await engine.set_ttl("t", {"TimeToLiveStatus": "DISABLED"})
        await sweep.sweep()
        assert _indexes(engine, "t") == [None] * len(indexes)  # no memory, no fold time any more
        await engine.write("t", PutCommand(item("later", NOW - 1)))
        assert _indexes(engine, "t") == [None] * len(indexes)
        await engine.set_ttl("t", ON)  # on again: the next round builds it and deletes what expired
        assert (await sweep.sweep()).deleted == 1 and "later" not in await keys_left(engine, "t")

    asyncio.run(main())


def test_a_restart_builds_the_index_while_loading_the_shards(tmp_path):
    from dynamoray.actors.snapshots import SnapshotStore
    from dynamoray.events.embedded import EmbeddedLog

    def opened() -> LocalEngine:
        return LocalEngine(EmbeddedLog(tmp_path / "log"), snapshots=SnapshotStore(tmp_path / "snapshots"))

    async def first():
        engine = opened()
        await engine.open()
        await engine.create_table(description("t"))
        await engine.create_table(description("off"))
        await engine.set_ttl("t", ON)
        for i in range(10):
            await engine.write("t", PutCommand(item(f"k{i}", NOW - 5 if i < 3 else NOW + 60)))
            await engine.write("off", PutCommand(item(f"k{i}", NOW - 5)))
        await engine.close()

    async def second():
        engine = opened()
        await engine.open()
        try:
            built, off = _indexes(engine, "t"), _indexes(engine, "off")  # before any sweep
            expired = sorted(e for index in built for e, *_ in index.expired(NOW))
            return built, off, expired
        finally:
            await engine.close()

    asyncio.run(first())
    built, off, expired = asyncio.run(second())
    assert all(index is not None and index.attribute == "exp" for index in built)
    assert sum(len(index) for index in built) == 10 and len(expired) == 3
    assert off == [None] * len(off)  # a table without TTL gets none
