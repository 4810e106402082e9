"""The child of the snapshot crash test: snapshots a table, then is killed while writing the next.

Usage: python -m tests.actors.snapshot_writer LOG_DIR SNAPSHOT_DIR STARTED_FILE
Appends 3,000 changes and writes a snapshot of them; appends more and starts writing the next
snapshot slowly, touching STARTED_FILE once part of it is on disk, and never finishes it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from dynamoray.actors import records, snapshots
from dynamoray.core import keys, snapshot
from dynamoray.core.commands import INSERT, ItemChange
from dynamoray.events.embedded import EmbeddedLog

SCHEMA = keys.KeySchema("p", "S")


def _append(log, writer, state, start: int, count: int) -> None:
    encode = records.change_encoder("t")
    batch = []
    for n in range(start, start + count):
        key = {"p": {"S": f"k{n % 2000}"}}
        batch.append(encode(ItemChange(INSERT, key, None, {**key, "v": {"S": "x" * 200}, "n": {"N": str(n)}})))
    for offset, value in zip(writer.append(batch), batch):
        records.fold(state, value, offset)


def _slowly(chunks, started: Path):
    for i, chunk in enumerate(chunks):
        yield chunk
        if i == 1:
            started.touch()
        time.sleep(0.05)
    while True:  # never finish: the parent kills us mid-write
        time.sleep(1)


def main() -> None:
    log_dir, snapshot_dir, started = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    log = EmbeddedLog(log_dir)
    store = snapshots.SnapshotStore(snapshot_dir)
    writer = log.open_writer("topic", 0)
    state = snapshots.rebuild(log, "topic", "t", SCHEMA, store).state
    _append(log, writer, state, 0, 3000)
    header, captured = snapshots.capture(state, "t")
    snapshots.write_snapshot(store, log, "topic", header, captured, writer)
    _append(log, writer, state, 3000, 3000)
    header, captured = snapshots.capture(state, "t")
    store.write("t", 0, header.offset, _slowly(snapshot.encode(header, captured), started))


if __name__ == "__main__":
    main()
