"""Processes the bench starts: CPU time of a process tree, loopback checks, health waits, stopping.

CPU time comes from ``/proc/<pid>/stat`` (utime + stime, plus cutime + cstime of reaped children)
summed over the server process and all its live descendants, so a server that forks (Ray's raylet,
GCS and workers) is charged for all of them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
_LISTEN = "0A"
_LOOPBACK_V4 = "0100007F"
_LOOPBACK_V6 = {"00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 never via a proxy


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on; the name may hold spaces


def descendants(root: int) -> list[int]:
    """``root`` and every live process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def tree_cpu_seconds(root: int) -> float:
    """utime + stime (+ reaped children's) of ``root`` and its live descendants, in seconds."""
    total = 0
    for pid in descendants(root):
        fields = _stat_fields(pid)
        if fields is not None:  # stat fields 14..17 are at 11..14 here
            total += sum(int(v) for v in fields[11:15])
    return total / TICKS


def machine_busy_seconds() -> float:
    """CPU time every process on the machine has used since boot (``/proc/stat``), in seconds."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / TICKS


def _socket_inodes(pids: list[int]) -> set[str]:
    inodes = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except (FileNotFoundError, PermissionError):
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return inodes


def parse_listeners(table: str, inodes: set[str]) -> list[tuple[str, int, bool]]:
    """TCP listeners in a ``/proc/net/tcp{,6}`` text owned by ``inodes``: (hex address, port, loopback)."""
    found = []
    for line in table.splitlines()[1:]:
        cols = line.split()
        if len(cols) > 9 and cols[3] == _LISTEN and cols[9] in inodes:
            address, port = cols[1].split(":")
            found.append((address, int(port, 16), address == _LOOPBACK_V4 or address in _LOOPBACK_V6))
    return found


def listening_addresses(root: int) -> list[tuple[str, int, bool]]:
    """Every TCP listener of the process tree under ``root``."""
    inodes = _socket_inodes(descendants(root))
    return [found for table in ("/proc/net/tcp", "/proc/net/tcp6")
            for found in parse_listeners(Path(table).read_text(), inodes)]


def assert_loopback_only(name: str, root: int) -> None:
    exposed = [(a, p) for a, p, loopback in listening_addresses(root) if not loopback]
    if exposed:
        raise RuntimeError(f"{name} listens beyond 127.0.0.1: {exposed}")


def wait_healthy(proc: subprocess.Popen, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before becoming healthy")
        try:
            with _NO_PROXY.open(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} not healthy after {timeout} s")


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    """Signal the process we started, wait, then SIGKILL it and any descendants it left behind."""
    tree = descendants(proc.pid) if proc.poll() is None else []
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    for pid in tree[1:]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
