"""PartiQL front-end, phases 1-3: tokens, the statement grammar, and binding parameters."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynamoray.core import values
from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import ast
from dynamoray.core.partiql import bind, parse, prepare, render
from dynamoray.core.partiql.reserved import is_reserved
from dynamoray.core.partiql.syntax import (
    Assignment, Delete, Exists, Insert, ListValue, MapValue, OrderKey, Param, Select, SetFunction, Source,
    Update,
)
from dynamoray.core.partiql.tokens import EOF, IDENT, NUMBER, PARAM, PUNCT, QUOTED, STRING, tokenize

P = lambda *elements: ast.Path(tuple(elements))  # noqa: E731
L = ast.Literal
SYNTAX = "Statement wasn't well formed, can't be processed: "


def error(text, parameters=None):
    with pytest.raises(DynamoError) as info:
        prepare(text, parameters)
    assert info.value.error_type == "ValidationException"
    return info.value.message


def statement(text, parameters=None):
    return prepare(text, parameters)


# --- tokens --------------------------------------------------------------------------------------


def test_tokens_kinds_and_values():
    tokens = tokenize('''SELECT "a ""b""" FROM t WHERE x = 'it''s' AND n <> -1.5e3 -- note
        AND y != ? /* c */ AND s = <<1>>;''')
    kinds = [(t.kind, t.value) for t in tokens]
    assert kinds == [
        (IDENT, "SELECT"), (QUOTED, 'a "b"'), (IDENT, "FROM"), (IDENT, "t"), (IDENT, "WHERE"), (IDENT, "x"),
        (PUNCT, "="), (STRING, "it's"), (IDENT, "AND"), (IDENT, "n"), (PUNCT, "<>"), (PUNCT, "-"),
        (NUMBER, "1.5e3"), (IDENT, "AND"), (IDENT, "y"), (PUNCT, "!="), (PARAM, "?"), (IDENT, "AND"),
        (IDENT, "s"), (PUNCT, "="), (PUNCT, "<<"), (NUMBER, "1"), (PUNCT, ">>"), (PUNCT, ";"), (EOF, ""),
    ]


@pytest.mark.parametrize("text, detail", [
    ("SELECT * FROM t WHERE a = 'open", "Invalid literal"),
    ('SELECT * FROM "t', "Invalid literal"),
    ("SELECT * FROM t WHERE a = #x", "Invalid character"),
    ("SELECT * FROM t WHERE a = 1 /* never closed", "Invalid literal"),
])
def test_lexical_errors(text, detail):
    assert error(text) == SYNTAX + detail


# --- SELECT --------------------------------------------------------------------------------------


def test_select_star_and_projection():
    assert statement('SELECT * FROM "Music"') == Select(Source("Music"))
    assert statement("select a, b.c, l[2], m['k'] from Music;") == Select(
        Source("Music"), (P("a"), P("b", "c"), P("l", 2), P("m", "k")))


def test_select_from_index_where_order_by():
    got = statement('SELECT * FROM "T"."by-date" WHERE pk = 1 ORDER BY pk, sk DESC')
    assert got == Select(Source("T", "by-date"), None, ast.Compare("=", P("pk"), L({"N": "1"})),
                         (OrderKey("pk"), OrderKey("sk", True)))


def test_where_operators_and_precedence():
    got = statement("SELECT * FROM t WHERE a = 1 OR NOT b < 2 AND c BETWEEN 'x' AND 'y'").where
    assert got == ast.Or(
        ast.Compare("=", P("a"), L({"N": "1"})),
        ast.And(ast.Not(ast.Compare("<", P("b"), L({"N": "2"}))),
                ast.Between(P("c"), L({"S": "x"}), L({"S": "y"}))))
    assert statement("SELECT * FROM t WHERE (a = 1 OR b = 2) AND c != 3").where == ast.And(
        ast.Or(ast.Compare("=", P("a"), L({"N": "1"})), ast.Compare("=", P("b"), L({"N": "2"}))),
        ast.Compare("<>", P("c"), L({"N": "3"})))


def test_where_functions_in_and_is():
    where = statement(
        "SELECT * FROM t WHERE begins_with(a, 'x') AND CONTAINS(s, 'y') AND attribute_type(n, 'N') "
        "AND size(l) > 2 AND k IN [1, 2] AND j NOT IN (3) AND m IS MISSING AND o IS NOT MISSING "
        "AND p IS NULL AND q IS NOT NULL AND attribute_exists(r) AND attribute_not_exists(s2)").where
    parts = []
    while isinstance(where, ast.And):
        parts.insert(0, where.right)
        where = where.left
    parts.insert(0, where)
    null = L({"S": "NULL"})
    assert parts == [
        ast.BeginsWith(P("a"), L({"S": "x"})), ast.Contains(P("s"), L({"S": "y"})),
        ast.AttributeType(P("n"), L({"S": "N"})), ast.Compare(">", ast.Size(P("l")), L({"N": "2"})),
        ast.In(P("k"), (L({"N": "1"}), L({"N": "2"}))), ast.Not(ast.In(P("j"), (L({"N": "3"}),))),
        ast.AttributeNotExists(P("m")), ast.AttributeExists(P("o")), ast.AttributeType(P("p"), null),
        ast.Not(ast.AttributeType(P("q"), null)), ast.AttributeExists(P("r")), ast.AttributeNotExists(P("s2")),
    ]


@pytest.mark.parametrize("text, message", [
    ("SELECT DISTINCT a FROM t", "Unsupported token in expression: DISTINCT"),
    ("SELECT * FROM t LIMIT 2", "Unsupported clause: LIMIT"),
    ("SELECT * FROM t GROUP BY a", "Unsupported clause: GROUP BY"),
    ("SELECT a AS b FROM t", "Aliasing is not supported"),
    ("SELECT * FROM t AS x", "Aliasing is not supported"),
    ("SELECT * FROM t x", "Aliasing is not supported"),
    ("SELECT *, a FROM t", "Other attributes should not be present in the projection when '*' is used."),
    ("SELECT a, * FROM t", "Other attributes should not be present in the projection when '*' is used."),
    ("SELECT * FROM a, b", "Only select from a single table or index is supported."),
    ('SELECT * FROM "a"."b"."c"', "A path may contain at most 2 components in the FROM clause"),
    ("SELECT * FROM t WHERE a = MISSING", "MISSING must be compared using IS operator"),
    ("SELECT * FROM t WHERE a IN []", "IN operator must have a left hand argument of type Variable Reference "
                                      "and right hand argument of type Seq with at least one member"),
    ("SELECT * FROM t WHERE 1 IN [1]", "IN operator must have a left hand argument of type Variable Reference "
                                       "and right hand argument of type Seq with at least one member"),
    ("SELECT * FROM t WHERE upper(a) = 'A'", "Unrecognized function: upper"),
    ("SELECT * FROM t WHERE list_append(a, b) = c", "Unsupported operation: list_append"),
    ("SELECT size(a) FROM t", "Unsupported operation: size"),
    ("SELECT count(*) FROM t", SYNTAX + "Unexpected keyword"),
    ("SELECT * FROM t WHERE value = 1", SYNTAX + "Unexpected keyword"),
    ("SELECT * FROM t WHERE a = 1 b", SYNTAX + "Unexpected token"),
    ("SELECT * FROM t WHERE a", SYNTAX + "Unexpected token"),
    ("SELECT * FROM", SYNTAX + "Unexpected token"),
    ("SELECT * FROM t; SELECT * FROM t", SYNTAX + "Unexpected keyword"),
    ("UPSERT INTO t VALUE {'a': 1}", SYNTAX + "Expected data manipulation"),
    ("", SYNTAX + "Expected data manipulation"),
])
def test_select_errors(text, message):
    assert error(text) == message


def test_reserved_words_are_case_insensitive_and_quotable():
    assert is_reserved("pad") and is_reserved("VALUE") and not is_reserved("Artist")
    assert error("SELECT * FROM t WHERE Pad = 'x'") == SYNTAX + "Unexpected keyword"
    assert statement('SELECT * FROM t WHERE "Pad" = \'x\'').where == ast.Compare("=", P("Pad"), L({"S": "x"}))


# --- writes --------------------------------------------------------------------------------------


def test_insert():
    got = statement("INSERT INTO \"T\" VALUE {'pk': 'a', 'n': 1.50, 's': <<'x', 'y'>>, 'l': [TRUE, null]}")
    assert got == Insert("T", L({"M": {"pk": {"S": "a"}, "n": {"N": "1.5"}, "s": {"SS": ["x", "y"]},
                                       "l": {"L": [{"BOOL": True}, {"NULL": True}]}}}))


def test_update_clauses_in_order():
    got = parse("UPDATE t SET a = 1, b = a + 2 REMOVE c SET d = list_append(d, [1]) "
                "SET s = set_add(s, <<1>>) SET z = set_delete(z, ?) WHERE pk = 'k' RETURNING MODIFIED NEW *").statement
    assert got == Update("t", (
        Assignment(P("a"), L({"N": "1"})),
        Assignment(P("b"), ast.Arithmetic("+", P("a"), L({"N": "2"}))),
        ast.RemoveAction(P("c")),
        Assignment(P("d"), ast.ListAppend(P("d"), L({"L": [{"N": "1"}]}))),
        Assignment(P("s"), SetFunction("ADD", P("s"), L({"NS": ["1"]}))),
        Assignment(P("z"), SetFunction("DELETE", P("z"), Param(0))),
    ), ast.Compare("=", P("pk"), L({"S": "k"})), "UPDATED_NEW")


@pytest.mark.parametrize("clause, mode", [("ALL OLD *", "ALL_OLD"), ("all new *", "ALL_NEW"),
                                          ("MODIFIED OLD *", "UPDATED_OLD"), ("MODIFIED NEW *", "UPDATED_NEW")])
def test_update_returning(clause, mode):
    assert statement(f"UPDATE t SET a = 1 WHERE pk = 1 RETURNING {clause}").returning == mode


def test_delete_and_exists():
    assert statement("DELETE FROM t WHERE pk = 1 RETURNING ALL OLD *") == Delete(
        "t", ast.Compare("=", P("pk"), L({"N": "1"})), "ALL_OLD")
    assert statement("EXISTS(SELECT * FROM t WHERE pk = 1)") == Exists(
        Select(Source("t"), None, ast.Compare("=", P("pk"), L({"N": "1"}))))


@pytest.mark.parametrize("text, message", [
    ("INSERT INTO t VALUES {'a': 1}", 'Unsupported operation: Inserting multiple items in a single statement is '
                                      'not supported, use "INSERT INTO tableName VALUE item" instead'),
    ("INSERT INTO t VALUE <<{'a': 1}>>", 'Unsupported operation: Inserting multiple items in a single statement is '
                                         'not supported, use "INSERT INTO tableName VALUE item" instead'),
    ("INSERT INTO t VALUE 'x'", "Unsupported format in item expression. Please use struct format {...} to "
                                "express item values for insert statement."),
    ("INSERT INTO t VALUE {'a': 1} RETURNING ALL OLD *", "RETURNING is not supported in INSERT"),
    ("INSERT INTO t VALUE {'a': 1, 'a': 2}", "Duplicate keys in tuple. Key: a under item"),
    ("INSERT INTO t.i VALUE {'a': 1}", "This operation is not supported on an index"),
    ("INSERT INTO t VALUE {'s': <<>>}", "Empty bags are not supported"),
    ("INSERT INTO t VALUE {'s': <<1, 'a'>>}", "Unsupported data type in Bag. DynamoDB only supports either "
                                              "numbers or strings in bags"),
    ("INSERT INTO t VALUE {'s': <<?>>}", "Unsupported data type in Bag. DynamoDB only supports either "
                                         "numbers or strings in bags"),
    ("INSERT INTO t VALUE {'s': <<TRUE>>}", "Unsupported data type in Bag. DynamoDB only supports either "
                                            "numbers or strings in bags"),
    ("DELETE FROM t WHERE pk = 1 RETURNING ALL NEW *", "Invalid returning clause: RETURNING ALL NEW *. Only "
                                                       "RETURNING ALL OLD * is allowed in DELETE statements."),
    ("DELETE FROM t WHERE pk = 1 RETURNING MODIFIED OLD *", "Invalid returning clause: RETURNING MODIFIED OLD *. "
                                                            "Only RETURNING ALL OLD * is allowed in DELETE statements."),
    ("UPDATE t SET a = 1 WHERE pk = 1 RETURNING ALL OLD", "Expected '*' after ( MODIFIED | ALL ) ( NEW | OLD ) in "
                                                          "RETURNING clause"),
    ("UPDATE t SET s = set_add(x, <<1>>) WHERE pk = 1", "The first argument to SET_ADD must equal the assignment value"),
    ("UPDATE t SET s = set_delete(s, 1) WHERE pk = 1", "The second argument to SET_DELETE must be a value with type SET"),
    ("UPDATE t SET s = set_add(s) WHERE pk = 1", "SET_ADD must have exactly two arguments"),
    ("UPDATE t SET a = upper(b) WHERE pk = 1", "Unrecognized function: upper"),
    ("UPDATE t WHERE pk = 1", SYNTAX + "Unexpected keyword"),
    ("UPDATE t SET a = 1 WHERE pk = 1 RETURNING SOME OLD *", SYNTAX + "Unexpected keyword"),
    ("DELETE t WHERE pk = 1", SYNTAX + "Unexpected token"),
    ("EXISTS(UPDATE t SET a = 1 WHERE pk = 1)", SYNTAX + "Unexpected keyword"),
])
def test_write_errors(text, message):
    assert error(text) == message


def test_parse_is_memoized():
    assert parse("SELECT * FROM memo") is parse("SELECT * FROM memo")


# --- parameters ------------------------------------------------------------------------------------


def test_parameters_bind_in_text_order():
    parsed = parse("INSERT INTO t VALUE {'pk': ?, 'l': [1, ?], 'm': {'x': ?}}")
    assert parsed.parameters == 3
    assert parsed.statement.item == MapValue((("pk", Param(0)), ("l", ListValue((L({"N": "1"}), Param(1)))),
                                              ("m", MapValue((("x", Param(2)),)))))
    got = bind(parsed, [{"S": "k"}, {"N": "02.0"}, {"B": "AAE="}])
    assert got.item == L({"M": {"pk": {"S": "k"}, "l": {"L": [{"N": "1"}, {"N": "2"}]},
                                "m": {"M": {"x": {"B": "AAE="}}}}})


def test_parameter_count():
    assert error("SELECT * FROM t WHERE a = ? AND b = ?", [{"S": "x"}]) == (
        "Number of parameters in request and statement don't match.")
    assert error("SELECT * FROM t WHERE a = ?") == "Number of parameters in request and statement don't match."
    # more parameters than ``?`` are ignored, as DynamoDB does
    assert statement("SELECT * FROM t WHERE a = ?", [{"S": "x"}, {"S": "y"}]).where == ast.Compare(
        "=", P("a"), L({"S": "x"}))


def test_parameters_are_validated_like_attribute_values():
    assert error("SELECT * FROM t WHERE a = ?", [{"N": "abc"}]) == (
        "The parameter cannot be converted to a numeric value: abc")
    with pytest.raises(DynamoError) as info:
        prepare("SELECT * FROM t WHERE a = ?", [{"NULL": False}])
    assert info.value.message.endswith("Null attribute value types must have the value of true")


# --- literals: render then parse gives the same value ----------------------------------------------

_names = st.text(min_size=1, max_size=6)
_numbers = st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10**9, max_value=10**9)
_scalars = st.one_of(
    st.text(max_size=8).map(lambda s: {"S": s}),
    _numbers.map(lambda d: {"N": values.normalize_number(str(d))}),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.sets(st.text(max_size=5), min_size=1, max_size=4).map(lambda s: {"SS": sorted(s)}),
    st.sets(st.integers(-1000, 1000), min_size=1, max_size=4).map(lambda s: {"NS": [str(n) for n in sorted(s)]}),
)
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4).map(lambda items: {"L": items}),
    st.dictionaries(_names, inner, max_size=4).map(lambda members: {"M": members}),
), max_leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_values)
def test_rendered_literals_parse_back_to_the_same_value(value):
    parsed = prepare(f"SELECT * FROM t WHERE a = {render(value)}")
    assert parsed.where.right == L(value)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_names, _values, max_size=5))
def test_inserted_items_round_trip(item):
    got = prepare(f"INSERT INTO t VALUE {render({'M': item})}")
    assert got.item == L({"M": item})


def test_binding_copies_the_cached_literals():
    first = prepare("INSERT INTO t VALUE {'pk': 'a', 'l': [1]}")
    first.item.value["M"]["l"]["L"].append({"N": "2"})  # a request's values may end up in stored items
    assert prepare("INSERT INTO t VALUE {'pk': 'a', 'l': [1]}").item == L({"M": {"pk": {"S": "a"}, "l": {"L": [{"N": "1"}]}}})
