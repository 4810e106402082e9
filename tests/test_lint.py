"""`ruff check` over the code, the tests and the benchmarks, with the project's settings only.

The rules live in ``pyproject.toml`` ([tool.ruff]); passing that file explicitly (and
``--no-cache``) keeps a user-level ruff config or a stale cache from changing the verdict.  A
missing ruff fails the test too (it is in the test extras): a lint gate that skips is no gate.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATHS = ["dynamoray", "tests", "bench"]


def _ruff(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "ruff", "check", "--config", str(ROOT / "pyproject.toml"), "--no-cache",
               "--output-format", "concise", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_reports_nothing():
    result = _ruff(*PATHS)
    assert result.returncode == 0, f"ruff check found problems:\n{result.stdout}{result.stderr}"
