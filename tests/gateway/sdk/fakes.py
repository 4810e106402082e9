"""Transport fakes for the SDK tests: they wrap a real transport and change what comes back.

Only the fault injection is fake: requests still go to the test server unless a canned answer
replaces them, so the client's retry and batch logic is exercised end to end.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable
from typing import Any

import orjson

from dynamoray.gateway.sdk import AsyncTransport, EndpointConnectionError, RawResponse, SyncTransport
from dynamoray.gateway.sdk.flows import Call, Now

Rewrite = Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any] | None]


def answer(status: int, body: dict[str, Any], crc: int | None = None) -> RawResponse:
    data = orjson.dumps(body)
    return RawResponse(status, data, {"x-amz-crc32": str(zlib.crc32(data) if crc is None else crc),
                                      "x-amzn-requestid": "FAKE"})


def throttled() -> RawResponse:
    return answer(400, {"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                        "message": "The level of configured provisioned throughput for the table was exceeded."})


def error(code: str, message: str = "injected", status: int = 400) -> RawResponse:
    return answer(status, {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message})


class Script:
    """What the fake does per request: a canned answer or exception per call, in order, then the
    real server; ``rewrite(op, request, response)`` may replace a real response's JSON."""

    def __init__(self, canned: list[RawResponse | Exception] | None = None, rewrite: Rewrite | None = None,
                 only: str | None = None) -> None:
        self.canned = list(canned or [])
        self.rewrite = rewrite
        self.only = only  # canned answers apply to this operation only
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def before(self, headers: dict[str, str], body: bytes) -> tuple[str, dict[str, Any], RawResponse | None]:
        operation = headers["X-Amz-Target"].split(".", 1)[1]
        request = orjson.loads(body)
        self.calls.append((operation, request))
        if self.canned and (self.only is None or self.only == operation):
            canned = self.canned.pop(0)
            if isinstance(canned, Exception):
                raise canned
            return operation, request, canned
        return operation, request, None

    def after(self, operation: str, request: dict[str, Any], response: RawResponse) -> RawResponse:
        if self.rewrite is None or response.status != 200:
            return response
        changed = self.rewrite(operation, request, orjson.loads(response.body))
        return response if changed is None else answer(200, changed)

    def operations(self) -> list[str]:
        return [op for op, _ in self.calls]


class FakeSync:
    def __init__(self, inner: SyncTransport, script: Script) -> None:
        self.inner, self.script = inner, script

    def send(self, body: bytes, headers: dict[str, str]) -> RawResponse:
        operation, request, canned = self.script.before(headers, body)
        if canned is not None:
            return canned
        return self.script.after(operation, request, self.inner.send(body, headers))

    def close(self) -> None:
        self.inner.close()


class FakeAsync:
    def __init__(self, inner: AsyncTransport, script: Script) -> None:
        self.inner, self.script = inner, script

    async def send(self, body: bytes, headers: dict[str, str]) -> RawResponse:
        operation, request, canned = self.script.before(headers, body)
        if canned is not None:
            return canned
        return self.script.after(operation, request, await self.inner.send(body, headers))

    async def close(self) -> None:
        await self.inner.close()


def connection_refused() -> EndpointConnectionError:
    return EndpointConnectionError("Could not reach the endpoint: injected")


def drive(flow, answers):
    """Run a flow against canned answers (an exception is thrown in), a list in order or a
    function of the Call; returns the steps and the result.  The clock advances 1 s per ``Now``."""
    steps, send, throw = [], None, None
    clock = itertools.count()
    while True:
        try:
            step = flow.throw(throw) if throw is not None else flow.send(send)
        except StopIteration as stop:
            return steps, stop.value
        steps.append(step)
        send, throw = None, None
        if isinstance(step, Now):
            send = float(next(clock))
        elif isinstance(step, Call):
            answer = answers(step) if callable(answers) else answers.pop(0)
            if isinstance(answer, Exception):
                throw = answer
            else:
                send = answer
