"""The IAM store's shell (gateway/iam_store.py): durable on the embedded log, rebuilt on restart,
and kept in step with the authenticator."""

import asyncio
import json

import pytest

from dynamoray.core import principals
from dynamoray.core.errors import DynamoError
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.events.memory import MemoryLog
from dynamoray.gateway.auth import Authenticator
from dynamoray.gateway.iam_store import IAM_TOPIC, IamStore

ACCOUNT = "000000000000"
DOC = json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}})
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"


def store_on(log):
    async def source():
        return log

    return IamStore(Authenticator(), ACCOUNT, source, clock=lambda: 1000)


async def _setup(store):
    await store.open()
    await store.execute(lambda s: principals.create_principal(s, "user", "alice", "AIDA1", ALICE, 1))
    await store.execute(lambda s: principals.create_access_key(s, "user", "alice", "AKIA1", "secret1", 2))
    await store.execute(lambda s: principals.put_inline_policy(s, "user", "alice", "all", DOC))
    await store.close()


def test_the_store_survives_a_restart(tmp_path):
    log = EmbeddedLog(tmp_path / "log")
    asyncio.run(_setup(store_on(log)))
    log.close()
    log = EmbeddedLog(tmp_path / "log")
    again = store_on(log)
    asyncio.run(again.open())
    try:
        assert again.principal_of("AKIA1").arn == ALICE
        assert [p.statements[0].effect for p in again.identity_policies("AKIA1")] == ["Allow"]
        secret = again.authenticator._secrets["AKIA1"]  # the key is accepted again after the restart
        assert (secret.secret_key, secret.principal.arn) == ("secret1", ALICE)
    finally:
        asyncio.run(again.close())
        log.close()


def test_changes_reach_the_authenticator_and_the_policy_cache():
    store = store_on(MemoryLog())

    async def scenario():
        await _setup(store)
        await store.open()  # a second open replays and fences the first writer
        assert "AKIA1" in store.authenticator._secrets
        assert len(store.identity_policies("AKIA1")) == 1
        await store.execute(lambda s: principals.delete_inline_policy(s, "user", "alice", "all"))
        assert store.identity_policies("AKIA1") == ()
        await store.execute(lambda s: principals.delete_principal(s, "user", "alice"))
        assert "AKIA1" not in store.authenticator._secrets
        assert store.principal_of("AKIA1") is None

    asyncio.run(scenario())


def test_a_rejected_command_writes_nothing():
    log = MemoryLog()
    store = store_on(log)

    async def scenario():
        await store.open()
        with pytest.raises(DynamoError) as caught:
            await store.execute(lambda s: principals.delete_principal(s, "user", "nobody"))
        assert caught.value.error_type == "NoSuchEntity"

    asyncio.run(scenario())
    assert log.end_offset(IAM_TOPIC, 0) == 0


def test_a_failed_append_is_an_internal_error_and_changes_nothing():
    store = store_on(MemoryLog())

    class Broken:
        def append(self, values):
            raise OSError("disk full")

        def close(self):
            pass

    async def scenario():
        await store.open()
        store._writer = Broken()
        with pytest.raises(DynamoError) as caught:
            await store.execute(lambda s: principals.create_principal(s, "user", "bob", "AIDA2", "arn", 1))
        assert (caught.value.error_type, caught.value.status) == ("InternalServerError", 500)
        assert not store.state.principals

    asyncio.run(scenario())
