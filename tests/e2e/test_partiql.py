"""PartiQL through boto3: ExecuteStatement, BatchExecuteStatement and ExecuteTransaction, every
statement form and error, pagination, per-statement batch errors, transactions (every engine)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from dynamoray.gateway.admin_client import AdminClient

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, create, make_client, unique

SYNTAX = "Statement wasn't well formed, can't be processed: "
INCOMPLETE_KEY = "Where clause does not contain a mandatory equality on all key attributes"
DUPLICATE = {"Code": "DuplicateItem", "Message": "Duplicate primary key exists in table"}


def s(text):
    return {"S": text}


def n(number):
    return {"N": str(number)}


def error_of(call, **kwargs):
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


@pytest.fixture(scope="module")
def table(ddb):
    """Hash ``pk`` (S), range ``sk`` (N)."""
    return create(ddb, [("pk", "S", "HASH"), ("sk", "N", "RANGE")])


def run(ddb, statement, *parameters, **kwargs):
    if parameters:
        kwargs["Parameters"] = list(parameters)
    return ddb.execute_statement(Statement=statement, **kwargs)


def fill(ddb, table, pk, count):
    for i in range(count):
        run(ddb, f'INSERT INTO "{table}" VALUE {{\'pk\': ?, \'sk\': ?, \'v\': ?}}', s(pk), n(i), s(f"v{i}"))


# --- ExecuteStatement: each statement form ---------------------------------------------------------


def test_insert_select_update_delete(ddb, table):
    pk = unique("crud")
    assert run(ddb, f"""INSERT INTO "{table}" VALUE {{'pk': ?, 'sk': 1, 'n': 5, 'tags': <<'a'>>,
                        'doc': {{'l': [1, 'two'], 'm': {{'k': true}}}}, 'b': ?}}""", s(pk), {"B": b"\x00\x01"})["Items"] == []
    got = run(ddb, f'SELECT n, doc.l[1], doc.m.k, b FROM "{table}" WHERE pk = ? AND sk = 1', s(pk))
    assert got["Items"] == [{"n": n(5), "l[1]": s("two"), "k": {"BOOL": True}, "b": {"B": b"\x00\x01"}}]
    updated = run(ddb, f"""UPDATE "{table}" SET n = n + 2 SET doc.l = list_append(doc.l, [3])
                           SET tags = set_add(tags, <<'b'>>) REMOVE b
                           WHERE pk = ? AND sk = 1 AND n = 5 RETURNING ALL NEW *""", s(pk))
    item = updated["Items"][0]
    assert item["n"] == n(7) and item["doc"]["M"]["l"] == {"L": [n(1), s("two"), n(3)]} and "b" not in item
    assert sorted(item["tags"]["SS"]) == ["a", "b"]
    old = run(ddb, f"UPDATE \"{table}\" SET tags = set_delete(tags, <<'a'>>) WHERE pk = ? AND sk = 1 "
                   "RETURNING MODIFIED OLD *", s(pk))["Items"]
    assert [sorted(i["tags"]["SS"]) for i in old] == [["a", "b"]]
    deleted = run(ddb, f'DELETE FROM "{table}" WHERE pk = ? AND sk = 1 RETURNING ALL OLD *', s(pk))["Items"]
    assert deleted[0]["tags"] == {"SS": ["b"]}
    assert run(ddb, f'SELECT * FROM "{table}" WHERE pk = ?', s(pk), ConsistentRead=True)["Items"] == []


def test_where_operators_order_by_and_scan(ddb, table):
    pk = unique("ops")
    fill(ddb, table, pk, 6)
    base = f'SELECT sk FROM "{table}" WHERE pk = ?'
    assert [i["sk"]["N"] for i in run(ddb, base + " AND sk BETWEEN 1 AND 3 ORDER BY sk DESC", s(pk))["Items"]] == [
        "3", "2", "1"]
    assert [i["sk"]["N"] for i in run(ddb, base + " AND sk IN [0, 5] AND begins_with(v, 'v')", s(pk))["Items"]] == [
        "0", "5"]
    assert run(ddb, base + " AND contains(v, '4') AND size(v) = 2 AND v IS NOT MISSING", s(pk))["Items"] == [
        {"sk": n(4)}]
    assert run(ddb, base + " AND attribute_type(v, 'N')", s(pk))["Items"] == []
    scanned = run(ddb, f"SELECT pk, sk FROM \"{table}\" WHERE v = 'v2' AND pk = ? OR pk = 'none'", s(pk))
    assert scanned["Items"] == [{"pk": s(pk), "sk": n(2)}]


def test_pagination_over_several_pages(ddb, table):
    pk = unique("page")
    fill(ddb, table, pk, 7)
    pages, token = [], None
    while True:
        extra = {"NextToken": token} if token else {}
        got = run(ddb, f'SELECT sk FROM "{table}" WHERE pk = ?', s(pk), Limit=3, **extra)
        pages.append([i["sk"]["N"] for i in got["Items"]])
        token = got.get("NextToken")
        if token is None:
            break
        assert got["LastEvaluatedKey"]["sk"] == got["Items"][-1]["sk"]
    assert pages == [["0", "1", "2"], ["3", "4", "5"], ["6"]]
    # several partition keys: several Queries, one page after another
    other = unique("page")
    fill(ddb, table, other, 2)
    seen, token = [], None
    while True:
        extra = {"NextToken": token} if token else {}
        got = run(ddb, f'SELECT pk, sk FROM "{table}" WHERE pk IN [?, ?] AND sk < 4', s(pk), s(other), Limit=2,
                  **extra)
        seen += [(i["pk"]["S"], i["sk"]["N"]) for i in got["Items"]]
        token = got.get("NextToken")
        if token is None:
            break
    assert seen == [(pk, "0"), (pk, "1"), (pk, "2"), (pk, "3"), (other, "0"), (other, "1")]


def test_a_scan_pages_with_a_filter_counting_items_read(ddb):
    name = create(ddb, [("id", "N", "HASH")])
    for i in range(5):
        run(ddb, f"INSERT INTO \"{name}\" VALUE {{'id': {i}, 'even': {str(i % 2 == 0).lower()}}}")
    found, token, pages = [], None, 0
    while True:
        extra = {"NextToken": token} if token else {}
        got = run(ddb, f'SELECT id FROM "{name}" WHERE even = true', Limit=2, ReturnConsumedCapacity="TOTAL", **extra)
        assert got["ConsumedCapacity"] == {"TableName": name, "CapacityUnits": 0.5}
        found += [int(i["id"]["N"]) for i in got["Items"]]
        pages += 1
        token = got.get("NextToken")
        if token is None:
            break
    assert sorted(found) == [0, 2, 4] and pages == 3


def test_next_token_errors(ddb, table):
    pk = unique("tok")
    fill(ddb, table, pk, 2)
    token = run(ddb, f'SELECT * FROM "{table}" WHERE pk = ?', s(pk), Limit=1)["NextToken"]
    select = f'SELECT * FROM "{table}" WHERE pk = ?'
    assert error_of(ddb.execute_statement, Statement=select, NextToken="garbage", Parameters=[s(pk)]) == (
        "ValidationException", "Invalid NextToken")
    assert error_of(ddb.execute_statement, Statement=select, NextToken=token, Parameters=[s("other")]) == (
        "ValidationException", "NextToken does not match request")


@pytest.mark.parametrize("statement, parameters, expected", [
    ('SELEKT * FROM "{t}"', [], ("ValidationException", SYNTAX + "Expected data manipulation")),
    ('SELECT * FROM "{t}" WHERE value = 1', [], ("ValidationException", SYNTAX + "Unexpected keyword")),
    ('SELECT * FROM "{t}" WHERE pk = ? AND sk = ?', [s("a")],
     ("ValidationException", "Number of parameters in request and statement don't match.")),
    ('UPDATE "{t}" SET x = 1 WHERE pk = \'a\'', [], ("ValidationException", INCOMPLETE_KEY)),
    ('DELETE FROM "{t}" WHERE sk = 1', [], ("ValidationException", INCOMPLETE_KEY)),
    ('DELETE FROM "{t}" WHERE pk = \'a\' AND sk = 1 RETURNING ALL NEW *', [],
     ("ValidationException", "Invalid returning clause: RETURNING ALL NEW *. Only RETURNING ALL OLD * is allowed "
                             "in DELETE statements.")),
    ('SELECT * FROM "{t}" LIMIT 1', [], ("ValidationException", "Unsupported clause: LIMIT")),
    ('SELECT * FROM "{t}" WHERE pk = 1', [],
     ("ValidationException", "Key attribute's data type should match its data type in table's schema: Key pk")),
    ('EXISTS(SELECT * FROM "{t}" WHERE pk = \'a\' AND sk = 1)', [],
     ("ValidationException", "EXISTS can only be used in ExecuteTransaction write requests.")),
    ('SELECT * FROM "{t}"."no-index"', [],
     ("ValidationException", "The table does not have the specified index: no-index")),
    ("SELECT * FROM \"no_such_table_x\" WHERE pk = 'a'", [], ("ResourceNotFoundException", None)),
])
def test_statement_errors(ddb, table, statement, parameters, expected):
    extra = {"Parameters": parameters} if parameters else {}
    code, message = error_of(ddb.execute_statement, Statement=statement.format(t=table), **extra)
    assert code == expected[0]
    if expected[1] is not None:
        assert message == expected[1]


def test_insert_of_an_existing_item_and_false_where_clauses(ddb, table):
    pk = unique("cond")
    insert = f"INSERT INTO \"{table}\" VALUE {{'pk': ?, 'sk': 1, 'n': 1}}"
    run(ddb, insert, s(pk))
    assert error_of(ddb.execute_statement, Statement=insert, Parameters=[s(pk)]) == (
        "DuplicateItemException", "Duplicate primary key exists in table")
    false = f'UPDATE "{table}" SET n = 2 WHERE pk = ? AND sk = 1 AND n = 9'
    with pytest.raises(ClientError) as info:
        run(ddb, false, s(pk), ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert info.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert info.value.response["Item"] == {"pk": s(pk), "sk": n(1), "n": n(1)}
    missing = f'UPDATE "{table}" SET n = 2 WHERE pk = ? AND sk = 2'
    assert error_of(ddb.execute_statement, Statement=missing, Parameters=[s(pk)])[0] == (
        "ConditionalCheckFailedException")
    assert error_of(ddb.execute_statement, Statement=f'DELETE FROM "{table}" WHERE pk = ? AND sk = 1 AND n = 9',
                    Parameters=[s(pk)])[0] == "ConditionalCheckFailedException"
    assert run(ddb, f'DELETE FROM "{table}" WHERE pk = ? AND sk = 7 AND n = 9', s(pk))["Items"] == []
    written = run(ddb, f'UPDATE "{table}" SET n = 3 WHERE pk = ? AND sk = 1', s(pk), ReturnConsumedCapacity="TOTAL")
    assert written["ConsumedCapacity"] == {"TableName": table, "CapacityUnits": 1.0}


# --- BatchExecuteStatement -------------------------------------------------------------------------


def test_batch_of_reads_with_per_statement_errors(ddb, table):
    pk = unique("bread")
    fill(ddb, table, pk, 2)
    select = f'SELECT v FROM "{table}" WHERE pk = ? AND sk = ?'
    got = ddb.batch_execute_statement(Statements=[
        {"Statement": select, "Parameters": [s(pk), n(1)], "ConsistentRead": True},
        {"Statement": select, "Parameters": [s(pk), n(9)]},
        {"Statement": f'SELECT * FROM "{table}" WHERE pk = ?', "Parameters": [s(pk)]},
        {"Statement": "SELEKT"},
        {"Statement": select, "Parameters": [s(pk)]},
    ], ReturnConsumedCapacity="TOTAL")
    assert got["Responses"] == [
        {"TableName": table, "Item": {"v": s("v1")}},
        {"TableName": table},
        {"TableName": table, "Error": {"Code": "ValidationError", "Message": "Only single item select is supported"}},
        {"Error": {"Code": "ValidationError", "Message": SYNTAX + "Expected data manipulation"}},
        {"Error": {"Code": "ValidationError",
                   "Message": "Number of parameters in request and statement don't match."}},
    ]
    assert got["ConsumedCapacity"] == [{"TableName": table, "CapacityUnits": 1.5}]


def test_batch_of_writes_with_mixed_outcomes(ddb, table):
    pk = unique("bwrite")
    fill(ddb, table, pk, 2)
    got = ddb.batch_execute_statement(Statements=[
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': ?, 'sk': 5}}", "Parameters": [s(pk)]},
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': ?, 'sk': 0}}", "Parameters": [s(pk)]},
        {"Statement": f"UPDATE \"{table}\" SET v = 'x' WHERE pk = ? AND sk = 1 AND v = 'nope'",
         "Parameters": [s(pk)], "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
        {"Statement": f'UPDATE "{table}" SET v = \'y\' WHERE pk = ?', "Parameters": [s(pk)]},
        {"Statement": f'DELETE FROM "{table}" WHERE pk = ? AND sk = 9 RETURNING ALL OLD *', "Parameters": [s(pk)]},
        {"Statement": "DELETE FROM \"no_such_table_y\" WHERE pk = 'a'"},
    ])["Responses"]
    assert got[0] == {"TableName": table}
    assert got[1] == {"TableName": table, "Error": DUPLICATE}
    assert got[2] == {"TableName": table, "Error": {
        "Code": "ConditionalCheckFailed", "Message": "The conditional request failed",
        "Item": {"pk": s(pk), "sk": n(1), "v": s("v1")}}}
    assert got[3] == {"TableName": table, "Error": {"Code": "ValidationError", "Message": INCOMPLETE_KEY}}
    assert got[4] == {"TableName": table}
    assert got[5]["Error"]["Code"] == "ResourceNotFound"
    assert [i["sk"]["N"] for i in run(ddb, f'SELECT sk FROM "{table}" WHERE pk = ?', s(pk))["Items"]] == ["0", "1", "5"]


def test_batch_request_errors(ddb, table):
    mixed = [{"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'a' AND sk = 1"},
             {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'a' AND sk = 1"}]
    assert error_of(ddb.batch_execute_statement, Statements=mixed) == (
        "ValidationException", "Read and write requests together in the same batch is not supported.")
    twice = [{"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'a' AND sk = 1"}] * 2
    assert error_of(ddb.batch_execute_statement, Statements=twice) == (
        "ValidationException", "Provided list of item keys contains duplicates")


# --- ExecuteTransaction ----------------------------------------------------------------------------


def test_transaction_commits_every_statement(ddb, table):
    pk = unique("tx")
    fill(ddb, table, pk, 2)
    got = ddb.execute_transaction(TransactStatements=[
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': ?, 'sk': 10}}", "Parameters": [s(pk)]},
        {"Statement": f"UPDATE \"{table}\" SET v = 'changed' WHERE pk = ? AND sk = 0", "Parameters": [s(pk)]},
        {"Statement": f'DELETE FROM "{table}" WHERE pk = ? AND sk = 1', "Parameters": [s(pk)]},
    ], ReturnConsumedCapacity="TOTAL")
    assert got["ConsumedCapacity"] == [{"TableName": table, "CapacityUnits": 6.0, "WriteCapacityUnits": 6.0}]
    rows = run(ddb, f'SELECT sk, v FROM "{table}" WHERE pk = ?', s(pk))["Items"]
    assert rows == [{"sk": n(0), "v": s("changed")}, {"sk": n(10)}]
    reads = ddb.execute_transaction(TransactStatements=[
        {"Statement": f'SELECT v FROM "{table}" WHERE pk = ? AND sk = 0', "Parameters": [s(pk)]},
        {"Statement": f'SELECT * FROM "{table}" WHERE pk = ? AND sk = 1', "Parameters": [s(pk)]},
    ])
    assert reads["Responses"] == [{"Item": {"v": s("changed")}}, {}]


def test_cancelled_transaction_changes_nothing_and_gives_reasons(ddb, table):
    pk = unique("txc")
    fill(ddb, table, pk, 2)
    with pytest.raises(ClientError) as info:
        ddb.execute_transaction(TransactStatements=[
            {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': ?, 'sk': 20}}", "Parameters": [s(pk)]},
            {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': ?, 'sk': 0}}", "Parameters": [s(pk)]},
            {"Statement": f"EXISTS(SELECT * FROM \"{table}\" WHERE pk = ? AND sk = 1 AND v = 'other')",
             "Parameters": [s(pk)], "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
        ])
    response = info.value.response
    assert response["Error"]["Code"] == "TransactionCanceledException"
    assert response["Error"]["Message"] == ("Transaction cancelled, please refer cancellation reasons for specific "
                                            "reasons [None, DuplicateItem, ConditionalCheckFailed]")
    assert response["CancellationReasons"] == [
        {"Code": "None"}, DUPLICATE,
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed",
         "Item": {"pk": s(pk), "sk": n(1), "v": s("v1")}},
    ]
    assert [i["sk"]["N"] for i in run(ddb, f'SELECT sk FROM "{table}" WHERE pk = ?', s(pk))["Items"]] == ["0", "1"]


def test_transaction_idempotency_and_request_errors(ddb, table):
    pk = unique("txi")
    fill(ddb, table, pk, 1)
    statements = [{"Statement": f'UPDATE "{table}" SET n = n + 1 WHERE pk = ? AND sk = 0 AND n IS NOT MISSING '
                                f'OR pk = ? AND sk = 0', "Parameters": [s(pk), s(pk)]}]
    assert error_of(ddb.execute_transaction, TransactStatements=statements)[1] == INCOMPLETE_KEY
    bump = [{"Statement": f'UPDATE "{table}" SET n = 1 WHERE pk = ? AND sk = 0', "Parameters": [s(pk)]}]
    token = unique("token")
    ddb.execute_transaction(TransactStatements=bump, ClientRequestToken=token)
    run(ddb, f'UPDATE "{table}" SET n = 5 WHERE pk = ? AND sk = 0', s(pk))
    ddb.execute_transaction(TransactStatements=bump, ClientRequestToken=token)  # replayed: changes nothing
    assert run(ddb, f'SELECT n FROM "{table}" WHERE pk = ? AND sk = 0', s(pk))["Items"] == [{"n": n(5)}]
    other = [{"Statement": f'UPDATE "{table}" SET n = 2 WHERE pk = ? AND sk = 0', "Parameters": [s(pk)]}]
    assert error_of(ddb.execute_transaction, TransactStatements=other, ClientRequestToken=token)[0] == (
        "IdempotentParameterMismatchException")
    mixed = [{"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'a' AND sk = 1"},
             {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'a' AND sk = 2"}]
    assert error_of(ddb.execute_transaction, TransactStatements=mixed) == (
        "ValidationException",
        "ExecuteTransaction API does not support both read and write operations in the same request.")
    twice = [{"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'a' AND sk = 2"}] * 2
    assert error_of(ddb.execute_transaction, TransactStatements=twice) == (
        "ValidationException", "Transaction request cannot include multiple operations on one item")
    scan_read = [{"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'a'"}]
    assert error_of(ddb.execute_transaction, TransactStatements=scan_read) == (
        "ValidationException",
        "Select statements within ExecuteTransaction must specify the primary key in the where clause.")


# --- IAM: the PartiQL actions --------------------------------------------------------------------


def test_partiql_actions_are_authorized_per_statement(server, ddb, table):
    admin = AdminClient(server.endpoint, ACCESS_KEY, SECRET_KEY, REGION)
    name = unique("pq")
    admin.call("CreateUser", UserName=name)
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["dynamodb:PartiQLSelect", "dynamodb:PartiQLInsert"],
        "Resource": "arn:aws:dynamodb:*:*:table/*",
        "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}}}, {
        "Effect": "Deny", "Action": "dynamodb:PartiQLSelect", "Resource": "*",
        "Condition": {"Bool": {"dynamodb:FullTableScan": "true"}}}]}
    admin.call("PutUserPolicy", UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = admin.call("CreateAccessKey", UserName=name)["AccessKey"]
    user = make_client(server.endpoint, access=key["AccessKeyId"], secret=key["SecretAccessKey"])
    run(user, f"INSERT INTO \"{table}\" VALUE {{'pk': ?, 'sk': 1}}", s(name))
    assert run(user, f'SELECT sk FROM "{table}" WHERE pk = ?', s(name))["Items"] == [{"sk": n(1)}]
    arn = f"arn:aws:dynamodb:{REGION}:000000000000:table/{table}"
    head = f"User: arn:aws:iam::000000000000:user/{name} is not authorized to perform: dynamodb:"
    for statement, action, why in (
            (f'SELECT * FROM "{table}" WHERE pk = \'someone\'', "PartiQLSelect", "because no identity-based "
             "policy allows the dynamodb:PartiQLSelect action"),
            (f'SELECT * FROM "{table}" WHERE sk = 1', "PartiQLSelect", "with an explicit deny in an identity-based "
             "policy"),
            (f'DELETE FROM "{table}" WHERE pk = ? AND sk = 1', "PartiQLDelete", "because no identity-based policy "
             "allows the dynamodb:PartiQLDelete action")):
        parameters = {"Parameters": [s(name)]} if "?" in statement else {}
        assert error_of(user.execute_statement, Statement=statement, **parameters) == (
            "AccessDeniedException", f"{head}{action} on resource: {arn} {why}")


def test_select_from_a_global_secondary_index(ddb):
    name = unique("gsi")
    ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}])
    for i in range(4):
        run(ddb, f"INSERT INTO \"{name}\" VALUE {{'pk': ?, 'g': ?}}", s(f"p{i}"), s("odd" if i % 2 else "even"))
    odd = run(ddb, f'SELECT pk FROM "{name}"."by-g" WHERE g = \'odd\'')["Items"]
    assert sorted(i["pk"]["S"] for i in odd) == ["p1", "p3"]
    seen, token = [], None
    while True:
        extra = {"NextToken": token} if token else {}
        got = run(ddb, f'SELECT pk FROM "{name}"."by-g"', Limit=3, **extra)
        seen += [i["pk"]["S"] for i in got["Items"]]
        token = got.get("NextToken")
        if token is None:
            break
    assert sorted(seen) == ["p0", "p1", "p2", "p3"]
    assert error_of(ddb.execute_statement, Statement=f'SELECT * FROM "{name}"."by-g" WHERE g = \'odd\'',
                    ConsistentRead=True) == (
        "ValidationException", "Consistent reads are not supported on global secondary indexes")
