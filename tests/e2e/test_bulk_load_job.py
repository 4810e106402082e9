"""``examples/bulk_load_job.py`` run as a plain script (``python``, not ``ray job submit``: the Ray job
server needs ``ray[default]``, which this environment does not install) against a live server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, unique

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "bulk_load_job.py"


def test_the_bulk_load_job_loads_aggregates_and_its_hook_agrees(server):
    table, items = unique("job"), 400
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_DEFAULT_REGION=REGION)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--endpoint", server.endpoint, "--table", table, "--items", str(items),
         "--customers", "7", "--workers", "4", "--deploy-hook"],
        env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["loaded"] == report["scanned"] == items and report["customers"] == 7
    assert report["amount_sum"] == sum(i % 97 + 1 for i in range(items))
    assert report["hook_matches_scan"] is True
