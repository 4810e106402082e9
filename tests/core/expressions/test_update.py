"""UpdateExpression semantics over resolved ASTs (built directly, without the parser)."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dynamoray.core import values
from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import ast
from dynamoray.core.expressions.evaluate import evaluate_condition, get_path
from dynamoray.core.expressions.projection import project
from dynamoray.core.expressions.update import (
    apply_update,
    check_update_keys,
    project_updated,
    updated_paths,
)

MISSING = "The provided expression refers to an attribute that does not exist in the item"
OPERAND_TYPE = "An operand in the update expression has an incorrect data type"
BAD_PATH = "The document path provided in the update expression is invalid for update"
MISMATCH = "Type mismatch for attribute to update"


def P(*elements):
    return ast.Path(tuple(elements))


def V(python_value):
    return ast.Literal(values.from_python(python_value))


def SET(path, value):
    return ast.SetAction(path, value)


def py(item):
    return values.item_to_python(item)


def run(item, *, sets=(), removes=(), adds=(), deletes=(), legacy=False):
    update = ast.Update(tuple(sets), tuple(ast.RemoveAction(p) for p in removes),
                        tuple(ast.AddAction(p, v) for p, v in adds),
                        tuple(ast.DeleteAction(p, v) for p, v in deletes), legacy)
    source = values.item_from_python(item) if item is not None else None
    return py(apply_update(update, source))


def fails(message, item, **actions):
    with pytest.raises(DynamoError) as caught:
        run(item, **actions)
    assert caught.value.error_type == "ValidationException"
    assert caught.value.message == message


# --- SET -------------------------------------------------------------------------------------


def test_set_creates_and_replaces_top_level_attributes():
    assert run({"p": "k", "a": "hi"}, sets=[SET(P("b"), V(4))]) == {"p": "k", "a": "hi", "b": 4}
    assert run({"p": "k", "a": "hi"}, sets=[SET(P("a"), V([1]))]) == {"p": "k", "a": [1]}
    assert run(None, sets=[SET(P("a"), V(1)), SET(P("b"), V(1))]) == {"a": 1, "b": 1}


def test_set_copies_another_attribute():
    assert run({"a": "hello"}, sets=[SET(P("b"), P("a"))]) == {"a": "hello", "b": "hello"}
    assert run({"a": {"c": {"x": 7}}}, sets=[SET(P("z"), P("a", "c", "x"))])["z"] == 7


def test_set_from_a_missing_attribute_fails():
    fails(MISSING, {"a": 1}, sets=[SET(P("c"), P("z"))])
    fails(MISSING, None, sets=[SET(P("c"), P("z"))])
    fails(MISSING, {"a": 1}, sets=[SET(P("z"), P("z"))])


def test_right_hand_sides_read_the_item_before_the_update():
    assert run({"a": "OLD"}, sets=[SET(P("a"), V("NEW")), SET(P("b"), P("a"))]) == {"a": "NEW", "b": "OLD"}
    fails(MISSING, {"p": 1}, sets=[SET(P("x"), V(4)), SET(P("y"), P("x"))])
    assert run({"a": "hello"}, sets=[SET(P("b"), P("a"))], removes=[P("a")]) == {"b": "hello"}


def test_arithmetic():
    plus = lambda left, right: ast.Arithmetic("+", left, right)  # noqa: E731
    minus = lambda left, right: ast.Arithmetic("-", left, right)  # noqa: E731
    assert run({"a": 2}, sets=[SET(P("a"), plus(P("a"), V(3)))])["a"] == 5
    assert run({"a": 2}, sets=[SET(P("b"), minus(V(7), P("a")))])["b"] == 5
    assert run({}, sets=[SET(P("b"), minus(V(Decimal("0.1")), V(Decimal("0.3"))))])["b"] == Decimal("-0.2")
    assert run({"a": 1}, sets=[SET(P("a"), minus(P("a"), V(1)))])["a"] == 0


def test_arithmetic_is_exact_to_38_digits():
    big = 12345678901234567890123456789012345678
    assert run({"a": big}, sets=[SET(P("a"), ast.Arithmetic("+", P("a"), V(1)))])["a"] == big + 1


def test_arithmetic_errors():
    plus = lambda left, right: ast.Arithmetic("+", left, right)  # noqa: E731
    fails(MISSING, {"a": 1}, sets=[SET(P("a"), plus(P("q"), V(1)))])
    fails(OPERAND_TYPE, {"a": "dog"}, sets=[SET(P("b"), plus(P("a"), V(1)))])
    fails(OPERAND_TYPE, {}, sets=[SET(P("b"), plus(V([1]), V([2])))])
    huge = {"a": {"N": "9" * 38 + "E+88"}}
    with pytest.raises(DynamoError, match="Number overflow"):
        apply_update(ast.Update(sets=(SET(P("a"), plus(P("a"), P("a"))),)), huge)
    with pytest.raises(DynamoError, match="38 significant digits"):
        run({"a": 10**37}, sets=[SET(P("a"), plus(P("a"), V(Decimal("0.1"))))])


def test_if_not_exists():
    ine = ast.IfNotExists
    assert run({}, sets=[SET(P("a"), ine(P("a"), V(2)))])["a"] == 2
    assert run({"a": 2}, sets=[SET(P("a"), ine(P("a"), V(3)))])["a"] == 2
    assert run({"a": 2}, sets=[SET(P("b"), ine(P("a"), V(6)))])["b"] == 2
    assert run({}, sets=[SET(P("b"), ast.Arithmetic("+", ine(P("b"), V(2)), V(3)))])["b"] == 5
    fails(MISSING, {}, sets=[SET(P("b"), ine(P("a"), P("c")))])


def test_list_append():
    la = ast.ListAppend
    assert run({"a": ["hi", 2]}, sets=[SET(P("a"), la(P("a"), V([4])))])["a"] == ["hi", 2, 4]
    assert run({"a": ["hi"]}, sets=[SET(P("a"), la(V(["dog"]), P("a")))])["a"] == ["dog", "hi"]
    assert run({"a": [1], "b": []}, sets=[SET(P("c"), la(P("a"), P("b")))])["c"] == [1]
    fails(MISSING, {}, sets=[SET(P("a"), la(P("b"), V([1])))])
    fails(MISSING, {"a": 2}, sets=[SET(P("a"), la(V([1]), P("b")))])
    for other in (7, "hello", b"hi", {1, 2}, {"a": 3}):
        fails(OPERAND_TYPE, {"b": other}, sets=[SET(P("a"), la(P("b"), V([1])))])


def test_set_nested_paths():
    item = {"a": {"b": 3, "c": ["hi", {"x": {"y": [3, 5, 7]}}]}}
    assert run(item, sets=[SET(P("a", "c", 1, "x", "y", 1), V(9))])["a"]["c"][1]["x"]["y"] == [3, 9, 7]
    assert run(item, sets=[SET(P("a", "d"), V(3))])["a"] == {"b": 3, "c": item["a"]["c"], "d": 3}
    assert run(item, sets=[SET(P("a", "c"), V(7))])["a"] == {"b": 3, "c": 7}
    assert run({"a": [1, 2, 3]}, sets=[SET(P("a", 1), V("x"))])["a"] == [1, "x", 3]


def test_set_several_nested_paths_in_one_update():
    item = {"a": {"x": 3, "y": 4, "c": {"y": 3}}, "b": {"x": 1, "y": 2}}
    got = run(item, sets=[SET(P("a", "b"), V(10)), SET(P("a", "c", "d"), V("dog")), SET(P("b", "x"), V(17))],
              removes=[P("a", "x"), P("b", "y")])
    assert got == {"a": {"y": 4, "b": 10, "c": {"y": 3, "d": "dog"}}, "b": {"x": 17}}


def test_set_past_the_end_of_a_list_appends_in_index_order():
    item = {"a": ["one", "two", "three"]}
    assert run(item, sets=[SET(P("a", 7), V("hello"))])["a"] == ["one", "two", "three", "hello"]
    got = run(item, sets=[SET(P("a", 84), V("a1")), SET(P("a", 37), V("a2")), SET(P("a", 17), V("a3"))])
    assert got["a"] == ["one", "two", "three", "a3", "a2", "a1"]


def test_set_through_an_invalid_parent_fails():
    item = {"a": "hello", "b": ["hi"], "m": {"x": 1}}
    for path in (P("a", "c"), P("b", "c"), P("c", "c"), P("a", 0), P("c", 0), P("m", 0),
                 P("b", 5, "x"), P("m", "q", "r")):
        fails(BAD_PATH, item, sets=[SET(path, V(7))])
    fails(BAD_PATH, None, sets=[SET(P("c", "c"), V(7))])


# --- REMOVE ----------------------------------------------------------------------------------


def test_remove_attributes_and_nested_members():
    assert run({"a": "hello", "b": "hi"}, removes=[P("a")]) == {"b": "hi"}
    assert run({"a": 1}, removes=[P("zz")]) == {"a": 1}
    item = {"a": {"b": 3, "c": ["hi", {"x": {"y": [3, 5, 7]}, "q": 2}]}}
    got = run(item, removes=[P("a", "c", 1, "x", "y", 1), P("a", "c", 1, "q")])
    assert got["a"] == {"b": 3, "c": ["hi", {"x": {"y": [3, 7]}}]}


def test_remove_leaves_empty_containers():
    assert run({"a": {"b": 1}}, removes=[P("a", "b")]) == {"a": {}}
    assert run({"a": [1]}, removes=[P("a", 0)]) == {"a": []}


def test_remove_list_elements_by_original_index():
    assert run({"a": [0, 1, 2, 3, 4]}, removes=[P("a", 1), P("a", 2)])["a"] == [0, 3, 4]
    assert run({"a": [2, 3, 4, 5, 6, 7]}, removes=[P("a", 1)], sets=[SET(P("a", 3), V(17))])["a"] == [2, 4, 17, 6, 7]


def test_remove_missing_leaves_is_a_no_op():
    item = {"a": {"x": 3}, "b": ["hi"]}
    assert run(item, removes=[P("a", "y"), P("b", 7), P("c")]) == item


def test_remove_through_a_missing_or_wrong_parent_fails():
    item = {"a": "hello", "b": ["hi"]}
    for path in (P("a", "c"), P("b", "c"), P("c", "c"), P("a", 0), P("c", 0), P("b", 3, "x")):
        fails(BAD_PATH, item, removes=[path])


def test_remove_on_a_missing_item_is_silently_ignored():
    assert run(None, removes=[P("x", "y"), P("x", 0), P("z")]) == {}


# --- ADD -------------------------------------------------------------------------------------


def test_add_numbers():
    assert run({"a": 3}, adds=[(P("a"), V(4))])["a"] == 7
    assert run({"a": 3}, adds=[(P("a"), V(-5))])["a"] == -2
    assert run({"a": "x"}, adds=[(P("b"), V(7))])["b"] == 7
    assert run(None, adds=[(P("b"), V(8))]) == {"b": 8}
    assert run({"m": {"n": 1}}, adds=[(P("m", "n"), V(1))])["m"] == {"n": 2}


def test_add_sets():
    got = run({"a": {"beaver", "lynx", "coati"}}, adds=[(P("a"), V({"coati", "beaver", "badger"}))])
    assert got["a"] == {"beaver", "badger", "lynx", "coati"}
    assert run({}, adds=[(P("b"), V({"dog"}))])["b"] == {"dog"}
    assert run({"n": {1, 2}}, adds=[(P("n"), V({2, 3}))])["n"] == {1, 2, 3}


def test_add_keeps_existing_members_first():
    item = {"a": {"SS": ["z", "a"]}}
    got = apply_update(ast.Update(adds=(ast.AddAction(P("a"), ast.Literal({"SS": ["m", "a"]})),)), item)
    assert got["a"] == {"SS": ["z", "a", "m"]}


def test_add_type_errors():
    fails(OPERAND_TYPE, {"b": "hi"}, adds=[(P("b"), V(1))])
    fails(OPERAND_TYPE, {"a": {"x"}}, adds=[(P("a"), V({1}))])
    fails(OPERAND_TYPE, {"a": 1}, adds=[(P("a"), V({1}))])
    fails(OPERAND_TYPE, {"a": [1, 2]}, adds=[(P("a"), V([3, 4]))])  # lists only in AttributeUpdates
    fails(OPERAND_TYPE, {}, adds=[(P("a"), V("hello"))])
    fails(BAD_PATH, {}, adds=[(P("m", "n"), V(1))])


def test_add_overflow():
    with pytest.raises(DynamoError, match="Number overflow"):
        apply_update(ast.Update(adds=(ast.AddAction(P("a"), ast.Literal({"N": "9E+125"})),)),
                     {"a": {"N": "9E+125"}})


# --- DELETE ----------------------------------------------------------------------------------


def test_delete_from_sets():
    item = {"a": {"dog", "cat", "mouse"}, "b": "hi"}
    assert run(item, deletes=[(P("a"), V({"cat", "mouse"}))])["a"] == {"dog"}
    assert run(item, deletes=[(P("a"), V({"pig"}))])["a"] == {"dog", "cat", "mouse"}
    assert run(item, deletes=[(P("a"), V({"dog", "cat", "mouse"}))]) == {"b": "hi"}
    assert run({"b": "hi"}, deletes=[(P("a"), V({"dog"}))]) == {"b": "hi"}
    assert run({"m": {"s": {1, 2}}}, deletes=[(P("m", "s"), V({1}))]) == {"m": {"s": {2}}}


def test_delete_type_errors():
    fails(OPERAND_TYPE, {"a": {"x"}}, deletes=[(P("a"), V({1}))])
    fails(OPERAND_TYPE, {"a": "x"}, deletes=[(P("a"), V({"x"}))])
    fails(OPERAND_TYPE, {"a": {"x"}}, deletes=[(P("a"), V("x"))])


# --- legacy (AttributeUpdates) semantics -----------------------------------------------------


def test_legacy_add_appends_to_lists():
    assert run({"a": [1, 2]}, adds=[(P("a"), V([2, 3]))], legacy=True)["a"] == [1, 2, 2, 3]
    assert run({}, adds=[(P("a"), V([3]))], legacy=True)["a"] == [3]


def test_legacy_type_clashes_have_their_own_message():
    fails(MISMATCH, {"b": {"1"}}, deletes=[(P("b"), V({1}))], legacy=True)
    fails(MISMATCH, {"b": 1}, deletes=[(P("b"), V({1}))], legacy=True)
    fails(MISMATCH, {"b": "x"}, adds=[(P("b"), V(1))], legacy=True)
    fails(MISMATCH, {"b": {1}}, adds=[(P("b"), V([1]))], legacy=True)


# --- nesting, keys, returned values ----------------------------------------------------------


def _chain(depth):
    value = {"S": "leaf"}
    for _ in range(depth):
        value = {"M": {"k": value}}
    return value


def test_nesting_limit_is_enforced_on_the_result():
    item = {"a": {"M": {}}}
    ok = apply_update(ast.Update(sets=(SET(P("a", "b"), ast.Literal(_chain(31))),)), item)
    assert get_path(ok, P("a", "b")) == _chain(31)
    with pytest.raises(DynamoError) as caught:
        apply_update(ast.Update(sets=(SET(P("a", "b"), ast.Literal(_chain(32))),)), item)
    assert caught.value.message.startswith("Nesting Levels have exceeded supported limits")


@pytest.mark.parametrize("action", [
    ast.Update(sets=(SET(P("pk"), V(4)),)),
    ast.Update(removes=(ast.RemoveAction(P("sk")),)),
    ast.Update(adds=(ast.AddAction(P("pk"), V(4)),)),
    ast.Update(deletes=(ast.DeleteAction(P("sk"), V({"cat"})),)),
    ast.Update(sets=(SET(P("pk", "x"), V(4)),)),
])
def test_key_attributes_cannot_be_updated(action):
    name = updated_paths(action)[0].elements[0]
    with pytest.raises(DynamoError) as caught:
        check_update_keys(action, ("pk", "sk"))
    assert caught.value.message == (
        f"One or more parameter values were invalid: Cannot update attribute {name}. "
        "This attribute is part of the key"
    )


def test_non_key_attributes_can_be_updated():
    check_update_keys(ast.Update(sets=(SET(P("a"), V(1)),), removes=(ast.RemoveAction(P("b")),)), ("pk",))


def test_updated_paths_lists_every_clause():
    update = ast.Update(sets=(SET(P("a"), V(1)),), removes=(ast.RemoveAction(P("b", 1)),),
                        adds=(ast.AddAction(P("c"), V(1)),), deletes=(ast.DeleteAction(P("d"), V({1})),))
    assert updated_paths(update) == (P("a"), P("b", 1), P("c"), P("d"))


def test_project_updated_returns_only_the_updated_nested_parts():
    old = values.item_from_python({"p": "k", "a": {"b": "dog", "c": [1, 2, 3]}, "d": "cat"})
    update = ast.Update(sets=(SET(P("a", "c", 1), V(7)), SET(P("a", "b"), V("yo"))))
    new = apply_update(update, old)
    assert py(project_updated(update, old)) == {"a": {"b": "dog", "c": [2]}}
    assert py(project_updated(update, new)) == {"a": {"b": "yo", "c": [7]}}
    added = ast.Update(sets=(SET(P("a", "x1"), V(8)),))
    assert project_updated(added, old) == {}
    removed = ast.Update(removes=(ast.RemoveAction(P("a", "c", 1)), ast.RemoveAction(P("a", "c", 3))))
    assert py(project_updated(removed, old)) == {"a": {"c": [2]}}
    appended = ast.Update(sets=(SET(P("a", "c", 100), V(70)),))
    assert project_updated(appended, apply_update(appended, old)) == {}


# --- properties ------------------------------------------------------------------------------

scalars = st.one_of(st.integers(-99, 99), st.text(max_size=4), st.booleans(), st.none())
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3),
        st.dictionaries(st.sampled_from(("x", "y", "z")), inner, min_size=1, max_size=3),
    ),
    max_leaves=8,
).map(values.from_python)
items = st.dictionaries(st.sampled_from(("a", "b", "c")), documents, min_size=1, max_size=3)


def _existing_paths(value, prefix):
    yield prefix
    if "M" in value:
        for key, child in value["M"].items():
            yield from _existing_paths(child, prefix + (key,))
    elif "L" in value:
        for index, child in enumerate(value["L"]):
            yield from _existing_paths(child, prefix + (index,))


def _settable_paths(item):
    """Paths that exist, plus new map keys and top-level names: all have an existing parent."""
    found = [P("new")]
    for name, value in item.items():
        for elements in _existing_paths(value, (name,)):
            found.append(P(*elements))
            target = get_path(item, P(*elements))
            if "M" in target:
                found.append(P(*elements, "fresh"))
    return found


def _wrap(path, value):
    """What projecting ``path`` must yield once ``value`` is stored there."""
    for element in reversed(path.elements[1:]):
        value = {"L": [value]} if isinstance(element, int) else {"M": {element: value}}
    return {path.elements[0]: value}


@settings(max_examples=200, deadline=None)
@given(items, st.data(), documents)
def test_set_then_project_yields_the_value(item, data, value):
    path = data.draw(st.sampled_from(_settable_paths(item)))
    new = apply_update(ast.Update(sets=(SET(path, ast.Literal(value)),)), item)
    assert get_path(new, path) == value
    assert project(ast.Projection((path,)), new) == _wrap(path, value)


@settings(max_examples=200, deadline=None)
@given(items, st.data())
def test_remove_then_attribute_not_exists(item, data):
    candidates = [p for p in _settable_paths(item) if not isinstance(p.elements[-1], int)]
    path = data.draw(st.sampled_from(candidates))
    new = apply_update(ast.Update(removes=(ast.RemoveAction(path),)), item)
    assert evaluate_condition(ast.AttributeNotExists(path), new)


@settings(max_examples=200, deadline=None)
@given(items, st.data())
def test_remove_a_list_element_shortens_the_list_by_one(item, data):
    candidates = [p for p in _settable_paths(item) if isinstance(p.elements[-1], int)]
    assume(candidates)
    path = data.draw(st.sampled_from(candidates))
    parent = P(*path.elements[:-1])
    before = get_path(item, parent)["L"]
    after = get_path(apply_update(ast.Update(removes=(ast.RemoveAction(path),)), item), parent)["L"]
    index = path.elements[-1]
    assert after == before[:index] + before[index + 1:]


numbers = st.decimals(min_value=-10**30, max_value=10**30, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), numbers), numbers)
def test_add_then_add_the_negation_restores_the_number(start, n):
    item = {} if start is None else {"a": values.from_python(start)}
    plus = ast.Update(adds=(ast.AddAction(P("a"), V(n)),))
    minus = ast.Update(adds=(ast.AddAction(P("a"), V(n.copy_negate())),))  # exact, unlike -n
    result = apply_update(minus, apply_update(plus, item))
    assert result["a"] == values.from_python(start if start is not None else 0)


actions = st.one_of(
    st.tuples(st.just("set"), documents),
    st.tuples(st.just("remove"), st.none()),
    st.tuples(st.just("add"), st.integers(-5, 5).map(values.from_python)),
    st.tuples(st.just("delete"), st.frozensets(st.integers(0, 3), min_size=1).map(values.from_python)),
)


def _action(kind, path, value):
    if kind == "set":
        return ast.Update(sets=(SET(path, ast.Literal(value)),))
    if kind == "remove":
        return ast.Update(removes=(ast.RemoveAction(path),))
    if kind == "add":
        return ast.Update(adds=(ast.AddAction(path, ast.Literal(value)),))
    return ast.Update(deletes=(ast.DeleteAction(path, ast.Literal(value)),))


@settings(max_examples=300, deadline=None)
@given(items, st.data(), st.lists(actions, min_size=1, max_size=3))
def test_apply_update_never_mutates_its_input(item, data, chosen):
    snapshot = copy.deepcopy(item)
    for kind, value in chosen:
        path = data.draw(st.sampled_from(_settable_paths(item) + [P("nope", "deeper")]))
        try:
            apply_update(_action(kind, path, value), item)
        except DynamoError:
            pass
        assert item == snapshot


# --- end to end, through the parser ------------------------------------------------------------


def test_update_expressions_through_the_parser():
    from dynamoray.core.expressions import ExpressionContext

    ctx = ExpressionContext({"#n": "n"}, {":v": {"N": "17"}, ":empty": {"L": []}, ":one": {"N": "1"},
                                          ":s": {"SS": ["b"]}})
    update = ctx.update("REMOVE a[1] SET a[3] = :v, c = if_not_exists(c, :empty), #n = #n + :one "
                        "ADD t :one DELETE s :s")
    item = values.item_from_python({"a": [2, 3, 4, 5, 6, 7], "n": 1, "s": {"a", "b"}})
    assert py(apply_update(update, item)) == {"a": [2, 4, 17, 6, 7], "n": 2, "c": [], "t": 1, "s": {"a"}}
    assert py(project_updated(update, item)) == {"a": [3, 5], "n": 1, "s": {"a", "b"}}
