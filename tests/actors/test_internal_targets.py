"""A fork or an import into a reserved name (core/internal_tables.py) is refused like CreateTable."""

from __future__ import annotations

import asyncio
import time

import pytest

from dynamoray.actors import forks, imports
from dynamoray.actors.exports import service_for as exports_service
from dynamoray.actors.backups import service_for
from dynamoray.actors.local import LocalEngine
from dynamoray.core import errors
from dynamoray.core.forks import ForkRequest
from dynamoray.core.hooks import CHECKPOINT_TABLE

from .helpers import description, put


def test_a_fork_into_the_hooks_checkpoint_table_is_resource_in_use():
    async def scenario():
        engine = LocalEngine()
        await engine.create_table(description("t"))
        await engine.write("t", put("k", v="1"))
        service = await service_for(engine)
        with pytest.raises(errors.DynamoError) as caught:
            await forks.fork_table(service, ForkRequest("t", CHECKPOINT_TABLE, at_time=time.time()),
                                   "arn:aws:dynamodb:x:1:table/x")
        return caught.value, await engine.list_tables()

    error, names = asyncio.run(scenario())
    assert (error.error_type, error.message) == ("ResourceInUseException", f"Table already exists: {CHECKPOINT_TABLE}")
    assert names == ["t"]


def test_an_import_into_the_hooks_checkpoint_table_is_resource_in_use_even_before_it_exists():
    async def scenario():
        engine = LocalEngine()
        service = await exports_service(engine)
        table = description(CHECKPOINT_TABLE)
        body = {"S3BucketSource": {"S3Bucket": "anywhere", "S3KeyPrefix": "data/"}, "InputFormat": "DYNAMODB_JSON",
                "TableCreationParameters": {"TableName": CHECKPOINT_TABLE}}
        with pytest.raises(errors.DynamoError) as caught:
            await imports.start_import(service, body, table)
        return caught.value, await engine.list_tables()

    error, names = asyncio.run(scenario())
    assert (error.error_type, error.message) == ("ResourceInUseException", f"Table already exists: {CHECKPOINT_TABLE}")
    assert names == []
