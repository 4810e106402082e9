"""A table's rebuild as of a cut, in a process of its own: backups, PITR restores and forks.

Rebuilding a table as of a cut (``cuts.tables_at``) is CPU-bound Python: on a worker thread it
holds the GIL the engine's event loop needs, and on the in-process engine the writes slowed ~5x
while a backup ran.  So the rebuild runs in a **spawned process**: the parent sends a picklable
:class:`RebuildSource` (how to open the log, the snapshot store, the backup-file store: factories
and paths, never open handles) and a job (table, key schema, cut), and only waits.  The child opens
the log itself (another reader of the embedded log's SQLite files, or another Kafka client) and
rebuilds each shard from its newest snapshot plus the log up to the cut.  A :class:`BackupJob`
(``BackupService.create_backup``) then writes the backup file (sealed under the table's key when
encryption is on: the child gets the same keys, :func:`portable_source`) and answers (items,
bytes); an :class:`ItemsJob` (``restore_to_point_in_time``, ``forks.fork_table``: no file) answers
the items themselves, which the parent then writes into the new table as every restore does.

The child only reads the log: the cut's offsets are durable before it starts (a backup's are
applied; a restore's were read from the log by this process, ``cuts.offsets_at``, or checked
against its end, ``core.forks.check_offsets``).  A log that cannot travel (the in-memory log, a key
provider given as an object, e.g. a test double) or backup files in this process's memory (an
engine without a snapshot store) rebuild on a worker thread as before, and so does a job whose
process failed to start or died (a job only reads the log and a file is written whole or not at
all, so a retry is safe; an error of the rebuild itself comes again from the thread, as it did
before the worker).  One worker process is kept for the whole server and reused by every job
(:func:`shutdown` stops it); it runs at a lower priority (``nice`` :data:`NICENESS`), so when the
cores are busy the server's requests come first.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import sys
import threading
import time
import types
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from .. import logs
from ..core import snapshot
from ..events.log import EventLog
from .cuts import items_of, tables_at
from .snapshots import gc_paused

log = logs.get("backups")

NICENESS = 10  # the worker's priority below the server's (os.nice)
PARENT_POLL = 1.0  # seconds between the worker's looks at whether the server's process is alive

# backup-file stores whose files another process writes where this one reads them
SHARED_FILES = frozenset({"DirectoryBackupFiles", "S3BackupFiles"})


@dataclass(frozen=True)
class BackupJob:
    """What to write: the table as of ``cut`` (one offset per shard) to ``location``."""

    table_id: str
    schema: Any  # core.keys.KeySchema
    cut: tuple[int, ...]
    created: int  # ms
    location: str

    def here(self, log_: EventLog, snapshots: Any, files: Any) -> tuple[int, int]:
        return write_backup(log_, snapshots, files, self)


@dataclass(frozen=True)
class ItemsJob:
    """What to read: the table's items as of ``cut`` (a PITR restore's or a fork's; no file)."""

    table_id: str
    schema: Any  # core.keys.KeySchema
    cut: tuple[int, ...]

    def here(self, log_: EventLog, snapshots: Any, _files: Any) -> list[dict]:
        return read_items(log_, snapshots, self)


@dataclass(frozen=True)
class RebuildSource:
    """How a process opens what a rebuild reads and writes (all picklable)."""

    log_factory: Callable[[], EventLog]
    snapshots: Any  # a SnapshotStore, or None
    files: Any  # a backup-file store: write(name, chunks)
    cipher: Any = None  # a FileCipher sealing ``files``' files (encryption at rest), or None

    def backup_files(self) -> Any:
        if self.cipher is None:
            return self.files
        from ..events.encryption import EncryptedFiles

        return EncryptedFiles(self.files, self.cipher)


def write_backup(log_: EventLog, snapshots: Any, files: Any, job: BackupJob) -> tuple[int, int]:
    """Rebuild the table as of the job's cut and write its backup file; (items, bytes)."""
    cut = list(job.cut)
    states = tables_at(log_, job.table_id, job.schema, cut, snapshots)
    count, size = sum(s.item_count for s in states), sum(s.size_bytes for s in states)
    header = snapshot.SnapshotHeader(job.table_id, 0, cut[0], cut[0] + 1, job.created, job.schema, count, None)
    with gc_paused():  # every shard's items in one file (their partition keys differ)
        captured = [pair for state in states for pair in snapshot.capture(state)]
        files.write(job.location, snapshot.encode(header, captured))
    return count, size


def read_items(log_: EventLog, snapshots: Any, job: ItemsJob) -> list[dict]:
    """The table's items as of the job's cut (what a restore writes into the new table)."""
    return items_of(*tables_at(log_, job.table_id, job.schema, list(job.cut), snapshots))


def _in_child(source: RebuildSource, job: BackupJob | ItemsJob) -> Any:
    """The child's side: open the log, run the job, close the log."""
    log_ = source.log_factory()
    try:
        return job.here(log_, source.snapshots, source.backup_files())
    finally:
        log_.close()


# --- what can travel to a child ---------------------------------------------------------------


def portable_log(log_: EventLog) -> Callable[[], EventLog] | None:
    """A picklable factory opening the same log in another process, or None if there is none."""
    from ..events.embedded import EmbeddedLog
    from ..events.encryption import EncryptedLog

    if isinstance(log_, EmbeddedLog):
        from .host import EmbeddedLogAt

        return EmbeddedLogAt(str(Path(log_.directory).resolve()))
    if type(log_).__name__ == "KafkaLog":
        from .cluster import KafkaLogAt

        return KafkaLogAt(log_.config)  # type: ignore[attr-defined]
    if isinstance(log_, EncryptedLog):
        return _portable_encrypted(log_)
    return None


def _portable_encrypted(log_: Any) -> Callable[[], EventLog] | None:
    from .keys import EncryptedLogAt, KeyManager, keys_for

    keys = log_.keys
    if not isinstance(keys, KeyManager) or not _provider_portable(keys):
        return None
    plain = portable_log(log_.inner)
    if plain is None:
        return None
    if keys.config.log_factory is None:  # the same keys, now able to travel (keys_for's contract)
        keys_for(keys.config.bound(plain))
    return EncryptedLogAt(keys.config)


def _provider_portable(keys: Any) -> bool:
    """Whether another process rebuilds the same key provider from the configuration alone."""
    config, provider = keys.config, keys.provider
    if config.kms_key_id:
        return bool(getattr(provider, "portable", False))
    path = getattr(provider, "path", None)
    return bool(config.keyring) and path is not None and Path(config.keyring).resolve() == Path(path).resolve()


def portable_source(log_: EventLog, snapshots: Any, files: Any) -> RebuildSource | None:
    """The source a child process rebuilds from, or None when the rebuild must stay here (``files``
    None: a job that writes no file)."""
    from ..events.encryption import EncryptedFiles

    inner = files.inner if isinstance(files, EncryptedFiles) else files
    if files is not None and type(inner).__name__ not in SHARED_FILES:  # e.g. files in this process's memory
        return None
    factory = portable_log(log_)
    if factory is None:
        return None
    if isinstance(files, EncryptedFiles):  # sent apart: its inner store and cipher pickle, it does not
        source = RebuildSource(factory, snapshots, files.inner, files.cipher)
    else:
        source = RebuildSource(factory, snapshots, files)
    try:
        pickle.loads(pickle.dumps(source))
    except Exception:  # noqa: BLE001 - e.g. a store holding a client object: rebuild here
        return None
    return source


# --- the worker process -----------------------------------------------------------------------

_POOL: ProcessPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ProcessPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_background, initargs=(os.getpid(),))
        return _POOL


def _background(parent: int) -> None:
    """The worker's start: background priority (the server's requests come first when the cores
    are busy), and an exit of its own once the server's process is gone (even killed: the pool's
    queue would never tell it)."""
    if hasattr(os, "nice"):
        os.nice(NICENESS)
    threading.Thread(target=_exit_with, args=(parent,), name="backup-parent-watch", daemon=True).start()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL)
    os._exit(0)


def shutdown() -> None:
    """Stop the worker process (a new one starts with the next backup)."""
    global _POOL
    with _POOL_LOCK:
        pool, _POOL = _POOL, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _main_hidden() -> Iterator[None]:
    """While a worker may be started: ``spawn`` runs the parent's ``__main__`` again in the child when
    it is a script (a module run with ``-m``, like ``dynamoray serve``, is only imported, and its
    guarded main does not run).  A server embedded in a script, or an example run as ``__main__``,
    would have its script run again in the worker, which then never takes a job.  So the child is
    given a bare ``__main__`` instead; the swap lasts while ``submit`` starts the process."""
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None or getattr(main, "__file__", None) is None:
        yield
        return
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _submit(pool: ProcessPoolExecutor, source: RebuildSource, job: BackupJob | ItemsJob) -> Future:
    with _POOL_LOCK, _main_hidden():  # the pool starts (or replaces) its process inside submit
        return pool.submit(_in_child, source, job)


def _discard(pool: ProcessPoolExecutor) -> None:
    global _POOL
    with _POOL_LOCK:
        if _POOL is pool:
            _POOL = None
    pool.shutdown(wait=False, cancel_futures=True)


async def run(log_: EventLog, snapshots: Any, files: Any, job: BackupJob | ItemsJob) -> Any:
    """The job's answer, computed in the worker process when the log can travel there (see the
    module docstring), else on a worker thread."""
    source = portable_source(log_, snapshots, files)
    if source is not None:
        pool = _pool()
        try:
            return await asyncio.wrap_future(_submit(pool, source, job))
        except Exception as error:  # noqa: BLE001 - the process failed: the thread still can
            _failed(pool, job, error)
    return await asyncio.to_thread(job.here, log_, snapshots, files)


def run_blocking(log_: EventLog, snapshots: Any, files: Any, job: BackupJob | ItemsJob) -> Any:
    """:func:`run` for a caller already on a worker thread (a restore's ``load``): it waits for the
    worker process there, or rebuilds there."""
    source = portable_source(log_, snapshots, files)
    if source is not None:
        pool = _pool()
        try:
            return _submit(pool, source, job).result()
        except Exception as error:  # noqa: BLE001 - the process failed: this thread still can
            _failed(pool, job, error)
    return job.here(log_, snapshots, files)


def _failed(pool: ProcessPoolExecutor, job: BackupJob | ItemsJob, error: BaseException) -> None:
    """A job whose process failed is done again here (a job only reads the log, and a backup file
    is written whole or not at all); a dead worker is replaced with the next job."""
    if type(error).__name__ == "BrokenProcessPool":
        _discard(pool)
    log.warning("backup_rebuild_process_failed", table_id=job.table_id, job=type(job).__name__, error=repr(error))
