"""The wire: SigV4 with botocore's credential chain, the JSON 1.0 protocol, CRC32, error mapping."""

from __future__ import annotations

import asyncio
import zlib

import orjson
import pytest

from dynamoray.gateway.sdk import (
    AsyncClient,
    Client,
    DynamoDBError,
    RawResponse,
    ResourceNotFoundException,
    RetryConfig,
)
from dynamoray.gateway.sdk.errors import ChecksumMismatchError, UnrecognizedClientException, from_response
from dynamoray.gateway.sdk.transport import Signer, Wire

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, make_client


def test_credentials_and_region_come_from_botocores_chain(sdk_server, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("DYNAMORAY_ENDPOINT", sdk_server.endpoint)
    with Client() as client:
        assert client.endpoint == sdk_server.endpoint and client.region == "eu-west-3"
        assert isinstance(client.list_tables(), list)


def test_a_profile_from_the_shared_files(sdk_server, monkeypatch, tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[sdk]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with Client(sdk_server.endpoint, profile="sdk", region=REGION) as client:
        assert isinstance(client.list_tables(), list)


def test_a_wrong_secret_is_refused_by_the_server(sdk_server):
    client = Client(sdk_server.endpoint, access_key=ACCESS_KEY, secret_key="wrong", region=REGION)
    with pytest.raises(DynamoDBError) as raised:
        client.list_tables()
    assert raised.value.code == "InvalidSignatureException" and raised.value.status == 400
    other = Client(sdk_server.endpoint, access_key="AKIDUNKNOWN", secret_key="x", region=REGION)
    with pytest.raises(UnrecognizedClientException):
        other.list_tables()


def test_requests_are_json_1_0_with_the_operation_in_the_target():
    wire = Wire(Signer("http://127.0.0.1:8000", REGION, ACCESS_KEY, SECRET_KEY))
    body, headers = wire.encode("dynamodbstreams", "GetRecords", {"ShardIterator": "x"})
    assert orjson.loads(body) == {"ShardIterator": "x"}
    assert headers["X-Amz-Target"] == "DynamoDBStreams_20120810.GetRecords"
    assert headers["Content-Type"] == "application/x-amz-json-1.0"
    assert headers["Authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/")
    assert f"/{REGION}/dynamodb/aws4_request" in headers["Authorization"]


def test_decoding_checks_the_crc32_and_maps_errors():
    body = b'{"a":1}'
    assert Wire.decode(RawResponse(200, body, {"x-amz-crc32": str(zlib.crc32(body))})) == {"a": 1}
    assert Wire.decode(RawResponse(200, body, {})) == {"a": 1}  # no header, no check
    with pytest.raises(ChecksumMismatchError):
        Wire.decode(RawResponse(200, body, {"x-amz-crc32": "1"}))
    error = b'{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"gone"}'
    with pytest.raises(ResourceNotFoundException) as raised:
        Wire.decode(RawResponse(400, error, {"x-amzn-requestid": "R1"}))
    assert (raised.value.message, raised.value.request_id) == ("gone", "R1")
    assert raised.value.code == "ResourceNotFoundException"
    with pytest.raises(DynamoDBError) as raised:
        Wire.decode(RawResponse(502, b"<html>bad gateway</html>", {}))
    assert raised.value.code == "InternalServerError" and raised.value.status == 502


def test_unknown_error_names_keep_their_code():
    error = from_response(400, {"__type": "com.amazon.coral.service#SomethingNewException", "Message": "hm"}, None)
    assert type(error) is DynamoDBError and error.code == "SomethingNewException" and error.message == "hm"


def test_the_raw_call_escape_hatch(client, table_s):
    client.call("PutItem", TableName=table_s, Item={"p": {"S": "raw"}, "n": {"N": "1"}})
    assert client.call("GetItem", TableName=table_s, Key={"p": {"S": "raw"}})["Item"]["n"] == {"N": "1"}
    assert "Endpoints" in client.call("DescribeEndpoints")


def test_many_threads_share_one_sync_client(sdk_server, table_s):
    from concurrent.futures import ThreadPoolExecutor

    client = make_client(sdk_server.endpoint, max_connections=4)
    table = client.table(table_s)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: table.put({"p": f"thread-{i}", "i": i}), range(64)))
    assert table.batch_get([{"p": f"thread-{i}"} for i in range(64)]).__len__() == 64


def test_async_client_many_concurrent_tasks(sdk_server, table_s):
    async def run():
        async with AsyncClient(sdk_server.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION,
                               max_connections=8, retry=RetryConfig(max_attempts=1)) as client:
            table = client.table(table_s)
            await asyncio.gather(*(table.put({"p": f"task-{i}", "i": i}) for i in range(100)))
            got = await asyncio.gather(*(table.get({"p": f"task-{i}"}) for i in range(100)))
            return [g["i"] for g in got]

    assert asyncio.run(run()) == list(range(100))


def test_an_async_client_survives_a_new_event_loop(sdk_server, table_s):
    client = AsyncClient(sdk_server.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION)
    table = client.table(table_s)
    asyncio.run(table.put({"p": "two-loops", "n": 1}))
    assert asyncio.run(table.get({"p": "two-loops"})) == {"p": "two-loops", "n": 1}
    asyncio.run(client.close())


def test_optional_key_annotations_are_understood():
    from typing import Annotated, Optional

    from pydantic import BaseModel

    from dynamoray.gateway.sdk import HashKey, RangeKey
    from dynamoray.gateway.sdk.models import KeySchema, model_key_schema

    class M(BaseModel):
        a: Annotated[Optional[str], HashKey]
        b: Annotated[bytes | None, RangeKey] = None

    assert model_key_schema(M) == KeySchema("a", "b", "S", "B")
