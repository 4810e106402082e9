"""Issue 10 through boto3 on every engine: throttling, ConsumedCapacity, metrics, audit and usage."""

from __future__ import annotations

import time

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from dynamoray.core.values import item_size
from dynamoray.gateway.admin_client import AdminClient

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, create, unique

KB = 1024


@pytest.fixture(scope="module")
def strict(server):
    """A client that never retries, so each throttle is seen."""
    return boto3.client("dynamodb", endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture(scope="module")
def admin(server):
    return AdminClient(server.endpoint, ACCESS_KEY, SECRET_KEY)


def provisioned(ddb, read: int, write: int, name: str | None = None) -> str:
    name = name or unique("cap")
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                     ProvisionedThroughput={"ReadCapacityUnits": read, "WriteCapacityUnits": write})
    return name


def item(key: str, size: int, **extra) -> dict:
    """An item of exactly ``size`` bytes by DynamoDB's rule (names plus values)."""
    body = {"p": {"S": key}, **extra, "v": {"S": ""}}
    body["v"] = {"S": "x" * (size - item_size(body))}
    assert item_size(body) == size
    return body


def error_of(info) -> dict:
    return info.value.response


# --- provisioned throttling -------------------------------------------------------------------------


def test_a_provisioned_table_lets_its_300_second_burst_through_then_throttles(strict):
    table = provisioned(strict, 1, 1)
    started, admitted = time.monotonic(), 0
    with pytest.raises(ClientError) as info:
        for n in range(1000):
            strict.put_item(TableName=table, Item=item(f"k{n}", 10 * KB))  # 10 WCU each
            admitted += 1
    elapsed = time.monotonic() - started
    assert 30 <= admitted <= 31 + elapsed / 10  # 300 WCU of burst, plus what refilled meanwhile
    answer = error_of(info)
    assert answer["Error"] == {
        "Code": "ProvisionedThroughputExceededException",
        "Message": "The level of configured provisioned throughput for the table was exceeded. "
                   "Consider increasing your provisioning level with the UpdateTable API.",
    }
    assert answer["ThrottlingReasons"] == [{"reason": "TableWriteProvisionedThroughputExceeded",
                                            "resource": f"arn:aws:dynamodb:{REGION}:000000000000:table/{table}"}]
    assert strict.get_item(TableName=table, Key={"p": {"S": "k0"}})["Item"]["p"] == {"S": "k0"}  # reads still flow


def test_once_the_burst_is_spent_writes_go_at_the_provisioned_rate(strict):
    table = provisioned(strict, 1, 2)
    with pytest.raises(ClientError):  # spend the 600 WCU of burst in 2 KB writes: the debt stays under 2 units
        for n in range(1000):
            strict.put_item(TableName=table, Item=item(f"b{n}", 2 * KB))
    time.sleep(1.5)  # the refill pays the debt back: writes are admitted again
    started, admitted, refused = time.monotonic(), 0, 0
    while time.monotonic() - started < 3.0:
        try:
            strict.put_item(TableName=table, Item=item(f"r{admitted}", 1 * KB))
            admitted += 1
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
            refused += 1
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    assert 1 <= admitted <= 2 * (elapsed + 1.5) + 3 and refused > 0  # about 2 writes a second get in


def test_reads_throttle_on_read_capacity_with_their_own_reason(strict):
    table = provisioned(strict, 1, 5)
    strict.put_item(TableName=table, Item=item("big", 400 * KB))
    with pytest.raises(ClientError) as info:
        for _ in range(10):  # 100 RCU each, strongly consistent: 300 of burst
            strict.get_item(TableName=table, Key={"p": {"S": "big"}}, ConsistentRead=True)
    assert error_of(info)["ThrottlingReasons"][0]["reason"] == "TableReadProvisionedThroughputExceeded"


def test_batches_leave_throttled_keys_unprocessed_and_fail_only_when_all_are(strict):
    spent, fresh = provisioned(strict, 1, 1), provisioned(strict, 1, 100)
    with pytest.raises(ClientError):
        for n in range(100):
            strict.put_item(TableName=spent, Item=item(f"s{n}", 20 * KB))
    out = strict.batch_write_item(RequestItems={
        spent: [{"PutRequest": {"Item": item("a", 100)}}],
        fresh: [{"PutRequest": {"Item": item("b", 100)}}],
    })
    assert out["UnprocessedItems"] == {spent: [{"PutRequest": {"Item": item("a", 100)}}]}
    assert "Item" in strict.get_item(TableName=fresh, Key={"p": {"S": "b"}})
    with pytest.raises(ClientError) as info:
        strict.batch_write_item(RequestItems={spent: [{"PutRequest": {"Item": item("c", 100)}}]})
    assert error_of(info)["Error"]["Code"] == "ProvisionedThroughputExceededException"
    got = strict.batch_get_item(RequestItems={fresh: {"Keys": [{"p": {"S": "b"}}]}})
    assert got["UnprocessedKeys"] == {} and len(got["Responses"][fresh]) == 1


def test_a_transaction_on_a_throttled_table_is_cancelled_with_a_throttling_reason(strict):
    spent, fresh = provisioned(strict, 1, 1), provisioned(strict, 5, 5)
    with pytest.raises(ClientError):
        for n in range(100):
            strict.put_item(TableName=spent, Item=item(f"t{n}", 20 * KB))
    with pytest.raises(ClientError) as info:
        strict.transact_write_items(TransactItems=[{"Put": {"TableName": fresh, "Item": item("x", 100)}},
                                                   {"Put": {"TableName": spent, "Item": item("y", 100)}}])
    answer = error_of(info)
    assert answer["Error"]["Code"] == "TransactionCanceledException"
    assert answer["Error"]["Message"] == ("Transaction cancelled, please refer cancellation reasons for specific "
                                          "reasons [None, ThrottlingError]")
    assert [r["Code"] for r in answer["CancellationReasons"]] == ["None", "ThrottlingError"]
    assert "Item" not in strict.get_item(TableName=fresh, Key={"p": {"S": "x"}})


def test_raising_throughput_with_update_table_takes_effect(strict):
    table = provisioned(strict, 1, 1)
    with pytest.raises(ClientError):
        for n in range(100):
            strict.put_item(TableName=table, Item=item(f"u{n}", 20 * KB))
    strict.update_table(TableName=table, ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1000})
    time.sleep(0.1)  # 100 WCU refill at the new rate: the debt of one 20 KB write is paid
    for _attempt in range(50):
        try:
            strict.put_item(TableName=table, Item=item("after", 1 * KB))
            break
        except ClientError:
            time.sleep(0.1)
    else:
        pytest.fail("the new rate never took effect")


# --- on-demand maxima ------------------------------------------------------------------------------


def test_an_on_demand_table_is_throttled_above_its_maximum_with_a_throttling_exception(strict):
    table = unique("ondemand")
    created = strict.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                                  KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                                  AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                                  OnDemandThroughput={"MaxWriteRequestUnits": 1})
    assert created["TableDescription"]["OnDemandThroughput"] == {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": 1}
    strict.put_item(TableName=table, Item=item("a", 10 * KB))
    with pytest.raises(ClientError) as info:
        strict.put_item(TableName=table, Item=item("b", 10 * KB))
    answer = error_of(info)
    assert answer["Error"] == {"Code": "ThrottlingException",
                               "Message": "Throughput exceeds the maximum OnDemandThroughput configured on table or index"}
    assert answer["throttlingReasons"][0]["reason"] == "TableWriteMaxOnDemandThroughputExceeded"
    strict.get_item(TableName=table, Key={"p": {"S": "a"}})  # reads have no maximum
    updated = strict.update_table(TableName=table, OnDemandThroughput={"MaxWriteRequestUnits": -1})
    assert updated["TableDescription"]["OnDemandThroughput"]["MaxWriteRequestUnits"] == -1
    for _attempt in range(50):  # the gateway reloads the limits right after the UpdateTable
        try:
            strict.put_item(TableName=table, Item=item("c", 10 * KB))
            break
        except ClientError:
            time.sleep(0.1)
    else:
        pytest.fail("the maximum was not removed")


# --- ConsumedCapacity, as DynamoDB documents it -----------------------------------------------------


def test_consumed_capacity_matches_dynamodbs_rules_for_every_operation(ddb):
    table = create(ddb, [("p", "S", "HASH"), ("c", "N", "RANGE")])

    def key(p, c):
        return {"p": {"S": p}, "c": {"N": str(c)}}

    def sized(p, c, size):
        return item(p, size, c={"N": str(c)})

    def cc(answer):
        return answer["ConsumedCapacity"]

    one_kb, just_over = sized("a", 1, 1024), sized("a", 2, 1025)
    assert cc(ddb.put_item(TableName=table, Item=one_kb, ReturnConsumedCapacity="TOTAL")) == \
        {"TableName": table, "CapacityUnits": 1.0}
    assert cc(ddb.put_item(TableName=table, Item=just_over, ReturnConsumedCapacity="INDEXES")) == \
        {"TableName": table, "CapacityUnits": 2.0, "Table": {"CapacityUnits": 2.0}}
    assert "ConsumedCapacity" not in ddb.put_item(TableName=table, Item=one_kb)
    assert "ConsumedCapacity" not in ddb.put_item(TableName=table, Item=one_kb, ReturnConsumedCapacity="NONE")
    for n in range(3, 13):
        ddb.put_item(TableName=table, Item=sized("q", n, 1000))
    big = sized("a", 3, 9 * 1024)  # 3 blocks of 4 KB to read, 9 of 1 KB to write
    assert cc(ddb.put_item(TableName=table, Item=big, ReturnConsumedCapacity="TOTAL"))["CapacityUnits"] == 9.0
    reads = {
        "eventual": ddb.get_item(TableName=table, Key=key("a", 3), ReturnConsumedCapacity="TOTAL"),
        "strong": ddb.get_item(TableName=table, Key=key("a", 3), ConsistentRead=True, ReturnConsumedCapacity="TOTAL"),
        "missing": ddb.get_item(TableName=table, Key=key("none", 0), ReturnConsumedCapacity="TOTAL"),
    }
    assert {k: cc(v)["CapacityUnits"] for k, v in reads.items()} == {"eventual": 1.5, "strong": 3.0, "missing": 0.5}
    # Query sums the sizes of the items read (10 x 1,000 B) before rounding up to 4 KB once
    query = ddb.query(TableName=table, KeyConditionExpression="p = :p", ExpressionAttributeValues={":p": {"S": "q"}},
                      ReturnConsumedCapacity="TOTAL")
    assert query["Count"] == 10 and cc(query)["CapacityUnits"] == 1.5
    # BatchGetItem rounds each item on its own: 2 x 1 KB items are two 4 KB reads
    batch = ddb.batch_get_item(RequestItems={table: {"Keys": [key("q", 3), key("q", 4)]}}, ReturnConsumedCapacity="TOTAL")
    assert cc(batch) == [{"TableName": table, "CapacityUnits": 1.0}]
    # an update consumes the larger of the item before and after
    shrink = ddb.update_item(TableName=table, Key=key("a", 3), UpdateExpression="REMOVE v", ReturnConsumedCapacity="TOTAL")
    assert cc(shrink)["CapacityUnits"] == 9.0
    assert cc(ddb.delete_item(TableName=table, Key=key("none", 0), ReturnConsumedCapacity="TOTAL"))["CapacityUnits"] == 1.0
    # transactions cost twice as much and split reads from writes
    written = ddb.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": one_kb}}],
                                       ReturnConsumedCapacity="TOTAL")
    assert cc(written) == [{"TableName": table, "CapacityUnits": 2.0, "WriteCapacityUnits": 2.0}]
    got = ddb.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": key("a", 1)}}],
                                 ReturnConsumedCapacity="INDEXES")
    assert cc(got) == [{"TableName": table, "CapacityUnits": 2.0, "ReadCapacityUnits": 2.0,
                        "Table": {"CapacityUnits": 2.0, "ReadCapacityUnits": 2.0}}]


# --- metrics, audit and usage for every kind of operation ------------------------------------------


def _every_operation(ddb, table: str) -> None:
    k = {"p": {"S": "m"}}
    ddb.put_item(TableName=table, Item={**k, "n": {"N": "1"}})
    ddb.get_item(TableName=table, Key=k)
    ddb.update_item(TableName=table, Key=k, UpdateExpression="SET n = n + :one",
                    ExpressionAttributeValues={":one": {"N": "1"}})
    ddb.query(TableName=table, KeyConditionExpression="p = :p", ExpressionAttributeValues={":p": {"S": "m"}})
    ddb.scan(TableName=table)
    ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {"p": {"S": "b"}}}}]})
    ddb.batch_get_item(RequestItems={table: {"Keys": [k]}})
    ddb.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": {"p": {"S": "t"}}}}])
    ddb.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": k}}])
    ddb.execute_statement(Statement=f'SELECT * FROM "{table}" WHERE p = ?', Parameters=[{"S": "m"}])
    with pytest.raises(ClientError):
        ddb.put_item(TableName=table, Item=k, ConditionExpression="attribute_not_exists(p)")
    ddb.delete_item(TableName=table, Key=k)
    ddb.describe_table(TableName=table)


DATA_OPERATIONS = ("PutItem", "GetItem", "UpdateItem", "Query", "Scan", "BatchWriteItem", "BatchGetItem",
                   "TransactWriteItems", "TransactGetItems", "ExecuteStatement", "DeleteItem")


def _samples(endpoint: str) -> dict:
    text = requests.get(f"{endpoint}/metrics", timeout=30).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_every_operation_shows_in_the_cloudwatch_metrics(server, ddb):
    table = create(ddb, [("p", "S", "HASH")])
    _every_operation(ddb, table)
    found = _samples(server.endpoint)
    for operation in DATA_OPERATIONS + ("DescribeTable", "CreateTable"):
        count = found[("dynamodb_SuccessfulRequestLatency_count", (("Operation", operation), ("TableName", table)))]
        assert count >= 1, operation
    assert found[("dynamodb_ConditionalCheckFailedRequests_total", (("Operation", "PutItem"), ("TableName", table)))] == 1
    write = found[("dynamodb_ConsumedWriteCapacityUnits_total",
                   (("GlobalSecondaryIndexName", ""), ("Operation", "PutItem"), ("TableName", table)))]
    assert write == 1.0  # the failed conditional put is not in ConsumedCapacity
    assert found[("dynamodb_ReturnedItemCount_sum", (("Operation", "Query"), ("TableName", table)))] == 1
    read = found[("dynamodb_ConsumedReadCapacityUnits_total",
                  (("GlobalSecondaryIndexName", ""), ("Operation", "GetItem"), ("TableName", table)))]
    assert read == 0.5


def test_provisioned_rates_and_throttles_are_metrics(server, strict):
    table = provisioned(strict, 3, 1)
    with pytest.raises(ClientError):
        for n in range(100):
            strict.put_item(TableName=table, Item=item(f"m{n}", 20 * KB))
    found = _samples(server.endpoint)
    assert found[("dynamodb_ProvisionedReadCapacityUnits", (("GlobalSecondaryIndexName", ""), ("TableName", table)))] == 3
    assert found[("dynamodb_WriteThrottleEvents_total",
                  (("GlobalSecondaryIndexName", ""), ("Operation", "PutItem"), ("TableName", table)))] == 1
    assert found[("dynamodb_ThrottledRequests_total", (("Operation", "PutItem"), ("TableName", table)))] == 1


def test_audit_records_every_control_plane_call_and_data_plane_calls_when_enabled(ddb, admin):
    table = create(ddb, [("p", "S", "HASH")])
    _every_operation(ddb, table)
    names = {e["eventName"] for e in admin.call("LookupAuditEvents", TableName=table, MaxResults=1000)["Events"]}
    assert names == {"CreateTable", "DescribeTable"}  # control-plane calls only, reads included
    # (other tests and the docs examples share the server: other tables may be on the list too)
    assert table in admin.call("UpdateAuditSettings", TableName=table, DataPlane=True)["DataPlaneTables"]
    _every_operation(ddb, table)
    events = admin.call("LookupAuditEvents", TableName=table, MaxResults=1000)["Events"]
    names = [e["eventName"] for e in events]
    assert set(DATA_OPERATIONS) <= set(names)
    failed = next(e for e in events if e.get("errorCode") == "ConditionalCheckFailedException")
    assert failed["eventName"] == "PutItem" and failed["requestParameters"]["key"] == {"p": {"S": "m"}}
    sources = {e["eventName"]: e["eventSource"] for e in events}
    assert sources["UpdateAuditSettings"] == "dynamoray.admin"  # the admin API is audited too
    admin_calls = {"UpdateAuditSettings"}  # the admin API's reads (LookupAuditEvents) are not recorded
    assert all(e["requestID"] and (e["eventSource"] == "dynamodb.amazonaws.com") == (e["eventName"] not in admin_calls)
               for e in events)
    assert [e["eventTime"] for e in events] == sorted((e["eventTime"] for e in events), reverse=True)
    admin.call("UpdateAuditSettings", TableName=table, DataPlane=False)
    page = admin.call("LookupAuditEvents", TableName=table, EventName="PutItem", MaxResults=1)
    assert len(page["Events"]) == 1 and page["NextToken"]  # the two PutItems: the failed one first (newest)
    rest = admin.call("LookupAuditEvents", TableName=table, EventName="PutItem", MaxResults=10, NextToken=page["NextToken"])
    assert len(rest["Events"]) == 1 and "NextToken" not in rest
    assert rest["Events"][0]["eventID"] != page["Events"][0]["eventID"]


def test_usage_totals_match_the_requests_made(ddb, admin):
    table = create(ddb, [("p", "S", "HASH")])
    for n in range(7):
        ddb.put_item(TableName=table, Item=item(f"u{n}", 1500))  # 2 WRU each
    for n in range(5):
        ddb.get_item(TableName=table, Key={"p": {"S": f"u{n}"}})  # 0.5 RRU each
    ddb.get_item(TableName=table, Key={"p": {"S": "u0"}}, ConsistentRead=True)  # 1 RRU
    report = admin.call("GetUsage", TableName=table)
    assert sum(row["write_request_units"] for row in report["Usage"]) == 14.0
    assert sum(row["read_request_units"] for row in report["Usage"]) == 3.5
    assert report["Totals"]["write_request_units"] == 14.0
    storage = report["Totals"]["storage_gb_months"]
    assert report["Totals"]["cost"] == pytest.approx(14 * 0.625e-6 + 3.5 * 0.125e-6 + storage * 0.25)


def test_control_plane_calls_are_recorded_with_their_responses_and_errors(ddb, admin):
    table = create(ddb, [("p", "S", "HASH")])
    arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "blue"}])
    ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    ddb.update_table(TableName=table, BillingMode="PROVISIONED",
                     ProvisionedThroughput={"ReadCapacityUnits": 2, "WriteCapacityUnits": 3})
    with pytest.raises(ClientError):
        ddb.update_table(TableName=table, BillingMode="PROVISIONED")  # nothing to change: ValidationException
    ddb.delete_table(TableName=table)
    events = admin.call("LookupAuditEvents", TableName=table, MaxResults=100)["Events"]
    names = [e["eventName"] for e in reversed(events)]
    assert names == ["CreateTable", "DescribeTable", "TagResource", "UpdateTimeToLive", "UpdateTable", "UpdateTable",
                     "DeleteTable"]
    updated, refused = [e for e in reversed(events) if e["eventName"] == "UpdateTable"]
    assert updated["responseElements"]["tableDescription"]["provisionedThroughput"]["writeCapacityUnits"] == 3
    assert updated["readOnly"] is False and updated["managementEvent"] is True
    assert refused["errorCode"] == "ValidationException" and refused["responseElements"] is None
    tagged = next(e for e in events if e["eventName"] == "TagResource")
    assert tagged["requestParameters"] == {"resourceArn": arn, "tags": [{"key": "team", "value": "blue"}]}


def test_a_gsi_out_of_write_capacity_throttles_writes_to_its_table(strict):
    table = unique("gsicap")
    strict.create_table(
        TableName=table, KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 100, "WriteCapacityUnits": 100},
        GlobalSecondaryIndexes=[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"},
                                 "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}])
    admitted = 0
    with pytest.raises(ClientError) as info:
        for n in range(100):  # 10 WCU on the GSI each: its 300 s of burst is 30 of them
            strict.put_item(TableName=table, Item=item(f"k{n}", 10 * KB, g={"S": "x"}))
            admitted += 1
    assert 30 <= admitted <= 33
    answer = error_of(info)
    assert answer["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert answer["Error"]["Message"].startswith("The level of configured provisioned throughput for one or more "
                                                 "global secondary indexes of the table was exceeded.")
    assert answer["ThrottlingReasons"] == [{"reason": "IndexWriteProvisionedThroughputExceeded",
                                            "resource": f"arn:aws:dynamodb:{REGION}:000000000000:table/{table}/index/by_g"}]
    strict.get_item(TableName=table, Key={"p": {"S": "k0"}})  # the table's own reads are not affected


def test_errors_are_counted_once_as_user_or_system_errors(server, ddb):
    table = create(ddb, [("p", "S", "HASH")])
    early = ("dynamodb_UserErrors_total", (("Operation", ""), ("TableName", "")))
    late = ("dynamodb_UserErrors_total", (("Operation", "Query"), ("TableName", table)))
    before = _samples(server.endpoint).get(early, 0)
    loose = boto3.client("dynamodb", endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                         aws_secret_access_key=SECRET_KEY, config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as info:  # refused by the service model, before the request reaches a handler
        loose.get_item(TableName="ab", Key={"p": {"S": "a"}})
    assert error_of(info)["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError):  # refused by the Query handler itself
        ddb.query(TableName=table, KeyConditionExpression="nope = :v", ExpressionAttributeValues={":v": {"S": "a"}})
    found = _samples(server.endpoint)
    assert found[early] - before >= 1 and found[late] == 1
