"""Condition evaluation over resolved ASTs (built directly, without the parser)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamoray.core import values
from dynamoray.core.expressions import ast
from dynamoray.core.expressions.evaluate import (
    evaluate_condition,
    get_path,
    operand_value,
    size_of,
)


def P(*elements):
    return ast.Path(tuple(elements))


def V(python_value):
    return ast.Literal(values.from_python(python_value))


def B(raw: bytes):
    return {"B": base64.b64encode(raw).decode()}


def holds(cond, item):
    return evaluate_condition(cond, item)


ITEM = values.item_from_python({
    "pk": "k",
    "n": 10,
    "s": "cat",
    "bool": True,
    "null": None,
    "list": [2, "dog", [3, 4], {7}],
    "map": {"x": 1, "y": {"z": "deep"}, "l": [0, 1, 2]},
    "ss": {"a", "b"},
    "ns": {1, 2, 3},
    "bs": {b"\x01", b"\x02"},
})
ITEM["bin"] = B(b"hi there")


# --- paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path, expected", [
    (P("n"), {"N": "10"}),
    (P("map", "x"), {"N": "1"}),
    (P("map", "y", "z"), {"S": "deep"}),
    (P("map", "l", 2), {"N": "2"}),
    (P("list", 2, 1), {"N": "4"}),
    (P("missing"), None),
    (P("map", "nope"), None),
    (P("map", "l", 3), None),  # index past the end
    (P("s", "x"), None),  # a string has no keys
    (P("map", 0), None),  # a map has no indexes
    (P("list", "x"), None),  # a list has no keys
    (P("n", 0), None),
])
def test_get_path(path, expected):
    assert get_path(ITEM, path) == expected


def test_get_path_on_missing_item():
    assert get_path(None, P("a")) is None


def test_operand_value_of_literal_path_and_size():
    assert operand_value(V(5), ITEM) == {"N": "5"}
    assert operand_value(P("s"), ITEM) == {"S": "cat"}
    assert operand_value(ast.Size(P("s")), ITEM) == {"N": "3"}
    assert operand_value(ast.Size(P("missing")), ITEM) is None


def test_operand_value_rejects_unresolved_placeholders():
    with pytest.raises(TypeError):
        operand_value(ast.ValuePlaceholder(":v"), ITEM)


def test_unknown_condition_type_is_rejected():
    with pytest.raises(TypeError):
        evaluate_condition(P("a"), ITEM)  # type: ignore[arg-type]


# --- comparisons -----------------------------------------------------------------------------

SAMPLES = [1, "hello", True, b"xyz", None, ["hello", 42], {"hello": "world"},
           {"hello", "world"}, {1, 2, 3}, {b"xyz", b"hi"}]


@pytest.mark.parametrize("i", range(len(SAMPLES)))
@pytest.mark.parametrize("j", range(len(SAMPLES)))
def test_equality_across_all_types(i, j):
    item = {"a": values.from_python(SAMPLES[i])}
    assert holds(ast.Compare("=", P("a"), V(SAMPLES[j])), item) is (i == j)
    assert holds(ast.Compare("<>", P("a"), V(SAMPLES[j])), item) is (i != j)


def test_set_equality_ignores_order():
    item = {"a": {"SS": ["dog", "chinchilla", "cat", "mouse"]}}
    assert holds(ast.Compare("=", P("a"), ast.Literal({"SS": ["mouse", "cat", "chinchilla", "dog"]})), item)
    assert holds(ast.Compare("=", P("a"), ast.Literal({"NS": ["1"]})), {"a": {"NS": ["1"]}})


def test_list_and_map_equality_is_deep():
    item = values.item_from_python({"l": [1, {"x": {2, 3}}], "m": {"a": [1], "b": "c"}})
    assert holds(ast.Compare("=", P("l"), V([1, {"x": {3, 2}}])), item)
    assert not holds(ast.Compare("=", P("l"), V([{"x": {3, 2}}, 1])), item)
    assert holds(ast.Compare("=", P("m"), V({"b": "c", "a": [1]})), item)
    assert not holds(ast.Compare("=", P("m"), V({"a": [1]})), item)


def test_missing_attribute_compares_false_except_not_equal():
    for op in ("=", "<", "<=", ">", ">="):
        assert not holds(ast.Compare(op, P("q"), V(1)), ITEM)
        assert not holds(ast.Compare(op, V(1), P("q")), ITEM)
    assert holds(ast.Compare("<>", P("q"), V(1)), ITEM)


def test_two_missing_attributes_are_never_equal():
    assert not holds(ast.Compare("=", P("q"), P("z")), ITEM)
    assert holds(ast.Compare("<>", P("q"), P("z")), ITEM)
    for op in ("<", "<=", ">", ">="):
        assert not holds(ast.Compare(op, P("q"), P("z")), ITEM)


@pytest.mark.parametrize("op, right, expected", [
    ("<", 11, True), ("<", 10, False), ("<=", 10, True), ("<=", 9, False),
    (">", 9, True), (">", 10, False), (">=", 10, True), (">=", 11, False),
    ("<", 9, False), (">", 100, False),
])
def test_numbers_order_numerically(op, right, expected):
    assert holds(ast.Compare(op, P("n"), V(right)), ITEM) is expected


def test_numbers_compare_exactly_beyond_float_precision():
    big = "12345678901234567890123456789012345678"
    item = {"a": {"N": big}}
    assert holds(ast.Compare("<", P("a"), ast.Literal({"N": big[:-1] + "9"})), item)
    assert holds(ast.Compare(">", P("a"), ast.Literal({"N": "-1E+125"})), item)


def test_strings_order_by_utf8_bytes():
    assert holds(ast.Compare("<", P("s"), V("dog")), ITEM)
    assert not holds(ast.Compare("<", P("s"), V("aardvark")), ITEM)
    # U+FFFF sorts before U+1D11E in UTF-8 (EF.. < F0..) though not in UTF-16 (FFFF > D834).
    item = {"a": {"S": "\uffff"}}
    assert holds(ast.Compare("<", P("a"), V("\U0001d11e")), item)


def test_binaries_order_as_unsigned_bytes():
    item = {"b": B(bytes([127]))}
    assert holds(ast.Compare("<", P("b"), ast.Literal(B(bytes([128])))), item)
    assert holds(ast.Compare(">", ast.Literal(B(bytes([128]))), P("b")), item)


def test_ordering_between_different_types_is_false():
    assert not holds(ast.Compare("<", P("n"), V("17")), ITEM)
    assert not holds(ast.Compare(">=", P("n"), V("0")), ITEM)


def test_ordering_of_non_scalar_values_is_false():
    item = values.item_from_python({"x": [1, 2, 3], "y": [1, 2, 4], "t": True, "f": False})
    for op in ("<", "<=", ">", ">="):
        assert not holds(ast.Compare(op, P("x"), P("y")), item)
        assert not holds(ast.Compare(op, P("x"), V(1)), item)
        assert not holds(ast.Compare(op, P("f"), P("t")), item)


def test_comparing_two_attributes_of_the_item():
    item = values.item_from_python({"a": 1, "b": 2, "c": {"x": 1, "y": [-1, 2, 0]}})
    assert holds(ast.Compare("<", P("a"), P("b")), item)
    assert holds(ast.Compare("<", P("c", "x"), P("c", "y", 1)), item)
    assert not holds(ast.Compare("<", P("c", "x"), P("c", "y", 0)), item)
    assert not holds(ast.Compare("<", P("c", "z"), P("c", "y", 100)), item)


# --- BETWEEN and IN --------------------------------------------------------------------------


@pytest.mark.parametrize("low, high, expected", [
    (0, 20, True), (10, 10, True), (10, 11, True), (9, 10, True), (11, 20, False),
    (0, 9, False), ("0", "99", False), (20, 0, False),
])
def test_between_is_inclusive_and_typed(low, high, expected):
    assert holds(ast.Between(P("n"), V(low), V(high)), ITEM) is expected


def test_between_strings_binaries_and_attributes():
    assert holds(ast.Between(P("s"), V("aardvark"), V("dog")), ITEM)
    assert holds(ast.Between(P("s"), V("cat"), V("cat")), ITEM)
    assert holds(ast.Between(P("bin"), ast.Literal(B(b"a")), ast.Literal(B(b"z"))), ITEM)
    item = values.item_from_python({"a": 1, "x": 0, "y": 2, "l": [1], "u": [2]})
    assert holds(ast.Between(P("a"), P("x"), P("y")), item)
    assert not holds(ast.Between(P("a"), P("l"), P("u")), item)


def test_between_with_missing_operands_is_false():
    assert not holds(ast.Between(P("q"), V(0), V(100)), ITEM)
    assert not holds(ast.Between(P("n"), P("q"), V(100)), ITEM)
    assert not holds(ast.Between(P("q"), P("z"), P("x")), ITEM)


def test_in_checks_equality_with_any_option():
    assert holds(ast.In(P("n"), (V(1), V(10), V(100))), ITEM)
    assert not holds(ast.In(P("n"), (V(1), V(100))), ITEM)
    assert holds(ast.In(P("n"), (V("dog"), V(10))), ITEM)  # mixed option types are fine
    assert holds(ast.In(P("ss"), (V({"b", "a"}),)), ITEM)
    assert holds(ast.In(P("list", 2), (P("list", 2),)), ITEM)
    assert not holds(ast.In(P("q"), (V(1), P("z"))), ITEM)
    assert not holds(ast.In(P("ns"), (V(1),)), ITEM)  # IN is not membership


# --- functions -------------------------------------------------------------------------------


def test_attribute_exists_and_not_exists():
    assert holds(ast.AttributeExists(P("map", "y", "z")), ITEM)
    assert not holds(ast.AttributeExists(P("map", "q")), ITEM)
    assert holds(ast.AttributeNotExists(P("map", "q")), ITEM)
    assert holds(ast.AttributeExists(P("null")), ITEM)  # a NULL value exists
    assert holds(ast.AttributeNotExists(P("pk")), None)
    assert not holds(ast.AttributeExists(P("pk")), None)


@pytest.mark.parametrize("name, kind", [
    ("s", "S"), ("ss", "SS"), ("n", "N"), ("ns", "NS"), ("bin", "B"), ("bs", "BS"),
    ("bool", "BOOL"), ("null", "NULL"), ("list", "L"), ("map", "M"),
])
def test_attribute_type(name, kind):
    assert holds(ast.AttributeType(P(name), V(kind)), ITEM)
    others = [k for k in values.TYPES if k != kind]
    assert not any(holds(ast.AttributeType(P(name), V(other)), ITEM) for other in others)


def test_attribute_type_of_missing_attribute_is_false():
    assert not holds(ast.AttributeType(P("q"), V("S")), ITEM)


def test_begins_with_strings_and_binaries():
    assert holds(ast.BeginsWith(P("s"), V("ca")), ITEM)
    assert holds(ast.BeginsWith(P("s"), V("")), ITEM)
    assert not holds(ast.BeginsWith(P("s"), V("dog")), ITEM)
    assert holds(ast.BeginsWith(P("bin"), ast.Literal(B(b"hi"))), ITEM)
    assert not holds(ast.BeginsWith(P("bin"), ast.Literal(B(b"there"))), ITEM)
    assert holds(ast.BeginsWith(V("hellohi"), P("s")), {"s": {"S": "he"}})


def test_begins_with_other_types_or_missing_is_false():
    assert not holds(ast.BeginsWith(P("n"), V("1")), ITEM)
    assert not holds(ast.BeginsWith(P("s"), ast.Literal(B(b"c"))), ITEM)
    assert not holds(ast.BeginsWith(P("q"), V("a")), ITEM)
    assert not holds(ast.BeginsWith(P("ss"), V("a")), ITEM)


@pytest.mark.parametrize("path, needle, expected", [
    (P("s"), "at", True),
    (P("s"), "dog", False),
    (P("ss"), "a", True),
    (P("ss"), "c", False),
    (P("ns"), 2, True),
    (P("ns"), 7, False),
    (P("ns"), "2", False),
    (P("list"), 2, True),
    (P("list"), "dog", True),
    (P("list"), [3, 4], True),
    (P("list"), {7}, True),
    (P("list"), 3, False),
    (P("map"), "x", False),  # maps are not searched
    (P("n"), 1, False),
    (P("q"), "a", False),
])
def test_contains(path, needle, expected):
    assert holds(ast.Contains(path, V(needle)), ITEM) is expected


def test_contains_on_binaries():
    assert holds(ast.Contains(P("bin"), ast.Literal(B(b"here"))), ITEM)
    assert not holds(ast.Contains(P("bin"), ast.Literal(B(b"dog"))), ITEM)
    assert holds(ast.Contains(P("bs"), ast.Literal(B(b"\x02"))), ITEM)
    assert not holds(ast.Contains(P("bin"), V("here")), ITEM)


def test_size_of_each_type():
    assert size_of({"S": "hello"}) == 5
    assert size_of({"S": "é𝄞"}) == 3  # UTF-16 code units, not characters or UTF-8 bytes
    assert size_of(B(b"hi there")) == 8
    assert size_of({"NS": ["2", "4", "7"]}) == 3
    assert size_of(values.from_python([2, "dog", 7])) == 3
    assert size_of(values.from_python({"x": 2, "y": {"m": 3, "n": 4}})) == 2
    assert size_of({"L": []}) == 0
    for other in ({"N": "5"}, {"BOOL": True}, {"NULL": True}, None):
        assert size_of(other) is None


def test_size_in_comparisons():
    assert holds(ast.Compare("=", ast.Size(P("s")), V(3)), ITEM)
    assert holds(ast.Compare(">", ast.Size(P("list")), V(3)), ITEM)
    assert holds(ast.Compare("=", ast.Size(P("map")), P("n")), {"map": ITEM["map"], "n": {"N": "3"}})
    assert not holds(ast.Compare("=", ast.Size(P("n")), V(1)), ITEM)
    assert not holds(ast.Compare("=", ast.Size(P("bool")), V(1)), ITEM)
    assert not holds(ast.Compare("=", ast.Size(P("s")), V("3")), ITEM)
    assert not holds(ast.Compare("<", ast.Size(P("q")), V(100)), ITEM)


# --- boolean structure -----------------------------------------------------------------------

TRUE = ast.Compare("=", P("n"), V(10))
FALSE = ast.Compare("=", P("n"), V(11))


def test_and_or_not():
    assert holds(ast.And(TRUE, TRUE), ITEM) and not holds(ast.And(TRUE, FALSE), ITEM)
    assert holds(ast.Or(FALSE, TRUE), ITEM) and not holds(ast.Or(FALSE, FALSE), ITEM)
    assert holds(ast.Not(FALSE), ITEM) and not holds(ast.Not(TRUE), ITEM)
    assert holds(ast.Not(ast.Not(ast.Not(ast.Not(TRUE)))), ITEM)


def test_not_of_a_false_comparison_on_a_missing_attribute_is_true():
    assert holds(ast.Not(ast.Compare("=", P("q"), V(1))), ITEM)
    assert holds(ast.Not(ast.Contains(P("q"), V("a"))), ITEM)


def test_conditions_on_a_missing_item():
    assert holds(ast.Compare("<>", P("pk"), V("k")), None)
    assert not holds(ast.Compare("=", P("pk"), V("k")), None)


# --- properties ------------------------------------------------------------------------------

NAMES = ("a", "b", "c")
scalars = st.one_of(
    st.integers(-1000, 1000),
    st.text(max_size=5),
    st.binary(max_size=4),
    st.booleans(),
    st.none(),
)
python_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(("x", "y")), inner, max_size=2),
        st.frozensets(st.integers(-5, 5), min_size=1, max_size=3),
        st.frozensets(st.text(max_size=2), min_size=1, max_size=3),
    ),
    max_leaves=6,
)
items = st.fixed_dictionaries({name: python_values.map(values.from_python) for name in NAMES})
paths = st.sampled_from(NAMES).map(P)
operands = st.one_of(paths, python_values.map(V), paths.map(lambda p: ast.Size(p)))
leaf_conditions = st.one_of(
    st.builds(ast.Compare, st.sampled_from(ast.COMPARATORS), operands, operands),
    st.builds(ast.Between, operands, operands, operands),
    st.builds(ast.In, operands, st.lists(operands, min_size=1, max_size=3).map(tuple)),
    st.builds(ast.AttributeExists, paths),
    st.builds(ast.AttributeNotExists, paths),
    st.builds(ast.AttributeType, paths, st.sampled_from(sorted(values.TYPES)).map(V)),
    st.builds(ast.BeginsWith, operands, operands),
    st.builds(ast.Contains, operands, operands),
)
conditions = st.recursive(
    leaf_conditions,
    lambda inner: st.one_of(
        st.builds(ast.And, inner, inner), st.builds(ast.Or, inner, inner), st.builds(ast.Not, inner)
    ),
    max_leaves=5,
)


@settings(max_examples=300, deadline=None)
@given(conditions, items)
def test_not_is_the_exact_negation(cond, item):
    # Every referenced attribute exists in the generated item (paths are the item's names).
    assert evaluate_condition(ast.Not(cond), item) is (not evaluate_condition(cond, item))


@settings(max_examples=200, deadline=None)
@given(python_values, python_values)
def test_equal_and_not_equal_are_complementary_on_present_values(x, y):
    item = {"a": values.from_python(x), "b": values.from_python(y)}
    assert holds(ast.Compare("=", P("a"), P("b")), item) is not holds(ast.Compare("<>", P("a"), P("b")), item)
    assert holds(ast.Compare("=", P("a"), P("a")), item)


@settings(max_examples=200, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10**6, max_value=10**6),
       st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10**6, max_value=10**6))
def test_number_ordering_matches_decimal_ordering(x, y):
    item = {"a": values.from_python(x)}
    right = V(y)
    assert holds(ast.Compare("<", P("a"), right), item) is (x < y)
    assert holds(ast.Compare(">=", P("a"), right), item) is (x >= y)
    assert holds(ast.Compare("=", P("a"), right), item) is (x == y)


# --- end to end, through the parser ------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("n = :ten AND s <> :dog", True),
    ("q <> :ten", True),
    ("q = :ten OR NOT (n BETWEEN :ten AND :ten)", False),
    ("size(#l) = :four AND contains(#l, :two) AND begins_with(s, :ca)", True),
    ("attribute_type(#m.y, :m) AND attribute_not_exists(#m.q) AND #m.l[2] IN (:two, :ten)", True),
    ("NOT contains(q, :two)", True),
])
def test_conditions_through_the_parser(text, expected):
    from dynamoray.core.expressions import ExpressionContext

    ctx = ExpressionContext({"#l": "list", "#m": "map"},
                            {":ten": {"N": "10"}, ":dog": {"S": "dog"}, ":four": {"N": "4"},
                             ":two": {"N": "2"}, ":ca": {"S": "ca"}, ":m": {"S": "M"}})
    assert evaluate_condition(ctx.condition(text), ITEM) is expected
