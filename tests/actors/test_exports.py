"""The export/import service on a durable log: descriptions survive a restart, an export cut short
by a stop is FAILED on reopen, and local buckets default to ``<data>/buckets``."""

from __future__ import annotations

import asyncio

from dynamoray.actors import exports
from dynamoray.actors.local import LocalEngine
from dynamoray.actors.snapshots import SnapshotStore
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.schemas.events import ExportUpdated

from .helpers import description, put


def engine_at(tmp_path) -> LocalEngine:
    return LocalEngine(EmbeddedLog(tmp_path / "log"), snapshots=SnapshotStore(tmp_path / "snapshots"))


async def finished(service, arn: str) -> dict:
    while (await service.describe_export(arn))["ExportStatus"] == "IN_PROGRESS":
        await asyncio.sleep(0.01)
    return await service.describe_export(arn)


def test_exports_survive_a_restart_and_an_interrupted_one_fails(tmp_path, monkeypatch):
    monkeypatch.delenv("DYNAMORAY_LOCAL_BUCKETS", raising=False)
    (tmp_path / "buckets" / "local").mkdir(parents=True)

    async def first() -> tuple[str, str]:
        engine = engine_at(tmp_path)
        await engine.open()
        created = await engine.create_table(description("music"))
        for i in range(5):
            await engine.write("music", put(f"k{i}", v="x"))
        from dynamoray.actors.backups import service_for as backups_for

        await (await backups_for(engine)).update_continuous("music", {"PointInTimeRecoveryEnabled": True})
        service = await exports.service_for(engine)
        started = await service.export({"TableArn": created["TableArn"], "S3Bucket": "local"})
        done = await finished(service, started["ExportArn"])
        assert done["ExportStatus"] == "COMPLETED" and done["ItemCount"] == 5
        assert (tmp_path / "buckets" / "local" / done["ExportManifest"]).exists()
        other = exports.TransferService(engine, await engine.stream_log(), await backups_for(engine))
        await other.open()  # a second gateway process on the same log: it sees what the first writes
        again = await service.export({"TableArn": created["TableArn"], "S3Bucket": "local"})
        assert (await finished(other, again["ExportArn"]))["ItemCount"] == 5
        cut_short = created["TableArn"] + "/export/00000000000001-deadbeef"
        await service.record(ExportUpdated(cut_short, {"ExportArn": cut_short, "ExportStatus": "IN_PROGRESS",
                                                       "ExportType": "FULL_EXPORT"}))
        await engine.close()
        return started["ExportArn"], cut_short

    async def second(arn: str, cut_short: str) -> None:
        engine = engine_at(tmp_path)
        await engine.open()
        service = await exports.service_for(engine)
        assert (await service.describe_export(arn))["ExportStatus"] == "COMPLETED"
        assert (await service.describe_export(arn))["ItemCount"] == 5
        interrupted = await service.describe_export(cut_short)
        assert (interrupted["ExportStatus"], interrupted["FailureCode"]) == ("FAILED", "ServerStopped")
        await engine.close()

    arn, cut_short = asyncio.run(first())
    asyncio.run(second(arn, cut_short))
