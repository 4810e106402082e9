"""SigV4 verification: each way a signature can be wrong gets DynamoDB's error."""

from datetime import datetime, timedelta, timezone

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from dynamoray.core.errors import DynamoError
from dynamoray.gateway.auth import Authenticator, Principal

KEY, SECRET = "AKIDEXAMPLE", "secret"
PRINCIPAL = Principal(KEY, "arn:aws:iam::000000000000:root", "000000000000")
BODY = b'{"TableName": "t"}'


def _signed(at: datetime, secret: str = SECRET, key: str = KEY, body: bytes = BODY) -> dict:
    request = AWSRequest(method="POST", url="http://127.0.0.1:8000/", data=body,
                         headers={"Content-Type": "application/x-amz-json-1.0",
                                  "X-Amz-Target": "DynamoDB_20120810.DescribeTable"})
    signer = SigV4Auth(Credentials(key, secret), "dynamodb", "us-east-1")
    request.context["timestamp"] = at.strftime("%Y%m%dT%H%M%SZ")
    # add_auth stamps "now"; sign with our own time instead through the same botocore steps
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["authorization"] = signer._inject_signature_to_request(request, signature).headers["Authorization"]
    headers["host"] = "127.0.0.1:8000"
    return headers


NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=timezone.utc)


def _auth() -> Authenticator:
    auth = Authenticator(clock=lambda: NOW)
    auth.add_key(KEY, SECRET, PRINCIPAL)
    return auth


def _verify(headers, body=BODY):
    return _auth().verify("POST", "/", "", headers, body)


def _error(headers, body=BODY) -> DynamoError:
    with pytest.raises(DynamoError) as info:
        _verify(headers, body)
    return info.value


def test_a_good_signature_names_the_principal():
    assert _verify(_signed(NOW)) == PRINCIPAL


def test_a_tampered_body_fails_the_signature():
    error = _error(_signed(NOW), body=b'{"TableName": "other"}')
    assert error.error_type == "InvalidSignatureException"


def test_a_wrong_secret_fails_the_signature():
    assert _error(_signed(NOW, secret="wrong")).error_type == "InvalidSignatureException"


def test_an_unknown_key_is_unrecognized():
    assert _error(_signed(NOW, key="AKIDOTHER")).error_type == "UnrecognizedClientException"


def test_no_authorization_header_is_missing_token():
    headers = _signed(NOW)
    del headers["authorization"]
    error = _error(headers)
    assert (error.error_type, error.message) == ("MissingAuthenticationTokenException",
                                                 "Request is missing Authentication Token")


def test_an_old_signature_has_expired():
    error = _error(_signed(NOW - timedelta(minutes=16)))
    assert error.error_type == "InvalidSignatureException"
    assert error.message.startswith("Signature expired: 20261126T114400Z is now earlier than 20261126T114500Z")


def test_a_future_signature_is_not_yet_current():
    error = _error(_signed(NOW + timedelta(minutes=16)))
    assert error.error_type == "InvalidSignatureException"
    assert error.message.startswith("Signature not yet current")


def test_within_the_skew_window_is_accepted():
    assert _verify(_signed(NOW - timedelta(minutes=14))) == PRINCIPAL


def test_a_malformed_authorization_header_is_incomplete():
    headers = _signed(NOW)
    headers["authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/dynamodb/aws4_request"
    error = _error(headers)
    assert error.error_type == "IncompleteSignatureException"
    assert "'SignedHeaders'" in error.message


def test_an_unsupported_algorithm_is_incomplete():
    headers = _signed(NOW)
    headers["authorization"] = "AWS3 foo"
    assert _error(headers).error_type == "IncompleteSignatureException"


def test_fast_path_and_botocore_path_agree():
    from dynamoray.gateway.auth import _botocore_signature, _parse_authorization

    headers = _signed(NOW)
    parsed = _parse_authorization(headers["authorization"])
    amz_date = headers["x-amz-date"]
    fast = _auth()._fast_signature(parsed, SECRET, "POST", headers, BODY, amz_date)
    slow = _botocore_signature(parsed, SECRET, "POST", "/", "", headers, BODY, amz_date)
    assert fast == slow == parsed.signature


def test_a_request_with_a_query_string_goes_through_botocore():
    request = AWSRequest(method="POST", url="http://127.0.0.1:8000/x?b=2&a=1", data=BODY,
                         headers={"Content-Type": "application/x-amz-json-1.0"})
    signer = SigV4Auth(Credentials(KEY, SECRET), "dynamodb", "us-east-1")
    request.context["timestamp"] = NOW.strftime("%Y%m%dT%H%M%SZ")
    signer._modify_request_before_signing(request)
    signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    signed = signer._inject_signature_to_request(request, signature)
    headers = {k.lower(): v for k, v in signed.headers.items()}
    headers["host"] = "127.0.0.1:8000"
    assert _auth().verify("POST", "/x", "b=2&a=1", headers, BODY) == PRINCIPAL


def test_a_remembered_authorization_prefix_never_admits_a_wrong_signature():
    """The parse of an Authorization header is kept per prefix (all but the signature): the
    signature itself is checked on every request."""
    auth = _auth()
    good = _signed(NOW)
    assert auth.verify("POST", "/", "", good, BODY) == PRINCIPAL
    forged = dict(good, authorization=good["authorization"][:-4] + "0000")
    with pytest.raises(DynamoError) as info:
        auth.verify("POST", "/", "", forged, BODY)
    assert info.value.error_type == "InvalidSignatureException"
    other = _signed(NOW + timedelta(seconds=1), body=b'{"TableName": "u"}')  # same prefix, new signature
    assert auth.verify("POST", "/", "", other, b'{"TableName": "u"}') == PRINCIPAL
    with pytest.raises(DynamoError):  # and the same signature over another body still fails
        auth.verify("POST", "/", "", other, BODY)


def test_fields_in_another_order_and_a_bad_header_twice():
    auth = _auth()
    headers = _signed(NOW)
    algorithm, _, rest = headers["authorization"].partition(" ")
    credential, signed, signature = [part.strip() for part in rest.split(",")]
    reordered = dict(headers, authorization=f"{algorithm} {signature}, {credential}, {signed}")
    assert auth.verify("POST", "/", "", reordered, BODY) == PRINCIPAL
    bad = dict(headers, authorization=f"{algorithm} {credential}, {signature}")  # no SignedHeaders
    for _ in range(2):
        with pytest.raises(DynamoError) as info:
            auth.verify("POST", "/", "", bad, BODY)
        assert info.value.error_type == "IncompleteSignatureException"
        assert "'SignedHeaders'" in info.value.message


def test_a_remembered_date_is_still_checked_against_the_clock():
    now = [NOW]
    auth = Authenticator(clock=lambda: now[0])
    auth.add_key(KEY, SECRET, PRINCIPAL)
    headers = _signed(NOW)
    assert auth.verify("POST", "/", "", headers, BODY) == PRINCIPAL
    now[0] = NOW + timedelta(minutes=16)
    with pytest.raises(DynamoError) as info:
        auth.verify("POST", "/", "", headers, BODY)
    assert info.value.message.startswith("Signature expired: 20261126T120000Z is now earlier than")
