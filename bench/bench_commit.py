"""The CPU floor under a durable put: one commit of the embedded log, and one in-process put.

Three measurements, each over ``--commits`` operations in a temporary directory on this disk:

- ``log commit``: ``PartitionWriter.append_now`` of one ``--record-bytes`` record on the embedded
  log (``synchronous=FULL``: one SQLite WAL commit with its fsync), four partitions in turn;
- ``log commit, no fsync``: the same with ``synchronous=NORMAL`` (not durable: for comparison);
- ``engine put``: ``LocalEngine.write`` of a PutItem of about ``--record-bytes`` on a 4-shard table
  (decide, encode, commit, fold; no HTTP), one at a time.

It prints wall time, user and system CPU per operation (``resource.getrusage`` of this process),
as JSON with ``--json``.  See docs/benchmarks.md, "Hot path, sixth pass".

    .venv/bin/python bench/bench_commit.py [--commits 3000] [--record-bytes 1024] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dynamoray.actors.local import LocalEngine  # noqa: E402
from dynamoray.core import tables  # noqa: E402
from dynamoray.core.commands import PutCommand  # noqa: E402
from dynamoray.events.embedded import EmbeddedLog  # noqa: E402


class Meter:
    """Wall and CPU time of this process between ``start`` and ``stop``, per operation."""

    def __init__(self) -> None:
        self.usage = resource.getrusage(resource.RUSAGE_SELF)
        self.wall = time.perf_counter()

    def per(self, operations: int) -> dict[str, float]:
        usage, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        return {
            "wall_us": (wall - self.wall) / operations * 1e6,
            "user_us": (usage.ru_utime - self.usage.ru_utime) / operations * 1e6,
            "system_us": (usage.ru_stime - self.usage.ru_stime) / operations * 1e6,
        }


def log_commits(directory: Path, commits: int, size: int, synchronous: str) -> dict[str, float]:
    with EmbeddedLog(directory, synchronous=synchronous) as log:
        log.create_topic("bench", 4)
        writers = [log.open_writer("bench", p) for p in range(4)]
        for i in range(100):  # warm-up: the file and its pages exist
            writers[i % 4].append_now([os.urandom(size)])
        records = [os.urandom(size) for _ in range(64)]
        meter = Meter()
        for i in range(commits):
            if writers[i % 4].append_now([records[i % 64]]) is None:
                raise RuntimeError("the committer was busy: nothing else should write here")
        result = meter.per(commits)
        for writer in writers:
            writer.close()
    return result


def description(name: str) -> dict:
    request = {"TableName": name, "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}],
               "AttributeDefinitions": [{"AttributeName": "p", "AttributeType": "S"}],
               "BillingMode": "PAY_PER_REQUEST"}
    return tables.new_table_description(request, arn=f"arn:aws:dynamodb:us-east-1:000000000000:table/{name}",
                                        table_id=str(uuid.uuid4()), now=time.time())


async def engine_puts(directory: Path, commits: int, size: int) -> dict[str, float]:
    engine = LocalEngine(EmbeddedLog(directory), shards=4)
    await engine.open()
    await engine.create_table(description("bench"))
    payload = {"S": "x" * size}
    for i in range(100):
        await engine.write("bench", PutCommand({"p": {"S": f"w{i}"}, "v": payload}))
    meter = Meter()
    for i in range(commits):
        await engine.write("bench", PutCommand({"p": {"S": f"k{i % 1000}"}, "v": payload}))
    result = meter.per(commits)
    await engine.close()
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--commits", type=int, default=3000)
    p.add_argument("--record-bytes", type=int, default=1024)
    p.add_argument("--json", help="also write the figures there")
    args = p.parse_args(argv)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-commit-", dir=os.environ.get("TMPDIR")) as tmp:
        root = Path(tmp)
        results["log commit"] = log_commits(root / "full", args.commits, args.record_bytes, "FULL")
        results["log commit, no fsync"] = log_commits(root / "normal", args.commits, args.record_bytes, "NORMAL")
        results["engine put"] = asyncio.run(engine_puts(root / "engine", args.commits, args.record_bytes))
    print(f"{time.strftime('%a %d %b %Y, %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}; "
          f"{args.commits} operations of {args.record_bytes} B each")
    print(f"{'measure':<22} {'wall µs':>8} {'user µs':>8} {'system µs':>10} {'CPU µs':>8}")
    for name, r in results.items():
        print(f"{name:<22} {r['wall_us']:>8.0f} {r['user_us']:>8.0f} {r['system_us']:>10.0f} "
              f"{r['user_us'] + r['system_us']:>8.0f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
