"""``HookWorker``: one member of a hook in its own Ray actor (``options.hook_worker`` makes it one).

A synchronous actor (cheaper than an async one in Ray 2.60): ``__init__`` starts a thread that runs
the member's :class:`~.hook_runner.HookRunner` on its own event loop, so Ray's restart of a killed
worker (``max_restarts=-1``, ``__init__`` runs again) resumes the hook from its checkpoint with no
call from anyone.  The runner reaches the tables through a :class:`~.client.RayEngine` of its own
over the cluster's named actors (catalog, hosts on their direct channels, the transaction
coordinator) and reads the log through its own handle (the cluster's log factory).
"""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable

from .. import logs
from ..core import hooks

log = logs.get("hooks")


@dataclass(frozen=True)
class HookWiring:
    """How a worker finds the cluster (picklable: it travels to the actor)."""

    prefix: str
    host_names: tuple[str, ...]
    log_factory: Callable[[], Any]
    call_timeout: float
    settings: Any  # hooks.RunnerSettings

    def engine(self, event_log: Any) -> Any:
        from .client import LazyActor, RayEngine

        return RayEngine(
            LazyActor(f"{self.prefix}-catalog", self.call_timeout),
            [LazyActor(name, self.call_timeout, channel=True) for name in self.host_names],
            stream_log=event_log, batching=False,
            coordinator=LazyActor(f"{self.prefix}-coordinator", self.call_timeout),
        )


class HookWorker:
    def __init__(self, spec_wire: dict, function: bytes, member_id: str, wiring: HookWiring) -> None:
        from .hooks import load_function

        self.spec = hooks.spec_from_wire(spec_wire)
        self.function = load_function(function)
        self.member_id = member_id
        self.wiring = wiring
        self._runner: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"hook-{member_id}", daemon=True)
        self._thread.start()
        self._ready.wait(30)

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except Exception:  # noqa: BLE001 - logged; Ray keeps the actor (pid/status still answer)
            log.exception("hook_worker_failed", member=self.member_id)

    async def _run(self) -> None:
        from .hook_runner import HookRunner
        from .hooks import DeadLetters

        settings = self.wiring.settings
        event_log = self.wiring.log_factory()
        engine = self.wiring.engine(event_log)
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._runner = HookRunner(self.spec, self.function, engine, event_log, member_id=self.member_id,
                                  dead_letters=DeadLetters(event_log, self.spec.name), session_ms=settings.session_ms,
                                  poll_interval=settings.poll_interval, backoff_base=settings.backoff_base)
        self._ready.set()
        log.info("hook_worker_started", member=self.member_id, pid=os.getpid())
        try:
            await self._runner.run(self._stop)
        finally:
            await engine.close()  # closes the log too

    def pid(self) -> int:
        return os.getpid()

    def status(self) -> dict:
        from .hooks import _stats

        if self._runner is None:
            return {"MemberId": self.member_id, "Status": "STARTING"}
        return {**_stats(self.member_id, self._runner.stats), "Pid": os.getpid()}

    def stop(self) -> None:
        """Finish the batch in hand, leave the group, release the log (then the actor is killed)."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def close(self) -> None:
        self.stop()
