"""Several gateway processes share one IAM topic (``serve --gateways N``): each store follows the
log and takes the writer back when another process fenced it (gateway/iam_store.py)."""

import asyncio

import pytest

from dynamoray.core import principals
from dynamoray.core.errors import DynamoError
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.gateway.auth import Authenticator
from dynamoray.gateway.iam_store import IamStore

ACCOUNT = "000000000000"


def store_on(log):
    async def source():
        return log

    return IamStore(Authenticator(), ACCOUNT, source, clock=lambda: 1000)


def user(name, number):
    return lambda s: principals.create_principal(s, "user", name, f"AIDA{number}", f"arn:aws:iam::{ACCOUNT}:user/{name}", 1)


def key(name, number):
    return lambda s: principals.create_access_key(s, "user", name, f"AKIA{number}", f"secret{number}", 2)


@pytest.fixture
def two_logs(tmp_path):
    """Two handles on one embedded log directory, as two processes would have."""
    logs = EmbeddedLog(tmp_path / "log"), EmbeddedLog(tmp_path / "log")
    yield logs
    for log in logs:
        log.close()


def test_a_store_catches_up_with_what_another_one_wrote(two_logs):
    first, second = store_on(two_logs[0]), store_on(two_logs[1])

    async def scenario():
        await first.open()
        await second.open()  # the newer writer: it fences the first
        await first.execute(user("alice", 1))  # fenced: takes the writer back and appends
        await first.execute(key("alice", 1))
        assert "AKIA1" not in second.authenticator._secrets
        assert await second.catch_up() == 2
        assert second.principal_of("AKIA1").name == "alice"
        assert second.authenticator._secrets["AKIA1"].secret_key == "secret1"
        assert await second.catch_up() == 0  # nothing new: nothing folded twice
        await first.close()
        await second.close()

    asyncio.run(scenario())


def test_a_change_is_decided_against_what_other_stores_wrote(two_logs):
    first, second = store_on(two_logs[0]), store_on(two_logs[1])

    async def scenario():
        await first.open()
        await second.open()
        await second.execute(user("bob", 2))
        with pytest.raises(DynamoError) as info:  # the first store sees bob before deciding
            await first.execute(user("bob", 3))
        assert (info.value.error_type, info.value.message) == ("EntityAlreadyExists", "User with name bob already exists.")
        await first.execute(user("carol", 4))  # and writes alternately with the second, losing nothing
        await second.execute(user("dave", 5))
        await first.execute(user("erin", 6))
        await second.catch_up()
        for store in (first, second):
            assert sorted(name for _, name in store.state.principals) == ["bob", "carol", "dave", "erin"]
        await first.close()
        await second.close()

    asyncio.run(scenario())


def test_a_following_store_registers_new_keys_by_itself(two_logs):
    first, second = store_on(two_logs[0]), store_on(two_logs[1])
    second.follow_interval = 0.02

    async def scenario():
        await first.open()
        await second.open()
        await first.execute(user("frank", 7))
        await first.execute(key("frank", 7))
        for _ in range(500):  # the follower's own loop picks it up (no catch_up call here)
            if "AKIA7" in second.authenticator._secrets:
                break
            await asyncio.sleep(0.01)
        assert second.authenticator._secrets["AKIA7"].principal.arn == f"arn:aws:iam::{ACCOUNT}:user/frank"
        await first.execute(lambda s: principals.delete_access_key(s, "AKIA7"))
        for _ in range(500):
            if "AKIA7" not in second.authenticator._secrets:
                break
            await asyncio.sleep(0.01)
        assert "AKIA7" not in second.authenticator._secrets  # a revoked key stops working there too
        await first.close()
        await second.close()
        assert second._following is None

    asyncio.run(scenario())
