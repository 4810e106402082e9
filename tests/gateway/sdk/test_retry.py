"""Standard-mode retries: which errors, how many attempts, the backoff and the retry quota.

The throttling, 5xx, connection and checksum failures are injected by a transport fake
(``fakes.py``) in front of the real test server; everything else is the real client.
"""

from __future__ import annotations

import asyncio

import pytest

from dynamoray.gateway.sdk import (
    ConditionalCheckFailedException,
    EndpointConnectionError,
    InternalServerError,
    ProvisionedThroughputExceededException,
    RetryConfig,
    RetryQuota,
    SyncTransport,
    ThrottlingException,
    ValidationException,
)
from dynamoray.gateway.sdk.errors import ChecksumMismatchError, DynamoDBError
from dynamoray.gateway.sdk.retry import RetryState, full_jitter, is_retryable
from dynamoray.gateway.sdk.transport import AsyncTransport
from dynamoray.gateway.sdk import Attr

from .conftest import make_async_client, make_client
from .fakes import FakeAsync, FakeSync, Script, answer, connection_refused, error, throttled


def fast(max_attempts: int = 3, quota: RetryQuota | None = None) -> RetryConfig:
    return RetryConfig(max_attempts=max_attempts, base_delay=0.001, max_backoff=0.002,
                       quota=quota if quota is not None else RetryQuota())


def faked(endpoint: str, script: Script, retry: RetryConfig):
    return make_client(endpoint, retry=retry, transport=FakeSync(SyncTransport(endpoint), script))


# --- the pure rules --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException",
                                  "RequestLimitExceeded", "InternalServerError", "TransactionInProgressException"])
def test_throttling_and_transient_errors_are_retryable(code):
    assert is_retryable(DynamoDBError("x", code=code, status=400))


@pytest.mark.parametrize("code", ["ConditionalCheckFailedException", "ValidationException",
                                  "TransactionCanceledException", "ResourceNotFoundException",
                                  "AccessDeniedException"])
def test_client_errors_are_not_retryable(code):
    assert not is_retryable(DynamoDBError("x", code=code, status=400))


def test_any_5xx_connection_error_and_bad_checksum_are_retryable():
    assert is_retryable(DynamoDBError("x", code="Whatever", status=503))
    assert is_retryable(EndpointConnectionError("down"))
    assert is_retryable(ChecksumMismatchError("bad"))


def test_backoff_is_full_jitter_capped_exponential():
    assert [full_jitter(n, 1.0, 20.0, lambda: 1.0) for n in (1, 2, 3, 5, 6, 10)] == [1, 2, 4, 16, 20, 20]
    assert full_jitter(3, 1.0, 20.0, lambda: 0.5) == 2.0
    assert full_jitter(3, 1.0, 20.0, lambda: 0.0) == 0.0


def test_retry_state_stops_at_max_attempts_and_takes_quota():
    quota = RetryQuota(500)
    state = RetryState(RetryConfig(max_attempts=3, quota=quota, rand=lambda: 1.0))
    throttle = DynamoDBError("x", code="ThrottlingException", status=400)
    assert state.should_retry(throttle) == 1.0
    assert state.should_retry(throttle) == 2.0
    assert state.should_retry(throttle) is None  # the third attempt was the last
    assert quota.available == 490
    state.succeeded()
    assert quota.available == 495  # the last retry's cost comes back


def test_quota_costs_ten_after_a_connection_error_and_refills_by_one_on_success():
    quota = RetryQuota(500)
    state = RetryState(RetryConfig(quota=quota))
    assert state.should_retry(EndpointConnectionError("down")) is not None
    assert quota.available == 490
    quota.available = 100
    RetryState(RetryConfig(quota=quota)).succeeded()
    assert quota.available == 101
    quota.available = 500
    RetryState(RetryConfig(quota=quota)).succeeded()
    assert quota.available == 500  # never above the capacity


def test_an_empty_quota_stops_retries():
    quota = RetryQuota(4)
    assert RetryState(RetryConfig(quota=quota)).should_retry(DynamoDBError("x", code="ThrottlingException")) is None


# --- through the client ------------------------------------------------------------------------------


def test_throttled_twice_then_success(sdk_server, table_s):
    script = Script([throttled(), throttled()], only="PutItem")
    quota = RetryQuota()
    with faked(sdk_server.endpoint, script, fast(quota=quota)) as client:
        client.table(table_s).put({"p": "retry-1", "v": 1})
        assert client.table(table_s).get({"p": "retry-1"}) == {"p": "retry-1", "v": 1}
    assert script.operations() == ["PutItem", "PutItem", "PutItem", "GetItem"]
    assert quota.available == 500 - 10 + 5 + 1  # two retries, the last refunded, then a clean call


def test_gives_up_after_max_attempts_with_the_last_error(sdk_server, table_s):
    script = Script([throttled(), throttled(), error("ThrottlingException", "slow down")], only="PutItem")
    with faked(sdk_server.endpoint, script, fast()) as client:
        with pytest.raises(ThrottlingException) as raised:
            client.table(table_s).put({"p": "retry-2"})
    assert raised.value.message == "slow down" and raised.value.status == 400
    assert script.operations() == ["PutItem"] * 3
    assert make_client(sdk_server.endpoint).table(table_s).get({"p": "retry-2"}) is None


def test_5xx_and_connection_errors_are_retried(sdk_server, table_s):
    script = Script([error("InternalServerError", "boom", status=500), connection_refused()], only="PutItem")
    with faked(sdk_server.endpoint, script, fast()) as client:
        client.table(table_s).put({"p": "retry-3"})
        assert client.table(table_s).get({"p": "retry-3"}) == {"p": "retry-3"}
    assert script.operations()[:3] == ["PutItem"] * 3


def test_a_response_failing_its_crc32_is_retried(sdk_server, table_s):
    script = Script([answer(200, {}, crc=12345)], only="GetItem")
    with faked(sdk_server.endpoint, script, fast()) as client:
        client.table(table_s).put({"p": "retry-4", "v": "x"})
        assert client.table(table_s).get({"p": "retry-4"}) == {"p": "retry-4", "v": "x"}
    assert script.operations() == ["PutItem", "GetItem", "GetItem"]


def test_conditional_check_failed_is_never_retried(sdk_server, table_s):
    script = Script()
    with faked(sdk_server.endpoint, script, fast()) as client:
        table = client.table(table_s)
        table.put({"p": "retry-5"})
        with pytest.raises(ConditionalCheckFailedException):
            table.put({"p": "retry-5"}, condition=Attr("p").not_exists())
        with pytest.raises(ValidationException):
            table.put({"p": 5})
    assert script.operations() == ["PutItem", "PutItem", "PutItem"]


def test_max_attempts_one_means_no_retry(sdk_server, table_s):
    script = Script([throttled()], only="GetItem")
    with faked(sdk_server.endpoint, script, fast(max_attempts=1)) as client:
        with pytest.raises(ProvisionedThroughputExceededException):
            client.table(table_s).get({"p": "x"})
    assert script.operations() == ["GetItem"]


def test_async_client_retries_the_same_way(sdk_server, table_s):
    script = Script([throttled(), error("InternalServerError", status=500), throttled()], only="GetItem")

    async def run():
        transport = FakeAsync(AsyncTransport(sdk_server.endpoint), script)
        async with make_async_client(sdk_server.endpoint, retry=fast(), transport=transport) as client:
            with pytest.raises(ProvisionedThroughputExceededException):
                await client.table(table_s).get({"p": "x"})
            await client.table(table_s).put({"p": "retry-6"})
            return await client.table(table_s).get({"p": "retry-6"})

    assert asyncio.run(run()) == {"p": "retry-6"}
    assert script.operations() == ["GetItem"] * 3 + ["PutItem", "GetItem"]


def test_an_unreachable_endpoint_raises_endpoint_connection_error():
    client = make_client("http://127.0.0.1:9", retry=fast(max_attempts=2))
    with pytest.raises(EndpointConnectionError):
        client.list_tables()


def test_internal_server_error_class_for_500(sdk_server):
    script = Script([error("InternalServerError", "boom", status=500)] * 3)
    with faked(sdk_server.endpoint, script, fast()) as client:
        with pytest.raises(InternalServerError) as raised:
            client.list_tables()
    assert raised.value.status == 500 and raised.value.request_id == "FAKE"
