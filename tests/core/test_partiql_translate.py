"""PartiQL phase 4: statements as commands and read plans, decided on a real partition state;
projections, NextTokens and IAM facts of a statement."""

import pytest

from dynamoray.core import keys, partition
from dynamoray.core.commands import ConditionCheckCommand, DeleteCommand, PutCommand, UpdateCommand
from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import ast
from dynamoray.core.partiql import (
    decode_token, digest, encode_token, key_read, label, permissions, prepare, project, read_plan, write_action,
)

P = lambda *elements: ast.Path(tuple(elements))  # noqa: E731
L = ast.Literal
SCHEMA = keys.KeySchema("pk", "S", "sk", "N")
HASH_ONLY = keys.KeySchema("id", "N")


def action(text, parameters=None, schema=SCHEMA, **kw):
    return write_action(prepare(text, parameters), schema, **kw)


def plan(text, parameters=None, schema=SCHEMA):
    return read_plan(prepare(text, parameters), schema)


def failure(call, *args, **kw):
    with pytest.raises(DynamoError) as info:
        call(*args, **kw)
    return info.value.error_type, info.value.message


def state_with(*items):
    state = partition.PartitionState(SCHEMA)
    for item in items:
        partition.evolve(state, partition.decide(state, PutCommand(item)).change)
    return state


ITEM = {"pk": {"S": "a"}, "sk": {"N": "1"}, "n": {"N": "5"}, "tags": {"SS": ["x"]}}


# --- writes --------------------------------------------------------------------------------------


def test_insert_is_a_put_unless_the_key_exists():
    got = action("INSERT INTO t VALUE {'pk': 'b', 'sk': 2, 'v': ?}", [{"S": "x"}])
    assert got.insert and got.key == {"pk": {"S": "b"}, "sk": {"N": "2"}}
    assert got.command == PutCommand({"pk": {"S": "b"}, "sk": {"N": "2"}, "v": {"S": "x"}},
                                     ast.AttributeNotExists(P("pk")))
    state = state_with(ITEM)
    assert partition.decide(state, got.command).change.new_image["v"] == {"S": "x"}
    dup = action("INSERT INTO t VALUE {'pk': 'a', 'sk': 1}")
    assert failure(partition.decide, state, dup.command)[0] == "ConditionalCheckFailedException"


def test_insert_item_checks():
    assert failure(action, "INSERT INTO t VALUE {'pk': 'b'}") == (
        "ValidationException", "One or more parameter values were invalid: Missing the key sk in the item")
    assert failure(action, "INSERT INTO t VALUE ?", [{"S": "x"}])[1].startswith("Unsupported format in item")
    assert action("INSERT INTO t VALUE ?", [{"M": {"pk": {"S": "p"}, "sk": {"N": "1"}}}]).key["pk"] == {"S": "p"}


def test_update_needs_the_item_and_the_where_clause():
    got = action("UPDATE t SET n = n + 1 SET tags = set_add(tags, <<'y'>>) REMOVE gone "
                 "WHERE pk = 'a' AND sk = 1 AND n > ? RETURNING MODIFIED NEW *", [{"N": "3"}])
    assert got.command == UpdateCommand(
        {"pk": {"S": "a"}, "sk": {"N": "1"}},
        ast.Update((ast.SetAction(P("n"), ast.Arithmetic("+", P("n"), L({"N": "1"}))),),
                   (ast.RemoveAction(P("gone")),), (ast.AddAction(P("tags"), L({"SS": ["y"]})),)),
        ast.And(ast.AttributeExists(P("pk")), ast.Compare(">", P("n"), L({"N": "3"}))), "UPDATED_NEW")
    state = state_with(ITEM)
    outcome = partition.decide(state, got.command)
    assert outcome.change.new_image["n"] == {"N": "6"} and outcome.change.new_image["tags"] == {"SS": ["x", "y"]}
    assert outcome.attributes == {"n": {"N": "6"}, "tags": {"SS": ["x", "y"]}}
    false_where = action("UPDATE t SET n = 0 WHERE pk = 'a' AND sk = 1 AND n > 10")
    assert failure(partition.decide, state, false_where.command)[0] == "ConditionalCheckFailedException"
    missing = action("UPDATE t SET n = 0 WHERE pk = 'zz' AND sk = 1")
    assert failure(partition.decide, state, missing.command)[0] == "ConditionalCheckFailedException"


def test_delete_of_a_missing_item_succeeds_a_false_condition_fails():
    state = state_with(ITEM)
    plain = action("DELETE FROM t WHERE sk = 1 AND pk = 'a'")
    assert plain.command == DeleteCommand({"pk": {"S": "a"}, "sk": {"N": "1"}})
    conditional = action("DELETE FROM t WHERE pk = ? AND sk = 1 AND n = 4 RETURNING ALL OLD *", [{"S": "a"}])
    assert conditional.command.return_values == "ALL_OLD"
    assert failure(partition.decide, state, conditional.command)[0] == "ConditionalCheckFailedException"
    missing = action("DELETE FROM t WHERE pk = 'zz' AND sk = 1 AND n = 4")
    assert partition.decide(state, missing.command).change is None


def test_exists_is_a_condition_check_on_an_existing_item():
    got = action("EXISTS(SELECT * FROM t WHERE pk = 'a' AND sk = 1 AND tags IS NOT MISSING)")
    assert got.command == ConditionCheckCommand(
        {"pk": {"S": "a"}, "sk": {"N": "1"}}, ast.And(ast.AttributeExists(P("pk")), ast.AttributeExists(P("tags"))))
    bare = action("EXISTS(SELECT * FROM t WHERE pk = 'q' AND sk = 1)")
    assert failure(partition.decide, state_with(ITEM), bare.command)[0] == "ConditionalCheckFailedException"
    assert failure(action, "EXISTS(SELECT * FROM t WHERE pk = 'q')") == (
        "ValidationException", "EXISTS() must contain a single item read with additional condition")


@pytest.mark.parametrize("text, message", [
    ("UPDATE t SET a = 1 WHERE pk = 'a'", "Where clause does not contain a mandatory equality on all key attributes"),
    ("UPDATE t SET a = 1", "Where clause does not contain a mandatory equality on all key attributes"),
    ("DELETE FROM t WHERE pk = 'a' OR sk = 1", "Where clause does not contain a mandatory equality on all key attributes"),
    ("DELETE FROM t WHERE pk = 'a' AND sk > 1", "Where clause does not contain a mandatory equality on all key attributes"),
    ("DELETE FROM t WHERE pk = 'a' AND sk = 1 AND sk = 2",
     "Multiple conditions on same key sk. Only single item Update/Insert/Delete are supported"),
    ("DELETE FROM t WHERE pk = 1 AND sk = 1", "Key attribute's data type should match its data type in table's schema: Key pk"),
    ("UPDATE t SET pk = 'b' WHERE pk = 'a' AND sk = 1",
     "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key"),
    ("UPDATE t SET a = 1, a = 2 WHERE pk = 'a' AND sk = 1",
     "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these "
     "paths; path one: [a], path two: [a]"),
    ("UPDATE t SET s = set_add(s, ?) WHERE pk = 'a' AND sk = 1",
     "The second argument to SET_ADD must be a value with type SET"),
    ("SELECT * FROM t WHERE pk = 'a' AND sk = 1", "Unsupported operation in transaction."),
])
def test_write_errors(text, message):
    parameters = [{"N": "1"}] if "?" in text else None
    assert failure(action, text, parameters) == ("ValidationException", message)


# --- reads ---------------------------------------------------------------------------------------


def test_select_on_the_partition_key_is_a_query_with_its_range_and_filter():
    got = plan("SELECT a FROM t WHERE n > 1 AND 3 > sk AND pk = 'a'")
    assert got.scan is None and len(got.queries) == 1
    query = got.queries[0]
    assert (query.hash_value, query.range) == ({"S": "a"}, ast.RangeKeyCondition("sk", "<", ({"N": "3"},)))
    assert query.filter == ast.Compare(">", P("n"), L({"N": "1"})) and query.forward
    assert got.projection == (P("a"),)


def test_in_and_or_on_the_partition_key_give_one_query_each_in_order():
    assert [q.hash_value for q in plan("SELECT * FROM t WHERE pk IN ['b', 'a', 'b']").queries] == [
        {"S": "b"}, {"S": "a"}]
    assert [q.hash_value for q in plan("SELECT * FROM t WHERE pk = 'x' OR pk = 'y'").queries] == [
        {"S": "x"}, {"S": "y"}]
    sorted_desc = plan("SELECT * FROM t WHERE pk IN ['b', 'c', 'a'] ORDER BY pk DESC, sk DESC")
    assert [q.hash_value["S"] for q in sorted_desc.queries] == ["c", "b", "a"]
    assert not sorted_desc.queries[0].forward


@pytest.mark.parametrize("where, op, bounds", [
    ("sk BETWEEN 1 AND 4", "BETWEEN", ({"N": "1"}, {"N": "4"})),
    ("sk = 2", "=", ({"N": "2"},)),
    ("sk >= 2", ">=", ({"N": "2"},)),
])
def test_range_conditions(where, op, bounds):
    query = plan(f"SELECT * FROM t WHERE pk = 'a' AND {where}").queries[0]
    assert query.range == ast.RangeKeyCondition("sk", op, bounds) and query.filter is None


def test_conditions_the_key_cannot_use_stay_in_the_filter():
    strings = keys.KeySchema("pk", "S", "sk", "S")
    query = read_plan(prepare("SELECT * FROM t WHERE pk = 'a' AND begins_with(sk, 'x')"), strings).queries[0]
    assert query.range == ast.RangeKeyCondition("sk", "begins_with", ({"S": "x"},))
    numbers = plan("SELECT * FROM t WHERE pk = 'a' AND sk = 'text'").queries[0]
    assert numbers.range is None and numbers.filter == ast.Compare("=", P("sk"), L({"S": "text"}))


def test_without_a_partition_key_equality_it_scans():
    got = plan("SELECT * FROM t WHERE pk > 'a' OR x = 1")
    assert got.queries == () and got.scan.filter == ast.Or(
        ast.Compare(">", P("pk"), L({"S": "a"})), ast.Compare("=", P("x"), L({"N": "1"})))
    assert plan("SELECT * FROM t").scan.filter is None


@pytest.mark.parametrize("text, message", [
    ("SELECT * FROM t ORDER BY sk", "Must have WHERE clause in the statement when using ORDER BY clause."),
    ("SELECT * FROM t WHERE x = 1 ORDER BY sk",
     "Must have at least one non-optional hash key condition in WHERE clause when using ORDER BY clause."),
    ("SELECT * FROM t WHERE pk = 'a' ORDER BY x", "Variable reference x in ORDER BY clause must be part of the primary key"),
    ("SELECT * FROM t WHERE pk IN ['a', 'b'] ORDER BY sk",
     "Must have hash key in ORDER BY clause when more than one hash key condition specified in WHERE clause."),
    ("SELECT * FROM t WHERE pk = 1", "Key attribute's data type should match its data type in table's schema: Key pk"),
    ("SELECT a.z, b.z FROM t", "Duplicate identifiers in select clause: z"),
    ("SELECT * FROM t WHERE pk IN [" + ", ".join(f"'{i}'" for i in range(51)) + "]",
     "Too many decomposed read operations for a given query."),
    ("SELECT * FROM t WHERE a BETWEEN 2 AND 1",
     "Invalid FilterExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower "
     "bound; lower bound operand: AttributeValue: {N:2}, upper bound operand: AttributeValue: {N:1}"),
])
def test_select_errors(text, message):
    assert failure(plan, text) == ("ValidationException", message)


def test_single_item_selects():
    assert key_read(prepare("SELECT * FROM t WHERE sk = 1 AND pk = 'a'"), SCHEMA) == {
        "pk": {"S": "a"}, "sk": {"N": "1"}}
    for where in ("pk = 'a'", "pk = 'a' AND sk = 1 AND x = 2", "pk = 'a' AND sk > 1"):
        assert failure(key_read, prepare(f"SELECT * FROM t WHERE {where}"), SCHEMA) == (
            "ValidationException", "Only single item select is supported")


# --- results -------------------------------------------------------------------------------------


def test_projection_labels_are_the_last_name():
    item = {"a": {"M": {"b": {"S": "x"}}}, "l": {"L": [{"N": "1"}, {"N": "2"}]}, "m.z": {"S": "dot"}}
    paths = (P("a", "b"), P("l", 1), P("m.z"), P("missing"), P("a", "nope"))
    assert [label(p) for p in paths[:3]] == ["b", "l[1]", "m.z"]
    assert project(paths, item) == {"b": {"S": "x"}, "l[1]": {"N": "2"}, "m.z": {"S": "dot"}}
    assert project(None, item) is item


def test_next_tokens_round_trip_and_are_checked():
    request = digest("SELECT * FROM t", [{"S": "x"}])
    assert request != digest("SELECT * FROM t", [{"S": "y"}])
    token = encode_token(request, 2, {"pk": {"S": "a"}, "sk": {"N": "01"}})
    assert decode_token(token, request) == (2, {"pk": {"S": "a"}, "sk": {"N": "1"}})
    assert decode_token(encode_token(request, 0, None), request) == (0, None)
    assert failure(decode_token, token, digest("SELECT 1", None)) == (
        "ValidationException", "NextToken does not match request")
    for bad in ("not a token!", "e30=", encode_token(request, -1, None), encode_token(request, 0, {"pk": "raw"})):
        assert failure(decode_token, bad, request) == ("ValidationException", "Invalid NextToken")


# --- IAM -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, name, leading", [
    ("SELECT * FROM t WHERE pk IN ['a', 'b'] AND x = 1", "dynamodb:PartiQLSelect", [{"S": "a"}, {"S": "b"}]),
    ("SELECT * FROM t WHERE x = 1", "dynamodb:PartiQLSelect", None),
    ("INSERT INTO t VALUE {'pk': 'n', 'sk': 1}", "dynamodb:PartiQLInsert", [{"S": "n"}]),
    ("UPDATE t SET y = 1 WHERE pk = 'u' AND sk = 1", "dynamodb:PartiQLUpdate", [{"S": "u"}]),
    ("DELETE FROM t WHERE pk = 'd' AND sk = 1", "dynamodb:PartiQLDelete", [{"S": "d"}]),
    ("EXISTS(SELECT * FROM t WHERE pk = 'e' AND sk = 1)", "dynamodb:PartiQLSelect", [{"S": "e"}]),
])
def test_permissions(text, name, leading):
    statement = prepare(text)
    assert permissions.action(statement) == name
    assert permissions.leading_keys(statement, SCHEMA) == leading


def test_attribute_names_of_a_statement():
    assert permissions.attribute_names(prepare("UPDATE t SET a.b = c REMOVE d[1] WHERE pk = 'u' AND e = 1")) == (
        "a", "c", "d", "e", "pk")
    assert permissions.attribute_names(prepare("INSERT INTO t VALUE {'pk': 'n', 'x': 1}")) == ("pk", "x")
    assert permissions.attribute_names(prepare("SELECT a.b FROM t WHERE pk = 'a'")) == ("a", "pk")
