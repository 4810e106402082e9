"""A backup's rebuild in a process of its own (``actors/backup_rebuild.py``): which logs can travel
to the child, the child writing the backup file (plain and sealed) while this process never
rebuilds, and the fallback to a worker thread."""

from __future__ import annotations

import asyncio


from dynamoray.actors import backup_rebuild
from dynamoray.actors.backups import DirectoryBackupFiles, MemoryBackupFiles, service_for
from dynamoray.actors.host import EmbeddedLogAt
from dynamoray.actors.keys import EncryptedLogAt, EncryptionConfig, KeyManager, forget, keys_for
from dynamoray.actors.local import LocalEngine
from dynamoray.actors.snapshots import SnapshotStore
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.events.encryption import EncryptedLog
from dynamoray.events.keyring import LocalKeyring
from dynamoray.events.memory import MemoryLog

from .helpers import description, put
from .rebuild_helpers import Broken, refuse_here, stop_the_worker  # noqa: F401 - an autouse fixture


async def _backup_and_restore(engine: LocalEngine, count: int) -> tuple[object, dict]:
    await engine.create_table(description("t"))
    for i in range(count):
        await engine.write("t", put(f"k{i}", v=str(i)))
    service = await service_for(engine)
    backup = await service.create_backup("t", "b")
    await service.restore_from_backup(backup.backup_arn, {"TargetTableName": "copy"}, "arn:aws:dynamodb:x:1:table/copy")
    await asyncio.wait(list(service.restores.values()))
    return backup, await engine.describe_table("copy")


def test_which_logs_travel_to_a_child(tmp_path):
    embedded = EmbeddedLog(tmp_path / "log")
    try:
        assert backup_rebuild.portable_log(embedded) == EmbeddedLogAt(str((tmp_path / "log").resolve()))
        assert backup_rebuild.portable_log(MemoryLog()) is None
        keyring = LocalKeyring.create(tmp_path / "keyring.json")
        config = EncryptionConfig(keyring=str(keyring.path))
        keys = keys_for(config, MemoryLog(), owns_log=True)
        try:
            factory = backup_rebuild.portable_log(EncryptedLog(embedded, keys))
            assert isinstance(factory, EncryptedLogAt) and factory.plain() == backup_rebuild.portable_log(embedded)
            assert keys.config.log_factory == factory.plain()  # the process's keys can travel now
        finally:
            forget(config)
        other = KeyManager(EncryptionConfig(keyring=""), keyring, MemoryLog())  # a provider given as an object
        assert backup_rebuild.portable_log(EncryptedLog(embedded, other)) is None
        assert backup_rebuild.portable_source(MemoryLog(), None, DirectoryBackupFiles(tmp_path)) is None
        assert backup_rebuild.portable_source(embedded, None, MemoryBackupFiles()) is None  # the child's copy
        assert backup_rebuild.portable_source(embedded, None, DirectoryBackupFiles(tmp_path)) is not None
        assert backup_rebuild.portable_source(embedded, None, None) is not None  # a restore's job: no file
        assert backup_rebuild.portable_source(MemoryLog(), None, None) is None
    finally:
        embedded.close()


def test_the_child_rebuilds_and_writes_the_backup(tmp_path, monkeypatch):
    monkeypatch.setattr(backup_rebuild, "write_backup", refuse_here)  # this process must not rebuild

    async def scenario():
        engine = LocalEngine(EmbeddedLog(tmp_path / "log"), snapshots=SnapshotStore(tmp_path / "snapshots"), shards=2)
        await engine.open()
        try:
            return await _backup_and_restore(engine, 30)
        finally:
            await engine.close()

    backup, copy = asyncio.run(scenario())
    assert backup.item_count == 30 and backup.size_bytes > 0
    assert (tmp_path / "backups" / backup.location).is_file()
    assert (copy["TableStatus"], copy["ItemCount"]) == ("ACTIVE", 30)


def test_the_child_seals_the_backup_with_the_servers_keys(tmp_path, monkeypatch):
    monkeypatch.setattr(backup_rebuild, "write_backup", refuse_here)
    keyring = LocalKeyring.create(tmp_path / "keyring.json")
    config = EncryptionConfig(keyring=str(keyring.path))  # as ``serve`` makes them: no log factory yet
    keys = keys_for(config, EmbeddedLog(tmp_path / "log"), owns_log=True)

    async def scenario():
        cipher = keys.file_cipher()
        engine = LocalEngine(EncryptedLog(EmbeddedLog(tmp_path / "log"), keys),
                             snapshots=SnapshotStore(tmp_path / "snapshots", cipher))
        await engine.open()
        try:
            return await _backup_and_restore(engine, 12)
        finally:
            await engine.close()

    try:
        backup, copy = asyncio.run(scenario())
    finally:
        forget(config)
    data = (tmp_path / "backups" / backup.location).read_bytes()
    assert b"k1" not in data and b'"v"' not in data  # sealed at rest
    assert (copy["TableStatus"], copy["ItemCount"]) == ("ACTIVE", 12)


def test_a_failed_child_falls_back_to_a_thread(tmp_path, monkeypatch):
    real = backup_rebuild.portable_source

    def broken(log_, snapshots, files):
        found = real(log_, snapshots, files)
        assert found is not None
        return backup_rebuild.RebuildSource(Broken(), found.snapshots, found.files, found.cipher)

    monkeypatch.setattr(backup_rebuild, "portable_source", broken)
    here = []
    write = backup_rebuild.write_backup
    monkeypatch.setattr(backup_rebuild, "write_backup", lambda *a: here.append(1) or write(*a))

    async def scenario():
        engine = LocalEngine(EmbeddedLog(tmp_path / "log"), snapshots=SnapshotStore(tmp_path / "snapshots"))
        await engine.open()
        try:
            return await _backup_and_restore(engine, 5)
        finally:
            await engine.close()

    backup, copy = asyncio.run(scenario())
    assert here == [1] and backup.item_count == 5
    assert (copy["TableStatus"], copy["ItemCount"]) == ("ACTIVE", 5)


def test_an_in_memory_engine_rebuilds_on_a_thread(monkeypatch):
    here = []
    write = backup_rebuild.write_backup
    monkeypatch.setattr(backup_rebuild, "write_backup", lambda *a: here.append(1) or write(*a))

    async def scenario():
        engine = LocalEngine()
        return await _backup_and_restore(engine, 7)

    backup, copy = asyncio.run(scenario())
    assert here == [1] and (copy["ItemCount"], backup.item_count) == (7, 7)


def test_the_worker_exits_when_the_servers_process_is_killed(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    script = ("import os, signal\n"
              "from dynamoray.actors import backup_rebuild\n"
              "print(backup_rebuild._pool().submit(os.getpid).result(timeout=120), flush=True)\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180,
                          cwd=str(tmp_path), env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert done.returncode == -signal.SIGKILL, done.stderr
    worker = int(done.stdout.split()[0])
    deadline = time.monotonic() + 60
    while os.path.exists(f"/proc/{worker}") and _alive(worker):
        assert time.monotonic() < deadline, "the backup worker outlived the server's process"
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1].split()[0] != "Z"  # a zombie is gone already
    except OSError:
        return False
