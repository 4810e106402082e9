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
from .telemetry import TelemetryOptions, build_telemetry
from ..actors.ttl import DEFAULT_INTERVAL as DEFAULT_TTL_INTERVAL, TtlSweeper


def root_principal(access_key: str, account_id: str) -> Principal:
    return Principal(access_key, f"arn:aws:iam::{account_id}:root", account_id)


def build_gateway(engine: Any, access_key: str, secret_key: str, config: ServerConfig, *,
                  ttl_interval: float | None = DEFAULT_TTL_INTERVAL, keys: Any = None,
                  telemetry: TelemetryOptions | None = TelemetryOptions(), regions: Any = None,
                  replication_dir: str | None = None, test_knobs: bool = False) -> Gateway:
    """The gateway over ``engine``; with ``ttl_interval`` (seconds; None: no expiry) it runs the
    TTL sweeper (``actors/ttl.py``) while it serves; ``keys``: the KeyManager when data is
    encrypted at rest (``actors/keys.py``: SSESpecification's keys, the keys admin API);
    ``test_knobs``: the admin API's deterministic test knobs (``knobs.py``), off by default."""
    knobs = None
    if test_knobs:  # the engine every part of the server sees, with injected conflicts and a clock
        from .knobs import enable

        engine = enable(engine)
        knobs = engine.test_knobs
    authenticator = Authenticator()
    authenticator.add_key(access_key, secret_key, root_principal(access_key, config.account_id))
    gateway = Gateway(engine, authenticator, config)
    # IAM users, roles and policies: their store lives in the engine's log, opened with the app.
    gateway.authorizer = Authorizer(IamStore(authenticator, config.account_id, engine.stream_log))
    gateway.keys = keys
    if ttl_interval is not None and hasattr(engine, "ttl_settings"):  # (test doubles may lack it)
        sweeper = TtlSweeper(engine, ttl_interval) if knobs is None else TtlSweeper(engine, ttl_interval,
                                                                                  clock=knobs.clock)
        gateway.services.append(sweeper)
        if knobs is not None:
            knobs.sweeper = sweeper
    from ..actors.hooks import HookService  # stored-procedure hooks: restarted with the gateway

    gateway.hooks = HookService(engine)
    gateway.services.append(gateway.hooks)
    if telemetry is not None:  # throttling, CloudWatch metrics, audit, usage (gateway/telemetry.py; None: off)
        gateway.telemetry = build_telemetry(engine, telemetry, config.region)
        gateway.services.append(gateway.telemetry)
        if knobs is not None:
            knobs.throttler = gateway.telemetry.throttler
    if regions is not None:  # global tables: a regions.RegionMap; checkpoints under replication_dir
        from ..actors.replicator import Checkpoints
        from .replication import ReplicationService

        gateway.replication = ReplicationService(engine, regions, Checkpoints(replication_dir))
        gateway.replication.usage = getattr(gateway.telemetry, "usage", None)  # replicated write units
        gateway.services.append(gateway.replication)
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
    ssl: Any = None  # an ssl.SSLContext: HTTPS (``tls.server_context``)
    endpoint_id: str | None = None  # the listener's endpoint id (``aws:SourceVpce``)

    def start(self) -> "BackgroundServer":
        self.port = self.port or free_port(self.host)
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def boot() -> None:
            await self.gateway.startup()
            self._server = self.gateway.http_server(self.ssl, self.endpoint_id)
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
        return f"{'https' if self.ssl is not None else 'http'}://{self.host}:{self.port}"

    def listen(self, ssl: Any = None, endpoint_id: str | None = None, gateway: Gateway | None = None) -> str:
        """Another listener of the same gateway (or of ``gateway``, e.g. the accelerator's:
        ``accelerator.attach``), with its own TLS and endpoint id; its endpoint."""
        port = free_port(self.host)
        server = (gateway or self.gateway).http_server(ssl, endpoint_id)
        asyncio.run_coroutine_threadsafe(server.start(self.host, port), self._loop).result(30)
        self.__dict__.setdefault("_extra", []).append(server)
        return f"{'https' if ssl is not None else 'http'}://{self.host}:{port}"

    def stop(self) -> None:
        async def shutdown() -> None:
            for server in self.__dict__.get("_extra", ()):
                await server.close()
            await self._server.close()
            await self.gateway.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
