"""Secondary indexes in the pure core: definitions and their checks, an item's entry, the index
structures kept by the fold, online backfill, and reads merged over shards."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from dynamoray.core import backups, index_reads, index_tables, indexes, keys, partition, tables, values
from dynamoray.core.commands import DeleteCommand, ItemChange, PutCommand, QuerySpec, ScanSpec, UpdateCommand
from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import ExpressionContext, ast

S, N = "S", "N"
INVALID = "One or more parameter values were invalid: "


def _defs(*pairs):
    return [{"AttributeName": n, "AttributeType": t} for n, t in pairs]


def _key(*names):
    return [{"AttributeName": n, "KeyType": kind} for n, kind in zip(names, ("HASH", "RANGE"))]


def _index(name, keys_, projection="ALL", non_key=None):
    out = {"IndexName": name, "KeySchema": _key(*keys_), "Projection": {"ProjectionType": projection}}
    if non_key is not None:
        out["Projection"]["NonKeyAttributes"] = non_key
    return out


def request(**extra):
    base = {"TableName": "songs", "BillingMode": "PAY_PER_REQUEST", "KeySchema": _key("p", "c"),
            "AttributeDefinitions": _defs(("p", S), ("c", N), ("g", S), ("l", N))}
    return {**base, **extra}


def described(**extra):
    return tables.new_table_description(request(**extra), arn="arn:t", table_id="id", now=1.0)


def error_of(call, *args, **kwargs) -> DynamoError:
    with pytest.raises(DynamoError) as found:
        call(*args, **kwargs)
    return found.value


GSI = _index("by_g", ("g", "c"), "INCLUDE", ["x"])
LSI = _index("by_l", ("p", "l"), "KEYS_ONLY")


# --- definitions and CreateTable -----------------------------------------------------------------


def test_create_table_describes_indexes_and_their_set():
    d = described(GlobalSecondaryIndexes=[GSI], LocalSecondaryIndexes=[LSI])
    assert d["LocalSecondaryIndexes"] == [{
        "IndexName": "by_l", "KeySchema": _key("p", "l"), "Projection": {"ProjectionType": "KEYS_ONLY"},
        "IndexSizeBytes": 0, "ItemCount": 0, "IndexArn": "arn:t/index/by_l"}]
    assert d["GlobalSecondaryIndexes"] == [{
        "IndexName": "by_g", "KeySchema": _key("g", "c"),
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]}, "IndexStatus": "ACTIVE",
        "ProvisionedThroughput": {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
        "IndexSizeBytes": 0, "ItemCount": 0, "IndexArn": "arn:t/index/by_g"}]
    found = indexes.index_set(d)
    assert found.epoch == 0 and found.backfilling == frozenset()
    lsi, gsi = found.get("by_l"), found.get("by_g")
    assert (lsi.kind, gsi.kind) == ("LSI", "GSI")
    assert gsi.schema == keys.KeySchema("g", S, "c", N) and gsi.table == keys.KeySchema("p", S, "c", N)
    assert gsi.projected == {"p", "c", "g", "x"} and lsi.projected == {"p", "c", "l"}
    assert gsi.key_names == ("p", "c", "g") and found.has_lsi
    assert indexes.index_set(described(AttributeDefinitions=_defs(("p", S), ("c", N)))) is indexes.NO_INDEXES


def test_provisioned_gsi_throughput_is_described():
    d = tables.new_table_description(
        request(BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 6},
                GlobalSecondaryIndexes=[{**GSI, "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 3}}],
                AttributeDefinitions=_defs(("p", S), ("c", N), ("g", S))),
        arn="arn:t", table_id="id", now=1.0)
    assert d["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"] == {
        "NumberOfDecreasesToday": 0, "ReadCapacityUnits": 2, "WriteCapacityUnits": 3}


CREATE_ERRORS = [
    ({"LocalSecondaryIndexes": []}, INVALID + "List of LocalSecondaryIndexes is empty"),
    ({"GlobalSecondaryIndexes": []}, INVALID + "List of GlobalSecondaryIndexes is empty"),
    ({"LocalSecondaryIndexes": [_index("lsi", ("g", "l"))]},
     INVALID + "Index KeySchema does not have the same leading hash key as table KeySchema for index: lsi. "
     "index hash key: g, table hash key: p"),
    ({"LocalSecondaryIndexes": [_index("lsi", ("p",))]}, INVALID + "Index KeySchema does not have a range key for index: lsi"),
    ({"GlobalSecondaryIndexes": [_index("gsi", ("zz",))]},
     INVALID + "Some index key attributes are not defined in AttributeDefinitions. Keys: [zz], "
     "AttributeDefinitions: [p, c, g, l]"),
    ({"GlobalSecondaryIndexes": [_index("gsi", ("g", "g"))]},
     "Both the Hash Key and the Range Key element in the KeySchema have the same name"),
    ({"GlobalSecondaryIndexes": [{**_index("gsi", ("g",)), "KeySchema": [{"AttributeName": "g", "KeyType": "RANGE"}]}]},
     "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"),
    ({"GlobalSecondaryIndexes": [{**_index("gsi", ("g",)), "Projection": {}}]}, INVALID + "Unknown ProjectionType: null"),
    ({"GlobalSecondaryIndexes": [_index("gsi", ("g",), "KEYS_ONLY", ["x"])]},
     INVALID + "ProjectionType is KEYS_ONLY, but NonKeyAttributes is specified"),
    ({"GlobalSecondaryIndexes": [_index("dup", ("g",))], "LocalSecondaryIndexes": [_index("dup", ("p", "l"))]},
     INVALID + "Duplicate index name: dup"),
    ({"GlobalSecondaryIndexes": [{**_index("gsi", ("g",)), "ProvisionedThroughput": {"ReadCapacityUnits": 1,
                                                                                     "WriteCapacityUnits": 1}}]},
     INVALID + "ProvisionedThroughput should not be specified for index: gsi when BillingMode is PAY_PER_REQUEST"),
    ({"LocalSecondaryIndexes": [_index(f"lsi{i}", ("p", "l")) for i in range(6)]},
     INVALID + "Number of LocalSecondaryIndexes exceeds per-table limit of 5"),
    ({"GlobalSecondaryIndexes": [_index(f"gsi{i}", ("g",)) for i in range(21)]},
     INVALID + "GlobalSecondaryIndex count exceeds the per-table limit of 20"),
    ({"GlobalSecondaryIndexes": [_index(f"gsi{i}", ("g",), "INCLUDE", [f"a{j}" for j in range(30)]) for i in range(4)]},
     INVALID + "The number of NonKeyAttributes in all indexes of a table exceeds the limit of 100: 120"),
    ({"GlobalSecondaryIndexes": [_index("gsi", ("g",))]},
     INVALID + "Some AttributeDefinitions are not used. AttributeDefinitions: [p, c, g, l], keys used: [p, c, g]"),
]


@pytest.mark.parametrize("extra, message", CREATE_ERRORS)
def test_create_table_index_errors(extra, message):
    found = error_of(tables.new_table_description, request(**extra), arn="arn:t", table_id="id", now=1.0)
    assert (found.error_type, found.message) == ("ValidationException", message)


def test_lsi_needs_a_table_sort_key_and_provisioned_gsis_need_throughput():
    no_range = request(KeySchema=_key("p"), AttributeDefinitions=_defs(("p", S), ("l", N)),
                       LocalSecondaryIndexes=[_index("lsi", ("p", "l"))])
    assert error_of(tables.new_table_description, no_range, arn="a", table_id="i", now=1).message == INVALID + (
        "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex")
    provisioned = request(BillingMode="PROVISIONED", AttributeDefinitions=_defs(("p", S), ("c", N), ("g", S)),
                          ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
                          GlobalSecondaryIndexes=[_index("gsi", ("g",))])
    assert error_of(tables.new_table_description, provisioned, arn="a", table_id="i", now=1).message == (
        INVALID + "ProvisionedThroughput must be specified for index: gsi")


# --- UpdateTable ----------------------------------------------------------------------------------


def base_table():
    return tables.new_table_description(request(AttributeDefinitions=_defs(("p", S), ("c", N))),
                                        arn="arn:t", table_id="id", now=1.0)


def create_update(name="by_g", key="g", kind=S):
    return {"AttributeDefinitions": _defs((key, kind)), "GlobalSecondaryIndexUpdates": [{"Create": _index(name, (key,))}]}


def test_online_creation_then_activation_then_deletion():
    created = tables.updated_description(base_table(), create_update(), now=2.0)
    entry = created["GlobalSecondaryIndexes"][0]
    assert (entry["IndexStatus"], entry["Backfilling"], created[indexes.EPOCH]) == ("CREATING", True, 1)
    assert created["AttributeDefinitions"] == _defs(("p", S), ("c", N), ("g", S))
    assert indexes.index_set(created).backfilling == {"by_g"}
    assert index_tables.pending_changes(created) == (["by_g"], [])
    assert indexes.EPOCH not in tables.public_description(created)
    assert index_tables.finish_index_changes(created, frozenset()) is None  # not backfilled yet
    active = index_tables.finish_index_changes(created, frozenset({"by_g"}))
    assert active["GlobalSecondaryIndexes"][0]["IndexStatus"] == "ACTIVE"
    assert "Backfilling" not in active["GlobalSecondaryIndexes"][0] and active[indexes.EPOCH] == 1
    deleting = tables.updated_description(active, {"GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "by_g"}}]}, 3.0)
    assert deleting["GlobalSecondaryIndexes"][0]["IndexStatus"] == "DELETING" and deleting[indexes.EPOCH] == 2
    assert indexes.index_set(deleting).indexes == ()  # partitions stop maintaining it at once
    gone = index_tables.finish_index_changes(deleting, frozenset())
    assert "GlobalSecondaryIndexes" not in gone and gone["AttributeDefinitions"] == _defs(("p", S), ("c", N))


def test_update_table_index_errors():
    table = base_table()
    two = {"AttributeDefinitions": _defs(("g", S)), "GlobalSecondaryIndexUpdates": [
        {"Create": _index("one", ("g",))}, {"Create": _index("two", ("g",))}]}
    found = error_of(tables.updated_description, table, two, 2.0)
    assert (found.error_type, found.message) == (
        "LimitExceededException",
        "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table")
    creating = tables.updated_description(table, create_update(), 2.0)
    busy = error_of(tables.updated_description, creating, create_update("other"), 3.0)
    assert busy.error_type == "LimitExceededException"  # one online creation at a time
    active = index_tables.finish_index_changes(creating, {"by_g"})
    assert error_of(tables.updated_description, active, create_update(), 3.0).message == (
        "Attempting to create an index which already exists")
    missing = error_of(tables.updated_description, active, {"GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "x"}}]}, 3)
    assert (missing.error_type, missing.message) == (
        "ResourceNotFoundException", "Requested resource not found: Index: x not found for table: songs")
    redefined = error_of(tables.updated_description, active, create_update("by_n", "g", N), 3)
    assert redefined.message.startswith(INVALID + "Attributes cannot be redefined.")
    assert error_of(tables.updated_description, active, {"GlobalSecondaryIndexUpdates": [{}]}, 3).message == (
        INVALID + "One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, "
        "GlobalSecondaryIndexUpdate.Delete must not be null")
    repeated = {"GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "by_g"}},
                                                {"Update": {"IndexName": "by_g", "ProvisionedThroughput": {}}}]}
    assert error_of(tables.updated_description, active, repeated, 3).message == (
        INVALID + "Only one global secondary index update per index is allowed simultaneously. Index: by_g")
    undefined = {"GlobalSecondaryIndexUpdates": [{"Create": _index("by_x", ("x",))}]}
    assert error_of(tables.updated_description, active, undefined, 3).message == (
        INVALID + "Some index key attributes are not defined in AttributeDefinitions. Keys: [x], AttributeDefinitions: []")


def test_restore_keeps_the_indexes_unless_overridden():
    source = described(GlobalSecondaryIndexes=[GSI], LocalSecondaryIndexes=[LSI])
    common = {"name": "copy", "arn": "arn:c", "table_id": "id2", "now": 5.0, "restore_summary": {}}
    kept = backups.restored_description(source, {}, **common)
    assert [e["IndexName"] for e in kept["GlobalSecondaryIndexes"]] == ["by_g"]
    assert [e["IndexName"] for e in kept["LocalSecondaryIndexes"]] == ["by_l"]
    dropped = backups.restored_description(source, {"GlobalSecondaryIndexOverride": [],
                                                    "LocalSecondaryIndexOverride": []}, **common)
    assert "GlobalSecondaryIndexes" not in dropped and "LocalSecondaryIndexes" not in dropped
    assert dropped["AttributeDefinitions"] == _defs(("p", S), ("c", N))


# --- entries -------------------------------------------------------------------------------------

DEF = indexes.index_set(described(GlobalSecondaryIndexes=[GSI], LocalSecondaryIndexes=[LSI]))


def test_an_item_is_in_an_index_only_with_its_key_attributes_of_the_right_type():
    gsi = DEF.get("by_g")
    item = {"p": {S: "a"}, "c": {N: "1"}, "g": {S: "x"}, "x": {S: "kept"}, "y": {S: "dropped"}}
    assert indexes.position(gsi, item) is not None
    for broken in ({"g": {N: "5"}}, {"g": {S: ""}}, {"g": {S: "a" * 2049}}):
        assert indexes.position(gsi, {**item, **broken}) is None
    assert indexes.position(gsi, {k: v for k, v in item.items() if k != "g"}) is None
    assert indexes.project(gsi, item) == {"p": {S: "a"}, "c": {N: "1"}, "g": {S: "x"}, "x": {S: "kept"}}
    everything = indexes.IndexDef("all", True, gsi.schema, gsi.table)
    assert indexes.project(everything, item) is item
    assert indexes.key_of(gsi, item) == {"p": {S: "a"}, "c": {N: "1"}, "g": {S: "x"}}


def test_writes_with_a_wrong_index_key_are_refused():
    state = indexed_state()
    found = error_of(partition.decide, state, PutCommand({"p": {S: "a"}, "c": {N: "1"}, "g": {N: "1"}}))
    assert found.message == INVALID + "Type mismatch for Index Key g Expected: S Actual: N IndexName: by_g"
    found = error_of(partition.decide, state, PutCommand({"p": {S: "a"}, "c": {N: "1"}, "g": {S: ""}}))
    assert found.message == ("One or more parameter values are not valid. A value specified for a secondary index "
                             "key is not supported. The AttributeValue for a key attribute cannot contain an empty "
                             "string value. IndexName: by_g, IndexKey: g")


def indexed_state(index_set=DEF) -> partition.PartitionState:
    state = partition.PartitionState(keys.KeySchema("p", S, "c", N))
    partition.adopt_indexes(state, index_set)
    return state


def apply(state, command):
    outcome = partition.decide(state, command)
    if outcome.change is not None:
        partition.evolve(state, outcome.change)
    return outcome


def test_writes_count_index_capacity_and_item_collections():
    state = indexed_state()
    first = apply(state, PutCommand({"p": {S: "a"}, "c": {N: "1"}, "g": {S: "x"}, "l": {N: "3"}}))
    assert {(i.name, i.write_units) for i in first.index_writes} == {("by_g", 2), ("by_l", 2)}
    assert first.collection[0] == {"p": {S: "a"}} and first.collection[1] > 0
    moved = apply(state, UpdateCommand({"p": {S: "a"}, "c": {N: "1"}}, ExpressionContext(None, {":g": {S: "z"}})
                                       .update("SET g = :g")))
    assert {(i.name, i.write_units) for i in moved.index_writes} == {("by_g", 4)}  # delete + put
    untouched = apply(state, UpdateCommand({"p": {S: "a"}, "c": {N: "1"}}, ExpressionContext(None, {":y": {S: "y"}})
                                           .update("SET y = :y")))
    assert untouched.index_writes == ()  # y is projected into neither index
    assert index_tables.collection_metrics(untouched.collection) == {"ItemCollectionKey": {"p": {S: "a"}},
                                                                "SizeEstimateRangeGB": [0.0, 1.0]}


def test_item_collection_size_limit(monkeypatch):
    monkeypatch.setattr(indexes, "ITEM_COLLECTION_LIMIT", 100)
    state = indexed_state()
    apply(state, PutCommand({"p": {S: "a"}, "c": {N: "1"}, "pad": {S: "x" * 60}}))
    found = error_of(partition.decide, state, PutCommand({"p": {S: "a"}, "c": {N: "2"}, "pad": {S: "x" * 60}}))
    assert (found.error_type, found.message) == ("ItemCollectionSizeLimitExceededException", "Collection size exceeded.")
    apply(state, PutCommand({"p": {S: "b"}, "c": {N: "2"}, "pad": {S: "x" * 60}}))  # another collection
    apply(state, DeleteCommand({"p": {S: "a"}, "c": {N: "1"}}))  # shrinking is always allowed


# --- the index equals the projection of the base items -------------------------------------------

PS = st.sampled_from(["a", "b", "c", "d"])
VALUES = st.one_of(st.none(), st.sampled_from([{S: "x"}, {S: "y"}, {S: ""}, {N: "1"}]))
NUMS = st.one_of(st.none(), st.sampled_from([{N: "1"}, {N: "-2.5"}, {S: "n"}]))


@st.composite
def writes(draw):
    p, c = draw(PS), draw(st.integers(0, 5))
    key = {"p": {S: p}, "c": {N: str(c)}}
    if draw(st.booleans()):
        return DeleteCommand(key)
    item = dict(key)
    for name, strategy in (("g", VALUES), ("l", NUMS), ("x", VALUES), ("y", VALUES)):
        value = draw(strategy)
        if value is not None:
            item[name] = value
    return PutCommand(item)


def expected_entries(state, index):
    out = {}
    for collection in state.collections.values():
        for item in collection.values():
            pos = indexes.position(index, item)
            if pos is not None:
                out[(pos, indexes.base_token(index.table, item))] = indexes.project(index, item)
    return out


def held_entries(state, name):
    held = state.indexes.states[name]
    return {((slot, k[0]), k[1]): entry for slot, collection in held.collections.items()
            for k, entry in collection.items()}


def fold_unchecked(state, command):
    """Fold a write as the log would (skipping decide's index-key checks: a backfill must cope with
    items written before the index existed, of any type)."""
    key = keys.validate_key(state.schema, command.key if isinstance(command, DeleteCommand) else
                            {n: command.item[n] for n in ("p", "c")})
    old = state.lookup(key)
    if isinstance(command, DeleteCommand):
        if old is not None:
            partition.evolve(state, ItemChange("REMOVE", key, old, None))
    else:
        partition.evolve(state, ItemChange("MODIFY" if old else "INSERT", key, old, command.item))


@settings(max_examples=60, deadline=None)
@given(st.lists(writes(), max_size=40))
def test_index_equals_the_projection_of_the_items(commands):
    state = indexed_state()
    for command in commands:
        fold_unchecked(state, command)
    for index in DEF.indexes:
        held = state.indexes.states[index.name]
        assert held_entries(state, index.name) == expected_entries(state, index)
        assert held.item_count == len(expected_entries(state, index))
        assert held.size_bytes == sum(values.item_size(e) for e in expected_entries(state, index).values())
    lsis = [i for i in DEF.indexes if not i.is_global]
    assert state.indexes.collection_sizes == {slot: sum(indexes.entry_sizes(lsis, i) for i in c.values())
                                              for slot, c in state.collections.items()}


@settings(max_examples=60, deadline=None)
@given(st.lists(writes(), max_size=30), st.lists(writes(), max_size=30), st.integers(1, 4))
def test_backfill_while_writes_go_on_ends_equal_to_a_build(before, during, chunk):
    state = partition.PartitionState(keys.KeySchema("p", S, "c", N))
    for command in before:
        fold_unchecked(state, command)
    newer = indexes.IndexSet(1, DEF.indexes)
    assert partition.adopt_indexes(state, newer, complete=False)
    assert not partition.adopt_indexes(state, DEF)  # an older epoch is never adopted
    cursors = {index.name: None for index in DEF.indexes}
    pending = list(during)
    while any(not state.indexes.states[n].complete for n in cursors) or pending:
        for name in cursors:
            if not state.indexes.states[name].complete:
                cursors[name] = partition.backfill_index(state, name, cursors[name], chunk)
        if pending:
            fold_unchecked(state, pending.pop(0))
    for index in DEF.indexes:
        assert held_entries(state, index.name) == expected_entries(state, index)


def test_adopting_a_newer_set_drops_deleted_indexes_and_keeps_others():
    state = indexed_state()
    apply(state, PutCommand({"p": {S: "a"}, "c": {N: "1"}, "g": {S: "x"}, "l": {N: "1"}}))
    kept = state.indexes.states["by_l"]
    only_lsi = indexes.IndexSet(2, (DEF.get("by_l"),))
    assert partition.adopt_indexes(state, only_lsi)
    assert set(state.indexes.states) == {"by_l"} and state.indexes.states["by_l"] is kept
    assert partition.adopt_indexes(state, indexes.IndexSet(3))
    assert state.indexes is not None and state.indexes.states == {} and state.indexes.epoch == 3
    assert not partition.adopt_indexes(state, DEF)  # a stale caller never brings an index back


# --- reads, and merging the pages of several shards ----------------------------------------------


def put_items(states, items):
    for item in items:
        shard = keys.shard_for(item["p"], len(states)) if len(states) > 1 else 0
        outcome = partition.decide(states[shard], PutCommand(item))
        partition.evolve(states[shard], outcome.change)


ITEMS = st.lists(st.fixed_dictionaries({
    "p": st.sampled_from(["a", "b", "c", "d", "e", "f"]).map(lambda v: {S: v}),
    "c": st.integers(0, 30).map(lambda v: {N: str(v)}),
    "g": st.sampled_from(["x", "y"]).map(lambda v: {S: v}),
    "x": st.text(max_size=3).map(lambda v: {S: v + "."}),
}), max_size=40)


def all_pages(states, spec, read):
    items, pages = [], 0
    while True:
        page = read(states, spec)
        items += page.items
        pages += 1
        assert pages < 100
        if page.last_evaluated_key is None:
            return items, pages
        spec = type(spec)(**{**{f: getattr(spec, f) for f in spec.__dataclass_fields__},
                             "exclusive_start": page.last_evaluated_key})


@settings(max_examples=50, deadline=None)
@given(ITEMS, st.integers(2, 5), st.one_of(st.none(), st.integers(1, 7)), st.booleans())
def test_merged_shard_pages_equal_a_single_shard_query(items, shards, limit, forward):
    one = [indexed_state()]
    many = [indexed_state() for _ in range(shards)]
    put_items(one, items)
    put_items(many, items)
    rc = ast.RangeKeyCondition("c", ">=", ({N: "3"},))
    spec = QuerySpec({S: "x"}, range=rc, forward=forward, limit=limit, index="by_g")
    merged, _ = all_pages(many, spec, index_reads.query)
    single, _ = all_pages(one, spec, index_reads.query)
    assert merged == single
    if limit is None:
        assert index_reads.query(many, spec) == index_reads.query(one, spec)
    scan = ScanSpec(limit=limit, index="by_g")
    assert all_pages(many, scan, index_reads.scan)[0] == all_pages(one, scan, index_reads.scan)[0]


def test_queries_on_an_index_range_filter_and_fetch():
    states = [indexed_state() for _ in range(3)]
    put_items(states, [{"p": {S: "a"}, "c": {N: str(i)}, "g": {S: "x"}, "l": {N: str(10 - i)},
                        "x": {S: "p"}, "y": {N: str(i)}} for i in range(10)])
    gsi = index_reads.query(states, QuerySpec({S: "x"}, range=ast.RangeKeyCondition("c", "BETWEEN", ({N: "2"}, {N: "4"})),
                                              index="by_g"))
    assert [i["c"] for i in gsi.items] == [{N: "2"}, {N: "3"}, {N: "4"}] and "y" not in gsi.items[0]
    lsi = index_reads.query(states, QuerySpec({S: "a"}, forward=False, limit=2, index="by_l", fetch=True))
    assert [i["l"] for i in lsi.items] == [{N: "10"}, {N: "9"}] and lsi.items[0]["y"] == {N: "0"}
    assert lsi.fetched_bytes > 0 and lsi.last_evaluated_key == {"p": {S: "a"}, "c": {N: "1"}, "l": {N: "9"}}
    prefix = indexed_state(indexes.IndexSet(0, (indexes.IndexDef("by_x", True, keys.KeySchema("g", S, "x", S),
                                                                   keys.KeySchema("p", S, "c", N)),)))
    put_items([prefix], [{"p": {S: "a"}, "c": {N: str(i)}, "g": {S: "k"}, "x": {S: w}}
                         for i, w in enumerate(["ab", "abc", "b", "a", "ac"])])
    found = partition.query(prefix, QuerySpec({S: "k"}, range=ast.RangeKeyCondition("x", "begins_with", ({S: "ab"},)),
                                              index="by_x", forward=False))
    assert [i["x"][S] for i in found.items] == ["abc", "ab"]
    with pytest.raises(DynamoError, match="does not have the specified index: nope"):
        partition.query(prefix, QuerySpec({S: "k"}, index="nope"))


def test_update_changes_a_gsi_throughput_on_a_provisioned_table():
    table = tables.new_table_description(
        request(BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
                AttributeDefinitions=_defs(("p", S), ("c", N), ("g", S)),
                GlobalSecondaryIndexes=[{**_index("by_g", ("g",)), "ProvisionedThroughput": {
                    "ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}]),
        arn="arn:t", table_id="id", now=1.0)
    update = {"GlobalSecondaryIndexUpdates": [{"Update": {"IndexName": "by_g", "ProvisionedThroughput": {
        "ReadCapacityUnits": 7, "WriteCapacityUnits": 8}}}]}
    updated = tables.updated_description(table, update, 2.0)
    assert updated["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"] == {
        "NumberOfDecreasesToday": 0, "ReadCapacityUnits": 7, "WriteCapacityUnits": 8}
    assert updated.get(indexes.EPOCH, 0) == 0  # no index created or deleted
