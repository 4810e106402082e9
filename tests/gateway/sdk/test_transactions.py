"""Transactions as context managers: commit on exit, nothing on an exception, cancellation reasons."""

from __future__ import annotations

import asyncio

import pytest

from dynamoray.gateway.sdk import Attr, Get, SyncTransport, TransactionCanceledException, Update

from .conftest import make_async_client, make_client, unique
from .fakes import FakeSync, Script, connection_refused


def test_a_transaction_commits_every_action_on_exit(client, table_s, table_sn):
    accounts, ledger = client.table(table_s), client.table(table_sn)
    a, b, bank = unique("acct"), unique("acct"), unique("bank")
    accounts.put({"p": a, "balance": 100})
    accounts.put({"p": b, "balance": 0})
    accounts.put({"p": bank, "open": True})
    with client.transaction() as tx:
        tx.update(accounts, {"p": a}, Update().add("balance", -30), condition=Attr("balance").gte(30))
        tx.update(accounts, {"p": b}, Update().add("balance", 30))
        tx.put(ledger, {"p": a, "c": 1, "amount": -30}, condition=Attr("p").not_exists())
        tx.condition_check(table_s, {"p": bank}, Attr("open").eq(True))
    assert tx.committed
    assert client.transact_get(Get(accounts, {"p": a}), Get(table_s, {"p": b}, projection=["balance"]),
                               Get(ledger, {"p": a, "c": 1}), Get(ledger, {"p": a, "c": 2})) == \
        [{"p": a, "balance": 70}, {"balance": 30}, {"p": a, "c": 1, "amount": -30}, None]


def test_a_cancelled_transaction_says_which_action_failed_and_changes_nothing(client, table_s):
    table = client.table(table_s)
    a, b = unique("tx"), unique("tx")
    table.put({"p": a, "stock": 1})
    with pytest.raises(TransactionCanceledException) as raised:
        with client.transaction() as tx:
            tx.put(table, {"p": b, "reserved": True})
            tx.update(table, {"p": a}, Update().add("stock", -2), condition=Attr("stock").gte(2),
                      on_condition_failure="ALL_OLD")
    reasons = raised.value.reasons
    assert [r.code for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1].message == "The conditional request failed" and reasons[1].item == {"p": a, "stock": 1}
    assert raised.value.message.startswith("Transaction cancelled, please refer cancellation reasons for specific "
                                           "reasons [None, ConditionalCheckFailed]")
    assert table.get({"p": b}) is None and table.get({"p": a}) == {"p": a, "stock": 1}


def test_an_exception_in_the_block_sends_nothing(sdk_server, table_s):
    script = Script()
    pk = unique("tx")
    with make_client(sdk_server.endpoint, transport=FakeSync(SyncTransport(sdk_server.endpoint), script)) as client:
        with pytest.raises(RuntimeError):
            with client.transaction() as tx:
                tx.put(table_s, {"p": pk})
                raise RuntimeError("changed my mind")
        with client.transaction():
            pass  # an empty transaction sends nothing either
        assert client.table(table_s).get({"p": pk}) is None
    assert script.operations() == ["GetItem"]


def test_a_retried_transaction_reuses_its_token(sdk_server, table_s):
    script = Script([connection_refused()], only="TransactWriteItems")
    pk = unique("tok")
    from dynamoray.gateway.sdk import RetryConfig

    retry = RetryConfig(base_delay=0.001, max_backoff=0.002)
    with make_client(sdk_server.endpoint, retry=retry,
                     transport=FakeSync(SyncTransport(sdk_server.endpoint), script)) as client:
        with client.transaction() as tx:
            tx.update(table_s, {"p": pk}, Update().add("n", 1))
        assert client.table(table_s).get({"p": pk}) == {"p": pk, "n": 1}
    tokens = [r["ClientRequestToken"] for op, r in script.calls if op == "TransactWriteItems"]
    assert len(tokens) == 2 and tokens[0] == tokens[1] == tx.token


def test_async_transactions(sdk_server, table_s):
    a = unique("atx")

    async def run():
        async with make_async_client(sdk_server.endpoint) as client:
            table = client.table(table_s)
            async with client.transaction() as tx:
                tx.put(table, {"p": a, "n": 1})
            with pytest.raises(TransactionCanceledException) as raised:
                async with client.transaction() as tx:
                    tx.delete(table, {"p": a}, condition=Attr("n").eq(2))
            return raised.value.reasons, await client.transact_get(Get(table, {"p": a}))

    reasons, got = asyncio.run(run())
    assert [r.code for r in reasons] == ["ConditionalCheckFailed"] and got == [{"p": a, "n": 1}]
