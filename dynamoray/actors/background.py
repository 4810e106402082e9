"""A background loop owned by one object: :meth:`start` runs its ``_run()`` coroutine as one asyncio
task on the running loop, :meth:`stop` cancels it and waits for it to end."""

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
