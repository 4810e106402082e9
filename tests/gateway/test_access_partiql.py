"""The IAM checks of PartiQL requests (gateway/access.py): one per statement, the PartiQL actions,
and their condition keys."""

from dynamoray.core.keys import KeySchema
from dynamoray.gateway import access

REGION, ACCOUNT = "us-east-1", "000000000000"
T = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/T"
SCHEMA = KeySchema("pk", "S", "sk", "N")


def checks(name, body):
    return access.accesses("dynamodb", name, body, REGION, ACCOUNT)


def test_one_check_per_statement_with_its_partiql_action():
    [select] = checks("ExecuteStatement", {"Statement": 'SELECT * FROM "T"."byDate" WHERE d = 1'})
    assert (select.action, select.resource) == ("dynamodb:PartiQLSelect", T + "/index/byDate")
    got = checks("BatchExecuteStatement", {"Statements": [
        {"Statement": "INSERT INTO T VALUE {'pk': 'a', 'sk': 1}"},
        {"Statement": "not a statement"},
        {"Statement": "DELETE FROM T WHERE pk = ? AND sk = 1", "Parameters": [{"S": "b"}]},
    ]})
    assert [(c.action, c.resource) for c in got] == [("dynamodb:PartiQLInsert", T), ("dynamodb:PartiQLDelete", T)]
    got = checks("ExecuteTransaction", {"TransactStatements": [
        {"Statement": "UPDATE T SET a = 1 WHERE pk = 'a' AND sk = 1"},
        {"Statement": "EXISTS(SELECT * FROM T WHERE pk = 'b' AND sk = 1)"},
    ], "ReturnConsumedCapacity": "TOTAL"})
    assert [c.action for c in got] == ["dynamodb:PartiQLUpdate", "dynamodb:PartiQLSelect"]
    assert got[0].context == {"dynamodb:returnconsumedcapacity": "TOTAL"}


def test_leading_keys_attributes_and_full_table_scan():
    [query] = checks("ExecuteStatement", {"Statement": "SELECT a.b FROM T WHERE pk IN [?, 'y'] AND c = 1",
                                          "Parameters": [{"S": "x"}]})
    assert access.leading_keys(query, SCHEMA) == ("x", "y")
    assert access.attributes(query, SCHEMA) == ("a", "c", "pk")
    assert access.full_table_scan(query, SCHEMA) == "false"
    [scan] = checks("ExecuteStatement", {"Statement": "SELECT * FROM T WHERE sk = 1"})
    assert access.leading_keys(scan, SCHEMA) is None
    assert access.full_table_scan(scan, SCHEMA) == "true"
    [insert] = checks("ExecuteStatement", {"Statement": "INSERT INTO T VALUE {'pk': 'n', 'sk': 2, 'z': 1}"})
    assert access.leading_keys(insert, SCHEMA) == ("n",)
    assert access.attributes(insert, SCHEMA) == ("pk", "sk", "z")
    assert access.full_table_scan(insert, SCHEMA) is None
    [broken] = checks("ExecuteStatement", {"Statement": "DELETE FROM T WHERE sk = 1"})
    assert access.leading_keys(broken, SCHEMA) is None  # the handler reports the missing key
