"""The builders: every name and value is a placeholder, paths parse, and the server agrees."""

from __future__ import annotations

import pytest

from dynamoray.gateway.sdk import Attr, Key, Update, if_not_exists, list_append
from dynamoray.gateway.sdk.expressions import Placeholders, parse_path, projection


def render(thing) -> tuple[str, dict, dict]:
    p = Placeholders()
    text = thing.render(p)
    return text, p.names, p.values


def test_paths_parse_dots_and_indexes():
    assert parse_path("a.b[2][0].c") == ("a", "b", 2, 0, "c")
    assert Attr(["a.b", 2]).segments == ("a.b", 2)
    assert Attr("a")["b.c"][0].segments == ("a", "b.c", 0)
    for bad in ("a..b", "a[x]", "[1]", "a.", "a]"):
        with pytest.raises(ValueError):
            Attr(bad)


def test_conditions_render_with_placeholders_only():
    text, names, values = render(Attr("status").eq("open") & ~Attr("deleted").exists() | Attr("n").between(1, 5))
    assert text == "((#n0 = :v0) AND (NOT (attribute_exists(#n1)))) OR (#n2 BETWEEN :v1 AND :v2)"
    assert names == {"#n0": "status", "#n1": "deleted", "#n2": "n"}
    assert values == {":v0": {"S": "open"}, ":v1": {"N": "1"}, ":v2": {"N": "5"}}


def test_functions_size_in_and_path_to_path_comparisons():
    text, names, values = render(Attr("tags").contains("x") & Attr("a.b[1]").size().gt(2)
                                 & Attr("t").attribute_type("S") & Attr("c").is_in(["x", "y"])
                                 & Attr("lo").lt(Attr("hi")) & Key("sk").begins_with("2024"))
    assert "contains(#n0, :v0)" in text and "size(#n1.#n2[1]) > :v1" in text
    assert "attribute_type(#n3, :v2)" in text and "#n4 IN (:v3, :v4)" in text
    assert "#n5 < #n6" in text and "begins_with(#n7, :v5)" in text
    assert names["#n1"] == "a" and names["#n2"] == "b"


def test_the_same_name_gets_one_placeholder():
    text, names, _ = render(Attr("a").gt(1) & Attr("a").lt(9))
    assert text == "(#n0 > :v0) AND (#n0 < :v1)" and names == {"#n0": "a"}


def test_hostile_names_and_values_never_reach_the_expression_text():
    evil = "x) OR attribute_exists(#y"
    text, names, values = render(Attr([evil]).eq(":v9) OR (a = a"))
    assert text == "#n0 = :v0"
    assert names == {"#n0": evil} and values == {":v0": {"S": ":v9) OR (a = a"}}


def test_updates_render_every_clause():
    update = (Update().set("a", 1).set("b", Attr("b") + 2).set_if_not_exists("c", "d").increment("n")
              .append("l", [1]).prepend("l2", ["x"]).set("m", list_append(Attr("l"), [3]))
              .set("z", if_not_exists("z", 0) - 1).remove("r", Attr("q")[0]).add("s", {"x"}).delete("t", {1}))
    text, names, values = render(update)
    assert text.startswith("SET #n0 = :v0, #n1 = #n1 + :v1, #n2 = if_not_exists(#n2, :v2), "
                           "#n3 = if_not_exists(#n3, :v3) + :v4, #n4 = list_append(if_not_exists(#n4, :v5), :v6), ")
    assert text.endswith("#n6 = list_append(#n4, :v9), #n7 = if_not_exists(#n7, :v10) - :v11 "
                         "REMOVE #n8, #n9[0] ADD #n10 :v12 DELETE #n11 :v13")
    assert values[":v5"] == {"L": []} and values[":v4"] == {"N": "1"}


def test_updates_are_immutable_and_need_an_action():
    base = Update().set("a", 1)
    more = base.remove("b")
    assert base.removes == () and len(more.removes) == 1
    with pytest.raises(ValueError):
        Update().render(Placeholders())


def test_projection_and_params():
    p = Placeholders()
    assert projection(["a.b", Attr("c")[2], "a"], p) == "#n0.#n1, #n2[2], #n0"
    assert p.params() == {"ExpressionAttributeNames": {"#n0": "a", "#n1": "b", "#n2": "c"}}
    assert Placeholders().params() == {}


def test_reserved_words_and_odd_names_work_on_the_server(client, table_s):
    table = client.table(table_s)
    odd = {"p": "reserved", "name": "x", "size": 3, "a.b": "dotted", "with space": 1, "#hash": [1, 2]}
    table.put(odd, condition=Attr("name").not_exists())
    table.update({"p": "reserved"}, Update().set(Attr(["a.b"]), "still").add("size", 1).set(Attr(["#hash"])[0], 9)
                 .remove(Attr(["with space"])), condition=Attr("size").eq(3) & Attr(["a.b"]).begins_with("dot"))
    got = table.get({"p": "reserved"}, projection=["name", "size", Attr(["a.b"]), Attr(["#hash"])[0]])
    assert got == {"name": "x", "size": 4, "a.b": "still", "#hash": [9]}
