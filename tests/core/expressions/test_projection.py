"""Projections (ProjectionExpression / AttributesToGet) over items."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from dynamoray.core import values
from dynamoray.core.expressions import ast
from dynamoray.core.expressions.projection import path_tree, project


def P(*elements):
    return ast.Path(tuple(elements))


def proj(item, *paths):
    return values.item_to_python(project(ast.Projection(tuple(paths)), values.item_from_python(item)))


ITEM = {
    "pk": "p1",
    "mylist": ["zero", "one", "two", "three"],
    "listOfMaps": [{"val": "a0", "x": "x0"}, {"val": "a1", "x": "x1"}, {"val": "a2", "x": "x2"}],
    "listWithNull": ["keep0", None, "keep2"],
    "deep": {"l1": {"l2": {"l3": "bottom", "sib": "s"}}},
    "nestedList": [{"inner": ["i0", "i1"]}],
    "a": {"b": ["b0", "b1", "b2"], "c": 1},
    "s": "text",
}


def test_top_level_attributes():
    assert proj(ITEM, P("pk"), P("s")) == {"pk": "p1", "s": "text"}
    assert proj(ITEM, P("pk"), P("missing")) == {"pk": "p1"}
    assert proj(ITEM, P("missing")) == {}
    assert proj(ITEM) == {}


def test_nested_path_keeps_structure():
    assert proj(ITEM, P("a", "b", 1)) == {"a": {"b": ["b1"]}}
    item = values.item_from_python(ITEM)
    assert project(ast.Projection((P("a", "b", 1),)), item) == {"a": {"M": {"b": {"L": [{"S": "b1"}]}}}}


def test_list_indexes_are_compacted_in_index_order():
    assert proj(ITEM, P("mylist", 0), P("mylist", 2)) == {"mylist": ["zero", "two"]}
    assert proj(ITEM, P("mylist", 2), P("mylist", 0)) == {"mylist": ["zero", "two"]}
    assert proj(ITEM, P("mylist", 1), P("mylist", 3)) == {"mylist": ["one", "three"]}


def test_list_of_maps_subfields():
    got = proj(ITEM, P("listOfMaps", 0, "val"), P("listOfMaps", 2, "val"))
    assert got == {"listOfMaps": [{"val": "a0"}, {"val": "a2"}]}


def test_null_elements():
    assert proj(ITEM, P("listWithNull")) == {"listWithNull": ["keep0", None, "keep2"]}
    assert proj(ITEM, P("listWithNull", 1)) == {"listWithNull": [None]}
    assert proj(ITEM, P("listWithNull", 0), P("listWithNull", 2)) == {"listWithNull": ["keep0", "keep2"]}


def test_deep_maps_drop_siblings():
    assert proj(ITEM, P("deep", "l1", "l2", "l3")) == {"deep": {"l1": {"l2": {"l3": "bottom"}}}}
    assert proj(ITEM, P("nestedList", 0, "inner", 1)) == {"nestedList": [{"inner": ["i1"]}]}


def test_several_paths_into_one_map_merge():
    assert proj(ITEM, P("a", "c"), P("a", "b", 0)) == {"a": {"b": ["b0"], "c": 1}}
    assert proj(ITEM, P("deep", "l1", "l2", "l3"), P("deep", "l1", "l2", "sib")) == {
        "deep": {"l1": {"l2": {"l3": "bottom", "sib": "s"}}}}


def test_missing_or_mistyped_steps_are_skipped():
    assert proj(ITEM, P("mylist", 9)) == {}
    assert proj(ITEM, P("a", "nope")) == {}
    assert proj(ITEM, P("a", 0)) == {}  # a map has no indexes
    assert proj(ITEM, P("mylist", "x")) == {}  # a list has no keys
    assert proj(ITEM, P("s", "x")) == {}
    assert proj(ITEM, P("mylist", 0, "x")) == {}
    assert proj(ITEM, P("a", "nope"), P("a", "c")) == {"a": {"c": 1}}


def test_a_covering_path_wins():
    whole = {"a": ITEM["a"]}
    assert proj(ITEM, P("a"), P("a", "b", 1)) == whole
    assert proj(ITEM, P("a", "b", 1), P("a")) == whole


def test_path_tree_merges_paths():
    assert path_tree((P("a", "b"), P("a", 1), P("c"))) == {"a": {"b": None, 1: None}, "c": None}


def test_projection_does_not_modify_the_item():
    item = values.item_from_python(ITEM)
    snapshot = copy.deepcopy(item)
    project(ast.Projection((P("a", "b", 1), P("mylist", 0), P("pk"))), item)
    assert item == snapshot


documents = st.recursive(
    st.one_of(st.integers(-9, 9), st.text(max_size=3), st.none()),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3),
        st.dictionaries(st.sampled_from(("x", "y")), inner, min_size=1, max_size=2),
    ),
    max_leaves=6,
).map(values.from_python)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(("a", "b", "c")), documents, max_size=3))
def test_projecting_every_top_level_name_is_the_identity(item):
    assert project(ast.Projection(tuple(P(name) for name in item)), item) == item


def test_projection_through_the_parser():
    from dynamoray.core.expressions import ExpressionContext

    paths = ExpressionContext({"#i": "inner"}, None).projection("mylist[2], mylist[0], nestedList[0].#i[1]")
    assert values.item_to_python(project(paths, values.item_from_python(ITEM))) == {
        "mylist": ["zero", "two"], "nestedList": [{"inner": ["i1"]}]}
