"""The wire protocol: SigV4, targets, JSON errors, headers."""

import zlib

import pytest
import requests
from botocore.exceptions import ClientError

from .conftest import make_client

TARGET = "DynamoDB_20120810.ListTables"


def _post(server, body=b"{}", target=TARGET, headers=None):
    h = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target}
    h.update(headers or {})
    return requests.post(server.endpoint + "/", data=body, headers=h, timeout=10)


def test_health_answers_200(server):
    assert requests.get(server.endpoint + "/health", timeout=10).status_code == 200


def test_unsigned_request_is_missing_authentication_token(server):
    response = _post(server)
    assert response.status_code == 400
    assert response.json()["__type"].endswith("#MissingAuthenticationTokenException")


def test_unknown_access_key_is_unrecognized_client(server):
    client = make_client(server.endpoint, access="AKIDUNKNOWN")
    with pytest.raises(ClientError) as info:
        client.list_tables()
    assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_wrong_secret_is_invalid_signature(server):
    client = make_client(server.endpoint, secret="not-the-secret")
    with pytest.raises(ClientError) as info:
        client.list_tables()
    assert info.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert "does not match the signature you provided" in info.value.response["Error"]["Message"]


def test_signed_request_succeeds_and_carries_crc32_and_request_id(ddb):
    response = ddb.list_tables()
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert "x-amzn-requestid" in headers
    assert "x-amz-crc32" in headers  # botocore verifies the checksum itself


def _signed_raw(server, target, body):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from .conftest import ACCESS_KEY, REGION, SECRET_KEY

    request = AWSRequest(
        method="POST", url=server.endpoint + "/", data=body,
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target},
    )
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "dynamodb", REGION).add_auth(request)
    return requests.post(server.endpoint + "/", data=body, headers=dict(request.headers), timeout=10)


def test_malformed_json_is_a_serialization_exception(server):
    response = _signed_raw(server, TARGET, b"{not json")
    assert response.status_code == 400
    assert response.json()["__type"].endswith("#SerializationException")
    assert zlib.crc32(response.content) == int(response.headers["x-amz-crc32"])


def test_unknown_operation(server):
    response = _signed_raw(server, "DynamoDB_20120810.FlyToTheMoon", b"{}")
    assert response.status_code == 400
    assert response.json()["__type"].endswith("#UnknownOperationException")


def test_unknown_target_prefix(server):
    response = _signed_raw(server, "Nope_2020.ListTables", b"{}")
    assert response.status_code == 400
    assert response.json()["__type"].endswith("#UnknownOperationException")


def test_wrong_json_type_is_a_serialization_exception(server):
    response = _signed_raw(server, "DynamoDB_20120810.DescribeTable", b'{"TableName": 5}')
    assert response.status_code == 400
    assert response.json()["__type"].endswith("#SerializationException")


def test_constraint_violations_are_one_validation_exception(server):
    body = b'{"TableName": "ab", "Key": {"p": {"S": "x"}}}'
    response = _signed_raw(server, "DynamoDB_20120810.GetItem", body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["__type"] == "com.amazon.coral.validate#ValidationException"
    assert payload["message"].startswith("1 validation error detected: Value 'ab' at 'tableName'")


def test_body_that_is_not_an_object_is_rejected(server):
    response = _signed_raw(server, TARGET, b"[1, 2]")
    assert response.status_code == 400
    assert response.json()["__type"].endswith("#SerializationException")
