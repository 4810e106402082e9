"""The one grammar: ASTs for every construct, syntax errors, parse-time checks, and unparse."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import ast
from dynamoray.core.expressions.parser import (
    CONDITION, FILTER, KEY_CONDITION, PROJECTION, UPDATE, Rejected, parse, unparse)
from dynamoray.core.expressions.reserved import RESERVED_WORDS, is_reserved

P = lambda *elements: ast.Path(tuple(elements))  # noqa: E731
N = ast.NamePlaceholder
V = ast.ValuePlaceholder


def cond(text, kind=CONDITION):
    return parse(text, kind)


def error(text, kind=CONDITION):
    with pytest.raises(DynamoError) as info:
        parse(text, kind)
    assert info.value.error_type == "ValidationException"
    return info.value.message


# --- conditions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["=", "<>", "<", "<=", ">", ">="])
def test_comparators(op):
    assert cond(f"a {op} :v") == ast.Compare(op, P("a"), V(":v"))


def test_between_and_in():
    assert cond("a BETWEEN :lo AND :hi") == ast.Between(P("a"), V(":lo"), V(":hi"))
    assert cond("a IN (:x, b, :z)") == ast.In(P("a"), (V(":x"), P("b"), V(":z")))
    assert cond("a in (:x)") == ast.In(P("a"), (V(":x"),))


def test_functions():
    assert cond("attribute_exists(a)") == ast.AttributeExists(P("a"))
    assert cond("attribute_not_exists(#n)") == ast.AttributeNotExists(P(N("#n")))
    assert cond("attribute_type(a, :t)") == ast.AttributeType(P("a"), V(":t"))
    assert cond("begins_with(a, :p)") == ast.BeginsWith(P("a"), V(":p"))
    assert cond("contains(:v, a)") == ast.Contains(V(":v"), P("a"))
    assert cond("size(a.b) > :n") == ast.Compare(">", ast.Size(P("a", "b")), V(":n"))
    assert cond("attribute_exists (a)") == ast.AttributeExists(P("a"))


def test_precedence_not_over_and_over_or():
    a, b, c = (ast.Compare("=", P(x), V(":v")) for x in "abc")
    assert cond("a = :v OR b = :v AND c = :v") == ast.Or(a, ast.And(b, c))
    assert cond("a = :v AND b = :v OR c = :v") == ast.Or(ast.And(a, b), c)
    assert cond("NOT a = :v AND b = :v") == ast.And(ast.Not(a), b)
    assert cond("(a = :v OR b = :v) AND c = :v") == ast.And(ast.Or(a, b), c)
    assert cond("NOT (a = :v OR b = :v)") == ast.Not(ast.Or(a, b))
    assert cond("NOT NOT a = :v") == ast.Not(ast.Not(a))


def test_and_or_chain_left_to_right():
    a, b, c = (ast.Compare("=", P(x), V(":v")) for x in "abc")
    assert cond("a = :v AND b = :v AND c = :v") == ast.And(ast.And(a, b), c)


def test_keywords_are_case_insensitive():
    assert cond("a between :x and :y Or not b in (:z)") == ast.Or(
        ast.Between(P("a"), V(":x"), V(":y")), ast.Not(ast.In(P("b"), (V(":z"),))))


def test_parenthesized_operands_and_paths():
    assert cond("(a) = (:v)") == ast.Compare("=", P("a"), V(":v"))
    assert cond("(a.b).c = :v") == ast.Compare("=", P("a", "b", "c"), V(":v"))
    assert cond("(a = :v)") == ast.Compare("=", P("a"), V(":v"))


def test_document_paths():
    assert cond("a.b[0][12].#c.d = :v").left == P("a", "b", 0, 12, N("#c"), "d")
    assert cond("a . b [ 1 ] = :v").left == P("a", "b", 1)


def test_filter_and_key_condition_share_the_grammar():
    assert cond("a = :v", FILTER) == cond("a = :v", KEY_CONDITION) == cond("a = :v")


def test_function_with_wrong_operand_count_is_rejected_for_resolve():
    node = cond("attribute_exists(a, b)")
    assert isinstance(node, Rejected) and node.category == "operand"
    assert node.error.message == ("Invalid ConditionExpression: Incorrect number of operands for operator "
                                  "or function; operator or function: attribute_exists, number of operands: 2")
    node = cond("attribute_exists(:v)")
    assert node.category == "function"
    assert node.error.message == ("Invalid ConditionExpression: Operator or function requires a document "
                                  "path; operator or function: attribute_exists")


# --- syntax errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("text, token, near", [
    ("foo", "<EOF>", "foo"),
    ("attribute_not_exists(", "<EOF>", "("),
    ("a+:delta<b", "+", "a+:delta"),
    ("a > 4", "4", "> 4"),
    ("things are not gonna be ok", "are", "things are not"),
    ("_hidden = :v", "_", "_hidden"),
    ("a = :v AND __x = :v", "_", "AND __"),
    ("a in b, c", "b", "in b,"),
    ("a in (b,c,)", ")", ",)"),
    ("a > between", "between", "> between"),
    ("asdf[a] = :v", "a", "[a]"),
    ("b[1.5] = :v", ".", "1.5"),
    ("a[-1] = :v", "-", "[-1"),
    ("size(a).b > a", ".", ").b"),
    ("(size(a)).b > a", ".", ").b"),
    ("ü > a", "ü", "ü >"),
    ("a = :v AND", "<EOF>", "AND"),
    ("(a = :v", "<EOF>", ":v"),
    ("a = :v)", ")", ":v)"),
    ("   ", "<EOF>", ""),
])
def test_condition_syntax_errors(text, token, near):
    assert error(text) == f'Invalid ConditionExpression: Syntax error; token: "{token}", near: "{near}"'


@pytest.mark.parametrize("text, token, near", [
    ("ADD hits : incr", ":", "hits : incr"),
    ("INVALID SYNTAX HERE", "INVALID", "INVALID SYNTAX"),
    ("SET path = VALUE 1", "1", "VALUE 1"),
    ("SET a = :v,", "<EOF>", ","),
    ("SET", "<EOF>", "SET"),
    ("set a=set", "set", "=set"),
    ("remove a b", "b", "a b"),
    ("add a b", "b", "a b"),
    ("delete a :v = :w", "=", ":v = :w"),
    ("set a = b + c + d", "+", "c + d"),
    ("set a = b / c", "/", "b / c"),
    ("set a = (b.c).d", ".", ").d"),
    ("SET a[1] = 1", "1", "= 1"),
    ("SET if_not_exists(a, b) = a", "(", "if_not_exists(a"),
])
def test_update_syntax_errors(text, token, near):
    assert error(text, UPDATE) == f'Invalid UpdateExpression: Syntax error; token: "{token}", near: "{near}"'


def test_projection_syntax_errors():
    assert error("a, :v", PROJECTION) == 'Invalid ProjectionExpression: Syntax error; token: ":v", near: ", :v"'
    assert error("my-attr", PROJECTION) == 'Invalid ProjectionExpression: Syntax error; token: "-", near: "my-attr"'


@pytest.mark.parametrize("kind", [CONDITION, FILTER, KEY_CONDITION, UPDATE, PROJECTION])
def test_empty_expression(kind):
    assert error("", kind) == f"Invalid {kind}: The expression can not be empty;"


# --- checks made while parsing ------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "a=a and a > ((views))",
    "(a)between(((b.c)).d)and(c)",
    "a > whatever((:things), ((a)))",
    "a=a AND ((a=a AND a=a)) AND a=a",
    "a=a OR ((a=a OR (a=a OR a=a)))",
])
def test_redundant_parentheses(text):
    assert error(text, FILTER) == "Invalid FilterExpression: The expression has redundant parentheses;"


def test_single_parentheses_are_not_redundant():
    assert cond("((a = :v) OR (b = :v))") == ast.Or(
        ast.Compare("=", P("a"), V(":v")), ast.Compare("=", P("b"), V(":v")))


@pytest.mark.parametrize("text, name", [
    ("a = :v and whatever((:x)) > a", "whatever"),
    ("attRIbute_exIsts(a)", "attRIbute_exIsts"),
    ("ATTRIBUTE_EXISTS(a)", "ATTRIBUTE_EXISTS"),
])
def test_unknown_function(text, name):
    assert error(text) == f"Invalid ConditionExpression: Invalid function name; function: {name}"


@pytest.mark.parametrize("text, name", [
    ("a=a and attribute_exists((views), (#a)) > b", "attribute_exists"),
    ("begins_with(things, a) > b", "begins_with"),
    ("size(contains(a, b)) > a", "contains"),
    ("size(things)", "size"),
    ("a between b and attribute_exists(things)", "attribute_exists"),
    ("a in (b, attribute_exists(things))", "attribute_exists"),
])
def test_function_used_the_wrong_way(text, name):
    assert error(text) == ("Invalid ConditionExpression: The function is not allowed to be used this way "
                           f"in an expression; function: {name}")


def test_update_functions_not_allowed_in_conditions():
    assert error("a = list_append(a, b)") == ("Invalid ConditionExpression: The function is not allowed "
                                              "in a condition expression; function: list_append")
    assert error("if_not_exists(a, :v)") == ("Invalid ConditionExpression: The function is not allowed "
                                             "in a condition expression; function: if_not_exists")


def test_condition_functions_not_allowed_in_updates():
    assert error("SET a = size(b)", UPDATE) == ("Invalid UpdateExpression: The function is not allowed "
                                                "in an update expression; function: size")
    assert error("SET a = attribute_exists(b)", UPDATE) == (
        "Invalid UpdateExpression: The function is not allowed in an update expression; function: attribute_exists")
    assert error("SET a = if_not_exist(a, :v)", UPDATE) == (
        "Invalid UpdateExpression: Invalid function name; function: if_not_exist")


@pytest.mark.parametrize("text, kind, word", [
    ("attribute_exists(views, #a)", FILTER, "views"),
    (":a < abOrT", FILTER, "abOrT"),
    ("a.Date = :v", CONDITION, "Date"),
    (" set #c = :c set abOrt = :v ", UPDATE, "abOrt"),
    (" remove Absolute ", UPDATE, "Absolute"),
    ("a, b.Status", PROJECTION, "Status"),
])
def test_reserved_words(text, kind, word):
    assert error(text, kind) == f"Invalid {kind}: Attribute name is a reserved keyword; reserved keyword: {word}"


def test_reserved_word_list_is_complete_and_case_insensitive():
    assert len(RESERVED_WORDS) == 573
    assert is_reserved("zone") and is_reserved("Abort") and not is_reserved("attr")


def test_paths_nest_at_most_32_levels():
    ok = ".".join(["a"] * 32)
    assert len(cond(f"{ok} = :v").left.elements) == 32
    deep = ok + "[0]"
    assert error(f"{deep} = :v") == (
        "Invalid ConditionExpression: The document path has too many nesting levels; nesting levels: 33")
    assert error(f"REMOVE {deep}", UPDATE).endswith("nesting levels: 33")
    assert error(deep, PROJECTION).endswith("nesting levels: 33")


def test_in_takes_at_most_100_operands():
    options = ", ".join(f":v{i}" for i in range(100))
    assert len(cond(f"a IN ({options})").options) == 100
    assert error(f"a IN ({options}, :x)") == (
        "Invalid ConditionExpression: The IN operator is provided with too many operands; number of operands: 101")


@pytest.mark.parametrize("section, text", [
    ("SET", "set a = #c set c = :d"),
    ("REMOVE", "remove #d set a = b remove e"),
    ("ADD", "add #d :e set a = b add e :f"),
    ("DELETE", "delete #d :e set a = b delete #e :f"),
])
def test_update_section_only_once(section, text):
    assert error(text, UPDATE) == (
        f'Invalid UpdateExpression: The "{section}" section can only be used once in an update expression;')


def test_parse_error_ranking():
    # redundant parentheses beat an unknown function, which beats a misused one, then reserved words
    assert error("date = :v AND foo(a) AND a > ((b))").endswith("redundant parentheses;")
    assert error("date = :v AND size(a) AND foo(a)").endswith("function: foo")
    assert error("date = :v AND size(a)").endswith("function: size")
    # updates: reserved words come first, then functions, then repeated sections
    assert error("SET a = foo(b) SET date = :v", UPDATE).endswith("reserved keyword: date")
    assert error("SET a = foo(b) SET c = :v", UPDATE).endswith("function: foo")


# --- updates and projections ----------------------------------------------------------------------


def test_update_clauses_and_values():
    upd = parse("SET a = :v, b.c[1] = b + :n, d = if_not_exists(d, :z) - :n, e = list_append(e, :l) "
                "REMOVE f, g[2] ADD h :s DELETE #i :t", UPDATE)
    assert upd.sets == (
        ast.SetAction(P("a"), V(":v")),
        ast.SetAction(P("b", "c", 1), ast.Arithmetic("+", P("b"), V(":n"))),
        ast.SetAction(P("d"), ast.Arithmetic("-", ast.IfNotExists(P("d"), V(":z")), V(":n"))),
        ast.SetAction(P("e"), ast.ListAppend(P("e"), V(":l"))),
    )
    assert upd.removes == (ast.RemoveAction(P("f")), ast.RemoveAction(P("g", 2)))
    assert upd.adds == (ast.AddAction(P("h"), V(":s")),)
    assert upd.deletes == (ast.DeleteAction(P(N("#i")), V(":t")),)
    assert upd.clauses == ("SET", "REMOVE", "ADD", "DELETE")


def test_update_clauses_in_any_order_and_case():
    upd = parse("delete d :v remove r add a :w Set s = :x", UPDATE)
    assert upd.clauses == ("DELETE", "REMOVE", "ADD", "SET")
    assert upd == ast.Update((ast.SetAction(P("s"), V(":x")),), (ast.RemoveAction(P("r")),),
                             (ast.AddAction(P("a"), V(":w")),), (ast.DeleteAction(P("d"), V(":v")),))


def test_update_parentheses_and_nested_functions():
    assert parse("SET a = (b + c)", UPDATE).sets[0].value == ast.Arithmetic("+", P("b"), P("c"))
    assert parse("SET a = (b) - (:c)", UPDATE).sets[0].value == ast.Arithmetic("-", P("b"), V(":c"))
    assert parse("SET b = list_append(b, if_not_exists(a, :a))", UPDATE).sets[0].value == ast.ListAppend(
        P("b"), ast.IfNotExists(P("a"), V(":a")))


def test_update_function_operand_problems_are_rejected_for_resolve():
    value = parse("SET a = if_not_exists(c)", UPDATE).sets[0].value
    assert isinstance(value, Rejected) and value.category == "function"
    assert value.error.message.endswith("operator or function: if_not_exists, number of operands: 1")
    value = parse("SET a = if_not_exists(:a, c)", UPDATE).sets[0].value
    assert value.error.message == ("Invalid UpdateExpression: Operator or function requires a document path; "
                                   "operator or function: if_not_exists")


def test_projection():
    assert parse("a, b.c, #d[3], remove", PROJECTION) == ast.Projection(
        (P("a"), P("b", "c"), P(N("#d"), 3), P("remove")))


def test_parse_is_memoized():
    text = "memo_a = :memo AND memo_b <> :memo"
    first = parse(text, CONDITION)
    assert parse(text, CONDITION) is first
    assert parse(text, FILTER) is not first


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        parse("a = :v", "SomethingExpression")


# --- unparse round trip (property) ------------------------------------------------------------------

_KEYWORDS = {"AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE"}
names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,6}", fullmatch=True).filter(
    lambda s: not is_reserved(s) and s.upper() not in _KEYWORDS)
name_refs = st.from_regex(r"#[A-Za-z0-9_]{1,5}", fullmatch=True).map(N)
values = st.from_regex(r":[A-Za-z0-9_]{1,5}", fullmatch=True).map(V)
steps = st.one_of(names, name_refs, st.integers(0, 99))
paths = st.builds(lambda first, rest: P(first, *rest), st.one_of(names, name_refs), st.lists(steps, max_size=4))
operands = st.one_of(paths, values, st.builds(ast.Size, paths))
leaves = st.one_of(
    st.builds(ast.Compare, st.sampled_from(ast.COMPARATORS), operands, operands),
    st.builds(ast.Between, operands, operands, operands),
    st.builds(ast.In, operands, st.lists(operands, min_size=1, max_size=4).map(tuple)),
    st.builds(ast.AttributeExists, paths),
    st.builds(ast.AttributeNotExists, paths),
    st.builds(ast.AttributeType, paths, values),
    st.builds(ast.BeginsWith, operands, operands),
    st.builds(ast.Contains, operands, operands),
)
conditions = st.recursive(leaves, lambda inner: st.one_of(
    st.builds(ast.And, inner, inner), st.builds(ast.Or, inner, inner), st.builds(ast.Not, inner)),
    max_leaves=8)

update_operands = st.recursive(st.one_of(paths, values), lambda inner: st.one_of(
    st.builds(ast.IfNotExists, paths, inner), st.builds(ast.ListAppend, inner, inner)), max_leaves=4)
set_values = st.one_of(update_operands,
                       st.builds(ast.Arithmetic, st.sampled_from("+-"), update_operands, update_operands))


@st.composite
def updates(draw):
    groups = {
        "SET": draw(st.lists(st.builds(ast.SetAction, paths, set_values), max_size=3)),
        "REMOVE": draw(st.lists(st.builds(ast.RemoveAction, paths), max_size=3)),
        "ADD": draw(st.lists(st.builds(ast.AddAction, paths, values), max_size=3)),
        "DELETE": draw(st.lists(st.builds(ast.DeleteAction, paths, values), max_size=3)),
    }
    used = [clause for clause, actions in groups.items() if actions]
    if not used:
        used, groups["REMOVE"] = ["REMOVE"], [ast.RemoveAction(draw(paths))]
    order = tuple(draw(st.permutations(used)))
    return ast.Update(*(tuple(groups[c]) for c in ("SET", "REMOVE", "ADD", "DELETE")), clauses=order)


@settings(max_examples=300)
@given(conditions)
def test_condition_round_trip(node):
    assert parse(unparse(node), CONDITION) == node


@settings(max_examples=200)
@given(updates())
def test_update_round_trip(node):
    parsed = parse(unparse(node), UPDATE)
    assert parsed == node
    assert parsed.clauses == node.clauses


@given(st.lists(paths, min_size=1, max_size=5))
def test_projection_round_trip(path_list):
    node = ast.Projection(tuple(path_list))
    assert parse(unparse(node), PROJECTION) == node


def test_unparse_needs_unresolved_nodes():
    with pytest.raises(TypeError):
        unparse(ast.Compare("=", P("a"), ast.Literal({"N": "1"})))


def test_expressions_are_limited_to_4_kilobytes():
    text = "a = :v" + " AND a = :v" * 371  # 4087 bytes
    assert len(text.encode()) <= 4096 and isinstance(parse(text, CONDITION), ast.And)
    long = "é" * 2047 + " = :v"  # 4099 bytes in UTF-8, fewer characters
    assert error(long) == ("Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; "
                           "expression size: 4099")
    assert error("REMOVE " + "a, " * 1400 + "a", UPDATE).startswith(
        "Invalid UpdateExpression: Expression size has exceeded the maximum allowed size; expression size: ")


def test_long_negation_chains_parse_without_recursion():
    node = parse("NOT " * 1000 + "a = :v", CONDITION)
    for _ in range(1000):
        assert isinstance(node, ast.Not)
        node = node.operand
    assert node == ast.Compare("=", P("a"), V(":v"))
