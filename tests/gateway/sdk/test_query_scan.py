"""Query and Scan as iterators: transparent paging over many pages, limits, pages(), resume."""

from __future__ import annotations

import asyncio

import pytest

from dynamoray.gateway.sdk import Attr, Key, SyncTransport

from .conftest import make_async_client, make_client, unique
from .fakes import FakeSync, Script

N = 120


@pytest.fixture(scope="module")
def filled(client, table_sn):
    """``N`` items under partition ``q`` with c = 0..N-1 and ``odd`` set on odd ones."""
    pk = unique("q")
    with client.table(table_sn).batch_writer() as batch:
        for c in range(N):
            batch.put({"p": pk, "c": c, "odd": c % 2 == 1, "pad": "x" * 10})
    return pk


def counting_client(endpoint):
    script = Script()
    return make_client(endpoint, transport=FakeSync(SyncTransport(endpoint), script)), script


def test_query_pages_transparently_over_many_pages(sdk_server, table_sn, filled):
    client, script = counting_client(sdk_server.endpoint)
    items = client.table(table_sn).query(Key("p").eq(filled), page_size=7).all()
    assert [i["c"] for i in items] == list(range(N))
    assert script.operations().count("Query") == N // 7 + 1  # 18 pages: 17 full, the last one partial
    starts = [r.get("ExclusiveStartKey") for op, r in script.calls]
    assert starts[0] is None and starts[1] == {"p": {"S": filled}, "c": {"N": "6"}}


def test_pages_limit_reverse_and_resume(client, table_sn, filled):
    table = client.table(table_sn)
    pages = list(table.query(Key("p").eq(filled), page_size=10, limit=25, reverse=True).pages())
    assert [len(p.items) for p in pages] == [10, 10, 5]
    assert [i["c"] for p in pages for i in p.items] == list(range(N - 1, N - 26, -1))
    assert pages[-1].last_key == {"p": filled, "c": N - 25}
    rest = table.query(Key("p").eq(filled), reverse=True, start_key=pages[-1].last_key).all()
    assert [i["c"] for i in rest] == list(range(N - 26, -1, -1))
    assert pages[0].count == 10 and pages[0].scanned_count == 10


def test_key_conditions_filters_and_projections(client, table_sn, filled):
    table = client.table(table_sn)
    between = table.query(Key("p").eq(filled) & Key("c").between(10, 19), filter=Attr("odd").eq(True),
                          projection=["c"], page_size=4).all()
    assert between == [{"c": c} for c in (11, 13, 15, 17, 19)]
    assert table.query(Key("p").eq(filled) & Key("c").gte(N - 3)).count() == 3
    # limit counts the items returned (after the filter), not the items read
    assert table.query(Key("p").eq(filled), filter=Attr("odd").eq(False), limit=4).all() == \
        [{"p": filled, "c": c, "odd": False, "pad": "x" * 10} for c in (0, 2, 4, 6)]
    assert table.query(Key("p").eq(filled)).first()["c"] == 0
    assert table.query(Key("p").eq("nothing-here")).first() is None


def test_scan_with_filter_and_parallel_segments(client, table_sn, filled):
    table = client.table(table_sn)
    mine = Attr("p").eq(filled)
    assert len(table.scan(filter=mine, page_size=50).all()) == N
    parts = [table.scan(filter=mine, segment=s, total_segments=3).all() for s in range(3)]
    assert sorted(i["c"] for part in parts for i in part) == list(range(N))
    assert table.scan(filter=mine & Attr("c").lt(10)).count() == 10


def test_async_iteration_and_pages(sdk_server, table_sn, filled):
    async def run():
        async with make_async_client(sdk_server.endpoint) as client:
            table = client.table(table_sn)
            seen = [i["c"] async for i in table.query(Key("p").eq(filled), page_size=11)]
            sizes = [len(p.items) async for p in table.query(Key("p").eq(filled), page_size=50).pages()]
            count = await table.query(Key("p").eq(filled)).count()
            first = await table.scan(filter=Attr("p").eq(filled) & Attr("c").eq(5)).first()
            return seen, sizes, count, first, await table.query(Key("p").eq(filled), limit=3).all()

    seen, sizes, count, first, three = asyncio.run(run())
    assert seen == list(range(N)) and sizes == [50, 50, 20] and count == N
    assert first == {"p": filled, "c": 5, "odd": True, "pad": "x" * 10}
    assert [i["c"] for i in three] == [0, 1, 2]


def test_limit_must_be_positive(client, table_sn):
    with pytest.raises(ValueError):
        client.table(table_sn).scan(limit=0).all()
