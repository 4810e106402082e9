"""Scaling bench: throughput and latency as partition hosts, shards, tables and gateway processes
grow on this machine, and as nodes are added to a simulated multi-node Ray cluster (issue 13).

    .venv/bin/python bench/bench_scaling.py [--cores N] [--mode machine,nodes] [--hosts 1,2]
        [--shards 1,4] [--tables 1,4] [--gateways 1,2] [--nodes 1,2,3] [--engine ray]
        [--duration 3] [--clients 16] [--load-procs N] [--no-record] [--json out.json]

``machine`` mode: one ``dynamoray serve`` (its private Ray) per point of the product of ``--hosts``,
``--shards``, ``--tables`` and ``--gateways``.  ``nodes`` mode: for each count in ``--nodes``, a
simulated Ray cluster (``ray.cluster_utils.Cluster`` on loopback, one zone label per node) and
``dynamoray serve --ray-address`` on it with one partition host per node (``--shards`` and
``--tables`` at their largest, ``--gateways`` at its smallest).  Each point creates its tables, loads
``partitions * per-partition`` 1 KB items into each, warms up, then runs a 90 % GetItem / 10 % PutItem
mix over every table with ``--clients`` keep-alive SigV4 clients spread over ``--load-procs`` client
processes.  It prints ops/s, p50/p99, the server's CPU (µs per call, cores busy) and ops/s per busy
server core, and appends the table to docs/benchmarks.md ("Scaling").

``--cores`` (default: this machine's) sets the defaults of the sweep (hosts and gateways up to the
core count) and of ``--load-procs`` (a quarter of the cores), so the same command scales itself on a
16-core machine.  On a machine with fewer cores than the sweep asks for, the points past the core
count measure overhead, not scaling: every process shares the same cores.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import orjson
from _gw_http import connection
from _gw_report import machine, now
from _gw_workload import GET, PUT, Workload
from _scale_run import Config, LoadGenerator, SimulatedCluster, signer, start_server

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Scaling"
MIX = ((GET, 0.9), (PUT, 0.1))
COLUMNS = ("mode", "config", "cores", "clients", "ops/s", "p50 ms", "p99 ms", "server CPU µs/call",
           "server cores busy", "ops/s per busy core", "calls", "errors")


async def call(port: int, operation: str, payload: dict) -> dict:
    conn = connection("raw", "127.0.0.1", port)
    await conn.open()
    try:
        body = orjson.dumps(payload)
        status, answer = await conn.start(signer(port).headers(operation, body), body)
    finally:
        await conn.close()
    if status != 200:
        raise RuntimeError(f"{operation} -> {status}: {answer[:300]!r}")
    return orjson.loads(answer)


async def prepare(port: int, workload: Workload) -> None:
    """Creates the table, waits until ACTIVE, loads every item with 4 writers, reads one back."""
    for attempt in range(5):  # a 5xx leaves the outcome unknown: try again, and an existing table is fine
        try:
            await call(port, "CreateTable", workload.create_table())
            break
        except RuntimeError as error:
            if "ResourceInUseException" in str(error):
                break
            if attempt == 4 or " -> 5" not in str(error):
                raise
            await asyncio.sleep(1)
    for _ in range(1200):
        if (await call(port, "DescribeTable", {"TableName": workload.table}))["Table"]["TableStatus"] == "ACTIVE":
            break
        await asyncio.sleep(0.05)
    batches = list(workload.preload())

    async def writer(mine: list[dict]) -> None:
        for batch in mine:
            for _ in range(50):
                left = (await call(port, "BatchWriteItem", batch)).get("UnprocessedItems") or {}
                if not left:
                    break
                batch = {"RequestItems": left}

    await asyncio.gather(*(writer(batches[i::4]) for i in range(4)))
    got = await call(port, GET, {"TableName": workload.table, "Key": workload.key(1, 1), "ConsistentRead": True})
    if got.get("Item") != workload.item(1, 1, 0):
        raise RuntimeError(f"{workload.table}: GetItem after the load returned {str(got)[:300]}")


def pools_for(tables: list[Workload], size: int, seed: int) -> dict[str, list[bytes]]:
    """``size`` request bodies per operation, spread evenly over the tables."""
    per = max(1, size // len(tables))
    parts = [w.pools(per, seed + i) for i, w in enumerate(tables)]
    return {op: [body for bodies in zip(*(p[op] for p in parts)) for body in bodies] for op in (GET, PUT)}


def measure(config: Config, args: argparse.Namespace, load: LoadGenerator, workdir: Path) -> dict:
    """One point; a point that fails is reported as a row with its error, and the sweep goes on."""
    try:
        return measure_point(config, args, load, workdir)
    except Exception as error:  # noqa: BLE001 - reported in the table, with the server's last lines
        logs = sorted(workdir.glob("scale-*.log"), key=lambda p: p.stat().st_mtime)
        tail = logs[-1].read_text(errors="replace")[-3000:] if logs else ""
        print(f"  {config.label}: failed: {error!r}\n{tail}", file=sys.stderr, flush=True)
        nan = float("nan")
        return {"mode": "nodes" if config.nodes else "machine", "config": config.label, **vars_of(config),
                "cores": args.cores, "clients": args.clients, "calls": 0, "errors": 1, "ops_per_s": nan,
                "p50_ms": nan, "p99_ms": nan, "server_cores": nan, "server_us_per_call": nan,
                "ops_per_server_core": nan, "first_error": repr(error)[:300]}


def measure_point(config: Config, args: argparse.Namespace, load: LoadGenerator, workdir: Path) -> dict:
    cluster = SimulatedCluster(config.nodes) if config.nodes else None
    target = None
    try:
        target = start_server(workdir, config, cluster.address if cluster else None, tuple(shlex.split(args.serve_args)))
        tables = [Workload(table=f"scale{i}", partitions=args.partitions, per_partition=args.per_partition)
                  for i in range(config.tables)]
        for workload in tables:
            asyncio.run(prepare(target.port, workload))
        pools = pools_for(tables, args.pool, args.seed)
        roots = [target.pid] + (cluster.pids() if cluster else [])
        load.run(target.port, MIX, args.clients, pools, args.warmup, args.max_requests, roots, args.seed)
        result = load.run(target.port, MIX, args.clients, pools, args.duration, args.max_requests, roots, args.seed + 1)
        target.check_loopback()
    finally:
        if target is not None:
            target.stop()
        if cluster is not None:
            cluster.shutdown()
    return {"mode": "nodes" if config.nodes else "machine", "config": config.label, **vars_of(config),
            "cores": args.cores, "clients": args.clients, **result.figures()}


def vars_of(config: Config) -> dict:
    return {"engine": config.engine, "hosts": config.hosts, "shards": config.shards, "tables": config.tables,
            "gateways": config.gateways, "nodes": config.nodes}


def ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def configs(args: argparse.Namespace) -> list[Config]:
    modes = args.mode.split(",")
    out = []
    if "machine" in modes:
        gateways = ints(args.gateways) if args.engine == "ray" else [1]
        hosts = ints(args.hosts) if args.engine == "ray" else [1]
        for h, s, t, g in itertools.product(hosts, ints(args.shards), ints(args.tables), gateways):
            out.append(Config(args.engine, h, s, t, g))
    if "nodes" in modes:
        for n in ints(args.nodes):
            out.append(Config("ray", n, max(ints(args.shards)), max(ints(args.tables)), min(ints(args.gateways)), n))
    if not out:
        raise SystemExit(f"--mode {args.mode!r}: use machine, nodes or both")
    return out


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cores", type=int, default=os.cpu_count() or 1,
                   help="the cores to scale over (default: this machine's); sets the sweep's defaults")
    p.add_argument("--mode", default="machine,nodes", help="machine, nodes, or both (comma list)")
    p.add_argument("--engine", choices=("ray", "local"), default="ray",
                   help="machine mode's engine (local: one process, no hosts or gateways)")
    p.add_argument("--hosts", help="comma list of partition host counts (default 1,2,4.. up to --cores)")
    p.add_argument("--shards", default="4", help="comma list of shards per table")
    p.add_argument("--tables", default="1,4", help="comma list of table counts")
    p.add_argument("--gateways", help="comma list of gateway process counts (default 1,2.. up to --cores/2)")
    p.add_argument("--nodes", default="1,2,3", help="comma list of simulated node counts (nodes mode)")
    p.add_argument("--duration", type=float, default=3.0, help="seconds of measured load per point")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of unmeasured load per point first")
    p.add_argument("--clients", type=int, help="concurrent connections (default 8 per 2 cores, at least 8)")
    p.add_argument("--load-procs", type=int, help="client processes (default a quarter of --cores, at least 1)")
    p.add_argument("--max-requests", type=int, default=1_000_000, help="cap on calls per point")
    p.add_argument("--partitions", type=int, default=100, help="partition keys per table")
    p.add_argument("--per-partition", type=int, default=5, help="items per partition key")
    p.add_argument("--pool", type=int, default=2000, help="pre-built request bodies per operation")
    p.add_argument("--serve-args", default="", help="more `dynamoray serve` flags for every point, e.g. "
                                                    "\"--no-gateway-follower --replicas 3\"")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--docs", default=str(ROOT / "docs" / "benchmarks.md"))
    p.add_argument("--no-record", action="store_true", help="print only; do not append to --docs")
    p.add_argument("--json", help="also write the figures as JSON there")
    args = p.parse_args(argv)
    powers = [n for n in (1, 2, 4, 8, 16, 32, 64) if n <= max(1, args.cores)]
    args.hosts = args.hosts or ",".join(map(str, powers))
    args.gateways = args.gateways or ",".join(str(n) for n in powers if n <= max(1, args.cores // 2))
    args.clients = args.clients or max(8, 4 * args.cores)
    args.load_procs = args.load_procs or max(1, args.cores // 4)
    return args


def fmt(value: float, digits: int) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def rows(figures: list[dict]) -> list[tuple]:
    return [(f["mode"], f["config"], str(f["cores"]), str(f["clients"]), fmt(f["ops_per_s"], 0), fmt(f["p50_ms"], 2),
             fmt(f["p99_ms"], 2), fmt(f["server_us_per_call"], 0), fmt(f["server_cores"], 2),
             fmt(f["ops_per_server_core"], 0), str(f["calls"]), str(f["errors"])) for f in figures]


def text_table(table: list[tuple]) -> str:
    widths = [max(len(str(r[i])) for r in [COLUMNS, *table]) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(str(v).rjust(w) if i > 1 else str(v).ljust(w) for i, (v, w) in enumerate(zip(r, widths)))
                     for r in [COLUMNS, ["-" * w for w in widths], *table])


def record(path: Path, command: str, started: str, machine_line: str, settings: str, table: list[tuple]) -> None:
    """Adds one run at the end of the Scaling section of ``path`` (made if missing), nothing else."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if f"\n{SECTION}\n" not in text:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n`bench/bench_scaling.py`; each run below was appended by it " \
                                    "(what it means: docs/scaling.md).\n"
    head = "| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS) + "\n"
    block = [f"\n### Run of {started}\n", f"- **Command:** `{command}`", f"- **Machine:** {machine_line}",
             f"- **Settings:** {settings}", "", head + "\n".join("| " + " | ".join(r) + " |" for r in table), ""]
    start = text.index(f"\n{SECTION}\n") + 1
    end = text.find("\n## ", start)
    end = len(text) if end < 0 else end + 1
    section = text[start:end].rstrip("\n") + "\n" + "\n".join(block) + "\n"
    path.write_text(text[:start] + section + ("\n" + text[end:] if end < len(text) else ""))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    started, machine_line, points = now(), machine(), configs(args)
    figures = []
    load = LoadGenerator(args.load_procs)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
            for config in points:
                began = time.monotonic()
                figures.append(measure(config, args, load, Path(tmp)))
                print(f"  {config.label:<22} {figures[-1]['ops_per_s']:>9,.0f} ops/s "
                      f"({time.monotonic() - began:.0f} s)", file=sys.stderr, flush=True)
    finally:
        load.close()
    table = rows(figures)
    settings = (f"--cores {args.cores}; 90 % GetItem / 10 % PutItem over every table; {args.clients} clients in "
                f"{args.load_procs} process(es); {args.duration} s measured after {args.warmup} s warm-up per point; "
                f"{args.partitions * args.per_partition} items of 1 KB per table; config hH sS tT gG = hosts, shards "
                f"per table, tables, gateway processes; nN = simulated Ray nodes (one host each)"
                + (f"; serve flags `{args.serve_args}`" if args.serve_args else ""))
    print(f"\n{started}\n{machine_line}\n{settings}\n\n{text_table(table)}\n")
    errors = [f"{f['config']}: {f['errors']} failed, first: {f['first_error']}" for f in figures if f["errors"]]
    print("\n".join(errors))
    if not args.no_record:
        python = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else "python"
        record(Path(args.docs), shlex.join([python, "bench/bench_scaling.py", *argv]), started, machine_line,
               settings, table)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
