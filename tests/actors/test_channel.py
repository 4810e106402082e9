"""The direct data channel to a host (``actors/channel.py``), in one process: no Ray."""

from __future__ import annotations

import asyncio
import pickle
from dataclasses import dataclass
from unittest import mock

import pytest

from dynamoray.actors import channel
from dynamoray.actors.channel import ChannelClient, ChannelServer, ChannelUnreachable
from dynamoray.actors.host import TableRef
from dynamoray.core import errors, keys
from dynamoray.core.errors import DynamoError

TOKEN = b"0123456789abcdef"


def run(coro):
    return asyncio.run(coro)


class Target:
    """A stand-in for ``PartitionHost._one``: echo, fail, or wait for a release."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.calls = 0

    async def dispatch(self, method: str, args: tuple):
        self.calls += 1
        if method == "echo":
            return True, args
        if method == "fail":
            return False, errors.conditional_check_failed({"p": {"S": "a"}})
        if method == "slow":
            await self.release.wait()
            return True, "slow"
        return False, errors.internal_server_error(f"not a batchable call: {method}")


async def serve(target: Target, token: bytes = TOKEN):
    """A server for ``target``, the tokens its ``locate`` was given, and ``locate`` itself."""
    server = ChannelServer(target.dispatch)
    located: list[bytes] = []

    async def locate(given: bytes):
        located.append(given)
        return await server.open(token)

    return server, located, locate


def test_calls_round_trip_and_errors_arrive_intact():
    async def scenario():
        target = Target()
        server, located, locate = await serve(target)
        client = ChannelClient(locate, TOKEN, timeout=5)
        echoed = await client.call("echo", {"p": {"S": "a"}}, 3)
        with pytest.raises(DynamoError) as failed:
            await client.call("fail")
        many = await asyncio.gather(*(client.call("echo", i) for i in range(200)))
        client.close()
        server.close()
        return echoed, failed.value, many, located

    echoed, failed, many, located = run(scenario())
    assert echoed == ({"p": {"S": "a"}}, 3)
    assert failed == errors.conditional_check_failed({"p": {"S": "a"}})
    assert many == [(i,) for i in range(200)]
    assert located == [TOKEN]  # one connection served all 202 calls


def test_answers_come_back_out_of_order():
    async def scenario():
        target = Target()
        server, _, locate = await serve(target)
        client = ChannelClient(locate, TOKEN, timeout=5)
        slow = asyncio.ensure_future(client.call("slow"))
        fast = await client.call("echo", "fast")
        done_before = slow.done()
        target.release.set()
        result = await slow
        client.close()
        server.close()
        return fast, done_before, result

    assert run(scenario()) == (("fast",), False, "slow")


def test_a_wrong_token_is_refused():
    async def scenario():
        target = Target()
        server = ChannelServer(target.dispatch)

        async def locate(given: bytes):
            await server.open(TOKEN)  # the host knows only TOKEN
            return server.address

        client = ChannelClient(locate, b"not-the-token", timeout=5)
        with pytest.raises(DynamoError) as refused:
            await client.call("echo", 1)
        client.close()
        server.close()
        return refused.value, target.calls

    refused, calls = run(scenario())
    assert refused.error_type == "ServiceUnavailable"
    assert calls == 0


def test_a_dropped_connection_fails_calls_in_flight_and_the_next_call_reconnects():
    async def scenario():
        target = Target()
        first = ChannelServer(target.dispatch)
        second = ChannelServer(target.dispatch)
        servers = [first, second]
        located = []

        async def locate(given: bytes):  # a restarted host listens on a new address
            located.append(given)
            return await servers[len(located) - 1].open(TOKEN)

        client = ChannelClient(locate, TOKEN, timeout=5)
        in_flight = asyncio.ensure_future(client.call("slow"))
        await asyncio.sleep(0.05)
        first.close()  # the host died: its connections drop
        with pytest.raises(DynamoError) as lost:
            await in_flight
        after = await client.call("echo", "again")
        client.close()
        second.close()
        return lost.value, after, len(located)

    lost, after, locations = run(scenario())
    assert (lost.error_type, lost.status) == ("ServiceUnavailable", 503)  # retryable, never re-sent
    assert after == ("again",)
    assert locations == 2


def test_a_call_with_no_answer_times_out_as_a_500():
    async def scenario():
        target = Target()
        server, _, locate = await serve(target)
        client = ChannelClient(locate, TOKEN, timeout=0.2)
        with pytest.raises(DynamoError) as timed_out:
            await client.call("slow")
        client.close()
        server.close()
        return timed_out.value

    timed_out = run(scenario())
    assert (timed_out.error_type, timed_out.message) == (
        "InternalServerError", "The request did not complete in time")


def test_an_address_that_refuses_connections_is_unreachable():
    async def scenario():
        server = await asyncio.get_running_loop().create_server(asyncio.Protocol, "127.0.0.1", 0)
        address = server.sockets[0].getsockname()[:2]
        server.close()
        await server.wait_closed()

        async def locate(given: bytes):
            return address

        client = ChannelClient(locate, TOKEN, timeout=5)
        with pytest.raises(ChannelUnreachable):
            await client.call("echo", 1)

    run(scenario())


def test_the_client_follows_a_new_event_loop():
    target_loop_results = []

    async def once(client):
        target_loop_results.append(await client.call("echo", "x"))

    holder = {}

    async def locate(given: bytes):
        server = holder["server"] = ChannelServer(Target().dispatch)
        return await server.open(TOKEN)

    client = ChannelClient(locate, TOKEN, timeout=5)
    for _ in range(2):  # two asyncio.run()s: a connection is bound to its loop
        async def scenario():
            await once(client)
            holder["server"].close()

        run(scenario())
    assert target_loop_results == [("x",), ("x",)]


# --- interned values: the TableRef of every item call is pickled once per object ------------------


@dataclass(frozen=True, slots=True)
class Ref:
    name: str
    schema: keys.KeySchema


channel.intern_type(Ref)


def _unframe(data: bytes):
    assert int.from_bytes(data[:4], "big") == len(data) - 4
    return pickle.loads(data[4:])


def test_an_interned_value_is_pickled_once_and_decoded_once():
    ref = Ref("t", keys.KeySchema("pk", "S", "sk", "N"))
    other = Ref("u", keys.KeySchema("pk", "S"))
    first = _unframe(channel.frame((1, "write", (ref, {"item": 1}))))
    assert first == (1, "write", (ref, {"item": 1}))
    with mock.patch.object(pickle, "dumps", side_effect=AssertionError("pickled again")):
        again = _unframe(channel.frame((2, "get", (ref, None))))
    assert again[2][0] is first[2][0]  # one decoded value per distinct pickle
    both = _unframe(channel.frame((3, "x", (other, ref))))
    assert both[2] == (other, ref) and both[2][1] is first[2][0]


def test_the_table_ref_is_interned_and_round_trips_through_a_call():
    assert TableRef in channel._INTERNED_TYPES
    ref = TableRef("t1", "Users", keys.KeySchema("pk", "S"), 4)

    async def main():
        target = Target()
        server, _, locate = await serve(target)
        client = ChannelClient(locate, TOKEN)
        try:
            return await client.call("echo", ref, ref), await client.call("echo", ref)
        finally:
            client.close()
            server.close()

    (a, b), (c,) = run(main())
    assert a == b == c == ref and a is b is c


def test_frames_survive_an_unpicklable_value_and_keep_working():
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        channel.frame((1, "echo", (lambda: None,)))
    assert _unframe(channel.frame((2, "echo", ("ok",)))) == (2, "echo", ("ok",))


def test_a_lone_call_is_answered_on_the_turn_it_arrives_and_several_go_to_tasks():
    now_calls: list[tuple] = []

    def dispatch_now(method: str, args: tuple):
        if method != "echo":
            return None  # not one it answers at once: the task path runs it
        now_calls.append(args)
        return True, ("now",) + args

    async def scenario():
        target = Target()
        server = ChannelServer(target.dispatch, dispatch_now)

        async def locate(given: bytes):
            return await server.open(TOKEN)

        client = ChannelClient(locate, TOKEN, timeout=5)
        lone = await client.call("echo", 1)
        failed = await asyncio.gather(client.call("fail"), return_exceptions=True)
        together = await asyncio.gather(*(client.call("echo", i) for i in range(20)))  # one read, most likely
        client.close()
        server.close()
        return lone, failed, together, target.calls

    lone, failed, together, task_calls = run(scenario())
    assert lone == ("now", 1) and now_calls[0] == (1,)
    assert isinstance(failed[0], DynamoError)  # dispatch_now said None: dispatch answered
    assert [r[-1] for r in together] == list(range(20))
    # frames that arrive together run as tasks (their writes would commit together)
    assert task_calls - 1 == sum(1 for r in together if r[0] != "now") >= 1
