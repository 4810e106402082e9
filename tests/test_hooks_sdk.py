"""The user-facing side of hooks: ``@hook``, the settings sent, pickling by value, the CLI's parsing."""

from __future__ import annotations

import pickle

import pytest

from dynamoray import cli, hooks_cli
from dynamoray.hooks import hook, pickle_function, plain, settings_of


@hook(table="orders", batch_size=10, on_failure=None, bisect_batch_on_error=True)
def marked(records, ctx):
    return len(records)


def test_the_decorator_keeps_the_function_and_records_its_settings():
    assert marked([1, 2], None) == 2
    assert settings_of(marked) == {"HookName": "marked", "TableName": "orders", "BatchSize": 10,
                                   "OnFailure": "DISCARD", "BisectBatchOnFunctionError": True}
    assert settings_of(marked, table="other", name="n", batch_size=3)["TableName"] == "other"
    assert settings_of(marked, batch_size=3)["BatchSize"] == 3


def test_unknown_options_and_a_missing_table_fail_early():
    with pytest.raises(TypeError):
        hook(table="t", batchsize=3)
    with pytest.raises(ValueError):
        settings_of(lambda records, ctx: None)


def test_a_function_is_pickled_by_value_with_its_module(tmp_path, monkeypatch):
    (tmp_path / "private_hooks_mod.py").write_text(
        "FACTOR = 3\n\ndef triple(records, ctx):\n    return [r * FACTOR for r in records]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    function = hooks_cli.load_target("private_hooks_mod:triple")
    data = pickle_function(function)
    monkeypatch.delitem(__import__("sys").modules, "private_hooks_mod")
    monkeypatch.setattr(__import__("sys"), "path", [p for p in __import__("sys").path if p != str(tmp_path)])
    assert b"private_hooks_mod" in data and pickle.loads(data)([1, 2], None) == [3, 6]  # no import needed


def test_plain_turns_an_image_into_python_values():
    assert plain({"a": {"N": "1.5"}, "b": {"SS": ["x"]}}) == {"a": __import__("decimal").Decimal("1.5"), "b": {"x"}}
    assert plain(None) is None


def test_the_cli_parses_deploy_flags_into_overrides():
    args = cli.build_parser().parse_args(["hooks", "deploy", "m:f", "--table", "t", "--batch-size", "7",
                                          "--no-exactly-once", "--on-failure", "discard"])
    assert hooks_cli._overrides(args) == {"table": "t", "batch_size": 7, "exactly_once": False, "on_failure": None}
    with pytest.raises(SystemExit):
        hooks_cli.load_target("no_colon")
