"""``dynamoray serve``: the embedded default, with the durable embedded log under the data directory.

``--engine ray`` (the default) starts a private Ray bound to 127.0.0.1 and runs the catalog and the
table partitions in Ray actors (``actors/cluster.py``); ``--engine local`` keeps everything in this
process (``LocalEngine``).  Both read and write the same log layout, so a data directory can be
served by either.  SIGINT/SIGTERM stop the server cleanly; a restart on the same data directory
brings every table and item back.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from aiohttp import web

from .. import logs
from .credentials import load_root_credentials
from .runner import build_gateway
from .server import ServerConfig

log = logs.get("serve")

ENGINES = ("ray", "local")


async def _local_engine(stack: AsyncExitStack, data_dir: Path) -> Any:
    from ..actors.local import LocalEngine
    from ..events.embedded import EmbeddedLog

    engine = LocalEngine(EmbeddedLog(data_dir / "log"))
    stack.push_async_callback(engine.close)
    return engine


async def _ray_engine(stack: AsyncExitStack, data_dir: Path, hosts: int, max_open: int) -> Any:
    from ..actors.cluster import Cluster, ClusterConfig, init_local_ray  # first: sets Ray's loopback env

    import ray

    init_local_ray()
    stack.callback(ray.shutdown)
    cluster = Cluster(ClusterConfig(log_dir=str(data_dir / "log"), hosts=hosts, max_open=max_open))
    stack.callback(cluster.shutdown)
    engine = cluster.start()
    stack.push_async_callback(engine.close)
    return engine


async def serve(host: str, port: int, data_dir: Path, region: str, *, engine: str = "ray",
                hosts: int = 2, max_open: int = 256) -> None:
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    data_dir.mkdir(parents=True, exist_ok=True)
    creds = load_root_credentials(data_dir)
    if creds.generated:
        print(
            "dynamoray: new root credentials (saved in the data directory; shown once):\n"
            f"  aws_access_key_id = {creds.access_key}\n  aws_secret_access_key = {creds.secret_key}",
            file=sys.stderr, flush=True,
        )
    async with AsyncExitStack() as stack:
        if engine == "ray":
            backend = await _ray_engine(stack, data_dir, hosts, max_open)
        else:
            backend = await _local_engine(stack, data_dir)
        await backend.open()
        gateway = build_gateway(backend, creds.access_key, creds.secret_key, ServerConfig(region=region))
        runner = web.AppRunner(gateway.app(), access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, host, port).start()
        log.info("serving", endpoint=f"http://{host}:{port}", data_dir=str(data_dir), region=region,
                 engine=engine)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("stopping")


def run(host: str, port: int, data_dir: str, region: str, *, engine: str = "ray", hosts: int = 2,
        max_open: int = 256) -> int:
    logs.configure()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency; plain asyncio also works
        pass
    asyncio.run(serve(host, port, Path(data_dir), region, engine=engine, hosts=hosts, max_open=max_open))
    return 0
