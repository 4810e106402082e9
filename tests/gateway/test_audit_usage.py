"""The audit log, usage metering and auto scaling shells (gateway/audit.py, usage.py, scaling.py)
on an in-memory log: durable across a restart, buffered off the request path, fake clocks."""

from __future__ import annotations

import asyncio

import pytest

from dynamoray.actors.local import LocalEngine
from dynamoray.core import audit as core_audit, scaling, tables, usage as core_usage
from dynamoray.events.memory import MemoryLog
from dynamoray.gateway.audit import Auditor
from dynamoray.gateway.metrics import Recorder
from dynamoray.gateway.scaling import AutoScaler
from dynamoray.gateway.usage import UsageMeter

NOV_26_NOON = 1_795_694_400.0  # 2026-11-26T12:00:00Z


def run(coroutine):
    return asyncio.run(coroutine)


def source(log):
    async def get():
        return log
    return get


def record(name: str, table: str = "songs", second: int = 0, arn: str = "arn:aws:iam::1:user/alice") -> dict:
    return core_audit.record(name=name, time_ms=int((NOV_26_NOON + second) * 1000), region="us-east-1",
                             principal_arn=arn, access_key="AKIA1", account_id="1", request_id=f"{second:032X}",
                             source_ip="127.0.0.1", user_agent="test", body={"TableName": table}, tables=[table])


def test_records_are_buffered_then_flushed_durably_and_read_back_newest_first():
    async def scenario():
        log = MemoryLog()
        auditor = Auditor(source(log))
        await auditor.open()
        for second, name in enumerate(["CreateTable", "UpdateTable", "PutItem", "DeleteTable"]):
            auditor.add(record(name, second=second))
        assert log.end_offset("dynamoray.audit", 0) == 0  # nothing written on the request path
        await auditor.flush()
        assert log.end_offset("dynamoray.audit", 0) == 4  # one commit
        await auditor.close()
        reopened = Auditor(source(log))
        await reopened.open()
        found, token = await reopened.lookup()
        assert [r["eventName"] for r in found] == ["DeleteTable", "PutItem", "UpdateTable", "CreateTable"]
        assert token is None
        page, token = await reopened.lookup(limit=3)
        rest, last = await reopened.lookup(limit=3, token=token)
        assert [r["eventName"] for r in page + rest] == ["DeleteTable", "PutItem", "UpdateTable", "CreateTable"]
        assert last is None
        only, _ = await reopened.lookup(event_name="UpdateTable", user="alice")
        assert [r["eventName"] for r in only] == ["UpdateTable"]
        assert (await reopened.lookup(user="bob"))[0] == []
        since, _ = await reopened.lookup(since=core_audit.event_time(int((NOV_26_NOON + 2) * 1000)))
        assert [r["eventName"] for r in since] == ["DeleteTable", "PutItem"]
    run(scenario())


def test_data_plane_settings_survive_a_restart_and_decide_what_is_recorded():
    async def scenario():
        log = MemoryLog()
        auditor = Auditor(source(log))
        await auditor.open()
        assert auditor.wants("CreateTable", ["songs"]) and not auditor.wants("PutItem", ["songs"])
        await auditor.set_data_plane("songs", True)
        assert auditor.wants("PutItem", ["songs"]) and not auditor.wants("PutItem", ["albums"])
        reopened = Auditor(source(log))
        await reopened.open()
        assert reopened.data_plane == {"songs"}
        await reopened.set_data_plane("*", True)
        await reopened.set_data_plane("songs", False)
        assert reopened.wants("GetItem", ["albums"]) and reopened.data_plane == {"*"}
    run(scenario())


def test_the_buffer_is_bounded_and_counts_what_it_drops():
    async def scenario():
        auditor = Auditor(source(MemoryLog()), max_buffered=3)
        for second in range(5):
            auditor.add(record("PutItem", second=second))
        assert auditor.dropped == 2
        await auditor.flush()  # not open yet: kept for later
        await auditor.open()
        await auditor.flush()
        found, _ = await auditor.lookup()
        assert len(found) == 3 and found[-1]["requestID"] == f"{2:032X}"  # the oldest were dropped
    run(scenario())


def _table(name="songs", mode="PAY_PER_REQUEST", read=0, write=0) -> dict:
    request = {"TableName": name, "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}],
               "AttributeDefinitions": [{"AttributeName": "p", "AttributeType": "S"}], "BillingMode": mode}
    if mode == "PROVISIONED":
        request["ProvisionedThroughput"] = {"ReadCapacityUnits": read, "WriteCapacityUnits": write}
    return tables.new_table_description(request, arn=f"arn:aws:dynamodb:us-east-1:1:table/{name}",
                                        table_id=f"id-{name}", now=0.0)


def test_usage_is_metered_per_day_flushed_and_reported_with_storage():
    async def scenario():
        engine = LocalEngine(shards=1)
        await engine.create_table(_table())
        log = await engine.stream_log()
        now = [NOV_26_NOON]
        meter = UsageMeter(engine, source(log), wall=lambda: now[0])
        await meter.open()
        meter.add("songs", "PAY_PER_REQUEST", 0.5, 2.0)
        meter.add("songs", "PAY_PER_REQUEST", 1.0, 1.0)
        now[0] += 86400  # the next day
        meter.add("songs", "PAY_PER_REQUEST", 0.0, 5.0)
        meter.add_replicated("songs", "PAY_PER_REQUEST", 4.0)
        await meter.flush()
        assert log.end_offset("dynamoray.usage", 0) == 2  # one event per table and day
        await meter.sample()  # the first sample stands for nothing
        now[0] += 3600
        await meter.sample()
        report = await meter.report(core_usage.PriceSheet())
        days = {row["day"]: row for row in report.rows}
        assert days["2026-11-26"]["read_request_units"] == 1.5 and days["2026-11-26"]["write_request_units"] == 3.0
        assert days["2026-11-27"]["write_request_units"] == 5.0 and days["2026-11-27"]["replicated_write_units"] == 4.0
        assert report.totals["cost"] == pytest.approx(1.5 * 0.125e-6 + 12 * 0.625e-6)  # an empty table stores nothing
        restarted = UsageMeter(engine, source(log), wall=lambda: now[0])
        await restarted.open()
        again = await restarted.report(core_usage.PriceSheet(), start="2026-11-27")
        assert [row["day"] for row in again.rows] == ["2026-11-27"] and again.totals["write_request_units"] == 5.0
    run(scenario())


def test_auto_scaling_raises_provisioned_capacity_when_consumption_passes_the_target():
    async def scenario():
        engine = LocalEngine(shards=1)
        await engine.create_table(_table("hot", "PROVISIONED", 5, 5))
        clock = [0.0]
        scaler = AutoScaler(engine, engine.stream_log, clock=lambda: clock[0], wall=lambda: NOV_26_NOON)
        await scaler.open()
        await scaler.put("hot", None, scaling.ScalingPolicy(target_utilization=50, max_write=100, scale_out_rounds=1))
        recorder = Recorder()
        await scaler.step(recorder)  # the first round only takes the totals
        for _ in range(3):
            clock[0] += 60
            recorder.cell("hot", "PutItem").write += 60 * 20  # 20 WCU a second: 400 % of 5
            await scaler.step(recorder)
        described = await engine.describe_table("hot")
        assert described["ProvisionedThroughput"]["WriteCapacityUnits"] == 40  # 20 / 50 %
        assert described["ProvisionedThroughput"]["ReadCapacityUnits"] == 5  # idle reads scale in only after 15 rounds
        assert scaler.changes[0]["To"]["WriteCapacityUnits"] == 40
        reopened = AutoScaler(engine, engine.stream_log)
        await reopened.open()
        policy = scaler.policies[("hot", None)].to_wire()
        assert reopened.describe() == [{"TableName": "hot", "IndexName": None, "Policy": policy}]
        assert await reopened.delete("hot", None) and not await reopened.delete("hot", None)
    run(scenario())


def test_storage_samples_bill_table_backup_and_pitr_bytes_over_time():
    async def scenario():
        from dynamoray.actors.backups import service_for
        from dynamoray.core.commands import PutCommand

        engine = LocalEngine(shards=1)
        await engine.create_table(_table("kept", "PROVISIONED", 4, 2))
        await engine.write("kept", PutCommand({"p": {"S": "a"}, "v": {"S": "x" * 5000}}))
        backups = await service_for(engine)
        await backups.create_backup("kept", "nightly")
        await backups.update_continuous("kept", {"PointInTimeRecoveryEnabled": True})
        now = [NOV_26_NOON]
        meter = UsageMeter(engine, engine.stream_log, wall=lambda: now[0])
        await meter.open()
        await meter.sample()
        now[0] += 6 * 3600
        await meter.sample()
        day = (await meter.report(core_usage.PriceSheet())).rows[0]
        size = (await engine.describe_table("kept"))["TableSizeBytes"]
        quarter_day = size * 0.25 / 30 / core_usage.GIB  # a quarter of a day of November, in GB-months
        assert day["storage_gb_months"] == pytest.approx(quarter_day) and day["pitr_gb_months"] == pytest.approx(quarter_day)
        assert day["backup_gb_months"] > 0
        assert (day["read_capacity_unit_hours"], day["write_capacity_unit_hours"]) == (24.0, 12.0)
        assert day["billing_mode"] == "PROVISIONED"
    run(scenario())
