"""Fuzzing the front door: SigV4 verification and request parsing (hypothesis).

Whatever arrives (malformed Authorization headers, dates, bodies, targets, paths), the verifier
raises nothing but DynamoError, the gateway never answers 500, and nothing is authenticated
without the secret: a signature made with another secret, or a signed request changed in any
signed part, is refused.
"""

import asyncio
import http.client
import json
from datetime import datetime, timezone

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dynamoray.actors.local import LocalEngine
from dynamoray.core.errors import DynamoError
from dynamoray.gateway.auth import Authenticator, Principal
from dynamoray.gateway.runner import BackgroundServer, build_gateway
from dynamoray.gateway.server import ServerConfig

KEY, SECRET = "AKIDFUZZFUZZFUZZ", "fuzz-secret"
PRINCIPAL = Principal(KEY, "arn:aws:iam::000000000000:root", "000000000000")
NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=timezone.utc)
AMZ_NOW = NOW.strftime("%Y%m%dT%H%M%SZ")
fuzz = settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])

TARGETS = st.one_of(
    st.sampled_from(["DynamoDB_20120810.ListTables", "DynamoDB_20120810.GetItem", "DynamoDBStreams_20120810.GetRecords",
                     "DynamoRayAdmin_20261126.ListUsers", "DynamoDB_20120810.", ".", "", "DynamoDB_20120810.Nope"]),
    st.text(max_size=40),
)
BODIES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"", b"{}", b"[]", b"null", b'{"TableName": 1}', b'{"TableName": "t", "Key": {"p": {"Q": 1}}}',
                     b'{"RequestItems": {"t": {"Keys": [{}]}}}', b'{"ShardIterator": "x"}', b"\xff\xfe",
                     b'{"TransactItems": [{"Put": 5}, "x", {"Get": {"TableName": "t"}}]}']),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                 max_leaves=8).map(lambda v: json.dumps(v).encode()),
)
FRAGMENTS = st.sampled_from([
    "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", " ", ",", "=", "/", ";", "Credential=", "SignedHeaders=", "Signature=",
    KEY, "AKIDOTHER", "20261126", "us-east-1", "dynamodb", "aws4_request", "host;x-amz-date", "x-amz-target",
    "deadbeef" * 8, "Credential=AKIDFUZZFUZZFUZZ/20261126/us-east-1/dynamodb/aws4_request",
])
AUTHORIZATIONS = st.one_of(st.lists(FRAGMENTS, max_size=12).map("".join), st.text(max_size=120))
DATES = st.one_of(st.just(AMZ_NOW), st.sampled_from(["", "2026", "20261126T120000", "20261126T12000AZ",
                                                     "99999999T999999Z", "20261126T120000Z ", "00000000T000000Z"]),
                  st.text(max_size=20))


def signed(body: bytes, target: str, secret: str = SECRET, key: str = KEY, at: str = AMZ_NOW,
           host: str = "127.0.0.1:8000") -> dict:
    request = AWSRequest(method="POST", url=f"http://{host}/", data=body,
                         headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target})
    request.context["timestamp"] = at
    signer = SigV4Auth(Credentials(key, secret), "dynamodb", "us-east-1")
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["authorization"] = signer._inject_signature_to_request(request, signature).headers["Authorization"]
    headers["host"] = host
    return headers


def authenticator() -> Authenticator:
    auth = Authenticator(clock=lambda: NOW)
    auth.add_key(KEY, SECRET, PRINCIPAL)
    return auth


# --- the verifier --------------------------------------------------------------------------------


@fuzz
@given(AUTHORIZATIONS, DATES, BODIES, TARGETS, st.sampled_from(["/", "/x", "//", "/?a=b"]), st.text(max_size=20))
def test_garbage_only_ever_raises_dynamo_errors(authorization, date, body, target, path, query):
    headers = {"authorization": authorization, "x-amz-date": date, "x-amz-target": target, "host": "h"}
    try:
        authenticator().verify("POST", path, query, headers, body)
    except DynamoError as error:
        assert error.status < 500
    else:  # accepted without a signature made with the secret: impossible by chance
        pytest.fail(f"authenticated {headers!r}")


@fuzz
@given(BODIES, TARGETS, st.text(min_size=1, max_size=30))
def test_another_secret_never_authenticates(body, target, wrong):
    assume(wrong != SECRET)
    with pytest.raises(DynamoError) as info:
        authenticator().verify("POST", "/", "", signed(body, target, secret=wrong), body)
    assert info.value.error_type == "InvalidSignatureException"


MUTATIONS = st.sampled_from(["body", "target", "date", "signature", "key", "signed-headers", "region", "method"])


@fuzz
@given(BODIES, TARGETS, MUTATIONS, st.binary(min_size=1, max_size=8))
def test_a_signed_request_changed_anywhere_is_refused(body, target, mutation, noise):
    headers = signed(body, target)
    assert authenticator().verify("POST", "/", "", headers, body) == PRINCIPAL
    method = "POST"
    if mutation == "body":
        body = body + noise
    elif mutation == "target":
        headers["x-amz-target"] = target + "X"
    elif mutation == "date":
        headers["x-amz-date"] = "20261126T120001Z"
    elif mutation == "signature":
        last = headers["authorization"][-1]
        headers["authorization"] = headers["authorization"][:-1] + ("0" if last != "0" else "1")
    elif mutation == "key":
        headers["authorization"] = headers["authorization"].replace(KEY, "AKIDFUZZFUZZFUZZX")
    elif mutation == "signed-headers":
        headers["authorization"] = headers["authorization"].replace("SignedHeaders=", "SignedHeaders=accept;")
    elif mutation == "region":
        headers["authorization"] = headers["authorization"].replace("us-east-1", "us-west-2")
    else:
        method = "PUT"
    with pytest.raises(DynamoError):
        authenticator().verify(method, "/", "", headers, body)


# --- the whole gateway over HTTP -----------------------------------------------------------------


@pytest.fixture(scope="module")
def gateway_server():
    engine = LocalEngine()
    asyncio.run(engine.open())
    background = BackgroundServer(build_gateway(engine, KEY, SECRET, ServerConfig())).start()
    yield background
    background.stop()
    asyncio.run(engine.close())


def post(server, headers: dict, body: bytes) -> tuple[int, dict]:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        connection.request("POST", "/", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


AUTH_ERRORS = {"MissingAuthenticationTokenException", "IncompleteSignatureException",
               "UnrecognizedClientException", "InvalidSignatureException"}
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)


@fuzz
@given(HEADER_TEXT, HEADER_TEXT, BODIES, TARGETS.filter(lambda t: t.isprintable() and t.isascii()))
def test_the_gateway_never_answers_500_to_unsigned_garbage(gateway_server, authorization, date, body, target):
    status, payload = post(gateway_server, {"Authorization": authorization, "X-Amz-Date": date,
                                            "X-Amz-Target": target}, body)
    assert 400 <= status < 500, payload
    assert payload["__type"].split("#")[-1] in AUTH_ERRORS


@fuzz
@given(BODIES, TARGETS.filter(lambda t: t.isprintable() and t.isascii()))
def test_signed_garbage_bodies_and_targets_get_dynamo_errors_not_500(gateway_server, body, target):
    now = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    headers = signed(body, target, at=now, host=f"{gateway_server.host}:{gateway_server.port}")
    status, payload = post(gateway_server, headers, body)
    assert status != 500 and status < 503, payload
    if status != 200:
        assert "__type" in payload and "message" in payload
        assert payload["__type"].split("#")[-1] not in AUTH_ERRORS  # authenticated: the parser was reached


FINE_GRAINED = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "dynamodb:*", "Resource": "*",
    "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"],
                                                 "dynamodb:Attributes": ["p", "c", "a"]},
                  "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}}}]})
ITEM_BODIES = st.fixed_dictionaries({
    "TableName": st.sampled_from(["fuzz", "fuzz", "missing", "arn:aws:dynamodb:us-east-1:000000000000:table/fuzz"]),
}, optional={
    "Key": st.dictionaries(st.sampled_from(["p", "c", "x"]), st.one_of(
        st.fixed_dictionaries({"S": st.text(max_size=5)}), st.fixed_dictionaries({"N": st.text(max_size=5)}),
        st.dictionaries(st.text(max_size=2), st.integers(), max_size=2)), max_size=3),
    "ProjectionExpression": st.sampled_from(["a", "#n", "a.b[1]", "(", "p, c"]),
    "ExpressionAttributeNames": st.dictionaries(st.sampled_from(["#n", "n"]), st.text(max_size=3), max_size=2),
    "KeyConditionExpression": st.sampled_from(["p = :v", "#n = :v AND c > :v", "p", "size(p) = :v"]),
    "ExpressionAttributeValues": st.dictionaries(st.just(":v"), st.fixed_dictionaries({"S": st.text(max_size=3)}),
                                                 max_size=1),
    "RequestItems": st.dictionaries(st.sampled_from(["fuzz", "missing"]), st.one_of(
        st.fixed_dictionaries({"Keys": st.lists(st.dictionaries(st.just("p"), st.fixed_dictionaries(
            {"S": st.text(max_size=3)}), max_size=1), max_size=2)}),
        st.lists(st.fixed_dictionaries({}, optional={"PutRequest": st.fixed_dictionaries({"Item": st.dictionaries(
            st.sampled_from(["p", "z"]), st.fixed_dictionaries({"S": st.text(max_size=2)}), max_size=2)})}),
            max_size=2)), max_size=2),
    "TransactItems": st.lists(st.dictionaries(st.sampled_from(["Put", "Get", "Update", "Delete", "ConditionCheck", "X"]),
                                              st.fixed_dictionaries({"TableName": st.just("fuzz")}, optional={
                                                  "Key": st.just({"p": {"S": "u"}}),
                                                  "Item": st.just({"p": {"S": "u"}}),
                                                  "UpdateExpression": st.sampled_from(["SET a = :v", "REMOVE", "ADD"])}),
                                              max_size=2), max_size=3),
    "Select": st.sampled_from(["COUNT", "SPECIFIC_ATTRIBUTES", "ALL_ATTRIBUTES"]),
    "ReturnValues": st.sampled_from(["ALL_NEW", "NONE"]),
    "ShardIterator": st.text(max_size=10),
}).map(lambda d: json.dumps(d).encode())
ITEM_TARGETS = st.sampled_from([f"DynamoDB_20120810.{op}" for op in (
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem",
    "TransactGetItems", "TransactWriteItems", "DescribeTable", "PutResourcePolicy", "CreateTable")]
    + ["DynamoDBStreams_20120810.GetRecords", "DynamoRayAdmin_20261126.CreateUser"])


@pytest.fixture(scope="module")
def fuzz_user(gateway_server):
    from dynamoray.gateway.admin_client import AdminClient

    admin = AdminClient(gateway_server.endpoint, KEY, SECRET)
    admin.call("CreateUser", UserName="u")
    admin.call("PutUserPolicy", UserName="u", PolicyName="fine", PolicyDocument=FINE_GRAINED)
    key = admin.call("CreateAccessKey", UserName="u")["AccessKey"]
    table = {"TableName": "fuzz", "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}],
             "AttributeDefinitions": [{"AttributeName": "p", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}
    body = json.dumps(table).encode()
    headers = signed(body, "DynamoDB_20120810.CreateTable", at=datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ"),
                     host=f"{gateway_server.host}:{gateway_server.port}")
    assert post(gateway_server, headers, body)[0] == 200
    return key["AccessKeyId"], key["SecretAccessKey"]


@fuzz
@given(ITEM_BODIES, ITEM_TARGETS)
def test_authorizing_arbitrary_requests_of_a_user_never_fails_with_500(gateway_server, fuzz_user, body, target):
    now = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    headers = signed(body, target, key=fuzz_user[0], secret=fuzz_user[1], at=now,
                     host=f"{gateway_server.host}:{gateway_server.port}")
    status, payload = post(gateway_server, headers, body)
    assert status < 500, payload
    if status != 200:
        assert payload["__type"].split("#")[-1] not in AUTH_ERRORS
