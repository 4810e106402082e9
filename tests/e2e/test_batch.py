"""BatchGetItem and BatchWriteItem."""

import pytest
from botocore.exceptions import ClientError

from .conftest import unique


def test_batch_write_then_batch_get(ddb, table_s, table_sn):
    p = unique()
    ddb.batch_write_item(RequestItems={
        table_s: [{"PutRequest": {"Item": {"p": {"S": f"{p}-{i}"}, "i": {"N": str(i)}}}} for i in range(5)],
        table_sn: [{"PutRequest": {"Item": {"p": {"S": p}, "c": {"N": "1"}}}}],
    })
    out = ddb.batch_get_item(RequestItems={
        table_s: {"Keys": [{"p": {"S": f"{p}-{i}"}} for i in range(6)], "ProjectionExpression": "i"},
        table_sn: {"Keys": [{"p": {"S": p}, "c": {"N": "1"}}]},
    })
    assert sorted(int(i["i"]["N"]) for i in out["Responses"][table_s]) == [0, 1, 2, 3, 4]
    assert out["Responses"][table_sn] == [{"p": {"S": p}, "c": {"N": "1"}}]
    assert out["UnprocessedKeys"] == {}
    ddb.batch_write_item(RequestItems={table_s: [{"DeleteRequest": {"Key": {"p": {"S": f"{p}-0"}}}}]})
    assert "Item" not in ddb.get_item(TableName=table_s, Key={"p": {"S": f"{p}-0"}})


def test_batch_write_too_many_items(ddb, table_s, table_sn):
    with pytest.raises(ClientError) as info:
        ddb.batch_write_item(RequestItems={
            table_s: [{"PutRequest": {"Item": {"p": {"S": f"x{i}"}}}} for i in range(20)],
            table_sn: [{"PutRequest": {"Item": {"p": {"S": "y"}, "c": {"N": str(i)}}}} for i in range(6)],
        })
    assert info.value.response["Error"] == {
        "Code": "ValidationException", "Message": "Too many items requested for the BatchWriteItem call"}


def test_batch_write_duplicate_keys(ddb, table_s):
    with pytest.raises(ClientError) as info:
        ddb.batch_write_item(RequestItems={table_s: [
            {"PutRequest": {"Item": {"p": {"S": "dup"}}}}, {"DeleteRequest": {"Key": {"p": {"S": "dup"}}}}]})
    assert info.value.response["Error"]["Message"] == "Provided list of item keys contains duplicates"


def test_batch_get_too_many_keys(ddb, table_s):
    with pytest.raises(ClientError) as info:
        ddb.batch_get_item(RequestItems={table_s: {"Keys": [{"p": {"S": f"k{i}"}} for i in range(101)]}})
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_batch_write_to_missing_table_writes_nothing(ddb, table_s):
    p = unique()
    with pytest.raises(ClientError) as info:
        ddb.batch_write_item(RequestItems={
            table_s: [{"PutRequest": {"Item": {"p": {"S": p}}}}],
            unique("missing"): [{"PutRequest": {"Item": {"p": {"S": p}}}}],
        })
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert "Item" not in ddb.get_item(TableName=table_s, Key={"p": {"S": p}})
