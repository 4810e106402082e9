"""Query and Scan through boto3: key conditions, order, pagination, filters, counts, segments."""

import pytest
from botocore.exceptions import ClientError

from .conftest import create


@pytest.fixture(scope="module")
def loaded(ddb):
    """A table with partition 'a' holding sort keys 1..20 (v = 'even'/'odd') and 'b' holding 1..3."""
    name = create(ddb, [("p", "S", "HASH"), ("c", "N", "RANGE")])
    for c in range(1, 21):
        ddb.put_item(TableName=name, Item={"p": {"S": "a"}, "c": {"N": str(c)}, "v": {"S": "even" if c % 2 == 0 else "odd"}})
    for c in range(1, 4):
        ddb.put_item(TableName=name, Item={"p": {"S": "b"}, "c": {"N": str(c)}})
    return name


def _cs(items):
    return [int(i["c"]["N"]) for i in items]


def test_query_whole_partition_in_order(ddb, loaded):
    out = ddb.query(TableName=loaded, KeyConditionExpression="p = :p", ExpressionAttributeValues={":p": {"S": "a"}})
    assert _cs(out["Items"]) == list(range(1, 21))
    assert out["Count"] == 20 and out["ScannedCount"] == 20
    assert "LastEvaluatedKey" not in out


def test_query_reverse_and_range_operators(ddb, loaded):
    def q(expr, values, forward=True):
        vals = {":p": {"S": "a"}, **values}
        return _cs(ddb.query(TableName=loaded, KeyConditionExpression=expr, ExpressionAttributeValues=vals,
                             ScanIndexForward=forward)["Items"])

    assert q("p = :p AND c < :x", {":x": {"N": "4"}}) == [1, 2, 3]
    assert q("p = :p AND c <= :x", {":x": {"N": "4"}}, forward=False) == [4, 3, 2, 1]
    assert q("p = :p AND c > :x", {":x": {"N": "18"}}) == [19, 20]
    assert q("p = :p AND c >= :x", {":x": {"N": "18"}}) == [18, 19, 20]
    assert q("p = :p AND c = :x", {":x": {"N": "7"}}) == [7]
    assert q("p = :p AND c BETWEEN :x AND :y", {":x": {"N": "5"}, ":y": {"N": "8"}}) == [5, 6, 7, 8]


def test_query_begins_with_on_string_sort_key(ddb):
    name = create(ddb, [("p", "S", "HASH"), ("c", "S", "RANGE")])
    for c in ["apple", "apricot", "banana", "ap", "b"]:
        ddb.put_item(TableName=name, Item={"p": {"S": "x"}, "c": {"S": c}})
    out = ddb.query(TableName=name, KeyConditionExpression="p = :p AND begins_with(c, :pre)",
                    ExpressionAttributeValues={":p": {"S": "x"}, ":pre": {"S": "ap"}}, ScanIndexForward=False)
    assert [i["c"]["S"] for i in out["Items"]] == ["apricot", "apple", "ap"]


def test_query_limit_and_pagination(ddb, loaded):
    seen, start = [], None
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        out = ddb.query(TableName=loaded, KeyConditionExpression="p = :p", ExpressionAttributeValues={":p": {"S": "a"}},
                        Limit=6, **kwargs)
        seen += _cs(out["Items"])
        start = out.get("LastEvaluatedKey")
        if not start:
            break
        assert start == {"p": {"S": "a"}, "c": out["Items"][-1]["c"]}
    assert seen == list(range(1, 21))


def test_query_paginator(ddb, loaded):
    pages = ddb.get_paginator("query").paginate(TableName=loaded, KeyConditionExpression="p = :p",
                                                ExpressionAttributeValues={":p": {"S": "a"}},
                                                PaginationConfig={"PageSize": 7})
    assert [c for page in pages for c in _cs(page["Items"])] == list(range(1, 21))


def test_query_filter_counts_scanned(ddb, loaded):
    out = ddb.query(TableName=loaded, KeyConditionExpression="p = :p", FilterExpression="v = :e",
                    ExpressionAttributeValues={":p": {"S": "a"}, ":e": {"S": "even"}})
    assert _cs(out["Items"]) == list(range(2, 21, 2))
    assert out["Count"] == 10 and out["ScannedCount"] == 20


def test_query_select_count(ddb, loaded):
    out = ddb.query(TableName=loaded, KeyConditionExpression="p = :p", ExpressionAttributeValues={":p": {"S": "b"}},
                    Select="COUNT")
    assert out["Count"] == 3 and "Items" not in out


def test_query_legacy_key_conditions(ddb, loaded):
    out = ddb.query(TableName=loaded, KeyConditions={
        "p": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]},
        "c": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "17"}]}})
    assert _cs(out["Items"]) == [18, 19, 20]


def test_query_errors(ddb, loaded):
    with pytest.raises(ClientError) as info:
        ddb.query(TableName=loaded, KeyConditionExpression="c = :c", ExpressionAttributeValues={":c": {"N": "1"}})
    assert info.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as info:
        ddb.query(TableName=loaded)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as info:
        ddb.query(TableName=loaded, IndexName="nope", KeyConditionExpression="p = :p",
                  ExpressionAttributeValues={":p": {"S": "a"}})
    assert info.value.response["Error"]["Message"] == "The table does not have the specified index: nope"


def test_scan_everything_and_paginate(ddb, loaded):
    everything = ddb.scan(TableName=loaded)["Items"]
    assert len(everything) == 23
    pages = list(ddb.get_paginator("scan").paginate(TableName=loaded, PaginationConfig={"PageSize": 4}))
    paged = [i for page in pages for i in page["Items"]]
    assert paged == everything
    assert len(pages) >= 6


def test_parallel_scan_segments_partition_the_table(ddb, loaded):
    keys = []
    for segment in range(3):
        items = ddb.scan(TableName=loaded, Segment=segment, TotalSegments=3)["Items"]
        keys += [(i["p"]["S"], i["c"]["N"]) for i in items]
    assert len(keys) == 23 and len(set(keys)) == 23


def test_scan_segment_errors(ddb, loaded):
    with pytest.raises(ClientError) as info:
        ddb.scan(TableName=loaded, Segment=3, TotalSegments=2)
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_scan_filter_and_legacy_scan_filter(ddb, loaded):
    out = ddb.scan(TableName=loaded, FilterExpression="c > :x", ExpressionAttributeValues={":x": {"N": "18"}})
    assert sorted(_cs(out["Items"])) == [19, 20]
    out = ddb.scan(TableName=loaded, ScanFilter={"v": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "odd"}]}})
    assert out["Count"] == 10


def test_query_value_type_must_match_key_schema(ddb, loaded):
    with pytest.raises(ClientError) as info:
        ddb.query(TableName=loaded, KeyConditionExpression="p = :p AND c > :x",
                  ExpressionAttributeValues={":p": {"S": "a"}, ":x": {"S": "1"}})
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert "does not match schema type" in info.value.response["Error"]["Message"]


def test_query_stops_at_one_megabyte_and_resumes(ddb):
    name = create(ddb, [("p", "S", "HASH"), ("c", "N", "RANGE")])
    blob = "x" * (300 * 1024)
    for c in range(6):  # 6 x 300 KB: more than one 1 MB page
        ddb.put_item(TableName=name, Item={"p": {"S": "big"}, "c": {"N": str(c)}, "blob": {"S": blob}})
    first = ddb.query(TableName=name, KeyConditionExpression="p = :p", ExpressionAttributeValues={":p": {"S": "big"}},
                      ProjectionExpression="c")
    assert 0 < first["Count"] < 6
    assert first["LastEvaluatedKey"] == {"p": {"S": "big"}, "c": first["Items"][-1]["c"]}
    rest = ddb.query(TableName=name, KeyConditionExpression="p = :p", ExpressionAttributeValues={":p": {"S": "big"}},
                     ProjectionExpression="c", ExclusiveStartKey=first["LastEvaluatedKey"])
    assert _cs(first["Items"]) + _cs(rest["Items"]) == list(range(6))
    assert "LastEvaluatedKey" not in rest


def test_scan_select_count_with_filter(ddb, loaded):
    out = ddb.scan(TableName=loaded, Select="COUNT", FilterExpression="p = :b", ExpressionAttributeValues={":b": {"S": "b"}})
    assert out["Count"] == 3 and out["ScannedCount"] == 23 and "Items" not in out


def test_exclusive_start_key_must_match_schema(ddb, loaded):
    with pytest.raises(ClientError) as info:
        ddb.query(TableName=loaded, KeyConditionExpression="p = :p", ExpressionAttributeValues={":p": {"S": "a"}},
                  ExclusiveStartKey={"p": {"S": "a"}})
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert info.value.response["Error"]["Message"].startswith("The provided starting key is invalid")
