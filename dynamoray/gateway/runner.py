"""Run the gateway: in the foreground (``dynamoray serve``) or on a background thread (tests)."""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass
from typing import Any

from .auth import Authenticator, Principal
from .authorize import Authorizer
from .iam_store import IamStore
from .server import Gateway, ServerConfig


def root_principal(access_key: str, account_id: str) -> Principal:
    return Principal(access_key, f"arn:aws:iam::{account_id}:root", account_id)


def build_gateway(engine: Any, access_key: str, secret_key: str, config: ServerConfig) -> Gateway:
    authenticator = Authenticator()
    authenticator.add_key(access_key, secret_key, root_principal(access_key, config.account_id))
    gateway = Gateway(engine, authenticator, config)
    # IAM users, roles and policies: their store lives in the engine's log, opened with the app.
    gateway.authorizer = Authorizer(IamStore(authenticator, config.account_id, engine.stream_log))
    return gateway


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class BackgroundServer:
    """A gateway on its own thread and event loop; ``stop()`` shuts it down."""

    gateway: Gateway
    host: str = "127.0.0.1"
    port: int = 0

    def start(self) -> "BackgroundServer":
        self.port = self.port or free_port(self.host)
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def boot() -> None:
            await self.gateway.startup()
            self._server = self.gateway.http_server()
            await self._server.start(self.host, self.port)
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(boot())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="dynamoray-gateway", daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("gateway did not start")
        return self

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        async def shutdown() -> None:
            await self._server.close()
            await self.gateway.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
