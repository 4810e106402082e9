"""The example in docs/event-log.md runs as written."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "event-log.md"


def test_the_documented_example_runs(capsys):
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    exec(compile(code, str(DOC), "exec"), {})
    out = capsys.readouterr().out
    assert "appended at [0]" in out
    assert "{'pk': {'S': 'USER#1'}, 'name': {'S': 'Alice'}}" in out
    assert "offset at t: 0" in out
