"""Every ```python block of the README and docs/ runs against a live server and must not fail."""

import re
import runpy
from pathlib import Path

import pytest

from tests.e2e.conftest import ACCESS_KEY, REGION, SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _examples():
    for page in PAGES:
        for number, block in enumerate(BLOCK.findall(page.read_text()), 1):
            yield pytest.param(block, id=f"{page.name}#{number}")


@pytest.mark.parametrize("code", list(_examples()))
def test_example_runs(code, server, tmp_path, monkeypatch):
    monkeypatch.setenv("DYNAMORAY_ENDPOINT", server.endpoint)
    monkeypatch.setenv("DYNAMORAY_DAX_ENDPOINT", server.dax_endpoint)  # the accelerator (docs/accelerator.md)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("DYNAMORAY_LOCAL_BUCKETS", str(tmp_path / "buckets"))  # exports' local buckets (docs/export-import.md)
    script = tmp_path / "example.py"
    script.write_text(code)
    runpy.run_path(str(script), run_name="__main__")


def test_every_page_with_code_is_covered():
    assert any(BLOCK.search(p.read_text()) for p in PAGES)
