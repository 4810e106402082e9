"""The gateway: the HTTP server (``server.py``) and the Python SDK (``sdk/``).

``from dynamoray.gateway import Client, AsyncClient`` gives the SDK's clients; they are loaded on
first use, so importing the server does not import the SDK and the SDK imports no server module.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .sdk import AsyncClient, Client

__all__ = ["AsyncClient", "Client"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
