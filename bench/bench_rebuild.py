"""Partition rebuild benchmark: replaying a table's log, with and without a snapshot.

    .venv/bin/python bench/bench_rebuild.py [--events 100000] [--items 20000] [--tail 5000] [--repeats 3]

Writes ``--events`` item changes over ``--items`` distinct items (hash + range key, ~200-byte
items) to an embedded log, then measures, each the best of ``--repeats``:

1. **whole-log replay, as before snapshots**: every record decoded and folded with the image sizes
   summed on every change and the cyclic GC running (what opening a partition cost before);
2. **whole-log replay now** (``snapshots.rebuild`` without a store: sizes deferred, GC paused);
3. **taking a snapshot**: the pause of :func:`core.snapshot.capture` on the partition's loop, then
   encoding + writing the file (tmp + fsync + rename) on a worker thread, and the file's size;
4. **rebuild from the snapshot**: loading it alone, and loading it plus a tail of ``--tail`` events.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import tempfile
import time
from pathlib import Path

from dynamoray.actors import records, snapshots
from dynamoray.core import keys, partition
from dynamoray.core.commands import INSERT, MODIFY, ItemChange
from dynamoray.events.embedded import EmbeddedLog

SCHEMA = keys.KeySchema("pk", "S", "sk", "N")
TOPIC = "dynamoray.table.bench"


def change(i: int, items: int) -> ItemChange:
    n = i % items
    key = {"pk": {"S": f"USER#{n // 10}"}, "sk": {"N": str(n % 10)}}
    item = {**key, "name": {"S": f"name-{i}" + "x" * 100}, "count": {"N": str(i)},
            "tags": {"SS": ["a", "b"]}, "m": {"M": {"x": {"N": "1.5"}, "y": {"L": [{"S": "q"}]}}}}
    return ItemChange(MODIFY if i >= items else INSERT, key, None, item)


def fill(log: EmbeddedLog, start: int, count: int, items: int) -> None:
    encode = records.change_encoder("bench")
    with log.open_writer(TOPIC, 0) as writer:
        for base in range(start, start + count, 5000):
            writer.append([encode(change(i, items)) for i in range(base, min(base + 5000, start + count))])


def old_replay(log: EmbeddedLog) -> partition.PartitionState:
    """The replay before snapshots: every change sized (old and new image), GC on."""
    state = partition.PartitionState(SCHEMA)
    for offset, value in records.read_all_with_offsets(log, TOPIC):
        records.fold(state, value, offset)
    return state


def best(repeats: int, fn):
    times, result = [], None
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--tail", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-rebuild-"))
    try:
        log = EmbeddedLog(root / "log")
        log.create_topic(TOPIC, 1)
        fill(log, 0, args.events, args.items)
        store = snapshots.SnapshotStore(root / "snapshots")
        n = args.events

        t_old, state = best(args.repeats, lambda: old_replay(log))
        t_new, rebuilt = best(args.repeats, lambda: snapshots.rebuild(log, TOPIC, "bench", SCHEMA))
        assert rebuilt.state.size_bytes == state.size_bytes and rebuilt.state.item_count == state.item_count
        print(f"events={n} items={rebuilt.state.item_count} size={state.size_bytes / 1e6:.1f} MB")
        print(f"whole-log replay, as before:  {t_old:.2f} s  {n / t_old:>9,.0f} events/s  {t_old / n * 1e6:.1f} us/event")
        print(f"whole-log replay, now:        {t_new:.2f} s  {n / t_new:>9,.0f} events/s  {t_new / n * 1e6:.1f} us/event")

        t_capture, (header, captured) = best(args.repeats, lambda: snapshots.capture(rebuilt.state, "bench"))
        t_write, path = best(1, lambda: snapshots.write_snapshot(store, log, TOPIC, header, captured))
        print(f"snapshot: capture pause {t_capture * 1e3:.0f} ms, encode + write {t_write:.2f} s, "
              f"{path.stat().st_size / 1e6:.1f} MB")

        t_load, _ = best(args.repeats, lambda: snapshots.rebuild(log, TOPIC, "bench", SCHEMA, store))
        fill(log, n, args.tail, args.items)
        t_tail, with_tail = best(args.repeats, lambda: snapshots.rebuild(log, TOPIC, "bench", SCHEMA, store))
        assert with_tail.replayed == args.tail and with_tail.snapshot_offset == n - 1
        print(f"rebuild from the snapshot alone:            {t_load:.2f} s")
        print(f"rebuild from the snapshot + {args.tail} events:     {t_tail:.2f} s")
        full = n + args.tail
        t_full, _ = best(1, lambda: snapshots.rebuild(log, TOPIC, "bench", SCHEMA))
        print(f"whole-log replay of the same {full} events:  {t_full:.2f} s")
        log.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
