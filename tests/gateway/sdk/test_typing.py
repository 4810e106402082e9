"""The SDK is typed (mypy --strict clean, py.typed shipped) and importing it stays light."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_mypy_strict_is_clean_on_the_sdk():
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "dynamoray/gateway/sdk"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_py_typed_is_shipped():
    assert (ROOT / "dynamoray" / "py.typed").exists()
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "py.typed" in package_data["dynamoray"]


def test_importing_the_sdk_imports_no_server_engine_or_ray():
    code = ("import sys; from dynamoray.gateway import Client, AsyncClient; import dynamoray.gateway.sdk; "
            "bad = [m for m in sys.modules if m == 'ray' or m.startswith(('ray.', 'dynamoray.actors', "
            "'dynamoray.events', 'dynamoray.gateway.server', 'dynamoray.gateway.http', 'confluent_kafka', "
            "'aiohttp', 'pydantic'))]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
