"""A background loop owned by one object: :meth:`start` runs its ``_run()`` coroutine as one asyncio
task on the running loop, :meth:`stop` cancels it and waits for it to end.  :class:`RoundsLoop` is
the common case: a round every ``interval`` seconds, a failed round logged and tried again."""

from __future__ import annotations

import asyncio
from typing import Any


class BackgroundLoop:
    """Mix-in: subclasses define ``async def _run(self)``; ``task_name`` names the task."""

    _task: asyncio.Task | None = None
    task_name: str | None = None

    async def _run(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.task_name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass


class RoundsLoop(BackgroundLoop):
    """Mix-in: ``run_round()`` every ``interval`` seconds (slept with ``_sleep``); a round that fails
    is logged on ``round_log`` as ``round_failed`` and the next one tries again."""

    interval: float
    round_log: Any
    round_failed = "round_failed"

    async def _sleep(self, seconds: float) -> None:  # pragma: no cover - subclasses inject theirs
        await asyncio.sleep(seconds)

    async def run_round(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    async def _run(self) -> None:
        while True:
            await self._sleep(self.interval)
            try:
                await self.run_round()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the next round tries again
                self.round_log.warning(self.round_failed, error=repr(error))
