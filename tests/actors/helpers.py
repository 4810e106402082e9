"""Shared helpers of the actor tests: table descriptions, commands, and retrying calls."""

from __future__ import annotations

import asyncio
import time
import uuid

from dynamoray.core import tables
from dynamoray.core.commands import PutCommand, UpdateCommand
from dynamoray.core.errors import DynamoError
from dynamoray.core.expressions import ast
from dynamoray.actors.client import table_ref
from dynamoray.events.log import EventLog

RETRYABLE = ("ServiceUnavailable", "InternalServerError")


def description(name: str, *, range_key: bool = False) -> dict:
    schema = [{"AttributeName": "p", "KeyType": "HASH"}]
    definitions = [{"AttributeName": "p", "AttributeType": "S"}]
    if range_key:
        schema.append({"AttributeName": "c", "KeyType": "RANGE"})
        definitions.append({"AttributeName": "c", "AttributeType": "N"})
    request = {"TableName": name, "KeySchema": schema, "AttributeDefinitions": definitions,
               "BillingMode": "PAY_PER_REQUEST"}
    return tables.new_table_description(
        request, arn=f"arn:aws:dynamodb:us-east-1:000000000000:table/{name}",
        table_id=str(uuid.uuid4()), now=1_700_000_000.0,
    )


def new_table(log: EventLog, name: str) -> tuple[dict, object]:
    """A table description, its topic created in ``log``, and its TableRef."""
    desc = description(name)
    ref = table_ref(desc)
    log.create_topic(ref.topic, 1)
    return desc, ref


def put(p: str, **attributes: str) -> PutCommand:
    item = {"p": {"S": p}, **{k: {"S": v} for k, v in attributes.items()}}
    return PutCommand(item)


def increment(p: str, name: str = "n") -> UpdateCommand:
    """``ADD n :one`` on item ``p``."""
    update = ast.Update(adds=(ast.AddAction(ast.Path((name,)), ast.Literal({"N": "1"})),))
    return UpdateCommand({"p": {"S": p}}, update=update)


def key(p: str) -> dict:
    return {"p": {"S": p}}


async def retrying(call, deadline: float = 60.0):
    """Await ``call()`` until it stops failing with a retryable error (an actor restarting)."""
    stop = time.monotonic() + deadline
    while True:
        try:
            return await call()
        except DynamoError as error:
            if error.error_type not in RETRYABLE or time.monotonic() > stop:
                raise
            await asyncio.sleep(0.05)


def run_scenario(script, log) -> dict:
    """Run a scenario script (``split_scenario.py``, ``zones_scenario.py``) in its own process (the
    test session may already hold a private Ray) on the log directory ``log``; its ``RESULT`` line."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    done = subprocess.run([sys.executable, str(script), str(log)], capture_output=True, text=True,
                          timeout=500, cwd=Path(__file__).resolve().parents[2], check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-4000:]
    return json.loads(lines[-1][len("RESULT "):])
