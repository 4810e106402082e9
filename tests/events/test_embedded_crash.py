"""kill -9 a writer at random moments; every acknowledged append must survive, untorn, in order."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from dynamoray.events.embedded import EmbeddedLog

from .contract import read_all
from .crash_writer import TOPIC, check_value

ROOT = Path(__file__).resolve().parents[2]
RUNS = 6


def _acked(path: Path) -> dict[int, str]:
    acked = {}
    for line in path.read_text().splitlines(keepends=True):
        if line.endswith("\n"):  # a line cut by the kill was never fully reported
            offset, ident = line.split()
            acked[int(offset)] = ident
    return acked


def _run_and_kill(directory: Path, ack_path: Path, run: int, rng: random.Random) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.events.crash_writer", str(directory), str(ack_path), str(run)],
        cwd=ROOT, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 15
    while (not ack_path.exists() or ack_path.stat().st_size == 0) and time.monotonic() < deadline:
        assert child.poll() is None, child.stderr.read().decode()
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, 0.4))
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stderr.close()


def test_acknowledged_appends_survive_sigkill(tmp_path):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    directory = tmp_path / "log"
    total_acked = 0
    for run in range(RUNS):
        ack_path = tmp_path / f"acks-{run}.txt"
        _run_and_kill(directory, ack_path, run, rng)
        acked = _acked(ack_path)
        assert acked, f"run {run} acknowledged nothing (seed {seed})"
        total_acked += len(acked)
        with EmbeddedLog(directory) as log:
            records = read_all(log, TOPIC, 0, batch=5000)
        offsets = [r.offset for r in records]
        assert offsets == list(range(len(records))), f"offsets not contiguous (seed {seed})"
        by_offset = {r.offset: check_value(r.value) for r in records}  # raises on a torn record
        for offset, ident in acked.items():
            assert offset in by_offset, f"acked offset {offset} lost in run {run} (seed {seed})"
            assert ":".join(map(str, by_offset[offset])) == ident
        last_seq: dict[tuple[int, int], int] = {}
        for run_id, thread, seq in by_offset.values():  # each thread's appends stay in order
            assert seq > last_seq.get((run_id, thread), -1), f"out of order (seed {seed})"
            last_seq[(run_id, thread)] = seq
        stamps = [r.timestamp for r in records]
        assert stamps == sorted(stamps)
    assert total_acked > RUNS * 10, total_acked
