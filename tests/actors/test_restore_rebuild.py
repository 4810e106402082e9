"""A point-in-time restore's and a fork's rebuild in the backups' worker process
(``actors/backup_rebuild.py``, :class:`ItemsJob`): the child rebuilds while this process never does,
the results are those of the thread, and the fallbacks to a worker thread (a log that cannot travel,
a failed child) are as for backups."""

from __future__ import annotations

import asyncio
import os
import time


from dynamoray.actors import backup_rebuild, forks
from dynamoray.actors.backups import service_for
from dynamoray.actors.local import LocalEngine
from dynamoray.actors.restores import DONE
from dynamoray.actors.snapshots import SnapshotPolicy, SnapshotStore
from dynamoray.core.commands import ScanSpec
from dynamoray.core.forks import ForkRequest
from dynamoray.events.embedded import EmbeddedLog

from .helpers import description, put
from .rebuild_helpers import Broken, refuse_here, stop_the_worker  # noqa: F401 - an autouse fixture

ARN = "arn:aws:dynamodb:x:1:table/"
BEFORE = {f"k{i}": "1" for i in range(25)}  # what both copies hold: the table as of the point


def _values(items) -> dict:
    return {i["p"]["S"]: i["v"]["S"] for i in items}


async def _restore_and_fork(engine: LocalEngine) -> dict:
    """Writes, a point (an instant and the cut at it), more writes; then a PITR restore to the
    instant and a fork at the cut, both loaded.  Every table's items, and the copies' phases."""
    await engine.create_table(description("t"))
    service = await service_for(engine)
    await service.update_continuous("t", {"PointInTimeRecoveryEnabled": True})
    for i in range(25):
        await engine.write("t", put(f"k{i}", v="1"))
    offsets = await forks.current_offsets(service, "t")
    time.sleep(0.02)
    instant = time.time()
    time.sleep(0.02)
    for i in range(0, 25, 2):
        await engine.write("t", put(f"k{i}", v="2"))
    await engine.write("t", put("late", v="2"))
    await service.restore_to_point_in_time("t", {"TargetTableName": "pitr", "RestoreDateTime": instant}, ARN + "pitr")
    await forks.fork_table(service, ForkRequest("t", "fork", at_offsets=tuple(offsets)), ARN + "fork")
    await asyncio.wait(list(service.restores.values()))
    found = {name: _values((await engine.scan(name, ScanSpec())).items) for name in ("t", "pitr", "fork")}
    found["phases"] = {name: (service.board.get(name).phase, service.board.get(name).error) for name in ("pitr", "fork")}
    return found


def _on_disk(tmp_path) -> LocalEngine:
    # a snapshot every few events: the child reads the snapshot store too
    return LocalEngine(EmbeddedLog(tmp_path / "log"), snapshots=SnapshotStore(tmp_path / "snapshots"),
                       snapshot_policy=SnapshotPolicy(every_events=7), shards=2)


async def _restore_and_fork_on_disk(tmp_path) -> dict:
    engine = _on_disk(tmp_path)
    await engine.open()
    try:
        return await _restore_and_fork(engine)
    finally:
        await engine.close()


def _assert_copies(found: dict) -> None:
    assert found["phases"] == {"pitr": (DONE, None), "fork": (DONE, None)}
    assert found["pitr"] == found["fork"] == BEFORE
    assert found["t"] == {**BEFORE, **{f"k{i}": "2" for i in range(0, 25, 2)}, "late": "2"}


def _count_here(monkeypatch) -> list:
    here = []
    read = backup_rebuild.read_items
    monkeypatch.setattr(backup_rebuild, "read_items", lambda *a: here.append(os.getpid()) or read(*a))
    return here


def test_the_child_rebuilds_a_pitr_restore_and_a_fork(tmp_path, monkeypatch):
    monkeypatch.setattr(backup_rebuild, "read_items", refuse_here)  # this process must not rebuild
    jobs = []
    pool = backup_rebuild._pool()
    submit = pool.submit

    def watched(fn, *args):
        jobs.append(type(args[-1]).__name__)
        return submit(fn, *args)

    monkeypatch.setattr(pool, "submit", watched)

    _assert_copies(asyncio.run(_restore_and_fork_on_disk(tmp_path)))
    assert jobs == ["ItemsJob", "ItemsJob"]  # the PITR restore's and the fork's, both in the worker
    assert backup_rebuild._pool() is pool and submit(os.getpid).result(timeout=120) != os.getpid()


def test_a_failed_child_falls_back_to_a_thread(tmp_path, monkeypatch):
    real = backup_rebuild.portable_source

    def broken(log_, snapshots, files):
        found = real(log_, snapshots, files)
        assert found is not None and files is None  # a restore's job: no backup file
        return backup_rebuild.RebuildSource(Broken(), found.snapshots, found.files, found.cipher)

    monkeypatch.setattr(backup_rebuild, "portable_source", broken)
    here = _count_here(monkeypatch)

    _assert_copies(asyncio.run(_restore_and_fork_on_disk(tmp_path)))
    assert here == [os.getpid()] * 2


def test_an_in_memory_engine_rebuilds_on_a_thread(monkeypatch):
    here = _count_here(monkeypatch)
    _assert_copies(asyncio.run(_restore_and_fork(LocalEngine())))
    assert here == [os.getpid()] * 2


SCRIPT = """
import asyncio, multiprocessing, sys
from pathlib import Path
with open(sys.argv[1], "a") as marker:
    marker.write("ran\\n")
if multiprocessing.parent_process() is not None:  # run again in the worker: say so, and stop there
    sys.exit(0)
from dynamoray.actors import backup_rebuild
from tests.actors.test_restore_rebuild import _restore_and_fork_on_disk
found = asyncio.run(_restore_and_fork_on_disk(Path(sys.argv[2])))
backup_rebuild.shutdown()
print(sorted(found["pitr"]) == sorted(found["fork"]) and len(found["pitr"]))
"""


def test_a_server_embedded_in_a_script_does_not_run_the_script_again_in_the_worker(tmp_path):
    """``spawn`` runs a parent's ``__main__`` script again in the child; the worker must not (it
    would never take a job: a script that embeds the engine, or a docs example run as __main__)."""
    import subprocess
    import sys
    from pathlib import Path

    script, marker = tmp_path / "embedding.py", tmp_path / "marker"
    script.write_text(SCRIPT)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, str(script), str(marker), str(tmp_path / "data")], cwd=root,
                          env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "25"
    assert marker.read_text() == "ran\n"  # the worker did not run the script
