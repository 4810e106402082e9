"""boto3's resource API: Table objects, conditions, batch_writer, Decimal numbers."""

from decimal import Decimal

from boto3.dynamodb.conditions import Attr, Key

from .conftest import create, unique


def test_resource_put_get_query_with_conditions(ddb, resource):
    table = resource.Table(create(ddb, [("pk", "S", "HASH"), ("sk", "N", "RANGE")]))
    with table.batch_writer() as batch:
        for i in range(30):
            batch.put_item(Item={"pk": "user#1", "sk": i, "score": Decimal(i) / 4, "tags": {"a", f"t{i % 3}"}})
    item = table.get_item(Key={"pk": "user#1", "sk": 5}, ConsistentRead=True)["Item"]
    assert item["score"] == Decimal("1.25") and item["tags"] == {"a", "t2"}
    out = table.query(KeyConditionExpression=Key("pk").eq("user#1") & Key("sk").between(10, 14),
                      FilterExpression=Attr("tags").contains("t1"))
    assert [int(i["sk"]) for i in out["Items"]] == [10, 13]
    table.update_item(Key={"pk": "user#1", "sk": 5}, UpdateExpression="ADD score :d",
                      ExpressionAttributeValues={":d": Decimal("0.75")})
    assert table.get_item(Key={"pk": "user#1", "sk": 5})["Item"]["score"] == Decimal(2)


def test_resource_scan_with_attr_conditions(ddb, resource):
    table = resource.Table(create(ddb, [("pk", "S", "HASH")]))
    for i in range(10):
        table.put_item(Item={"pk": unique(), "n": i, "kind": "even" if i % 2 == 0 else "odd"})
    out = table.scan(FilterExpression=Attr("kind").eq("even") & Attr("n").gte(4))
    assert sorted(int(i["n"]) for i in out["Items"]) == [4, 6, 8]
    out = table.scan(FilterExpression=Attr("missing").not_exists() & Attr("n").is_in([1, 2, 3]))
    assert sorted(int(i["n"]) for i in out["Items"]) == [1, 2, 3]
