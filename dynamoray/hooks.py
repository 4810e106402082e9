"""Stored-procedure hooks: run a Python function on a table's changes, inside the server.

    from dynamoray.hooks import hook, deploy

    @hook(table="orders", batch_size=100, starting_position="TRIM_HORIZON",
          maximum_retry_attempts=3, bisect_batch_on_error=True, on_failure="dlq")
    def totals(records, ctx):
        for record in records:
            ...
            ctx.update_item(TableName="totals", Key=..., UpdateExpression="ADD amount :a", ...)

    deploy(totals)   # or: dynamoray hooks deploy my_module:totals

The function gets a list of records shaped like DynamoDB Streams records (``eventName``,
``dynamodb.Keys/NewImage/OldImage/SequenceNumber``, ...) and a context whose ``put_item``,
``update_item``, ``delete_item`` and ``get_item`` take boto3's low-level parameters.  By default
(``exactly_once=True``) the writes commit in one transaction with the hook's checkpoint, so each
batch's effects happen exactly once.  See ``docs/hooks.md``.

:func:`deploy` pickles the function by value (with the module it is defined in) and sends it to
the server's admin API with the root credentials (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
endpoint ``DYNAMORAY_ENDPOINT``).  The server must run the same Python version.
"""

from __future__ import annotations

import base64
import os
import sys
from typing import Any, Callable

from .core import values
from .core.hooks import spec_to_wire_options

HOOK_ATTRIBUTE = "__dynamoray_hook__"


def hook(table: str | None = None, *, name: str | None = None, **options: Any) -> Callable[[Callable], Callable]:
    """Mark a function as a hook on ``table``; ``options`` are the hook's settings: ``batch_size``,
    ``starting_position``, ``maximum_retry_attempts``, ``bisect_batch_on_error``, ``on_failure``
    ("dlq" or None), ``exactly_once``, ``members``, ``batch_window``, ``view_type``.  The function
    itself is returned unchanged (it can still be called directly, e.g. in a test)."""
    spec_to_wire_options(options)  # unknown options fail here, at import time

    def mark(function: Callable) -> Callable:
        setattr(function, HOOK_ATTRIBUTE, {"table": table, "name": name or function.__name__, **options})
        return function

    return mark


def settings_of(function: Callable, **overrides: Any) -> dict[str, Any]:
    """The DeployHook members of a function: its ``@hook`` settings, then ``overrides``."""
    marked = dict(getattr(function, HOOK_ATTRIBUTE, None) or {"name": getattr(function, "__name__", "hook")})
    marked.update({k: v for k, v in overrides.items() if v is not None})
    table, name = marked.pop("table", None), marked.pop("name", None)
    if not table:
        raise ValueError("a hook needs a table: @hook(table=...) or table=...")
    return {"HookName": name, "TableName": table, **spec_to_wire_options(marked)}


def pickle_function(function: Callable) -> bytes:
    """The function pickled by value with its module (cloudpickle), so the server needs no copy of it."""
    import ray.cloudpickle as cloudpickle

    module = sys.modules.get(getattr(function, "__module__", "") or "")
    by_value = module is not None and module.__name__ != "__main__" and not module.__name__.startswith("dynamoray")
    if by_value:
        cloudpickle.register_pickle_by_value(module)
    try:
        return cloudpickle.dumps(function)
    finally:
        if by_value:
            cloudpickle.unregister_pickle_by_value(module)


class HooksClient:
    """The admin API's hook operations (defaults from the environment, like the AWS SDKs)."""

    def __init__(self, endpoint: str | None = None, access_key: str | None = None, secret_key: str | None = None,
                 region: str | None = None) -> None:
        from .gateway.admin_client import AdminClient

        self._admin = AdminClient(
            endpoint or os.environ.get("DYNAMORAY_ENDPOINT", "http://127.0.0.1:8000"),
            access_key or os.environ["AWS_ACCESS_KEY_ID"], secret_key or os.environ["AWS_SECRET_ACCESS_KEY"],
            region=region or os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))

    def deploy(self, function: Callable, **overrides: Any) -> dict:
        """Deploy (or redeploy) ``function``; ``overrides``: ``table``, ``name`` or any setting."""
        body = settings_of(function, **overrides)
        body["Function"] = base64.b64encode(pickle_function(function)).decode()
        body["Source"] = f"{getattr(function, '__module__', '?')}:{getattr(function, '__qualname__', '?')}"
        return self._admin.call("DeployHook", **body)["Hook"]

    def list(self) -> list[dict]:
        return self._admin.call("ListHooks")["Hooks"]

    def describe(self, name: str) -> dict:
        return self._admin.call("DescribeHook", HookName=name)["Hook"]

    def remove(self, name: str) -> None:
        self._admin.call("RemoveHook", HookName=name)

    def dead_letters(self, name: str, start: int | None = None, limit: int = 100) -> tuple[list[dict], int]:
        params: dict[str, Any] = {"HookName": name, "Limit": limit}
        if start is not None:
            params["StartingOffset"] = start
        answer = self._admin.call("GetHookDeadLetters", **params)
        return answer["DeadLetters"], answer["NextOffset"]


def deploy(function: Callable, *, endpoint: str | None = None, **overrides: Any) -> dict:
    return HooksClient(endpoint).deploy(function, **overrides)


def remove(name: str, *, endpoint: str | None = None) -> None:
    HooksClient(endpoint).remove(name)


def plain(image: dict | None) -> dict | None:
    """A record's image (``NewImage``, ``Keys``...) as plain Python values (numbers as Decimal)."""
    return None if image is None else {name: values.to_python(value) for name, value in image.items()}
