"""The servers the gateway bench drives: ``dynamoray serve``, the floor, and dynalite.

Each runs as a subprocess we start on a free 127.0.0.1 port, with its output in a log file under a
temporary work directory; each is checked to listen on loopback only, and stopped by its PID.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from _gw_procs import assert_loopback_only, free_port, stop, wait_healthy

HOST = "127.0.0.1"
BENCH_DIR = Path(__file__).resolve().parent


@dataclass
class Target:
    name: str
    port: int
    proc: subprocess.Popen
    real: bool  # False for the floor, which answers {} to everything
    stop_signal: int = signal.SIGTERM
    version: str = ""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def check_loopback(self) -> None:
        assert_loopback_only(self.name, self.pid)

    def stop(self) -> None:
        stop(self.proc, self.stop_signal)


def _launch(name: str, argv: list[str], workdir: Path, env: dict | None = None) -> subprocess.Popen:
    log = open(workdir / f"{name}.log", "wb")  # noqa: SIM115 - the child owns it until it exits
    try:
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir)
    finally:
        log.close()


def _started(name: str, port: int, proc: subprocess.Popen, health: str, timeout: float, **kw) -> Target:
    target = Target(name, port, proc, **kw)
    try:
        wait_healthy(proc, f"http://{HOST}:{port}{health}", timeout)
        target.check_loopback()
    except BaseException:
        target.stop()
        raise
    return target


def dynamoray_engines(python: str = sys.executable) -> list[str] | None:
    """The choices of ``dynamoray serve --engine``, or None when the flag does not exist."""
    out = subprocess.run([python, "-m", "dynamoray.cli", "serve", "--help"], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    if "--engine" not in out:
        return None
    match = re.search(r"--engine \{([^}]*)\}", out)
    return match.group(1).split(",") if match else ["local", "ray"]


def start_dynamoray(workdir: Path, access_key: str, secret_key: str, engine: str | None,
                    python: str = sys.executable, gateways: int = 1) -> Target:
    """``gateways`` > 1: ``--gateways N`` (N gateway processes on the port; the target's name ends
    with ``-gN``)."""
    name = f"dynamoray-{engine}" if engine else "dynamoray"
    name += f"-g{gateways}" if gateways > 1 else ""
    port = free_port(HOST)
    argv = [python, "-m", "dynamoray.cli", "serve", "--host", HOST, "--port", str(port),
            "--data-dir", str(workdir / f"{name}-data")]
    if engine:
        argv += ["--engine", engine]
    if gateways > 1:
        argv += ["--gateways", str(gateways)]
    env = dict(os.environ, DYNAMORAY_ROOT_CREDENTIALS=f"{access_key}:{secret_key}")
    proc = _launch(name, argv, workdir, env)
    target = _started(name, port, proc, "/health", 120, real=True, stop_signal=signal.SIGINT)
    if gateways > 1:
        _wait_for_replicas(target, gateways)
    return target


def _wait_for_replicas(target: Target, gateways: int, timeout: float = 120) -> None:
    """Until every gateway process answers (each response names its own), so the load's
    connections spread over all of them."""
    import time
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < gateways:
        if time.monotonic() > deadline:
            target.stop()
            raise RuntimeError(f"{target.name}: only gateway processes {sorted(seen)} answered")
        with opener.open(f"http://{HOST}:{target.port}/health", timeout=5) as response:
            seen.add(response.headers.get("x-dynamoray-gateway", "").partition("/")[0])


def start_floor(workdir: Path, python: str = sys.executable) -> Target:
    port = free_port(HOST)
    proc = _launch("floor", [python, str(BENCH_DIR / "_gw_floor.py"), "--host", HOST,
                             "--port", str(port)], workdir)
    return _started("floor", port, proc, "/health", 30, real=False)


def install_dynalite(directory: Path) -> Path:
    """``npm install dynalite`` into ``directory`` (skipped when already there); its CLI's path."""
    cli = directory / "node_modules" / ".bin" / "dynalite"
    if not cli.exists():
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "dynalite"],
                       cwd=directory, check=True, timeout=300, stdout=subprocess.DEVNULL)
    return cli


def start_dynalite(workdir: Path, cli: Path) -> Target:
    """dynalite in memory (its default), bound to 127.0.0.1, tables ACTIVE after 50 ms."""
    port = free_port(HOST)
    argv = [str(cli), "--host", HOST, "--port", str(port), "--createTableMs", "50"]
    proc = _launch("dynalite", argv, workdir)
    package = cli.parent.parent / "dynalite" / "package.json"
    version = json.loads(package.read_text()).get("version", "") if package.exists() else ""
    return _started("dynalite", port, proc, "/", 30, real=True, version=version)
