"""``GET /dashboard`` in a real headless browser (Debian's chromium): the page polls
``/dashboard/data`` and draws live graphs while a client loads a table.

``.ci/run`` installs chromium and requires the test to run (``DYNAMORAY_REQUIRE_CHROMIUM``);
elsewhere, without chromium (``scripts/test`` as a non-root user), the browser test is skipped,
saying so.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import threading
import time

import boto3
import pytest
import requests

from dynamoray.actors.local import LocalEngine
from dynamoray.gateway.dashboard import CHARTS
from dynamoray.gateway.runner import BackgroundServer, build_gateway
from dynamoray.gateway.server import ServerConfig
from dynamoray.gateway.telemetry import TelemetryOptions

CHROMIUM = "/usr/bin/chromium"
ACCESS, SECRET = "AKIDDASHBOARD000", "dashboard-secret"
BASELINE = 135.0  # the charts' zero line (H - PAD / 2 in the page's script)


@pytest.fixture
def loaded_server():
    engine = LocalEngine(shards=2)
    asyncio.run(engine.open())
    gateway = build_gateway(engine, ACCESS, SECRET, ServerConfig(), telemetry=TelemetryOptions(sample_interval=0.2))
    server = BackgroundServer(gateway).start()
    ddb = boto3.client("dynamodb", endpoint_url=server.endpoint, region_name="us-east-1",
                       aws_access_key_id=ACCESS, aws_secret_access_key=SECRET)
    ddb.create_table(TableName="dashboard", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}])
    stop = threading.Event()

    def load() -> None:
        n = 0
        while not stop.is_set():
            ddb.put_item(TableName="dashboard", Item={"p": {"S": f"k{n % 20}"}, "v": {"S": "x" * 2000}})
            ddb.get_item(TableName="dashboard", Key={"p": {"S": "k1"}})
            n += 1

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    try:
        yield server
    finally:
        stop.set()
        worker.join(30)
        server.stop()
        asyncio.run(engine.close())


def test_the_data_endpoint_has_rates_per_table(loaded_server):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        data = requests.get(f"{loaded_server.endpoint}/dashboard/data", timeout=30).json()
        busy = [p for p in data["points"] if p["tables"].get("dashboard", {}).get("ConsumedWriteCapacityUnits", 0) > 0]
        if busy:
            break
        time.sleep(0.2)
    assert data["tables"] == ["dashboard"] and data["metrics"] == [metric for metric, _, _ in CHARTS]
    point = busy[-1]["tables"]["dashboard"]
    assert point["ConsumedWriteCapacityUnits"] > 0 and point["SuccessfulRequests"] > 0
    page = requests.get(f"{loaded_server.endpoint}/dashboard", timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "http://" not in page.text and "https://" not in page.text  # self-contained: no CDN


def test_the_dashboard_draws_live_graphs_in_a_headless_browser(loaded_server, tmp_path):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("DYNAMORAY_REQUIRE_CHROMIUM"):  # set by .ci/run, which installs it
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does)")
    time.sleep(1.0)  # a few samples with traffic in them
    answer = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
         f"{loaded_server.endpoint}/dashboard"],
        capture_output=True, text=True, timeout=120)
    dom = answer.stdout
    assert answer.returncode == 0, answer.stderr[-2000:]
    drawn = dict(re.findall(r'data-metric="(\w+)" data-points="(\d+)"', dom))
    assert set(drawn) == {metric for metric, _, _ in CHARTS}
    assert all(int(points) > 0 for points in drawn.values()), drawn
    status = re.search(r'id="status" data-samples="(\d+)">(\d+) samples, (\d+) tables', dom)
    assert status is not None and int(status.group(1)) > 1 and status.group(3) == "1"
    write_chart = dom.split('data-metric="ConsumedWriteCapacityUnits"', 1)[1].split('class="chart"', 1)[0]
    points = re.search(r'<polyline[^>]* points="([^"]+)"', write_chart).group(1).split()
    heights = [float(p.split(",")[1]) for p in points]
    assert min(heights) < BASELINE  # some samples show writes above zero
    assert re.search(r'<div class="legend"><span[^>]*>dashboard</span>', write_chart)  # one line, named
