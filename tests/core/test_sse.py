"""SSESpecification's rules (core/sse.py), with DynamoDB's exact messages."""

import pytest

from dynamoray.core import sse
from dynamoray.core.errors import DynamoError

INVALID = "One or more parameter values were invalid: "
ARN = "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555"


@pytest.mark.parametrize("spec, message", [
    ({"Enabled": False, "SSEType": "KMS"}, "SSEType can not be specified if Enabled is false"),
    ({"Enabled": False, "KMSMasterKeyId": "alias/x"}, "KMSMasterKeyId can not be specified if Enabled is false"),
    ({"Enabled": False, "SSEType": "KMS", "KMSMasterKeyId": "k"}, "SSEType can not be specified if Enabled is false"),
    ({"Enabled": False, "SSEType": "AES256"}, "SSEType can not be specified if Enabled is false"),
    ({"Enabled": True, "SSEType": "AES256"}, "SSEType AES256 is not supported"),
    ({"Enabled": True, "KMSMasterKeyId": "alias/x"}, "SSEType KMS is required if KMSMasterKeyId is specified"),
])
def test_invalid_specifications_are_refused_with_dynamodbs_messages(spec, message):
    with pytest.raises(DynamoError) as caught:
        sse.requested(spec)
    assert (caught.value.error_type, caught.value.message) == ("ValidationException", INVALID + message)


@pytest.mark.parametrize("spec, wanted", [
    (None, None),
    ({}, sse.Requested(False)),
    ({"Enabled": False}, sse.Requested(False)),
    ({"Enabled": True}, sse.Requested(True, None)),
    ({"SSEType": "KMS"}, sse.Requested(True, None)),  # Enabled may be left out
    ({"SSEType": "KMS", "KMSMasterKeyId": "alias/x"}, sse.Requested(True, "alias/x")),
    ({"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": ARN}, sse.Requested(True, ARN)),
])
def test_valid_specifications_mean_the_owned_key_or_a_kms_key(spec, wanted):
    assert sse.requested(spec) == wanted


def test_a_kms_key_shows_as_an_sse_description_and_the_owned_key_as_none():
    table = {"TableName": "t"}
    with_kms = sse.with_key(table, ARN)
    assert with_kms["SSEDescription"] == {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": ARN}
    assert sse.key_of(with_kms) == ARN
    assert "SSEDescription" not in sse.with_key(with_kms, None)
    assert table == {"TableName": "t"}  # never mutated


def test_update_refuses_disabling_the_default_and_renaming_the_key_in_use_by_arn():
    owned, kms = {"TableName": "t"}, sse.with_key({"TableName": "t"}, ARN)
    with pytest.raises(DynamoError) as caught:
        sse.check_update(owned, sse.Requested(False))
    assert caught.value.message == INVALID + "Table is already encrypted by default"
    with pytest.raises(DynamoError) as caught:
        sse.check_update(kms, sse.Requested(True, ARN))
    assert caught.value.message == (INVALID + "Table is already encrypted with given KMSMasterKeyId. Use "
                                    "KMSMasterKeyId parameter if you want to change Master Key")
    sse.check_update(kms, sse.Requested(True, "alias/same-key"))  # by alias: DynamoDB re-encrypts, no error
    sse.check_update(kms, sse.Requested(False))
    sse.check_update(owned, sse.Requested(True, None))


def test_a_restored_table_keeps_the_source_key_unless_overridden():
    source = sse.with_key({"TableName": "src"}, ARN)
    new = {"TableName": "dst"}
    assert sse.key_of(sse.restored(new, source, None, None)) == ARN
    assert sse.key_of(sse.restored(new, source, sse.Requested(False), None)) is None
    other = ARN.replace("1111", "9999")
    assert sse.key_of(sse.restored(new, {"TableName": "src"}, sse.Requested(True, "alias/o"), other)) == other
