"""Gateway benchmark: dynamoray over HTTP beside a trivial floor server and dynalite (issue 4).

    .venv/bin/python bench/bench_gateway.py [--targets dynamoray,floor,dynalite] [--duration 2]
        [--rounds 2] [--partitions 200] [--per-partition 10] [--no-record] [--json out.json]

Starts every target as a subprocess on a free 127.0.0.1 port (``dynamoray serve`` on a temporary
data dir, once per ``--engine`` when that flag exists; the aiohttp floor that answers ``{}``;
dynalite from npm, in memory), checks each listens on loopback only, creates a table (pk S, sk N)
and loads ``partitions * per-partition`` items of 1 KB into each real target.  Then, per round, it
runs each phase on each target in turn (the order rotates every round): GetItem, PutItem,
UpdateItem (SET + ADD) and Query (one partition, ~10 items) with 1 and 8 keep-alive SigV4-signed
clients, and a 90 % GetItem / 10 % PutItem mix with 8 clients.  It prints p50/p99 latency, ops/s and
server and client CPU per call, and appends the same table to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import orjson
import uvloop

from _gw_http import connection
from _gw_load import Limits, Phase, PhaseResult, Summary, run_phase, summarize
from _gw_procs import machine_busy_seconds, tree_cpu_seconds
from _gw_report import goals, machine, now, record, rows, text_table
from _gw_sigv4 import Signer
from _gw_targets import (HOST, Target, dynamoray_engines, install_dynalite, start_dynalite,
                         start_dynamoray, start_floor)
from _gw_workload import GET, OPERATIONS, PUT, QUERY, Workload

ROOT = Path(__file__).resolve().parent.parent
ACCESS_KEY, SECRET_KEY, REGION = "AKIDBENCHGATEWAY0000", "bench-gateway-secret", "us-east-1"


def phases(only: str | None = None) -> list[Phase]:
    """Every phase, or those whose key (``GetItem/8``, ``Mixed 90/10/8``...) is in the comma list."""
    single = [Phase(op, ((op, 1.0),), clients) for clients in (1, 8) for op in OPERATIONS]
    every = single + [Phase("Mixed 90/10", ((GET, 0.9), (PUT, 0.1)), 8)]
    chosen = [p for p in every if only is None or key(p) in only.split(",")]
    if not chosen:
        raise SystemExit(f"--phases {only!r} names none of {', '.join(key(p) for p in every)}")
    return chosen


def key(phase: Phase) -> str:
    return f"{phase.name}/{phase.clients}"


def signer(target: Target) -> Signer:
    return Signer(HOST, target.port, ACCESS_KEY, SECRET_KEY, REGION)


async def call(target: Target, operation: str, payload: dict) -> dict:
    """One signed request on a fresh connection; raises unless the answer is 200."""
    conn = connection("raw", HOST, target.port)
    await conn.open()
    try:
        body = orjson.dumps(payload)
        status, answer = await conn.start(signer(target).headers(operation, body), body)
    finally:
        await conn.close()
    if status != 200:
        raise RuntimeError(f"{target.name} {operation} -> {status}: {answer[:500]!r}")
    return orjson.loads(answer)


async def prepare(target: Target, workload: Workload) -> None:
    """Creates the table, waits until ACTIVE, loads every item with 8 writers, checks a read back."""
    await call(target, "CreateTable", workload.create_table())
    for _ in range(600):
        if (await call(target, "DescribeTable", {"TableName": workload.table}))["Table"]["TableStatus"] == "ACTIVE":
            break
        await asyncio.sleep(0.05)
    else:
        raise RuntimeError(f"{target.name}: the table did not become ACTIVE in 30 s")
    batches = list(workload.preload())

    async def writer(mine: list[dict]) -> None:
        for batch in mine:
            for _ in range(50):  # bounded retries of UnprocessedItems
                left = (await call(target, "BatchWriteItem", batch)).get("UnprocessedItems") or {}
                if not left:
                    break
                batch = {"RequestItems": left}
            else:
                raise RuntimeError(f"{target.name}: BatchWriteItem kept items unprocessed")

    await asyncio.gather(*(writer(batches[i::8]) for i in range(8)))
    await verify(target, workload)


async def verify(target: Target, workload: Workload) -> None:
    got = await call(target, GET, {"TableName": workload.table, "Key": workload.key(3, 4), "ConsistentRead": True})
    if got.get("Item") != workload.item(3, 4, 0):
        raise RuntimeError(f"{target.name}: GetItem after the load returned {str(got)[:300]}")
    query = await call(target, QUERY, {"TableName": workload.table, "KeyConditionExpression": "pk = :p",
                                       "ExpressionAttributeValues": {":p": workload.key(3, 0)["pk"]}})
    if query.get("Count") != workload.per_partition:
        raise RuntimeError(f"{target.name}: Query after the load counted {query.get('Count')}")


def target_names(requested: list[str]) -> list[str]:
    names = []
    for name in requested:
        engines = dynamoray_engines() if name == "dynamoray" else None
        names += [f"dynamoray-{e}" for e in engines] if engines else [name]
    return names


def start(name: str, workdir: Path, args: argparse.Namespace) -> Target:
    if name == "floor":
        return start_floor(workdir)
    if name == "dynalite":
        return start_dynalite(workdir, install_dynalite(Path(args.dynalite_dir or workdir / "npm")))
    if name == "dynamoray" or name.startswith("dynamoray-"):
        engine, _, gateways = name.partition("-")[2].partition("-g")  # dynamoray-ray-g2: --gateways 2
        return start_dynamoray(workdir, ACCESS_KEY, SECRET_KEY, engine or None, gateways=int(gateways or 1))
    raise SystemExit(f"unknown target {name!r}: use dynamoray[-ENGINE[-gN]], floor or dynalite")


def wait_for_quiet(limit: float, threshold: float = 0.25) -> float:
    """Waits (at most ``limit`` s) for a second in which the machine's other processes use under
    ``threshold`` of a core; returns the last second's use, in cores."""
    deadline, used = time.monotonic() + limit, float("nan")
    while time.monotonic() < deadline:
        before = machine_busy_seconds()
        time.sleep(1)
        used = machine_busy_seconds() - before
        if used < threshold:
            break
    return used


def idle_cpu(targets: list[Target], seconds: float) -> dict[str, float]:
    """Each server tree's CPU use while nobody calls it, in % of one core (background noise)."""
    before = {t.name: tree_cpu_seconds(t.pid) for t in targets}
    time.sleep(seconds)
    return {t.name: (tree_cpu_seconds(t.pid) - before[t.name]) / seconds * 100 for t in targets}


def warm_up(runner: asyncio.Runner, targets: list[Target], args: argparse.Namespace,
            pools: dict[str, list[bytes]]) -> None:
    """A short run of every operation on each target, not recorded."""
    phase = Phase("warm-up", tuple((op, 0.25) for op in OPERATIONS), 8)
    for t in targets:
        runner.run(run_phase(t.port, t.pid, signer(t), phase, pools, Limits(args.warmup, 10_000), args.client))


def measure(runner: asyncio.Runner, targets: list[Target], args: argparse.Namespace,
            pools: dict[str, list[bytes]]) -> dict[tuple[str, str], list[PhaseResult]]:
    """Rounds of phases, each phase run on every target in turn."""
    limits = Limits(args.duration, args.max_requests)
    signers = {t.name: signer(t) for t in targets}
    results: dict[tuple[str, str], list[PhaseResult]] = {}
    for rnd in range(args.rounds):
        order = targets[rnd % len(targets):] + targets[: rnd % len(targets)]
        for i, phase in enumerate(phases(args.phases)):
            for t in order:
                result = runner.run(run_phase(t.port, t.pid, signers[t.name], phase, pools, limits,
                                              args.client, seed=args.seed + 1000 * rnd + i))
                results.setdefault((t.name, key(phase)), []).append(result)
                print(f"  round {rnd + 1} {key(phase):<14} {t.name:<16} {result.calls:>6} calls",
                      file=sys.stderr, flush=True)
    return results


def run(args: argparse.Namespace) -> tuple[dict[tuple[str, str], Summary], dict[str, float], list[str]]:
    """Starts the targets, loads them, measures: the summaries, each server's idle CPU %, the targets."""
    workload = Workload(partitions=args.partitions, per_partition=args.per_partition, item_bytes=args.item_bytes)
    pools = workload.pools(args.pool, args.seed)
    names = target_names(args.targets.split(","))
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp, \
            asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        targets: list[Target] = []
        try:
            for name in names:
                print(f"starting {name}", file=sys.stderr, flush=True)
                targets.append(start(name, Path(tmp), args))
                if targets[-1].real:
                    runner.run(prepare(targets[-1], workload))
            warm_up(runner, targets, args, pools)
            idle = idle_cpu(targets, args.idle)
            print("measuring", file=sys.stderr, flush=True)
            results = measure(runner, targets, args, pools)
            for t in targets:
                t.check_loopback()
        finally:
            for t in targets:
                t.stop()
    described = [f"{t.name} {t.version}".strip() for t in targets]
    return {k: summarize(v) for k, v in results.items()}, idle, described


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--targets", default="dynamoray,floor,dynalite",
                   help="comma list of dynamoray (every --engine it has), dynamoray-ENGINE, "
                        "dynamoray-ray-gN (--gateways N), floor, dynalite")
    p.add_argument("--duration", type=float, default=2.0, help="seconds per phase, per target, per round")
    p.add_argument("--max-requests", type=int, default=50_000, help="cap on calls per phase")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--phases", help="comma list of phase keys to run (default all), e.g. GetItem/8,Mixed 90/10/8")
    p.add_argument("--warmup", type=float, default=0.5, help="seconds of mixed calls per target first")
    p.add_argument("--wait-quiet", type=float, default=0,
                   help="first wait up to this many seconds for the machine's other processes to go quiet")
    p.add_argument("--idle", type=float, default=2.0, help="seconds to measure the servers' idle CPU")
    p.add_argument("--partitions", type=int, default=200)
    p.add_argument("--per-partition", type=int, default=10, help="items per partition key (a Query's result)")
    p.add_argument("--item-bytes", type=int, default=1024)
    p.add_argument("--pool", type=int, default=2000, help="pre-built request bodies per operation")
    p.add_argument("--client", choices=("raw", "aiohttp"), default="raw")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--dynalite-dir", help="reuse (or make) a dynalite npm install there")
    p.add_argument("--docs", default=str(ROOT / "docs" / "benchmarks.md"))
    p.add_argument("--no-record", action="store_true", help="print only; do not append to --docs")
    p.add_argument("--json", help="also write the figures as JSON there")
    return p.parse_args(argv)


def mix_lines(summaries: dict[tuple[str, str], Summary]) -> list[str]:
    """Each operation's latency within each mixed phase (a mix's tail is its slowest operation's)."""
    lines = []
    for (target, phase), s in summaries.items():
        if len(s.operations) > 1:
            each = "; ".join(f"{op} p50 {p50:.2f} ms, p99 {p99:.2f} ms" for op, (p50, p99) in sorted(s.operations.items()))
            lines.append(f"- {target} {phase}: {each}")
    return lines


def settings_line(args: argparse.Namespace, described: list[str], idle: dict[str, float]) -> str:
    idle_text = ", ".join(f"{name} {pct:.1f} %" for name, pct in idle.items())
    return (f"targets {', '.join(described)}; {args.partitions * args.per_partition} items of {args.item_bytes} B "
            f"({args.per_partition} per partition key); {args.duration} s per phase (max {args.max_requests} "
            f"calls), {args.rounds} rounds, {args.warmup} s warm-up; `{args.client}` client; idle CPU of each "
            f"server (% of a core, over {args.idle} s): {idle_text}")


def command_line(argv: list[str]) -> str:
    python = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else "python"
    return shlex.join([python, "bench/bench_gateway.py", *argv])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    if args.wait_quiet:
        used = wait_for_quiet(args.wait_quiet)
        print(f"other processes use {used:.2f} cores; starting", file=sys.stderr, flush=True)
    started, machine_line = now(), machine()
    summaries, idle, described = run(args)
    names = list(dict.fromkeys(t for t, _ in summaries))
    table = rows(summaries, [(p.name, p.clients) for p in phases(args.phases)], names)
    goal_lines = goals(summaries, names) + mix_lines(summaries)
    errors = [f"{t} {k}: {s.errors} failed, first: {s.first_error}" for (t, k), s in summaries.items() if s.errors]
    settings = settings_line(args, described, idle)
    print(f"\n{started}\n{machine_line}\n{settings}\n\n{text_table(table)}\n")
    print("\n".join(goal_lines + errors))
    if not args.no_record:
        record(Path(args.docs), command_line(argv), started, machine_line, settings, table, goal_lines, errors)
    if args.json:
        Path(args.json).write_text(json.dumps(
            [{"target": t, "phase": k, **asdict(s)} for (t, k), s in summaries.items()], indent=1))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
