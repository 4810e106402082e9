"""The server's reserved tables (core/internal_tables.py)."""

from dynamoray.core import internal_tables
from dynamoray.core.hooks import CHECKPOINT_TABLE


def test_the_hooks_checkpoint_table_is_internal_and_nothing_else_is():
    assert internal_tables.is_internal(CHECKPOINT_TABLE)
    assert not internal_tables.is_internal("dynamoray.hooks2")
    assert not internal_tables.is_internal("orders")
    assert not internal_tables.is_internal(None)


def test_visible_drops_internal_tables_and_keeps_the_order():
    assert internal_tables.visible(["a", CHECKPOINT_TABLE, "b", "dynamoray.x"]) == ["a", "b", "dynamoray.x"]


def test_table_of_arn_names_the_table_of_tables_indexes_and_streams():
    base = "arn:aws:dynamodb:us-east-1:000000000000:table/"
    assert internal_tables.table_of_arn(base + "dynamoray.hooks") == "dynamoray.hooks"
    assert internal_tables.table_of_arn(base + "t/index/by_x") == "t"
    assert internal_tables.table_of_arn(base + "t/stream/2026-01-01T00:00:00.000") == "t"
    assert internal_tables.table_of_arn("*") is None
