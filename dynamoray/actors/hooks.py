"""Hooks in the server: the registry (:class:`HookService`), where members run, and dead letters.

- :class:`HookService` lives in the gateway process, like the IAM store.  The registry of
  deployed hooks is event-sourced on topic ``dynamoray.hooks`` of the engine's log
  (``HookDeployed``/``HookRemoved``, folded by ``core.hooks.evolve``); :meth:`HookService.open`
  replays it and starts every hook again, so hooks survive a restart of the server.
- A launcher runs a hook's members (``Members`` of them, one consumer-group member each):
  :class:`LocalLauncher` as tasks on the gateway's event loop (``--engine local``),
  :class:`RayLauncher` as ``HookWorker`` Ray actors (``hook_worker.py``) named
  ``<prefix>-hook-<name>-v<version>-<i>``, restarted by Ray when they die.
- :class:`DeadLetters`: topic ``dynamoray.hooks.<name>.dlq``, one JSON document per failed batch.
"""

from __future__ import annotations

import asyncio
import pickle
from dataclasses import dataclass
from typing import Any, Callable

import orjson

from .. import logs
from ..core import errors, hooks
from ..events.log import EventLog, FencedError, TopicExistsError, UnknownTopicError, system_clock
from . import records
from .hook_runner import HookRunner, ensure_checkpoint_table

log = logs.get("hooks")

HOOKS_TOPIC = "dynamoray.hooks"
DEFAULT_SESSION_MS = 6000
MAX_DEAD_LETTERS = 100  # per GetHookDeadLetters call


def load_function(data: bytes) -> Callable:
    """A deployed function (pickled by value with cloudpickle; plain pickle reads it back)."""
    function = pickle.loads(data)  # noqa: S301 - deployed by the root credentials only
    if not callable(function):
        raise TypeError(f"a hook must be callable, not {type(function).__name__}")
    return function


class DeadLetters:
    """A hook's dead-letter topic."""

    def __init__(self, event_log: EventLog, name: str) -> None:
        self.log = event_log
        self.topic = hooks.dead_letter_topic(name)

    def ensure(self) -> None:
        try:
            self.log.create_topic(self.topic, 1)
        except TopicExistsError:
            pass

    def append(self, entry: dict) -> int:
        """Append one failed batch; returns its offset (members of one hook may append at once:
        each takes the writer in turn)."""
        self.ensure()
        value = orjson.dumps(entry, default=str)
        for _ in range(10):
            writer = self.log.open_writer(self.topic, 0)
            try:
                return writer.append([value])[0]
            except FencedError:  # another member took the writer between our open and append
                continue
            finally:
                writer.close()
        raise errors.internal_server_error("The dead-letter topic is busy")

    def read(self, start: int | None = None, limit: int = MAX_DEAD_LETTERS) -> tuple[list[dict], int]:
        """Entries from ``start`` (default: the oldest) and the offset to continue from."""
        first = self.log.start_offset(self.topic, 0)
        position = first if start is None else max(start, first)
        end = self.log.end_offset(self.topic, 0)
        if position >= end:
            return [], max(position, end)
        found = self.log.read(self.topic, 0, position, limit)
        entries = [{"Offset": r.offset, "Timestamp": r.timestamp / 1000, **orjson.loads(r.value)} for r in found]
        return entries, (found[-1].offset + 1 if found else position)


# --- launchers ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunnerSettings:
    session_ms: int = DEFAULT_SESSION_MS  # consumer-group session (Kafka: a member joins in about half)
    poll_interval: float = 0.05
    backoff_base: float = 0.2


class LocalLauncher:
    """Members as asyncio tasks next to an in-process engine."""

    def __init__(self, engine: Any, event_log: EventLog, settings: RunnerSettings = RunnerSettings()) -> None:
        self.engine = engine
        self.log = event_log
        self.settings = settings
        self._running: dict[str, tuple[asyncio.Event, list[asyncio.Task], list[HookRunner]]] = {}

    async def start(self, hook: hooks.DeployedHook) -> None:
        function = load_function(hook.function)
        stop = asyncio.Event()
        runners = [HookRunner(hook.spec, function, self.engine, self.log, member_id=f"{hook.spec.name}-{i}",
                              dead_letters=DeadLetters(self.log, hook.spec.name), session_ms=self.settings.session_ms,
                              poll_interval=self.settings.poll_interval, backoff_base=self.settings.backoff_base)
                   for i in range(hook.spec.members)]
        tasks = [asyncio.get_running_loop().create_task(r.run(stop), name=f"hook-{r.member_id}") for r in runners]
        self._running[hook.spec.name] = (stop, tasks, runners)

    async def stop(self, name: str) -> None:
        running = self._running.pop(name, None)
        if running is not None:
            stop, tasks, _ = running
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def status(self, name: str) -> list[dict]:
        running = self._running.get(name)
        return [] if running is None else [_stats(r.member_id, r.stats) for r in running[2]]

    async def close(self) -> None:
        for name in list(self._running):
            await self.stop(name)


def _stats(member: str, stats: Any) -> dict:
    return {"MemberId": member, "Batches": stats.batches, "Records": stats.records, "Failures": stats.failures,
            "Conflicts": stats.conflicts, "DeadLetters": stats.dead_letters,
            "Positions": {str(p): offset for p, offset in sorted(stats.positions.items())}}


class RayLauncher:
    """Members as ``HookWorker`` actors of a Ray cluster (``cluster.ClusterConfig``)."""

    START_TIMEOUT = 120.0

    def __init__(self, config: Any, settings: RunnerSettings = RunnerSettings()) -> None:
        from .hook_worker import HookWiring

        self.config = config
        self.wiring = HookWiring(config.prefix, tuple(f"{config.prefix}-host-{i}" for i in range(config.hosts)),
                                 config.log_factory(), config.call_timeout, settings)
        self._running: dict[str, list[Any]] = {}  # name -> RemoteActors

    def actor_names(self, hook: hooks.DeployedHook) -> list[str]:
        return [f"{self.config.prefix}-hook-{hook.spec.name}-v{hook.version}-{i}" for i in range(hook.spec.members)]

    async def start(self, hook: hooks.DeployedHook) -> None:
        from . import options
        from .client import RemoteActor, spawn

        actors = []
        for name in self.actor_names(hook):
            handle = spawn(options.hook_worker(name, detached=self.config.detached), hook.spec.to_wire(),
                           hook.function, name, self.wiring)
            actors.append(RemoteActor(handle, name, self.config.call_timeout))
        self._running[hook.spec.name] = actors
        for actor in actors:  # the actor loads the function in __init__: a bad one fails here
            await asyncio.wait_for(actor.call("pid"), self.START_TIMEOUT)

    async def stop(self, name: str) -> None:
        import ray

        for actor in self._running.pop(name, []):
            try:
                await actor.call("stop")
            except Exception as error:  # noqa: BLE001 - a dead member has nothing to stop
                log.warning("hook_stop_failed", actor=actor.name, error=repr(error))
            ray.kill(actor.handle, no_restart=True)

    async def status(self, name: str) -> list[dict]:
        out = []
        for actor in self._running.get(name, []):
            try:
                out.append(await actor.call("status"))
            except errors.DynamoError:
                out.append({"MemberId": actor.name, "Status": "RESTARTING"})
        return out

    async def pids(self, name: str) -> list[int]:
        return [await actor.call("pid") for actor in self._running.get(name, [])]

    async def close(self) -> None:
        for name in list(self._running):
            await self.stop(name)


# --- the registry ------------------------------------------------------------------------------------


class HookService:
    """Deploys, lists and removes hooks; restarts them with the server (see the module docstring)."""

    def __init__(self, engine: Any, launcher: Any = None, *, settings: RunnerSettings = RunnerSettings(),
                 clock: Callable[[], int] = system_clock) -> None:
        self.engine = engine
        self.launcher = launcher
        self.settings = settings
        self.clock = clock
        self.registry: dict[str, hooks.DeployedHook] = {}
        self._log: EventLog | None = None
        self._writer = None
        self._lock = asyncio.Lock()
        self._opening: asyncio.Task | None = None

    # a gateway service (``Gateway.services``): started with the gateway, stopped after its last request

    def start(self) -> None:
        if self._opening is None:
            self._opening = asyncio.get_running_loop().create_task(self.open(), name="hooks-open")

    async def stop(self) -> None:
        if self._opening is not None:
            await asyncio.gather(self._opening, return_exceptions=True)
            self._opening = None
        await self.close()

    async def ready(self) -> None:
        """Wait until :meth:`open` finished (admin calls that come during start-up)."""
        if self._opening is not None:
            try:
                await asyncio.shield(self._opening)
            except Exception as error:  # noqa: BLE001 - reported to the caller
                raise errors.hook_unavailable(repr(error)) from None

    async def open(self) -> None:
        """Replay the registry and start every hook (a hook that cannot start is logged, not fatal)."""
        self._log = await self.engine.stream_log()
        if self.launcher is None:
            config = getattr(self.engine, "cluster_config", None)
            self.launcher = (RayLauncher(config, self.settings) if config is not None
                             else LocalLauncher(self.engine, self._log, self.settings))
        self.registry = await asyncio.to_thread(self._replay)
        for hook in self.registry.values():
            try:
                await self.launcher.start(hook)
            except Exception as error:  # noqa: BLE001 - the server serves on; the hook's error is logged
                log.error("hook_start_failed", hook=hook.spec.name, error=repr(error))
        log.info("hooks_opened", hooks=len(self.registry))

    def _replay(self) -> dict[str, hooks.DeployedHook]:
        registry: dict[str, hooks.DeployedHook] = {}
        try:
            for value in records.read_all(self._log, HOOKS_TOPIC):
                registry = hooks.evolve(registry, records.decode_catalog(value))
        except UnknownTopicError:  # no hook was ever deployed
            pass
        return registry

    def _append(self, event: Any) -> None:
        if self._writer is None:
            try:
                self._log.create_topic(HOOKS_TOPIC, 1)
            except TopicExistsError:
                pass
            self._writer = self._log.open_writer(HOOKS_TOPIC, 0)
        self._writer.append([records.encode_catalog(event)])

    def _check_open(self) -> None:
        if self._log is None:
            raise errors.hook_unavailable("the hook service is not open")

    async def deploy(self, spec: hooks.HookSpec, function: bytes, source: str) -> dict:
        self._check_open()
        try:
            load_function(function)
        except Exception as error:  # noqa: BLE001 - shown to the caller
            raise errors.validation(f"The hook's function could not be loaded: {error!r}") from None
        description = await self.engine.describe_table(spec.table)  # ResourceNotFoundException if missing
        if spec.exactly_once:
            arn = description["TableArn"].split(":")
            await ensure_checkpoint_table(self.engine, arn[3], arn[4], self.clock() / 1000)
        if spec.on_failure == hooks.DLQ:
            await asyncio.to_thread(DeadLetters(self._log, spec.name).ensure)
        async with self._lock:
            event = hooks.hook_deployed(spec, function, source, self.clock())
            await asyncio.to_thread(self._append, event)
            self.registry = hooks.evolve(self.registry, event)
            await self.launcher.stop(spec.name)
            await self.launcher.start(self.registry[spec.name])
        log.info("hook_deployed", hook=spec.name, table=spec.table, source=source)
        return self.describe(spec.name)

    async def remove(self, name: str) -> None:
        self._check_open()
        async with self._lock:
            event = hooks.hook_removed(self.registry, name, self.clock())
            await asyncio.to_thread(self._append, event)
            self.registry = hooks.evolve(self.registry, event)
            await self.launcher.stop(name)
        log.info("hook_removed", hook=name)

    def list(self) -> list[dict]:
        return [hooks.describe(self.registry[name]) for name in sorted(self.registry)]

    def describe(self, name: str) -> dict:
        hook = self.registry.get(name)
        if hook is None:
            raise errors.hook_not_found(name)
        return hooks.describe(hook)

    async def status(self, name: str) -> list[dict]:
        self.describe(name)
        return await self.launcher.status(name)

    async def dead_letters(self, name: str, start: int | None, limit: int) -> tuple[list[dict], int]:
        self._check_open()
        try:
            return await asyncio.to_thread(DeadLetters(self._log, name).read, start, limit)
        except UnknownTopicError:
            if name not in self.registry:
                raise errors.hook_not_found(name) from None
            return [], 0

    async def close(self) -> None:
        if self.launcher is not None:
            await self.launcher.close()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
