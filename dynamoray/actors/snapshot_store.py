"""Snapshot files on disk: :class:`SnapshotStore`, one file per (table id, shard, offset).

``<root>/<table_id>/<shard>/<offset>.snap`` (``core.snapshot`` format), written atomically: a
temporary file, fsync, rename, fsync of the directory.  A crash mid-write leaves at most a ``.tmp``
file (removed on the next write), never a torn ``.snap``.  Pins (``<offset>.pin``) keep the snapshot
log retention truncated the log down to.

Separate from ``snapshots.py`` (the rebuild and the policy that takes snapshots) because it is only
storage: it knows paths, files and sealing, not partitions or logs.  ``object_store.py`` keeps the
same files in a bucket.  ``snapshots.py`` re-exports every name here.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, Iterable

from .. import logs
from ..core import keys, snapshot

log = logs.get("snapshots")

SUFFIX = ".snap"


def write_atomically(tmp: Path, final: Path, chunks: Iterable[bytes]) -> None:
    """``chunks`` into ``final`` by way of ``tmp`` in the same directory: the file exists whole and
    durable (its directory entry too), or not at all."""
    try:
        with open(tmp, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(final.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SnapshotStore:
    """Snapshot files under ``root`` (picklable: only the path travels to an actor), sealed by
    ``cipher`` when given (an ``events.encryption.FileCipher``: encryption at rest)."""

    def __init__(self, root: str | os.PathLike, cipher: Any = None) -> None:
        self.root = Path(root).resolve()
        self.cipher = cipher

    def __reduce__(self) -> tuple:
        return SnapshotStore, (str(self.root), self.cipher)

    def _context(self, table_id: str, shard: int, offset: int) -> str:
        return f"snapshot:{table_id}/{shard}/{offset}"

    def directory(self, table_id: str, shard: int = 0) -> Path:
        return self.root / table_id / str(shard)

    def path(self, table_id: str, shard: int, offset: int) -> Path:
        return self.directory(table_id, shard) / f"{offset:020d}{SUFFIX}"

    def location(self, table_id: str, shard: int, offset: int) -> str:
        """Where a snapshot is, relative to the store's root (the ``SnapshotTaken`` location)."""
        return str(self.path(table_id, shard, offset).relative_to(self.root))

    def write(self, table_id: str, shard: int, offset: int, chunks: Iterable[bytes]) -> Path:
        """Write a snapshot atomically: it exists whole, durable, or not at all."""
        directory = self.directory(table_id, shard)
        directory.mkdir(parents=True, exist_ok=True)
        final = self.path(table_id, shard, offset)
        tmp = directory / f"{final.name}.{os.getpid()}.{threading.get_ident()}.tmp"
        if self.cipher is not None:
            chunks = self.cipher.seal(chunks, self._context(table_id, shard, offset), table_id)
        write_atomically(tmp, final, chunks)
        return final

    def offsets(self, table_id: str, shard: int = 0) -> list[int]:
        """The offsets of the shard's snapshot files, newest first."""
        directory = self.directory(table_id, shard)
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            stem = name[:-len(SUFFIX)] if name.endswith(SUFFIX) else None
            if stem is not None and stem.isdigit():
                found.append(int(stem))
        return sorted(found, reverse=True)

    def read(self, table_id: str, shard: int, offset: int) -> bytes:
        data = self.path(table_id, shard, offset).read_bytes()
        return data if self.cipher is None else self.cipher.open(data, self._context(table_id, shard, offset))

    def load(self, table_id: str, shard: int, schema: keys.KeySchema, *, below: int | None = None,
             at_or_before: int | None = None) -> snapshot.Loaded | None:
        """The newest snapshot that decodes, with an offset ``< below`` (the log's end offset) and
        ``<= at_or_before`` when given; None if there is none.  Bad ones are skipped, with a warning."""
        for offset in self.offsets(table_id, shard):
            if (below is not None and offset >= below) or (at_or_before is not None and offset > at_or_before):
                continue
            try:
                return snapshot.decode(self.read(table_id, shard, offset), schema, table_id)
            except (snapshot.SnapshotError, OSError) as error:
                log.warning("snapshot_skipped", table_id=table_id, shard=shard, offset=offset, error=str(error))
        return None

    def prune(self, table_id: str, shard: int, keep: int, protect: Iterable[int] = ()) -> list[int]:
        """Delete all but the newest ``keep`` snapshots (and those in ``protect`` or pinned) and
        stale temporary files; returns the deleted offsets."""
        keep_offsets = set(self.offsets(table_id, shard)[:keep]) | set(protect) | set(self.pinned(table_id, shard))
        deleted = []
        for offset in self.offsets(table_id, shard):
            if offset not in keep_offsets:
                self.delete(table_id, shard, offset)
                deleted.append(offset)
        return deleted

    def delete(self, table_id: str, shard: int, offset: int) -> None:
        self.path(table_id, shard, offset).unlink(missing_ok=True)

    # pins: the snapshot log retention truncated the log down to (``retention.py``) is kept by
    # ``prune`` until it is unpinned (a ``<offset>.pin`` file next to it)

    def pin(self, table_id: str, shard: int, offset: int) -> None:
        directory = self.directory(table_id, shard)
        (directory / f"{offset:020d}.pin").touch()
        _fsync_dir(directory)

    def unpin(self, table_id: str, shard: int, offset: int) -> None:
        (self.directory(table_id, shard) / f"{offset:020d}.pin").unlink(missing_ok=True)

    def pinned(self, table_id: str, shard: int = 0) -> list[int]:
        try:
            names = os.listdir(self.directory(table_id, shard))
        except FileNotFoundError:
            return []
        return sorted((int(n[:-4]) for n in names if n.endswith(".pin") and n[:-4].isdigit()), reverse=True)

    def header(self, table_id: str, shard: int, offset: int) -> snapshot.SnapshotHeader:
        """A snapshot's header (reads the file: SnapshotError or OSError if it is bad)."""
        return snapshot.read_header(self.read(table_id, shard, offset))

    def written_size(self, written: Any) -> int:
        """The size of what :meth:`write` returned."""
        return written.stat().st_size

    def clean_temporary(self, table_id: str, shard: int = 0, older_than: float = 600.0) -> None:
        """Delete what crashed writes left (``.tmp`` files not touched for ``older_than`` seconds:
        a younger one may be another thread's write in progress)."""
        directory = self.directory(table_id, shard)
        if not directory.is_dir():
            return
        limit = time.time() - older_than
        for stale in directory.glob("*.tmp"):
            try:
                if stale.stat().st_mtime <= limit:
                    stale.unlink(missing_ok=True)
            except FileNotFoundError:
                pass

    def drop(self, table_id: str) -> None:
        """Delete every snapshot of a table."""
        directory = self.root / table_id
        if not directory.is_dir():
            return
        for path in sorted(directory.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink(missing_ok=True)
        directory.rmdir()
