"""``dynamoray serve --test-knobs`` and ``dynamoray fork`` (extensions_cli.py)."""

import pytest

from dynamoray import cli
from dynamoray.extensions_cli import run_fork


def test_serve_passes_test_knobs_and_refuses_them_with_several_gateways(monkeypatch, capsys):
    seen = {}
    monkeypatch.setattr("dynamoray.gateway.serve.run", lambda *args, **kwargs: seen.update(kwargs) or 0)
    assert cli.main(["serve", "--engine", "local", "--test-knobs"]) == 0
    assert seen["test_knobs"] is True
    assert cli.main(["serve", "--engine", "local"]) == 0 and seen["test_knobs"] is False
    with pytest.raises(SystemExit):
        cli.main(["serve", "--test-knobs", "--gateways", "2"])
    assert "--test-knobs needs --gateways 1" in capsys.readouterr().err


def _args(*argv: str):
    return cli.build_parser().parse_args(["fork", *argv])


def test_fork_sends_the_point_and_waits_until_active(capsys):
    calls, statuses = [], iter(["CREATING", "ACTIVE"])

    def call(operation, **params):
        calls.append((operation, params))
        if operation == "ForkTable":
            return {"ForkOffsets": [3, -1]}
        return {"TableStatus": next(statuses), "Restore": {"Phase": "WRITING", "ItemsRestored": 2}}

    assert run_fork(_args("src", "dst", "--at", "2026-11-26T10:00:00Z"), call, sleep=lambda s: None) == 0
    assert calls[0] == ("ForkTable", {"SourceTableName": "src", "TargetTableName": "dst",
                                      "AtTime": "2026-11-26T10:00:00Z"})
    assert [c[0] for c in calls] == ["ForkTable", "DescribeRestore", "DescribeRestore"]
    assert capsys.readouterr().out.splitlines() == ["dst: a fork of src at offsets 3,-1", "dst: ACTIVE, 2 items"]
    calls.clear()
    assert run_fork(_args("src", "dst", "--at", "1700000000", "--no-wait"), call) == 0
    assert calls == [("ForkTable", {"SourceTableName": "src", "TargetTableName": "dst", "AtTime": 1700000000.0})]


def test_fork_without_a_point_forks_the_cut_of_now():
    calls = []

    def call(operation, **params):
        calls.append((operation, params))
        return {"Offsets": [7, 8]} if operation == "DescribeTableOffsets" else {"ForkOffsets": [7, 8]}

    assert run_fork(_args("src", "dst", "--no-wait"), call) == 0
    assert calls[1] == ("ForkTable", {"SourceTableName": "src", "TargetTableName": "dst", "AtOffsets": [7, 8]})


def test_fork_refuses_bad_offsets_and_a_missing_target(capsys):
    with pytest.raises(SystemExit):
        run_fork(_args("src", "dst", "--offsets=1,x"), lambda *a, **k: {})
    assert "--offsets takes integers separated by commas" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_fork(_args("src"), lambda *a, **k: {})
    assert "give DST, the table to create" in capsys.readouterr().err
