"""The S3-compatible snapshot and backup store (``actors/object_store.py``) against moto's S3 server
on 127.0.0.1: the objects, the snapshot store's interface (offsets, load, prune, pins, drop), an
engine that snapshots into the bucket and reopens from it, and backups there."""

from __future__ import annotations

import asyncio
import pickle

import pytest

from dynamoray.actors import object_store, records
from dynamoray.actors.backups import service_for
from dynamoray.actors.local import LocalEngine
from dynamoray.actors.object_store import ObjectStoreError, S3BackupFiles, S3Location, S3Objects, S3SnapshotStore
from dynamoray.actors.snapshots import SnapshotPolicy, capture, rebuild, write_snapshot
from dynamoray.core import keys
from dynamoray.core.commands import INSERT, ItemChange, ScanSpec
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.events.memory import MemoryLog

from ..s3_server import CREDENTIALS, bucket_objects, new_bucket, s3_endpoint  # noqa: F401 - the fixture
from .helpers import description, new_table, put

SCHEMA = keys.KeySchema("p", "S")


@pytest.fixture
def location(s3_endpoint):  # noqa: F811
    return S3Location(new_bucket(s3_endpoint), "dr/test", endpoint_url=s3_endpoint, **CREDENTIALS)


def test_a_location_parses_from_an_s3_url():
    found = S3Location.parse("s3://bucket/some/prefix/", endpoint_url="http://127.0.0.1:9")
    assert (found.bucket, found.prefix, found.endpoint_url) == ("bucket", "some/prefix", "http://127.0.0.1:9")
    assert S3Location.parse("s3://bucket").key("backups", "x.snap") == "backups/x.snap"
    assert found.key("snapshots", "t", "0") == "some/prefix/snapshots/t/0"
    assert "secret" not in repr(S3Location("b", secret_access_key="secret"))
    for bad in ("bucket/prefix", "http://bucket/x", "s3:///x"):
        with pytest.raises(ObjectStoreError, match="expected s3://BUCKET"):
            S3Location.parse(bad)


def test_objects_put_get_list_delete_and_multipart(location, monkeypatch):
    objects = S3Objects(location)
    objects.check()
    assert objects.put(location.key("a/1"), [b"he", b"llo"]) == 5
    assert objects.get(location.key("a/1")) == b"hello"
    monkeypatch.setattr(object_store, "PART_SIZE", 5 << 20)  # S3's smallest part
    big = [bytes([i]) * (1 << 20) for i in range(11)]  # 11 MiB: three parts
    assert objects.put(location.key("a/big"), iter(big)) == 11 << 20
    assert objects.get(location.key("a/big")) == b"".join(big)
    assert sorted(objects.names(location.key("a") + "/")) == ["1", "big"]
    objects.delete(location.key("a/1"), location.key("a/big"))
    assert objects.names(location.key("a") + "/") == []
    with pytest.raises(FileNotFoundError):
        objects.get(location.key("a/1"))
    with pytest.raises(ObjectStoreError, match="cannot use s3://no-such-bucket"):
        S3Objects(S3Location("no-such-bucket", endpoint_url=location.endpoint_url, **CREDENTIALS)).check()


def test_the_snapshot_store_interface_on_s3(location):
    log = MemoryLog()
    desc, ref = new_table(log, "t")
    store = pickle.loads(pickle.dumps(S3SnapshotStore(location)))  # what travels to a Ray actor
    table_id = desc["TableId"]
    with log.open_writer(ref.topic, 0) as writer:
        encode = records.change_encoder(table_id)
        for i in range(6):
            writer.append([encode(ItemChange(INSERT, {"p": {"S": f"k{i}"}}, None, {"p": {"S": f"k{i}"}}))])
            state = rebuild(log, ref.topic, table_id, SCHEMA).state
            header, captured = capture(state, table_id)
            write_snapshot(store, log, ref.topic, header, captured, keep=10)
    assert store.offsets(table_id) == [5, 4, 3, 2, 1, 0]
    assert store.location(table_id, 0, 3) == f"{table_id}/0/{3:020d}.snap"
    assert store.header(table_id, 0, 3).item_count == 4
    loaded = store.load(table_id, 0, SCHEMA, at_or_before=2)
    assert loaded.header.offset == 2 and loaded.state.item_count == 3
    store.pin(table_id, 0, 1)
    assert store.pinned(table_id) == [1]
    assert store.prune(table_id, 0, keep=2) == [3, 2, 0]  # the pinned one stays
    assert store.offsets(table_id) == [5, 4, 1]
    store.unpin(table_id, 0, 1)
    assert store.prune(table_id, 0, keep=1) == [4, 1] and store.pinned(table_id) == []
    assert rebuild(log, ref.topic, table_id, SCHEMA, store).snapshot_offset == 5
    store.drop(table_id)
    assert store.offsets(table_id) == [] and bucket_objects(location.endpoint_url, location.bucket) == {}


def test_an_engine_snapshots_into_the_bucket_and_reopens_from_it(tmp_path, location):
    policy = SnapshotPolicy(every_events=20)

    async def first():
        engine = LocalEngine(EmbeddedLog(tmp_path / "log"), snapshots=S3SnapshotStore(location),
                             snapshot_policy=policy, shards=2)
        await engine.open()
        await engine.create_table(description("t"))
        for i in range(100):
            await engine.write("t", put(f"k{i}", v=str(i)))
        for _ in range(200):  # snapshots are written on a worker thread
            group = engine._groups["t"]
            if all(s.snapshots.task is None and s.snapshots.taken for s in group.shards):
                break
            await asyncio.sleep(0.05)
        service = await service_for(engine)
        backup = await service.create_backup("t", "b")
        table_id = (await engine.describe_table("t"))["TableId"]
        await engine.close()
        return backup, table_id

    async def second():
        engine = LocalEngine(EmbeddedLog(tmp_path / "log"), snapshots=S3SnapshotStore(location), shards=2)
        await engine.open()
        page = await engine.scan("t", ScanSpec())
        replayed = engine.replayed
        service = await service_for(engine)
        await service.delete_backup(backup.backup_arn)
        await engine.close()
        return page, replayed

    backup, table_id = asyncio.run(first())
    stored = bucket_objects(location.endpoint_url, location.bucket)
    backup_key = f"dr/test/backups/{backup.location}"
    assert backup_key in stored and backup.item_count == 100
    snapshot_keys = [k for k in stored if k.startswith(f"dr/test/snapshots/{table_id}/")]
    assert {k.split("/")[4] for k in snapshot_keys} == {"0", "1"}  # both shards have snapshots
    page, replayed = asyncio.run(second())
    assert sorted(i["v"]["S"] for i in page.items) == sorted(str(i) for i in range(100))
    assert replayed < 100  # the snapshots were loaded from the bucket
    assert backup_key not in bucket_objects(location.endpoint_url, location.bucket)


def test_backup_files_in_the_bucket(location):
    files = S3BackupFiles(location)
    assert files.write("b1.snap", [b"abc", b"def"]) == "b1.snap"
    assert files.read("b1.snap") == b"abcdef"
    assert list(bucket_objects(location.endpoint_url, location.bucket)) == ["dr/test/backups/b1.snap"]
    files.delete("b1.snap")
    with pytest.raises(FileNotFoundError):
        files.read("b1.snap")
