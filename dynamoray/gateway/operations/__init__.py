"""The dispatch table: one small module per operation, registered by name.

Each handler is ``async def handler(ctx: RequestContext, body: dict) -> dict``: it receives the
already-validated JSON body and returns the JSON response; it raises ``DynamoError`` for any
DynamoDB error.
"""

from __future__ import annotations

from typing import Awaitable, Callable

from ..context import RequestContext

Handler = Callable[[RequestContext, dict], Awaitable[dict]]

_REGISTRY: dict[tuple[str, str], Handler] = {}


def operation(name: str, service: str = "dynamodb") -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _REGISTRY[(service, name)] = handler
        return handler

    return register


def find(service: str, name: str) -> Handler | None:
    _load()
    return _REGISTRY.get((service, name))


_loaded = False


def _load() -> None:
    """Import every operation module once (they register themselves)."""
    global _loaded
    if _loaded:
        return
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    _loaded = True
