"""``dynamoray serve`` as a subprocess (in-process engine, embedded log), for the restart tests."""

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from .conftest import ACCESS_KEY, SECRET_KEY

BIN = Path(sys.executable).parent / "dynamoray"


def start_serve(data_dir: Path, port: int, *flags: str) -> subprocess.Popen:
    """The server on ``data_dir``, once ``/health`` answers 200 (stop it by its process group)."""
    env = dict(os.environ, DYNAMORAY_ROOT_CREDENTIALS=f"{ACCESS_KEY}:{SECRET_KEY}")
    proc = subprocess.Popen(
        [str(BIN), "serve", "--engine", "local", "--port", str(port), "--data-dir", str(data_dir), *flags],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    return wait_healthy(proc, port, "server")


def wait_healthy(proc: subprocess.Popen, port: int, what: str) -> subprocess.Popen:
    """``proc`` once its ``/health`` on ``port`` answers 200; killed, and an AssertionError, if it
    exits or is not healthy within a minute."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited: {proc.stderr.read().decode()}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    proc.wait(10)
    raise AssertionError(f"{what} did not become healthy")
