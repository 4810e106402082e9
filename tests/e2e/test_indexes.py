"""Secondary indexes through boto3, on every engine: LSIs and GSIs at CreateTable and online,
every projection type, sparse GSIs, pagination, capacity, DescribeTable's shapes, the errors."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from dynamoray.core import indexes as core_indexes

from .conftest import unique

S, N = "S", "N"


def _defs(*pairs):
    return [{"AttributeName": n, "AttributeType": t} for n, t in pairs]


def _key(*names):
    return [{"AttributeName": n, "KeyType": kind} for n, kind in zip(names, ("HASH", "RANGE"))]


def _gsi(name, keys, projection="ALL", non_key=None):
    out = {"IndexName": name, "KeySchema": _key(*keys), "Projection": {"ProjectionType": projection}}
    if non_key is not None:
        out["Projection"]["NonKeyAttributes"] = non_key
    return out


def music_table(ddb) -> str:
    """artist (HASH) + song (RANGE); LSIs by year (KEYS_ONLY) and album (INCLUDE genre); GSIs by
    genre (ALL), by label (KEYS_ONLY, sparse: few items have a label) and by album (INCLUDE year)."""
    name = unique("music")
    ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=_key("artist", "song"),
        AttributeDefinitions=_defs(("artist", S), ("song", S), ("year", N), ("album", S), ("genre", S),
                                   ("label", S)),
        LocalSecondaryIndexes=[_gsi("by_year", ("artist", "year"), "KEYS_ONLY"),
                               _gsi("by_album", ("artist", "album"), "INCLUDE", ["genre"])],
        GlobalSecondaryIndexes=[_gsi("by_genre", ("genre", "year")),
                                _gsi("by_label", ("label",), "KEYS_ONLY"),
                                _gsi("genre_album", ("genre", "album"), "INCLUDE", ["year"])],
    )
    return name


def song(artist, title, year, album, genre, label=None, plays=0):
    item = {"artist": {S: artist}, "song": {S: title}, "year": {N: str(year)}, "album": {S: album},
            "genre": {S: genre}, "plays": {N: str(plays)}}
    if label is not None:
        item["label"] = {S: label}
    return item


def eventually(check, timeout=20.0):
    """GSIs are eventually consistent: poll ``check`` until it passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def query_all(ddb, **kwargs):
    items, pages = [], 0
    while True:
        page = ddb.query(**kwargs)
        items += page.get("Items", [])
        pages += 1
        if "LastEvaluatedKey" not in page:
            return items, pages
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture(scope="module")
def music(ddb):
    name = music_table(ddb)
    songs = [song("nina", f"s{i:02d}", 1960 + i % 7, f"album{i % 3}", ("jazz", "soul")[i % 2],
                  label="colpix" if i % 5 == 0 else None, plays=i) for i in range(30)]
    songs += [song("otis", f"o{i:02d}", 1965 + i, "dock", "soul", plays=100 + i) for i in range(5)]
    for item in songs:
        ddb.put_item(TableName=name, Item=item)
    return name, songs


def test_describe_table_shows_every_index_with_its_counts(ddb, music):
    name, songs = music
    table = ddb.describe_table(TableName=name)["Table"]
    lsis = {e["IndexName"]: e for e in table["LocalSecondaryIndexes"]}
    gsis = {e["IndexName"]: e for e in table["GlobalSecondaryIndexes"]}
    assert set(lsis) == {"by_year", "by_album"} and set(gsis) == {"by_genre", "by_label", "genre_album"}
    assert lsis["by_album"]["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["genre"]}
    assert lsis["by_year"]["KeySchema"] == _key("artist", "year")
    assert lsis["by_year"]["IndexArn"] == f"{table['TableArn']}/index/by_year"
    assert "IndexStatus" not in lsis["by_year"] and "ProvisionedThroughput" not in lsis["by_year"]
    genre = gsis["by_genre"]
    assert genre["IndexStatus"] == "ACTIVE" and "Backfilling" not in genre
    assert genre["ProvisionedThroughput"] == {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0,
                                              "WriteCapacityUnits": 0}
    assert genre["IndexArn"] == f"{table['TableArn']}/index/by_genre"

    def counted():
        found = {e["IndexName"]: e for e in ddb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]}
        assert found["by_genre"]["ItemCount"] == len(songs)
        assert found["by_label"]["ItemCount"] == sum(1 for s in songs if "label" in s)  # sparse
        assert 0 < found["by_label"]["IndexSizeBytes"] < found["by_genre"]["IndexSizeBytes"]
    eventually(counted)
    assert "_IndexEpoch" not in table


def test_gsi_query_with_each_projection(ddb, music):
    name, songs = music
    soul = sorted((s for s in songs if s["genre"][S] == "soul"), key=lambda s: (int(s["year"][N])))

    def all_projection():
        items, _ = query_all(ddb, TableName=name, IndexName="by_genre", KeyConditionExpression="genre = :g",
                             ExpressionAttributeValues={":g": {S: "soul"}})
        assert len(items) == len(soul) and all(item in soul for item in items)
        assert [int(i["year"][N]) for i in items] == sorted(int(i["year"][N]) for i in items)
    eventually(all_projection)
    keys_only = ddb.query(TableName=name, IndexName="by_label", KeyConditionExpression="label = :l",
                          ExpressionAttributeValues={":l": {S: "colpix"}})["Items"]
    assert sorted(i["song"][S] for i in keys_only) == ["s00", "s05", "s10", "s15", "s20", "s25"]
    assert all(set(i) == {"artist", "song", "label"} for i in keys_only)
    include = ddb.query(TableName=name, IndexName="genre_album",
                        KeyConditionExpression="genre = :g AND album = :a",
                        ExpressionAttributeValues={":g": {S: "soul"}, ":a": {S: "dock"}})["Items"]
    assert len(include) == 5 and all(set(i) == {"artist", "song", "genre", "album", "year"} for i in include)
    # a GSI returns only what it projects: a non-projected attribute is simply absent
    plays = ddb.query(TableName=name, IndexName="genre_album", KeyConditionExpression="genre = :g AND album = :a",
                      ProjectionExpression="song, plays", ExpressionAttributeValues={":g": {S: "soul"}, ":a": {S: "dock"}})
    assert all(set(i) == {"song"} for i in plays["Items"])


def test_lsi_queries_fetch_what_the_index_does_not_project(ddb, music):
    name, songs = music
    nina = [s for s in songs if s["artist"][S] == "nina"]
    keys_only = ddb.query(TableName=name, IndexName="by_year", ConsistentRead=True,
                          KeyConditionExpression="artist = :a AND #y BETWEEN :lo AND :hi",
                          ExpressionAttributeNames={"#y": "year"},
                          ExpressionAttributeValues={":a": {S: "nina"}, ":lo": {N: "1961"}, ":hi": {N: "1962"}})
    expected = [s for s in nina if 1961 <= int(s["year"][N]) <= 1962]
    assert keys_only["Count"] == len(expected)
    assert all(set(i) == {"artist", "song", "year"} for i in keys_only["Items"])
    fetched = ddb.query(TableName=name, IndexName="by_year", Select="ALL_ATTRIBUTES", ConsistentRead=True,
                        KeyConditionExpression="artist = :a AND #y = :y", ExpressionAttributeNames={"#y": "year"},
                        ExpressionAttributeValues={":a": {S: "nina"}, ":y": {N: "1960"}},
                        ReturnConsumedCapacity="INDEXES")
    assert sorted(fetched["Items"], key=lambda i: i["song"][S]) == [s for s in nina if s["year"][N] == "1960"]
    consumed = fetched["ConsumedCapacity"]
    assert consumed["LocalSecondaryIndexes"]["by_year"]["CapacityUnits"] == 1.0  # strongly consistent
    assert consumed["Table"]["CapacityUnits"] == 1.0  # the fetched items
    projected = ddb.query(TableName=name, IndexName="by_album", ProjectionExpression="song, plays",
                          KeyConditionExpression="artist = :a AND album = :b",
                          ExpressionAttributeValues={":a": {S: "nina"}, ":b": {S: "album1"}})["Items"]
    assert sorted(int(i["plays"][N]) for i in projected) == [i for i in range(30) if i % 3 == 1]
    filtered = ddb.query(TableName=name, IndexName="by_album", FilterExpression="plays > :n",
                         KeyConditionExpression="artist = :a AND album = :b",
                         ExpressionAttributeValues={":a": {S: "nina"}, ":b": {S: "album1"}, ":n": {N: "20"}})
    assert filtered["Count"] == 3 and filtered["ScannedCount"] == 10  # plays 22, 25, 28 of 10 in album1
    assert all(set(i) == {"artist", "song", "album", "genre"} for i in filtered["Items"])  # fetched, not returned
    newest_first = ddb.query(TableName=name, IndexName="by_year", ScanIndexForward=False, Limit=1,
                             KeyConditionExpression="artist = :a", ExpressionAttributeValues={":a": {S: "otis"}})
    assert newest_first["Items"][0]["year"] == {N: "1969"}
    assert newest_first["LastEvaluatedKey"] == {"artist": {S: "otis"}, "song": {S: "o04"}, "year": {N: "1969"}}


def test_gsi_pages_resume_from_keys_holding_table_and_index_keys(ddb, music):
    name, songs = music
    jazz = [s for s in songs if s["genre"][S] == "jazz"]

    def paged():
        items, pages = query_all(ddb, TableName=name, IndexName="by_genre", KeyConditionExpression="genre = :g",
                                 ExpressionAttributeValues={":g": {S: "jazz"}}, Limit=4, ScanIndexForward=False)
        assert sorted(i["song"][S] for i in items) == sorted(s["song"][S] for s in jazz)
        assert pages == len(jazz) // 4 + 1
        years = [int(i["year"][N]) for i in items]
        assert years == sorted(years, reverse=True)
    eventually(paged)
    first = ddb.query(TableName=name, IndexName="by_genre", KeyConditionExpression="genre = :g",
                      ExpressionAttributeValues={":g": {S: "jazz"}}, Limit=2)
    assert set(first["LastEvaluatedKey"]) == {"artist", "song", "genre", "year"}
    counted = ddb.query(TableName=name, IndexName="by_genre", Select="COUNT", KeyConditionExpression="genre = :g",
                        FilterExpression="plays > :p",
                        ExpressionAttributeValues={":g": {S: "jazz"}, ":p": {N: "20"}})
    assert counted["Count"] == sum(1 for s in jazz if int(s["plays"][N]) > 20) and "Items" not in counted
    assert counted["ScannedCount"] == len(jazz)


def test_scan_an_index_whole_and_in_parallel_segments(ddb, music):
    name, songs = music
    labelled = sorted(s["song"][S] for s in songs if "label" in s)

    def whole():
        page = ddb.scan(TableName=name, IndexName="by_label")
        assert sorted(i["song"][S] for i in page["Items"]) == labelled
    eventually(whole)
    seen = []
    for segment in range(3):
        kwargs = {"TableName": name, "IndexName": "by_genre", "Segment": segment, "TotalSegments": 3, "Limit": 5}
        while True:
            page = ddb.scan(**kwargs)
            seen += [i["song"][S] for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    assert sorted(seen) == sorted(s["song"][S] for s in songs)


def test_sparse_gsi_follows_updates_and_deletes(ddb, music):
    name, _ = music
    key = {"artist": {S: "ella"}, "song": {S: "summertime"}}
    ddb.put_item(TableName=name, Item={**key, "genre": {S: "swing"}, "year": {N: "1958"}})

    def labels(expected):
        def check():
            found = ddb.query(TableName=name, IndexName="by_label", KeyConditionExpression="label = :l",
                              ExpressionAttributeValues={":l": {S: "verve"}})["Items"]
            assert found == expected
        eventually(check)
    labels([])
    ddb.update_item(TableName=name, Key=key, UpdateExpression="SET label = :l", ExpressionAttributeValues={":l": {S: "verve"}})
    labels([{**key, "label": {S: "verve"}}])
    ddb.update_item(TableName=name, Key=key, UpdateExpression="REMOVE label")
    labels([])
    ddb.update_item(TableName=name, Key=key, UpdateExpression="SET label = :l", ExpressionAttributeValues={":l": {S: "verve"}})
    labels([{**key, "label": {S: "verve"}}])
    ddb.delete_item(TableName=name, Key=key)
    labels([])


def test_writes_check_index_keys_and_count_index_capacity(ddb, music):
    name, _ = music
    key = {"artist": {S: "ray"}, "song": {S: "georgia"}}
    with pytest.raises(ClientError) as found:
        ddb.put_item(TableName=name, Item={**key, "genre": {N: "1"}})
    assert found.value.response["Error"]["Message"] == (
        "One or more parameter values were invalid: Type mismatch for Index Key genre Expected: S Actual: N "
        "IndexName: by_genre")
    with pytest.raises(ClientError) as found:
        ddb.put_item(TableName=name, Item={**key, "label": {S: ""}})
    assert found.value.response["Error"]["Message"] == (
        "One or more parameter values are not valid. A value specified for a secondary index key is not supported. "
        "The AttributeValue for a key attribute cannot contain an empty string value. IndexName: by_label, "
        "IndexKey: label")
    out = ddb.put_item(TableName=name, Item={**key, "genre": {S: "soul"}, "year": {N: "1960"}},
                       ReturnConsumedCapacity="INDEXES", ReturnItemCollectionMetrics="SIZE")
    consumed = out["ConsumedCapacity"]
    assert consumed["Table"] == {"CapacityUnits": 1.0}
    assert consumed["GlobalSecondaryIndexes"] == {"by_genre": {"CapacityUnits": 1.0}}  # genre_album: no album
    assert consumed["LocalSecondaryIndexes"] == {"by_year": {"CapacityUnits": 1.0}}
    assert consumed["CapacityUnits"] == 3.0
    assert out["ItemCollectionMetrics"] == {"ItemCollectionKey": {"artist": {S: "ray"}}, "SizeEstimateRangeGB": [0.0, 1.0]}
    moved = ddb.update_item(TableName=name, Key=key, UpdateExpression="SET genre = :g",
                            ExpressionAttributeValues={":g": {S: "rnb"}}, ReturnConsumedCapacity="TOTAL")
    assert moved["ConsumedCapacity"]["CapacityUnits"] == 3.0  # table 1 + the GSI entry deleted and put


def test_item_collection_size_limit(ddb, music, request, monkeypatch):
    if request.node.callspec.params["server"] == "ray":
        pytest.skip("the limit is lowered in this process; Ray hosts are other processes")
    name, _ = music
    monkeypatch.setattr(core_indexes, "ITEM_COLLECTION_LIMIT", 2000)
    big = "x" * 400
    ddb.put_item(TableName=name, Item={"artist": {S: "miles"}, "song": {S: "a"}, "year": {N: "1959"}, "pad": {S: big}})
    ddb.put_item(TableName=name, Item={"artist": {S: "miles"}, "song": {S: "b"}, "year": {N: "1959"}, "pad": {S: big}})
    with pytest.raises(ClientError) as found:
        for n in range(10):
            ddb.put_item(TableName=name, Item={"artist": {S: "miles"}, "song": {S: f"c{n}"}, "pad": {S: big}})
    assert found.value.response["Error"]["Code"] == "ItemCollectionSizeLimitExceededException"
    ddb.delete_item(TableName=name, Key={"artist": {S: "miles"}, "song": {S: "a"}})  # shrinking is allowed


def test_online_gsi_creation_and_deletion(ddb):
    name = unique("online")
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=_key("p"),
                     AttributeDefinitions=_defs(("p", S)))
    for i in range(300):
        item = {"p": {S: f"k{i}"}, "v": {N: str(i % 10)}}
        if i % 7 == 0:
            item["v"] = {S: "not a number"}  # skipped by the backfill: the wrong type
        ddb.put_item(TableName=name, Item=item)
    created = ddb.update_table(TableName=name, AttributeDefinitions=_defs(("v", N)),
                               GlobalSecondaryIndexUpdates=[{"Create": _gsi("by_v", ("v",), "KEYS_ONLY")}])
    entry = created["TableDescription"]["GlobalSecondaryIndexes"][0]
    assert (entry["IndexName"], entry["IndexStatus"], entry["Backfilling"]) == ("by_v", "CREATING", True)
    assert created["TableDescription"]["AttributeDefinitions"] == _defs(("p", S), ("v", N))

    def active():
        found = ddb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"][0]
        assert found["IndexStatus"] == "ACTIVE" and "Backfilling" not in found
    eventually(active, timeout=60)
    threes = ddb.query(TableName=name, IndexName="by_v", KeyConditionExpression="v = :v",
                       ExpressionAttributeValues={":v": {N: "3"}})["Items"]
    assert sorted(i["p"][S] for i in threes) == sorted(f"k{i}" for i in range(300) if i % 10 == 3 and i % 7)
    with pytest.raises(ClientError, match="Type mismatch for Index Key v"):
        ddb.put_item(TableName=name, Item={"p": {S: "late"}, "v": {S: "x"}})
    with pytest.raises(ClientError, match="Attempting to create an index which already exists"):
        ddb.update_table(TableName=name, AttributeDefinitions=_defs(("v", N)),
                         GlobalSecondaryIndexUpdates=[{"Create": _gsi("by_v", ("v",))}])
    deleted = ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by_v"}}])
    assert deleted["TableDescription"]["GlobalSecondaryIndexes"][0]["IndexStatus"] == "DELETING"

    def gone():
        table = ddb.describe_table(TableName=name)["Table"]
        assert "GlobalSecondaryIndexes" not in table and table["AttributeDefinitions"] == _defs(("p", S))
    eventually(gone, timeout=60)
    with pytest.raises(ClientError, match="The table does not have the specified index: by_v"):
        ddb.query(TableName=name, IndexName="by_v", KeyConditionExpression="v = :v",
                  ExpressionAttributeValues={":v": {N: "3"}})
    ddb.put_item(TableName=name, Item={"p": {S: "late"}, "v": {S: "x"}})  # no index: any type again


def test_restores_keep_the_indexes_unless_overridden(ddb, music):
    name, songs = music
    arn = ddb.create_backup(TableName=name, BackupName="with_indexes")["BackupDetails"]["BackupArn"]
    target, bare = unique("restored"), unique("bare")
    ddb.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
    ddb.restore_table_from_backup(TargetTableName=bare, BackupArn=arn, GlobalSecondaryIndexOverride=[],
                                  LocalSecondaryIndexOverride=[])

    def restored():
        assert ddb.describe_table(TableName=target)["Table"]["TableStatus"] == "ACTIVE"
        assert ddb.describe_table(TableName=bare)["Table"]["TableStatus"] == "ACTIVE"
    eventually(restored, timeout=60)
    table = ddb.describe_table(TableName=target)["Table"]
    assert {e["IndexName"] for e in table["GlobalSecondaryIndexes"]} == {"by_genre", "by_label", "genre_album"}
    assert {e["IndexName"] for e in table["LocalSecondaryIndexes"]} == {"by_year", "by_album"}
    dock = ddb.query(TableName=target, IndexName="genre_album", KeyConditionExpression="genre = :g AND album = :a",
                     ExpressionAttributeValues={":g": {S: "soul"}, ":a": {S: "dock"}})
    assert dock["Count"] == 5
    plain = ddb.describe_table(TableName=bare)["Table"]
    assert "GlobalSecondaryIndexes" not in plain and "LocalSecondaryIndexes" not in plain
    assert plain["AttributeDefinitions"] == _defs(("artist", S), ("song", S))


def _error(call, **kwargs):
    with pytest.raises(ClientError) as found:
        call(**kwargs)
    return found.value.response["Error"]["Code"], found.value.response["Error"]["Message"]


INVALID = "One or more parameter values were invalid: "


def test_create_table_index_errors(ddb):
    base = {"TableName": unique("bad"), "BillingMode": "PAY_PER_REQUEST", "KeySchema": _key("p", "c"),
            "AttributeDefinitions": _defs(("p", S), ("c", S), ("x", S))}
    cases = [
        ({"LocalSecondaryIndexes": [_gsi("lsi", ("x", "c"))]},
         INVALID + "Index KeySchema does not have the same leading hash key as table KeySchema for index: lsi. "
         "index hash key: x, table hash key: p"),
        ({"LocalSecondaryIndexes": [_gsi("lsi", ("p",))]},
         INVALID + "Index KeySchema does not have a range key for index: lsi"),
        ({"GlobalSecondaryIndexes": [_gsi("gsi", ("y",))]},
         INVALID + "Some index key attributes are not defined in AttributeDefinitions. Keys: [y], "
         "AttributeDefinitions: [p, c, x]"),
        ({"GlobalSecondaryIndexes": [_gsi("gsi", ("x",), "ALL", ["a"])]},
         INVALID + "ProjectionType is ALL, but NonKeyAttributes is specified"),
        ({"GlobalSecondaryIndexes": [_gsi("gsi", ("x",)), _gsi("gsi", ("x",))]}, INVALID + "Duplicate index name: gsi"),
        ({"GlobalSecondaryIndexes": [{**_gsi("gsi", ("x",)), "ProvisionedThroughput": {
            "ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}]},
         INVALID + "ProvisionedThroughput should not be specified for index: gsi when BillingMode is PAY_PER_REQUEST"),
        ({"GlobalSecondaryIndexes": [_gsi(f"g{i:02d}", ("x",)) for i in range(21)]},
         INVALID + "GlobalSecondaryIndex count exceeds the per-table limit of 20"),
        ({"LocalSecondaryIndexes": [_gsi(f"l{i:02d}", ("p", "x")) for i in range(6)]},
         INVALID + "Number of LocalSecondaryIndexes exceeds per-table limit of 5"),
        ({"GlobalSecondaryIndexes": []}, INVALID + "List of GlobalSecondaryIndexes is empty"),
        ({"GlobalSecondaryIndexes": [_gsi("gsi", ("c",))]},
         INVALID + "Some AttributeDefinitions are not used. AttributeDefinitions: [p, c, x], keys used: [p, c]"),
    ]
    for extra, message in cases:
        assert _error(ddb.create_table, **{**base, **extra}) == ("ValidationException", message)
    no_range = {**base, "KeySchema": _key("p"), "AttributeDefinitions": _defs(("p", S), ("x", S)),
                "LocalSecondaryIndexes": [_gsi("lsi", ("p", "x"))]}
    assert _error(ddb.create_table, **no_range) == ("ValidationException", INVALID + (
        "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex"))
    provisioned = {**base, "BillingMode": "PROVISIONED", "GlobalSecondaryIndexes": [_gsi("gsi", ("x",))],
                   "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}
    assert _error(ddb.create_table, **provisioned) == (
        "ValidationException", INVALID + "ProvisionedThroughput must be specified for index: gsi")


def test_update_table_and_query_index_errors(ddb, music):
    name, _ = music
    two = [{"Create": _gsi("one", ("year",))}, {"Create": _gsi("two", ("year",))}]
    assert _error(ddb.update_table, TableName=name, AttributeDefinitions=_defs(("year", N)),
                  GlobalSecondaryIndexUpdates=two) == (
        "LimitExceededException",
        "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table")
    assert _error(ddb.update_table, TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "nope"}}])[0] \
        == "ResourceNotFoundException"
    assert _error(ddb.update_table, TableName=name, GlobalSecondaryIndexUpdates=[{"Create": _gsi("byx", ("x",))}]) == (
        "ValidationException", INVALID + "Some index key attributes are not defined in AttributeDefinitions. "
        "Keys: [x], AttributeDefinitions: []")
    query = {"TableName": name, "KeyConditionExpression": "genre = :g", "ExpressionAttributeValues": {":g": {S: "soul"}}}
    assert _error(ddb.query, IndexName="nope", **query) == (
        "ValidationException", "The table does not have the specified index: nope")
    assert _error(ddb.query, IndexName="by_genre", ConsistentRead=True, **query) == (
        "ValidationException", "Consistent reads are not supported on global secondary indexes")
    assert _error(ddb.query, IndexName="genre_album", Select="ALL_ATTRIBUTES", **query) == (
        "ValidationException", INVALID + "Select type ALL_ATTRIBUTES is not supported for global secondary index "
        "genre_album because its projection type is not ALL")
    assert _error(ddb.query, IndexName="by_genre", ExclusiveStartKey={"artist": {S: "a"}, "song": {S: "b"}}, **query) == (
        "ValidationException", "The provided starting key is invalid")
    assert _error(ddb.query, IndexName="by_genre", **{**query, "KeyConditionExpression": "artist = :g"}) == (
        "ValidationException", "Query condition missed key schema element: genre")


# --- an online creation on 100,000 items while writes go on ----------------------------------------


def _scan_all(ddb, **kwargs):
    items = []
    while True:
        page = ddb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_online_gsi_on_100000_items_while_writes_continue():
    """On a local engine of its own (loading 100,000 items through HTTP takes minutes here; they are
    written through the engine, the rest goes through boto3).  The index, once ACTIVE, holds exactly
    the projection of the base items, writes made during the backfill included."""
    import asyncio
    import threading

    from dynamoray.actors.local import LocalEngine
    from dynamoray.core.commands import PutCommand
    from dynamoray.gateway.runner import BackgroundServer, build_gateway
    from dynamoray.gateway.server import ServerConfig

    from .conftest import ACCESS_KEY, REGION, SECRET_KEY, make_client

    engine = LocalEngine(shards=3)
    name, total = "big_online", 100_000

    async def load():
        await engine.open()
        await engine.create_table(tables_description(name))
        for start in range(0, total, 2000):
            await asyncio.gather(*(engine.write(name, PutCommand(
                {"p": {S: f"k{i}"}, "g": {S: f"g{i % 97}"}, "v": {N: str(i)}})) for i in range(start, start + 2000)))

    asyncio.run(load())
    background = BackgroundServer(build_gateway(engine, ACCESS_KEY, SECRET_KEY, ServerConfig(region=REGION))).start()
    try:
        ddb = make_client(background.endpoint)
        stop, written = threading.Event(), [0]

        def writes():
            client = make_client(background.endpoint)
            i = 0
            while not stop.is_set():
                client.put_item(TableName=name, Item={"p": {S: f"k{i * 7 % total}"}, "g": {S: f"new{i % 5}"},
                                                      "v": {N: "-1"}})
                client.put_item(TableName=name, Item={"p": {S: f"extra{i}"}, "g": {S: "late"}})
                client.delete_item(TableName=name, Key={"p": {S: f"k{i * 13 % total}"}})
                client.update_item(TableName=name, Key={"p": {S: f"k{i * 11 % total}"}}, UpdateExpression="REMOVE g")
                written[0] += 4
                i += 1

        writer = threading.Thread(target=writes)
        writer.start()
        try:
            created = ddb.update_table(TableName=name, AttributeDefinitions=_defs(("g", S)),
                                       GlobalSecondaryIndexUpdates=[{"Create": _gsi("by_g", ("g",), "INCLUDE", ["v"])}])
            assert created["TableDescription"]["GlobalSecondaryIndexes"][0]["IndexStatus"] == "CREATING"

            def active():
                entry = ddb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"][0]
                assert entry["IndexStatus"] == "ACTIVE"
            eventually(active, timeout=120)
            before = written[0]
            eventually(lambda: _more(written, before))  # writes went on after it became ACTIVE too
        finally:
            stop.set()
            writer.join()
        base = _scan_all(ddb, TableName=name)
        expected = sorted(({k: v for k, v in item.items() if k in ("p", "g", "v")} for item in base if "g" in item),
                          key=lambda item: item["p"][S])
        indexed = sorted(_scan_all(ddb, TableName=name, IndexName="by_g"), key=lambda item: item["p"][S])
        assert len(indexed) == len(expected) > total * 0.9
        assert indexed == expected
        late = ddb.query(TableName=name, IndexName="by_g", KeyConditionExpression="g = :g",
                         ExpressionAttributeValues={":g": {S: "late"}}, Select="COUNT")
        assert late["Count"] == sum(1 for item in base if item["p"][S].startswith("extra"))
    finally:
        background.stop()
        asyncio.run(engine.close())


def _more(written, before):
    assert written[0] > before


def tables_description(name):
    from dynamoray.core import tables

    return tables.new_table_description(
        {"TableName": name, "KeySchema": _key("p"), "AttributeDefinitions": _defs(("p", S)),
         "BillingMode": "PAY_PER_REQUEST"},
        arn=f"arn:aws:dynamodb:us-east-1:000000000000:table/{name}", table_id=unique("id"), now=time.time())
