"""The KMS key provider (events/kms.py) maps every KMS failure to the provider's exceptions, never a
botocore error: through the KMS test double (tests/kms_double.py)."""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError

from dynamoray.events.keyring import KeyDisabled, KeyNotFound, KeyUnavailable
from dynamoray.events.kms import UNREACHABLE, KmsKeys, KmsRefused
from tests.kms_double import REGION, FakeKms


@pytest.fixture
def kms():
    fake = FakeKms()
    return fake, KmsKeys(fake.add(), REGION, client=fake)


@pytest.mark.parametrize("state, said", [("PendingDeletion", "pending deletion"), ("PendingImport", "pending import"),
                                         ("Unavailable", "unavailable")])
def test_a_key_in_another_state_is_an_invalid_state(kms, state, said):
    fake, keys = kms
    arn = fake.add(state=state)
    with pytest.raises(KmsRefused) as caught:
        keys.describe(arn)
    assert (caught.value.code, caught.value.detail) == ("KMSInvalidStateException", f"{arn} is {said}.")


@pytest.mark.parametrize("spec, usage", [("RSA_2048", "ENCRYPT_DECRYPT"), ("ECC_NIST_P256", "SIGN_VERIFY"),
                                         ("HMAC_256", "GENERATE_VERIFY_MAC")])
def test_an_asymmetric_or_non_encryption_key_is_an_invalid_usage(kms, spec, usage):
    fake, keys = kms
    arn = fake.add(spec=spec, usage=usage)
    with pytest.raises(KmsRefused) as caught:
        keys.describe(arn)
    assert caught.value.code == "InvalidKeyUsageException"
    assert caught.value.detail == (f"{arn} is a {spec} key for {usage}: DynamoDB needs a symmetric encryption key "
                                   "(SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT).")


@pytest.mark.parametrize("call, code", [("DescribeKey", "AccessDeniedException"), ("DescribeKey", "ThrottlingException"),
                                        ("GenerateDataKey", "AccessDeniedException"),
                                        ("GenerateDataKey", "KMSInternalException")])
def test_kms_refusals_keep_their_code_and_message(kms, call, code):
    fake, keys = kms
    arn = fake.add()
    fake.fail(call, code, "User: arn:aws:iam::000000000000:user/x is not authorized")
    with pytest.raises(KmsRefused) as caught:
        keys.describe(arn) if call == "DescribeKey" else keys.generate(arn)
    assert (caught.value.code, caught.value.detail) == (code, "User: arn:aws:iam::000000000000:user/x is not authorized")
    assert isinstance(caught.value, KeyUnavailable)  # unwrapping callers still see KeyUnavailable


def test_kms_unreachable_and_the_generate_of_a_disabled_or_missing_key(kms):
    fake, keys = kms
    arn = fake.add()
    fake.fail("DescribeKey", error=EndpointConnectionError(endpoint_url="https://kms.us-east-1.amazonaws.com/"))
    with pytest.raises(KmsRefused) as caught:
        keys.describe(arn)
    assert caught.value.code == UNREACHABLE and "Could not connect" in caught.value.detail
    fake.fail("GenerateDataKey", "DisabledException")
    with pytest.raises(KeyDisabled):
        keys.generate(arn)
    fake.fail("GenerateDataKey", "NotFoundException")
    with pytest.raises(KeyNotFound):
        keys.generate(arn)


def test_a_refused_decrypt_is_key_unavailable_with_kms_code(kms):
    fake, keys = kms
    arn = fake.add()
    _, wrapped = keys.generate(arn)
    fake.fail("Decrypt", "AccessDeniedException")
    with pytest.raises(KmsRefused) as caught:
        keys.unwrap(arn, wrapped)
    assert caught.value.code == "AccessDeniedException"
