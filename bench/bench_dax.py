"""Benchmark: the accelerator (DAX) against uncached reads, GetItem p50/p99.

Starts ``dynamoray serve --dax-port`` (``--engine local`` by default) on free loopback ports with a
temporary data directory, creates one table with ``KEYS`` items, then reads them one call at a
time, round robin over the keys, after a warm-up that fills the caches:

- ``boto3 -> main port``: uncached GetItem over HTTP (the gateway's in-memory state, no cache);
- ``boto3 -> accelerator``: the same calls to the accelerator port, served by its item cache;
- ``boto3 -> dax process``: the same calls to ``dynamoray dax --upstream`` (a process of its own in
  front of the server, ``gateway/dax_process.py``), served by its item cache;
- ``boto3 -> dax process (forwarded)``: the same calls with the process's item cache off
  (``--item-ttl 0``): every call forwarded to the server (what the proxy adds to a miss);
- ``sdk -> dax process``: the SDK's client (no in-process cache) against the dax process;
- ``sdk -> main port``: ``dynamoray.gateway.Client`` without accelerator (HTTP each time);
- ``sdk accelerator``: ``Client(..., accelerator=True)``: hits answered in the client process.

Reports p50 and p99 (µs) and the ratio of each to the uncached boto3 call.

    .venv/bin/python bench/bench_dax.py [--ops 5000] [--engine local|ray] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import boto3
import requests
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _gw_procs import free_port  # noqa: E402
from _gw_targets import HOST, _launch, _started  # noqa: E402

from dynamoray.gateway.sdk import AcceleratorConfig, Client  # noqa: E402

ACCESS_KEY, SECRET_KEY, REGION = "AKIDDAXBENCH", "dax-bench-secret", "us-east-1"
TABLE = "bench_dax"
KEYS = 100
PAYLOAD = {"name": {"S": "ada lovelace"}, "visits": {"N": "12"}, "tags": {"SS": ["a", "b", "c"]}}


@dataclass
class Figure:
    path: str
    calls: int
    p50_us: float
    p99_us: float
    hits: str = ""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(path: str, call: Callable[[int], object], ops: int, warmup: int) -> Figure:
    for i in range(warmup):
        call(i)
    latencies = []
    for i in range(ops):
        start = time.perf_counter()
        call(i)
        latencies.append(time.perf_counter() - start)
    return Figure(path, ops, round(percentile(latencies, 0.5) * 1e6, 1), round(percentile(latencies, 0.99) * 1e6, 1))


def start(workdir: Path, engine: str):
    port, dax_port = free_port(HOST), free_port(HOST)
    argv = [sys.executable, "-m", "dynamoray.cli", "serve", "--host", HOST, "--port", str(port), "--data-dir",
            str(workdir / "data"), "--engine", engine, "--dax-port", str(dax_port)]
    env = dict(os.environ, DYNAMORAY_ROOT_CREDENTIALS=f"{ACCESS_KEY}:{SECRET_KEY}")
    proc = _launch("dynamoray", argv, workdir, env)
    return _started("dynamoray", port, proc, "/health", 120, real=True, stop_signal=signal.SIGINT), dax_port


def start_dax(workdir: Path, upstream_port: int, name: str, *flags: str):
    port = free_port(HOST)
    argv = [sys.executable, "-m", "dynamoray.cli", "dax", "--upstream", f"http://{HOST}:{upstream_port}",
            "--host", HOST, "--port", str(port), "--credentials", f"{ACCESS_KEY}:{SECRET_KEY}", *flags]
    proc = _launch(name, argv, workdir, dict(os.environ))
    return _started(name, port, proc, "/health", 60, real=True, stop_signal=signal.SIGINT)


def boto(endpoint: str):
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, config=Config(retries={"max_attempts": 1}))


def run(ops: int, warmup: int, engine: str) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-dax-") as tmp:
        target, dax_port = start(Path(tmp), engine)
        try:
            main, dax = boto(f"http://{HOST}:{target.port}"), boto(f"http://{HOST}:{dax_port}")
            main.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
            for i in range(KEYS):
                main.put_item(TableName=TABLE, Item={"pk": {"S": f"k{i}"}, **PAYLOAD})
            time.sleep(1.0)  # past the caches' settle time after the writes

            def wire(client):
                return lambda i: client.get_item(TableName=TABLE, Key={"pk": {"S": f"k{i % KEYS}"}})

            figures = [measure("boto3 -> main port (uncached)", wire(main), ops, warmup)]
            figures.append(measure("boto3 -> accelerator (item cache hit)", wire(dax), ops, warmup + KEYS * 3))
            figures.extend(measure_process(Path(tmp), target.port, wire, ops, warmup))
            plain = Client(f"http://{HOST}:{target.port}", access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION)
            cached = Client(f"http://{HOST}:{target.port}", access_key=ACCESS_KEY, secret_key=SECRET_KEY,
                            region=REGION, accelerator=AcceleratorConfig())
            try:
                figures.append(measure("sdk -> main port (uncached)",
                                       lambda i: plain.table(TABLE).get({"pk": f"k{i % KEYS}"}), ops, warmup))
                table = cached.table(TABLE)
                for i in range(KEYS):  # follow the table, then fill the cache
                    table.get({"pk": f"k{i}"})
                time.sleep(1.0)
                stats = cached._accelerator.cache.items.stats  # type: ignore[union-attr]
                before = (stats.hits, stats.misses)
                figure = measure("sdk accelerator (in-process hit)", lambda i: table.get({"pk": f"k{i % KEYS}"}),
                                 ops, warmup + KEYS * 3)
                figure.hits = f"{stats.hits - before[0]} hits, {stats.misses - before[1]} misses"
                figures.append(figure)
            finally:
                plain.close()
                cached.close()
        finally:
            target.stop()
    return figures


def measure_process(workdir: Path, upstream_port: int, wire, ops: int, warmup: int) -> list[Figure]:
    """The separate ``dynamoray dax`` process: hits, then forwarded calls (its item cache off)."""
    out = []
    for name, flags, path in (("dax-hit", (), "boto3 -> dax process (item cache hit)"),
                              ("dax-miss", ("--item-ttl", "0"), "boto3 -> dax process (forwarded)")):
        proc = start_dax(workdir, upstream_port, name, *flags)
        try:
            client = boto(f"http://{HOST}:{proc.port}")
            for i in range(KEYS):  # the first reads start following the table
                client.get_item(TableName=TABLE, Key={"pk": {"S": f"k{i}"}})
            time.sleep(1.0)  # past the settle time: the next reads fill the cache
            figure = measure(path, wire(client), ops, warmup + KEYS * 3)
            metrics = requests.get(f"http://{HOST}:{proc.port}/metrics", timeout=10).text
            figure.hits = ", ".join(f"{m.group(1)} {int(float(m.group(2)))}" for m in re.finditer(
                r'^dynamoray_dax_(hits|misses)_total\{cache="item"\} (\S+)$', metrics, re.M))
            out.append(figure)
            sdk = Client(f"http://{HOST}:{proc.port}", access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION)
            try:
                out.append(measure(path.replace("boto3", "sdk"), lambda i: sdk.table(TABLE).get({"pk": f"k{i % KEYS}"}),  # noqa: B023  (called before the loop moves on)
                                   ops, warmup))
            finally:
                sdk.close()
        finally:
            proc.stop()
    return out


def report(figures: list[Figure]) -> str:
    base = figures[0]
    lines = ["| path | calls | p50 µs | p99 µs | p50 vs uncached boto3 |", "|---|---:|---:|---:|---:|"]
    for f in figures:
        lines.append(f"| {f.path} | {f.calls} | {f.p50_us} | {f.p99_us} | {base.p50_us / f.p50_us:.1f}x |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--engine", choices=("local", "ray"), default="local")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    figures = run(args.ops, args.warmup, args.engine)
    print(f"# GetItem, one caller, {platform.python_implementation()} {platform.python_version()}, "
          f"engine {args.engine}")
    print(report(figures))
    for f in figures:
        if f.hits:
            print(f"{f.path}: {f.hits}")
    if args.json:
        args.json.write_text(json.dumps([asdict(f) for f in figures], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
