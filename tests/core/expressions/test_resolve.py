"""Placeholder resolution and static validation, through ExpressionContext (the public API)."""

import pytest

from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import ExpressionContext, ast
from dynamoray.core.expressions.parser import CONDITION, parse
from dynamoray.core.expressions.resolve import resolve_condition

P = lambda *elements: ast.Path(tuple(elements))  # noqa: E731
L = ast.Literal

VALUES = {
    ":s": {"S": "a"}, ":n": {"N": "01.50"}, ":b": {"B": "YQ=="}, ":bool": {"BOOL": True},
    ":null": {"NULL": True}, ":ss": {"SS": ["a"]}, ":ns": {"NS": ["1"]}, ":bs": {"BS": ["YQ=="]},
    ":m": {"M": {}}, ":l": {"L": []}, ":one": {"N": "1"}, ":five": {"N": "5"}, ":t": {"S": "SS"},
}


def ctx(names=None, values=None):
    return ExpressionContext(names, values if values is not None else dict(VALUES))


def fails(call):
    with pytest.raises(DynamoError) as info:
        call()
    assert info.value.error_type == "ValidationException"
    return info.value.message


# --- the attribute name and value maps ---------------------------------------------------------------


def test_empty_maps_are_refused():
    assert fails(lambda: ExpressionContext({}, {":a": {"S": "x"}})) == "ExpressionAttributeNames must not be empty"
    assert fails(lambda: ExpressionContext({"#a": "a"}, {})) == "ExpressionAttributeValues must not be empty"
    assert fails(lambda: ExpressionContext({}, {})) == "ExpressionAttributeNames must not be empty"


@pytest.mark.parametrize("key", ["a", "#", "#a-b", ":a", "# a"])
def test_invalid_name_keys(key):
    assert fails(lambda: ExpressionContext({key: "x"}, None)) == (
        f'ExpressionAttributeNames contains invalid key: Syntax error; key: "{key}"')


def test_invalid_value_keys_are_found_before_invalid_values():
    message = fails(lambda: ExpressionContext(None, {":b": {"a": ""}, "b": {"S": "a"}}))
    assert message == 'ExpressionAttributeValues contains invalid key: Syntax error; key: "b"'


def test_invalid_values_name_their_key():
    assert fails(lambda: ExpressionContext(None, {":b": {}})) == (
        "ExpressionAttributeValues contains invalid value: Supplied AttributeValue is empty, must contain "
        "exactly one of the supported datatypes for key :b")
    assert fails(lambda: ExpressionContext(None, {":b": {"SS": []}})) == (
        "ExpressionAttributeValues contains invalid value: One or more parameter values were invalid: "
        "An string set  may not be empty for key :b")


def test_values_are_normalized():
    assert ctx().condition("a = :n") == ast.Compare("=", P("a"), L({"N": "1.5"}))


# --- resolution ----------------------------------------------------------------------------------


def test_placeholders_are_substituted_everywhere():
    c = ctx({"#a": "a.b", "#k": "key"})
    assert c.condition("#a.#k[2] = :s") == ast.Compare("=", P("a.b", "key", 2), L({"S": "a"}))
    assert c.update("SET #a = list_append(#a, :l) REMOVE #k") == ast.Update(
        sets=(ast.SetAction(P("a.b"), ast.ListAppend(P("a.b"), L({"L": []}))),),
        removes=(ast.RemoveAction(P("key")),))
    assert c.projection("#a, #k.x") == ast.Projection((P("a.b"), P("key", "x")))


def test_resolution_reports_what_it_used():
    names, values = {"#a": "a", "#b": "b"}, {":v": {"S": "x"}, ":w": {"S": "y"}}
    resolution = resolve_condition(parse("#a = :v", CONDITION), names, values, CONDITION)
    assert resolution.names == {"#a"} and resolution.values == {":v"}
    assert resolution.node == ast.Compare("=", P("a"), L({"S": "x"}))


def test_unused_placeholders_across_expressions():
    c = ctx({"#a": "a", "#b": "b", "#c": "c"}, {":s": {"S": "x"}, ":t": {"S": "y"}, ":u": {"S": "z"}})
    c.update("SET #a = :s")
    c.condition("#b <> :t")
    assert fails(c.check_unused) == "Value provided in ExpressionAttributeNames unused in expressions: keys: {#c}"
    c.projection("#c")
    assert fails(c.check_unused) == "Value provided in ExpressionAttributeValues unused in expressions: keys: {:u}"
    c.condition("a = :u", "FilterExpression")
    c.check_unused()


def test_unused_lists_every_key():
    c = ExpressionContext({"#a": "a", "#b": "b"}, None)
    c.update("REMOVE a")
    assert fails(c.check_unused) == "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a, #b}"


@pytest.mark.parametrize("call, message", [
    (lambda c: c.condition("#x = :s"), "Invalid ConditionExpression: An expression attribute name used in the "
     "document path is not defined; attribute name: #x"),
    (lambda c: c.condition("a = :nope", "FilterExpression"), "Invalid FilterExpression: An expression attribute "
     "value used in expression is not defined; attribute value: :nope"),
    (lambda c: c.update("SET a = if_not_exists(b, :nope)"), "Invalid UpdateExpression: An expression attribute "
     "value used in expression is not defined; attribute value: :nope"),
    (lambda c: c.projection("a.#x"), "Invalid ProjectionExpression: An expression attribute name used in the "
     "document path is not defined; attribute name: #x"),
])
def test_undefined_placeholders(call, message):
    assert fails(lambda: call(ctx())) == message


def test_undefined_value_without_any_values_map():
    assert fails(lambda: ExpressionContext(None, None).condition("foo=:foo")) == (
        "Invalid ConditionExpression: An expression attribute value used in expression is not defined; "
        "attribute value: :foo")


# --- constant operand types ------------------------------------------------------------------------


def operand_type(kind, name, type_name):
    return (f"Invalid {kind}: Incorrect operand type for operator or function; operator or function: {name}, "
            f"operand type: {type_name}")


@pytest.mark.parametrize("value, type_name", [(":n", "N"), (":bool", "BOOL"), (":null", "NULL"),
                                              (":l", "L"), (":m", "M"), (":ss", "SS"), (":ns", "NS"), (":bs", "BS")])
def test_begins_with_needs_a_string_or_binary(value, type_name):
    assert fails(lambda: ctx().condition(f"begins_with(a, {value})")) == operand_type(
        "ConditionExpression", "begins_with", type_name)
    assert fails(lambda: ctx().condition(f"begins_with({value}, a)")) == operand_type(
        "ConditionExpression", "begins_with", type_name)


def test_begins_with_accepts_strings_binaries_and_paths():
    assert ctx().condition("begins_with(a, :b)") == ast.BeginsWith(P("a"), L({"B": "YQ=="}))
    assert ctx().condition("begins_with(a, b) AND begins_with(c, :s)").right == ast.BeginsWith(P("c"), L({"S": "a"}))
    assert fails(lambda: ctx().condition("begins_with(a, size(b))")) == operand_type(
        "ConditionExpression", "begins_with", "N")


@pytest.mark.parametrize("op", ["<", "<=", ">", ">="])
@pytest.mark.parametrize("value, type_name", [(":l", "L"), (":m", "M"), (":ss", "SS"), (":bool", "BOOL"),
                                              (":null", "NULL")])
def test_ordering_needs_scalars(op, value, type_name):
    assert fails(lambda: ctx().condition(f"a {op} {value}")) == operand_type("ConditionExpression", op, type_name)


def test_equality_works_on_every_type_and_ordering_on_scalars():
    assert ctx().condition("a = :m AND b <> :l").left == ast.Compare("=", P("a"), L({"M": {}}))
    assert ctx().condition("a < :b").right == L({"B": "YQ=="})
    assert ctx().condition("size(a) >= :n") == ast.Compare(">=", ast.Size(P("a")), L({"N": "1.5"}))


@pytest.mark.parametrize("value, type_name", [(":n", "N"), (":bool", "BOOL"), (":null", "NULL")])
def test_size_of_a_constant_needs_a_sized_type(value, type_name):
    assert fails(lambda: ctx().condition(f"size({value}) > a")) == operand_type("ConditionExpression", "size", type_name)
    assert fails(lambda: ctx().condition("size(size(a)) > :n")) == operand_type("ConditionExpression", "size", "N")


def test_size_of_a_constant_is_folded():
    c = ctx(values={":s": {"S": "héllo"}, ":ss": {"SS": ["a", "b"]}, ":b": {"B": "YWJj"}, ":n": {"N": "5"}})
    assert c.condition("size(:s) = :n").left == L({"N": "5"})
    assert c.condition("size(:ss) < :n").left == L({"N": "2"})
    assert c.condition("size(:b) < :n").left == L({"N": "3"})


def test_attribute_type_names():
    assert ctx().condition("attribute_type(a, :t)") == ast.AttributeType(P("a"), L({"S": "SS"}))
    assert fails(lambda: ctx(values={":t": {"S": "STRING"}}).condition("attribute_type(a, :t)")) == (
        "Invalid ConditionExpression: Invalid attribute type name found; type: STRING, "
        "valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}")
    assert fails(lambda: ctx().condition("attribute_type(a, :n)")) == operand_type(
        "ConditionExpression", "attribute_type", "N")
    assert fails(lambda: ctx().condition("attribute_type(a, size(b))")) == operand_type(
        "ConditionExpression", "attribute_type", "N")
    assert fails(lambda: ctx().condition("attribute_type(a, b)")) == operand_type(
        "ConditionExpression", "attribute_type", "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}")


def test_between_bounds():
    assert ctx().condition("a BETWEEN :one AND :five") == ast.Between(P("a"), L({"N": "1"}), L({"N": "5"}))
    assert ctx().condition("a BETWEEN :one AND :one").low == L({"N": "1"})
    assert fails(lambda: ctx().condition("a BETWEEN :five AND :one")) == (
        "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to "
        "lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}")
    assert fails(lambda: ctx().condition("a BETWEEN :one AND :s")) == (
        "Invalid ConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; "
        "lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:a}")
    assert fails(lambda: ctx().condition("a BETWEEN :m AND :m")) == operand_type("ConditionExpression", "BETWEEN", "M")


@pytest.mark.parametrize("text, operator, path", [
    ("a = a AND #a = b AND :s > a", "=", "[a]"),
    ("#a <> a", "<>", "[a]"),
    ("a > #a", ">", "[a]"),
    ("contains(ab.bc[1].a, ab.bc[1].#a)", "contains", "[ab, bc, [1], a]"),
    ("attribute_type(ab.bc[1].#a, ab.bc[1].a)", "attribute_type", "[ab, bc, [1], a]"),
    ("begins_with(ab.bc[1].a, ab.bc[1].#a)", "begins_with", "[ab, bc, [1], a]"),
    ("a IN (b, a)", "IN", "[a]"),
])
def test_operands_must_be_distinct(text, operator, path):
    assert fails(lambda: ctx({"#a": "a"}).condition(text, "FilterExpression")) == (
        "Invalid FilterExpression: The first operand must be distinct from the remaining operands for this "
        f"operator or function; operator: {operator}, first operand: {path}")


def test_equal_constants_are_fine():
    assert ctx().condition(":s = :s") == ast.Compare("=", L({"S": "a"}), L({"S": "a"}))


def test_function_operand_errors_raised_in_resolve():
    assert fails(lambda: ctx().condition("attribute_exists(things, a) and a=:s")) == (
        "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: "
        "attribute_exists, number of operands: 2")
    assert fails(lambda: ctx().condition("attribute_exists(:s) and a=:s")) == (
        "Invalid ConditionExpression: Operator or function requires a document path; operator or function: "
        "attribute_exists")
    assert fails(lambda: ctx().condition("size(a, b) > :n")).endswith("function: size, number of operands: 2")


def test_resolve_error_ranking_in_conditions():
    # undefined placeholders beat operand counts, which beat distinct operands, then types
    assert fails(lambda: ctx().condition("attribute_exists(#P.RearView, :s) and a=a")).endswith("attribute name: #P")
    assert fails(lambda: ctx().condition("begins_with(a, :n) AND b = b AND contains(c)")).endswith(
        "number of operands: 1")
    assert fails(lambda: ctx().condition("begins_with(a, :n) AND b = b")).endswith("first operand: [b]")
    assert fails(lambda: ctx().condition("attribute_not_exists(size(:n))")).endswith("function: size, operand type: N")
    assert fails(lambda: ctx().condition("attribute_not_exists(size(:s))")).endswith(
        "requires a document path; operator or function: attribute_not_exists")


# --- updates -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value, action, type_name", [
    (":s", "ADD", "STRING"), (":s", "DELETE", "STRING"), (":null", "ADD", "NULL"), (":bool", "DELETE", "BOOLEAN"),
    (":b", "ADD", "BINARY"), (":m", "DELETE", "MAP"), (":l", "ADD", "LIST"), (":n", "DELETE", "NUMBER"),
])
def test_add_and_delete_operand_types(value, action, type_name):
    assert fails(lambda: ctx().update(f"{action} a.b {value}")) == (
        "Invalid UpdateExpression: Incorrect operand type for operator or function; "
        f"operator: {action}, operand type: {type_name}")


def test_add_takes_numbers_and_sets_delete_takes_sets():
    upd = ctx().update("ADD a :n, b :ss DELETE c :ns, d :bs")
    assert upd.adds == (ast.AddAction(P("a"), L({"N": "1.5"})), ast.AddAction(P("b"), L({"SS": ["a"]})))
    assert upd.deletes[1] == ast.DeleteAction(P("d"), L({"BS": ["YQ=="]}))


@pytest.mark.parametrize("text, name, type_name", [
    ("set a = list_append(:s, a)", "list_append", "S"),
    ("set a = list_append(a, :n)", "list_append", "N"),
    ("set a = list_append(:m, a)", "list_append", "M"),
    ("set a = a + :s", "+", "S"),
    ("set a = :s + :b", "+", "S"),
    ("set a = :b - a", "-", "B"),
    ("set a = a - :ns", "-", "NS"),
    ("set a = a + :l", "+", "L"),
])
def test_set_function_operand_types(text, name, type_name):
    assert fails(lambda: ctx().update(text)) == operand_type("UpdateExpression", name, type_name)


def test_set_values_resolve():
    upd = ctx().update("SET a = if_not_exists(a, :n) + :one, b = list_append(:l, b)")
    assert upd.sets == (
        ast.SetAction(P("a"), ast.Arithmetic("+", ast.IfNotExists(P("a"), L({"N": "1.5"})), L({"N": "1"}))),
        ast.SetAction(P("b"), ast.ListAppend(L({"L": []}), P("b"))),
    )


@pytest.mark.parametrize("text, one, two", [
    ("set d[1] = a, d.b = a, c[1].a = a, #c = if_not_exists(a)", "[c, [1], a]", "[c]"),
    ("set #c[3].#d = a, #c[3] = a", "[c, [3], [3]]", "[c, [3]]"),
    ("set a = :s remove a", "[a]", "[a]"),
    ("remove a.b add a :n", "[a, b]", "[a]"),
])
def test_overlapping_update_paths(text, one, two):
    assert fails(lambda: ctx({"#c": "c", "#d": "[3]"}).update(text)) == (
        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of "
        f"these paths; path one: {one}, path two: {two}")


@pytest.mark.parametrize("text, one, two", [
    ("set #c[3].#d = a, #c.#d[3] = :s", "[c, [3], [3]]", "[c, [3], [3]]"),
    ("remove a.#c set a[1] = :s", "[a, c]", "[a, [1]]"),
])
def test_conflicting_update_paths(text, one, two):
    assert fails(lambda: ctx({"#c": "c", "#d": "[3]"}).update(text)) == (
        "Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of "
        f"these paths; path one: {one}, path two: {two}")


def test_siblings_do_not_overlap():
    upd = ctx().update("SET a.b = :s, a.c = :s, a.l[0] = :s, a.l[1] = :s REMOVE x")
    assert [str(action.path) for action in upd.sets] == ["a.b", "a.c", "a.l[0]", "a.l[1]"]


def test_update_error_ranking():
    # an undefined name beats an undefined value, which beats overlaps, then conflicts, types, functions
    assert fails(lambda: ctx().update("SET a = :nope, #x = :s")).endswith("attribute name: #x")
    assert fails(lambda: ctx().update("SET a = :nope, a = :s")).endswith("attribute value: :nope")
    assert fails(lambda: ctx().update("SET b.c = :s, b[1] = :s, a = :s, a = :s")).startswith(
        "Invalid UpdateExpression: Two document paths overlap")
    assert fails(lambda: ctx().update("SET b.c = :s, b[1] = :s ADD d :s")).startswith(
        "Invalid UpdateExpression: Two document paths conflict")
    assert fails(lambda: ctx().update("SET a = if_not_exists(c) ADD d :s")).endswith("operand type: STRING")


# --- projections --------------------------------------------------------------------------------------


def test_projection_overlaps_and_conflicts():
    assert fails(lambda: ctx().projection("a, b, a")) == (
        "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one "
        "of these paths; path one: [a], path two: [a]")
    assert fails(lambda: ctx().projection("a.b, a[0]")) == (
        "Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one "
        "of these paths; path one: [a, b], path two: [a, [0]]")
    assert ctx().projection("a.b, a.c, d[0], d[1]").paths == (P("a", "b"), P("a", "c"), P("d", 0), P("d", 1))


def test_condition_kind_must_be_a_condition():
    with pytest.raises(ValueError):
        ctx().condition("a = :s", "UpdateExpression")


def depth(node):
    if isinstance(node, (ast.And, ast.Or)):
        return 1 + max(depth(node.left), depth(node.right))
    if isinstance(node, ast.Not):
        return 1 + depth(node.operand)
    return 0


def test_negations_cancel_in_pairs():
    leaf = ast.Compare("=", P("a"), L({"S": "a"}))
    assert ctx().condition("NOT NOT a = :s") == leaf
    assert ctx().condition("NOT NOT NOT a = :s") == ast.Not(leaf)
    assert ctx().condition("NOT " * 1000 + "a = :s") == leaf


def test_long_chains_resolve_into_shallow_trees():
    resolved = ctx().condition("(a=:s)" + "OR(a=:s)" * 500)
    assert depth(resolved) <= 40

    def leaves(node):
        return leaves(node.left) + leaves(node.right) if isinstance(node, ast.Or) else [node]

    assert leaves(resolved) == [ast.Compare("=", P("a"), L({"S": "a"}))] * 501


def test_short_chains_keep_their_parsed_shape():
    a, b, c = (ast.Compare("=", P(x), L({"S": "a"})) for x in "abc")
    assert ctx().condition("a = :s AND b = :s AND c = :s") == ast.And(ast.And(a, b), c)


def test_undefined_placeholders_reported_in_text_order_in_long_chains():
    text = " AND ".join(f"a{i} = :s" for i in range(100)) + " AND b = :x1 AND c = :x2"
    assert fails(lambda: ctx().condition(text)).endswith("attribute value: :x1")
