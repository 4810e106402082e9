"""``dynamoray serve``: the embedded default (the durable embedded log under the data directory)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from aiohttp import web

from .. import logs
from ..actors.local import LocalEngine
from .credentials import load_root_credentials
from .runner import build_gateway
from .server import ServerConfig

log = logs.get("serve")


async def serve(host: str, port: int, data_dir: Path, region: str) -> None:
    from ..events.embedded import EmbeddedLog

    data_dir.mkdir(parents=True, exist_ok=True)
    creds = load_root_credentials(data_dir)
    if creds.generated:
        print(
            "dynamoray: new root credentials (saved in the data directory; shown once):\n"
            f"  aws_access_key_id = {creds.access_key}\n  aws_secret_access_key = {creds.secret_key}",
            file=sys.stderr, flush=True,
        )
    engine = LocalEngine(EmbeddedLog(data_dir / "log"))
    await engine.open()
    gateway = build_gateway(engine, creds.access_key, creds.secret_key, ServerConfig(region=region))
    runner = web.AppRunner(gateway.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("serving", endpoint=f"http://{host}:{port}", data_dir=str(data_dir), region=region)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
    await runner.cleanup()
    await engine.close()


def run(host: str, port: int, data_dir: str, region: str) -> int:
    logs.configure()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency; plain asyncio also works
        pass
    asyncio.run(serve(host, port, Path(data_dir), region))
    return 0
