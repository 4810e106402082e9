"""What a hook function gets besides its records: a context to read and write tables.

The function runs on a worker thread; the context's methods are plain (blocking) calls that run
on the runner's event loop.  They take DynamoDB's low-level parameters, as boto3's client does
(``TableName``, ``Item``/``Key`` in wire format, ``UpdateExpression``, ``ConditionExpression``,
``ExpressionAttributeNames``/``Values``), parsed and validated here like the gateway does.

- :class:`ExactlyOnceContext` stages the writes (``core.hook_writes``): they commit together with
  the batch's checkpoint in one transaction, after the function returns, or not at all.
  ``get_item`` is a consistent read that sees the batch's own staged writes.
- :class:`DirectContext` (``ExactlyOnce=False``) writes at once, each write on its own, like a
  Lambda function calling DynamoDB; a redelivered batch writes again.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable

from ..core import keys, values
from ..core.commands import DeleteCommand, PutCommand, UpdateCommand
from ..core.expressions import ExpressionContext
from ..core.expressions import update as update_mod
from ..core.hook_writes import BatchWrites, StagedAction


def build_command(kind: str, schema: keys.KeySchema, params: dict[str, Any]) -> Any:
    """The command of a put/update/delete given boto3-style parameters (ValidationException if bad)."""
    ex = ExpressionContext(params.get("ExpressionAttributeNames"), params.get("ExpressionAttributeValues"))
    text = params.get("ConditionExpression")
    condition = ex.condition(text, "ConditionExpression") if text is not None else None
    if kind == "put":
        item = values.validate_item(params["Item"])
        keys.extract_key(schema, item)
        values.check_item_size(item)
        command: Any = PutCommand(item, condition)
    else:
        key = keys.validate_key(schema, values.validate_item(params["Key"]))
        if kind == "update":
            update = ex.update(params["UpdateExpression"]) if params.get("UpdateExpression") is not None else None
            if update is not None:
                update_mod.check_update_keys(update, schema.names)
            command = UpdateCommand(key, update, condition)
        else:
            command = DeleteCommand(key, condition)
    ex.check_unused()
    return command


class HookContext:
    """The methods both kinds of context share; ``hook``, ``table``, ``partition`` and ``attempt``
    (1 for the first try of a batch) describe the call."""

    def __init__(self, engine: Any, loop: asyncio.AbstractEventLoop, schemas: dict, *, hook: str, table: str,
                 partition: int, attempt: int) -> None:
        self._engine = engine
        self._loop = loop
        self._schemas = schemas  # table -> KeySchema, shared by the runner's batches
        self.hook = hook
        self.table = table
        self.partition = partition
        self.attempt = attempt

    def _run(self, coro: Awaitable) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def _schema(self, table: str) -> keys.KeySchema:
        schema = self._schemas.get(table)
        if schema is None:
            schema = self._schemas[table] = self._run(self._engine.key_schema(table))
        return schema

    def _read(self, table: str, key: dict) -> dict | None:
        return self._run(self._engine.get(table, key, None, True))

    def put_item(self, TableName: str, Item: dict, **options: Any) -> None:  # noqa: N803 - boto3's names
        self._write(TableName, build_command("put", self._schema(TableName), {"Item": Item, **options}))

    def update_item(self, TableName: str, Key: dict, **options: Any) -> None:  # noqa: N803
        self._write(TableName, build_command("update", self._schema(TableName), {"Key": Key, **options}))

    def delete_item(self, TableName: str, Key: dict, **options: Any) -> None:  # noqa: N803
        self._write(TableName, build_command("delete", self._schema(TableName), {"Key": Key, **options}))

    def get_item(self, TableName: str, Key: dict) -> dict | None:  # noqa: N803
        """The item (wire format) or None: a strongly consistent read."""
        return self._read(TableName, keys.validate_key(self._schema(TableName), values.validate_item(Key)))

    def _write(self, table: str, command: Any) -> None:  # pragma: no cover - every context overrides it
        raise NotImplementedError


class DirectContext(HookContext):
    """Writes at once (at least once: a redelivered batch writes again)."""

    def _write(self, table: str, command: Any) -> None:
        self._run(self._engine.write(table, command))


class ExactlyOnceContext(HookContext):
    """Stages writes; the runner commits them with the checkpoint (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writes = BatchWrites()

    def _write(self, table: str, command: Any) -> None:
        self.writes.add(table, self._schema(table), command)

    def get_item(self, TableName: str, Key: dict) -> dict | None:  # noqa: N803
        schema = self._schema(TableName)
        key = keys.validate_key(schema, values.validate_item(Key))
        if not self.writes.has_base(TableName, key):
            self.writes.set_base(TableName, schema, key, self._read(TableName, key))
        return self.writes.current(TableName, key)

    async def staged_actions(self) -> list[StagedAction]:
        """On the loop, after the function returned: read the bases the merges need, then the
        actions to commit (raises the DynamoError of a staged write that cannot apply)."""
        needed = self.writes.bases_needed()
        found = await asyncio.gather(*(self._engine.get(table, key, None, True) for table, key in needed))
        for (table, key), item in zip(needed, found):
            self.writes.set_base(table, self._schemas[table], key, item)
        return self.writes.actions()
