"""gateway/dax_requests.py: which requests the standalone accelerator answers, and how."""

from __future__ import annotations

import pytest

from dynamoray.gateway import dax_requests as plans

K1 = {"p": {"S": "a"}, "c": {"N": "1"}}
K2 = {"p": {"S": "a"}, "c": {"N": "2"}}


def test_an_eventual_get_item_is_planned_on_its_normal_key():
    plan = plans.plan_read("GetItem", {"TableName": "t", "Key": K1, "ReturnConsumedCapacity": "TOTAL"})
    assert plan.keys == {"t": [K1]} and plan.mode == "TOTAL" and plan.resources == (("t", None),)
    assert plans.plan_read("GetItem", {"TableName": "t", "Key": K1, "ConsistentRead": False}) is not None


@pytest.mark.parametrize("body", [
    {"TableName": "t", "Key": K1, "ConsistentRead": True},
    {"TableName": "t", "Key": K1, "ProjectionExpression": "p"},
    {"TableName": "t", "Key": K1, "AttributesToGet": ["p"]},
    {"TableName": "t", "Key": K1, "ExpressionAttributeNames": {"#a": "a"}},  # the upstream refuses it
    {"TableName": "t", "Key": {"p": {"S": "a"}, "c": {"N": "1.0"}}},  # not in normal form
    {"TableName": "t", "Key": {"p": {"N": "x"}}},  # not a number
    {"TableName": "t", "Key": {}},
    {"TableName": "t", "Key": K1, "ReturnConsumedCapacity": "ALL"},
    {"TableName": "arn:aws:dynamodb:us-east-1:000000000000:table/t", "Key": K1},
    {"Key": K1},
])
def test_other_gets_go_to_the_upstream(body):
    assert plans.plan_read("GetItem", body) is None


def test_query_and_scan_are_keyed_by_the_whole_request_but_capacity():
    body = {"TableName": "t", "KeyConditionExpression": "p = :p", "ExpressionAttributeValues": {":p": {"S": "a"}},
            "IndexName": "i"}
    plan = plans.plan_read("Query", body)
    assert plan.table == "t" and plan.resources == (("t", "i"),)
    reordered = dict(reversed(list(body.items())), ReturnConsumedCapacity="TOTAL")
    assert plans.plan_read("Query", reordered).page == plan.page
    assert plans.plan_read("Scan", {"TableName": "t"}).page != plans.plan_read("Query", {"TableName": "t"}).page
    assert plans.plan_read("Query", {**body, "Limit": 1}).page != plan.page
    assert plans.plan_read("Scan", {"TableName": "t", "ConsistentRead": True}) is None


def test_batch_get_is_planned_only_when_every_table_qualifies():
    plan = plans.plan_read("BatchGetItem", {"RequestItems": {"t": {"Keys": [K1, K2]}, "u": {"Keys": [K1]}}})
    assert plan.keys == {"t": [K1, K2], "u": [K1]}
    assert plan.resources == (("t", None), ("u", None))
    for entry in ({"Keys": [K1, K1]}, {"Keys": [K1], "ProjectionExpression": "p"}, {"Keys": [K1], "ConsistentRead": True},
                  {"Keys": []}, {"Keys": [{"p": {"N": "01"}}]}):
        assert plans.plan_read("BatchGetItem", {"RequestItems": {"t": {"Keys": [K2]}, "u": entry}}) is None
    many = [{"p": {"S": str(i)}} for i in range(101)]
    assert plans.plan_read("BatchGetItem", {"RequestItems": {"t": {"Keys": many}}}) is None


def test_hit_responses_consume_nothing():
    get = plans.plan_read("GetItem", {"TableName": "t", "Key": K1, "ReturnConsumedCapacity": "INDEXES"})
    item = {**K1, "v": {"S": "x"}}
    assert plans.hit_response(get, {"t": [item]}) == {
        "Item": item, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 0.0, "Table": {"CapacityUnits": 0.0}}}
    plain = plans.plan_read("GetItem", {"TableName": "t", "Key": K1})
    assert plans.hit_response(plain, {"t": [None]}) == {}
    batch = plans.plan_read("BatchGetItem", {"RequestItems": {"t": {"Keys": [K1, K2]}},
                                             "ReturnConsumedCapacity": "TOTAL"})
    assert plans.hit_response(batch, {"t": [item, None]}) == {
        "Responses": {"t": [item]}, "UnprocessedKeys": {}, "ConsumedCapacity": [{"TableName": "t", "CapacityUnits": 0.0}]}
    query = plans.plan_read("Query", {"TableName": "t"})
    page = {"Items": [item], "Count": 1, "ScannedCount": 1}
    assert plans.hit_response(query, page) == page
    assert plans.cacheable_page({**page, "ConsumedCapacity": {"TableName": "t"}}) == page


def test_batch_results_match_items_to_keys_and_skip_unprocessed_ones():
    plan = plans.plan_read("BatchGetItem", {"RequestItems": {"t": {"Keys": [K1, K2, {"p": {"S": "b"}, "c": {"N": "1"}}]}}})
    item = {**K2, "v": {"S": "x"}}
    answer = {"Responses": {"t": [item]},
              "UnprocessedKeys": {"t": {"Keys": [{"p": {"S": "b"}, "c": {"N": "1"}}]}}}
    assert plans.batch_results(plan, answer) == {"t": [(K1, None), (K2, item)]}


def test_write_effects():
    effects = plans.write_effects("PutItem", {"TableName": "t", "Item": {**K1, "n": {"N": "1.50"}}}, {})
    assert effects.items_of == [("t", {**K1, "n": {"N": "1.50"}})]
    assert plans.item_key({**K1, "n": {"N": "1.50"}}, ["p", "c"]) == (K1, {**K1, "n": {"N": "1.5"}})
    assert plans.item_key({"p": {"S": "a"}}, ["p", "c"]) is None
    assert plans.write_effects("DeleteItem", {"TableName": "t", "Key": {**K1, "c": {"N": "1.0"}}}, {}).images == [
        ("t", K1, None)]
    new = {**K1, "v": {"S": "y"}}
    update = {"TableName": "t", "Key": K1, "ReturnValues": "ALL_NEW"}
    assert plans.write_effects("UpdateItem", update, {"Attributes": new}).images == [("t", K1, new)]
    assert plans.write_effects("UpdateItem", {"TableName": "t", "Key": K1}, {}).evict == [("t", K1)]
    batch = {"RequestItems": {"t": [{"PutRequest": {"Item": new}}, {"DeleteRequest": {"Key": K2}}],
                              "u": [{"DeleteRequest": {"Key": K1}}]}}
    effects = plans.write_effects("BatchWriteItem", batch, {"UnprocessedItems": {"u": [{"DeleteRequest": {"Key": K1}}]}})
    assert effects.items_of == [("t", new)] and effects.images == [("t", K2, None)] and effects.drop == ["u"]
    transact = {"TransactItems": [{"Put": {"TableName": "t", "Item": new}},
                                  {"Update": {"TableName": "u", "Key": K2, "UpdateExpression": "SET a = :a"}},
                                  {"ConditionCheck": {"TableName": "u", "Key": K1}}]}
    effects = plans.write_effects("TransactWriteItems", transact, {})
    assert effects.items_of == [("t", new)] and effects.evict == [("u", K2), ("u", K1)]
    assert plans.write_effects("DeleteTable", {"TableName": "t"}, {}).forget == ["t"]
