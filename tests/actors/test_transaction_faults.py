"""Transactions on real Ray actors under SIGKILL: money moves between accounts in four tables (on
both hosts) while partition hosts and the coordinator are killed at random moments.

Each transfer carries a ClientRequestToken and is retried with it until it gets a definite answer
(a retry of a commit replays its success; a transaction that never committed runs again), so
every transfer ends acknowledged or cancelled.  Afterwards: the money is conserved, no account is
negative, the balances are exactly those the acknowledged transfers make (so each acknowledged
transfer was applied once and each cancelled one not at all), and no item stays locked.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
import uuid

from dynamoray.actors.client import host_index
from dynamoray.core import saga
from dynamoray.core.commands import ConditionCheckCommand, PutCommand, UpdateCommand
from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import ExpressionContext

from .conftest import start_cluster
from .helpers import RETRYABLE, description, key, retrying

TABLES, ACCOUNTS, START = 4, 6, 100
CLIENTS = 6
CHAOS_SECONDS = 18.0
RETRY_ERRORS = RETRYABLE + ("TransactionInProgressException",)


def run(coro):
    return asyncio.run(coro)


def transfer_actions(src: tuple[str, str], dst: tuple[str, str], amount: int) -> list:
    values = {":a": {"N": str(amount)}, ":m": {"N": str(-amount)}}
    debit = ExpressionContext(None, values)
    credit = ExpressionContext(None, {":a": {"N": str(amount)}})
    return [
        (src[0], UpdateCommand(key(src[1]), debit.update("ADD bal :m"), debit.condition("bal >= :a"))),
        (dst[0], UpdateCommand(key(dst[1]), credit.update("ADD bal :a"))),
    ]


class Bank:
    def __init__(self, engine, tables: list[str], seed: int) -> None:
        self.engine = engine
        self.accounts = [(t, f"a{i}") for t in tables for i in range(ACCOUNTS)]
        self.random = random.Random(seed)
        self.acked: list[tuple[tuple, tuple, int]] = []
        self.cancelled = 0
        self.retried = 0

    async def transfer(self) -> None:
        src, dst = self.random.sample(self.accounts, 2)
        amount = self.random.randint(1, 60)
        actions, token = transfer_actions(src, dst, amount), uuid.uuid4().hex
        digest = saga.request_hash([repr(a) for a in actions])
        deadline = time.monotonic() + 90
        while True:
            try:
                await self.engine.transact_write(actions, token, digest)
                self.acked.append((src, dst, amount))
                return
            except DynamoError as error:
                if error.error_type == "TransactionCanceledException":
                    self.cancelled += 1
                    return
                assert error.error_type in RETRY_ERRORS, error
                assert time.monotonic() < deadline, "a transfer never got a definite answer"
                self.retried += 1
                await asyncio.sleep(0.05)

    async def client(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.transfer()

    def expected(self) -> dict[tuple, int]:
        balances = {account: START for account in self.accounts}
        for src, dst, amount in self.acked:
            balances[src] -= amount
            balances[dst] += amount
        return balances

    async def balances(self) -> dict[tuple, int]:
        """Every balance in one TransactGetItems, retried while anything is locked."""
        deadline = time.monotonic() + 60
        while True:
            try:
                items = await self.engine.transact_get([(t, key(p)) for t, p in self.accounts])
                return {a: int(i["bal"]["N"]) for a, i in zip(self.accounts, items)}
            except DynamoError as error:
                assert error.error_type in RETRY_ERRORS + ("TransactionCanceledException",), error
                assert time.monotonic() < deadline, f"items stayed locked: {error.extra}"
                await asyncio.sleep(0.2)


async def kill_and_wait(actor) -> int:
    old = await retrying(lambda: actor.call("pid"))
    os.kill(old, signal.SIGKILL)
    new = await retrying(lambda: actor.call("pid"), deadline=60)
    assert new != old
    return new


async def chaos(cluster, stop: asyncio.Event, seed: int) -> list[str]:
    chooser, killed = random.Random(seed), []
    end = time.monotonic() + CHAOS_SECONDS
    while time.monotonic() < end:
        await asyncio.sleep(chooser.uniform(1.0, 3.0))
        victim = chooser.choice([cluster.coordinator, *cluster.hosts])
        await kill_and_wait(victim)
        killed.append(victim.name)
    stop.set()
    return killed


async def make_tables(engine, hosts: int) -> list[str]:
    """Four tables, at least one on each host."""
    while True:
        names = [f"bank{uuid.uuid4().hex[:6]}" for _ in range(TABLES)]
        created = [await engine.create_table(description(n)) for n in names]
        if len({host_index(c["TableId"], hosts) for c in created}) == hosts:
            return names
        for n in names:
            await engine.delete_table(n)


def test_transfers_survive_kills_of_hosts_and_the_coordinator(ray_session, tmp_path):
    cl, engine = start_cluster(tmp_path)
    seed = int(time.time())
    try:
        async def scenario():
            tables = await make_tables(engine, len(cl.hosts))
            bank = Bank(engine, tables, seed)
            for table, p in bank.accounts:
                await engine.write(table, PutCommand({"p": {"S": p}, "bal": {"N": str(START)}}))
            stop = asyncio.Event()
            killed, *_ = await asyncio.gather(chaos(cl, stop, seed), *(bank.client(stop) for _ in range(CLIENTS)))
            return bank, killed, await bank.balances()

        bank, killed, balances = run(scenario())
    finally:
        cl.shutdown()
    print(f"seed={seed} killed={killed} acked={len(bank.acked)} cancelled={bank.cancelled} retried={bank.retried}")
    assert any(k.endswith("coordinator") for k in killed) or len(killed) >= 3, (seed, killed)
    assert len(bank.acked) > 20 and bank.retried > 0, (seed, len(bank.acked), bank.retried)
    assert sum(balances.values()) == START * TABLES * ACCOUNTS, seed
    assert min(balances.values()) >= 0, seed
    assert balances == bank.expected(), seed


def test_an_orphaned_lock_is_released_by_presumed_abort(ray_session, cluster):
    """A partition prepared by a transaction the coordinator never decided (its coordinator died)
    asks the coordinator and releases the lock on its own."""
    cl, engine = cluster

    async def scenario():
        await engine.create_table(description("orphans"))
        await engine.write("orphans", PutCommand({"p": {"S": "x"}, "bal": {"N": "1"}}))
        ref = await engine._ref("orphans")
        check = ConditionCheckCommand(key("x"), ExpressionContext(None, None).condition("attribute_exists(p)"))
        await engine._host(ref).call("prepare", "orphan-txn", [(ref, [check])])
        try:
            await engine.write("orphans", PutCommand({"p": {"S": "x"}, "bal": {"N": "2"}}))
            raise AssertionError("the item should be locked")
        except DynamoError as error:
            assert error.error_type == "TransactionConflictException"
        deadline = time.monotonic() + 30
        while True:
            try:
                await engine.write("orphans", PutCommand({"p": {"S": "x"}, "bal": {"N": "3"}}))
                break
            except DynamoError as error:
                assert error.error_type == "TransactionConflictException" and time.monotonic() < deadline
                await asyncio.sleep(0.1)
        return await engine.get("orphans", key("x"))

    assert run(scenario())["bal"] == {"N": "3"}
