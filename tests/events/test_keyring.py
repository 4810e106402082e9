"""Key providers: the local keyring file, and AWS KMS through a test double of its client
(``tests/kms_double.py``: KMS itself is not what is tested, and no real KMS is reachable here)."""

import json
import os
import stat
import uuid

import pytest

from dynamoray.events.keyring import (
    KeyDisabled,
    KeyNotFound,
    KeyUnavailable,
    LocalKeyring,
)
from dynamoray.events.kms import KmsKeys
from tests.kms_double import FakeKms

REGION, ACCOUNT = "us-east-1", "000000000000"


@pytest.fixture
def keyring(tmp_path):
    return LocalKeyring.create(tmp_path / "keyring.json", REGION, ACCOUNT)


def test_the_keyring_file_is_private_and_holds_one_owned_key(keyring):
    mode = stat.S_IMODE(os.stat(keyring.path).st_mode)
    assert mode == 0o600
    document = json.loads(keyring.path.read_text())
    assert [k["owned"] for k in document["keys"]] == [True]
    assert keyring.default_key().startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")
    assert keyring.accept_plaintext is False
    with pytest.raises(FileExistsError):
        LocalKeyring.create(keyring.path)


def test_data_keys_unwrap_only_with_their_keyring(keyring, tmp_path):
    data_key, wrapped = keyring.generate(keyring.default_key())
    assert len(data_key) == 32 and data_key not in wrapped
    assert keyring.unwrap(keyring.default_key(), wrapped) == data_key
    other = LocalKeyring.create(tmp_path / "other.json")
    with pytest.raises(KeyUnavailable, match="no version 1 of key"):
        other.unwrap(other.default_key(), wrapped)
    forged = wrapped[:-1] + bytes([wrapped[-1] ^ 1])
    with pytest.raises(KeyUnavailable, match="does not unwrap"):
        keyring.unwrap(keyring.default_key(), forged)


def test_rotation_adds_a_version_and_keeps_old_data_keys_readable(keyring):
    arn = keyring.default_key()
    old_key, old_wrapped = keyring.generate(arn)
    assert keyring.rotate(arn) == "2"
    new_key, new_wrapped = keyring.generate(arn)
    assert new_wrapped[19:23] == (2).to_bytes(4, "big") and old_wrapped[19:23] == (1).to_bytes(4, "big")
    assert keyring.unwrap(arn, old_wrapped) == old_key
    assert keyring.unwrap(arn, new_wrapped) == new_key
    rewrapped = keyring.rewrap(arn, old_wrapped)
    assert rewrapped[19:23] == (2).to_bytes(4, "big") and keyring.unwrap(arn, rewrapped) == old_key
    assert keyring.rewrap(arn, new_wrapped) is None


def test_another_process_sees_a_rotation_on_its_next_miss(keyring):
    reader = LocalKeyring(keyring.path, REGION, ACCOUNT)  # what another process holds
    arn = keyring.default_key()
    keyring.rotate(arn)
    data_key, wrapped = keyring.generate(arn)
    assert reader.unwrap(arn, wrapped) == data_key


def test_keys_are_found_by_id_arn_alias_and_alias_arn(keyring):
    arn = keyring.create_key("alias/orders", "orders data")
    key_id = arn.rpartition("/")[2]
    for name in (key_id, arn, "alias/orders", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/orders"):
        assert keyring.describe(name) == arn
    with pytest.raises(ValueError, match="already exists"):
        keyring.create_key("alias/orders", "")
    managed = keyring.managed_key()
    assert keyring.describe("alias/aws/dynamodb") == managed != keyring.default_key()
    assert keyring.managed_key() == managed  # made once
    listed = {k["KeyArn"]: k for k in keyring.list_keys()}
    assert listed[arn]["Aliases"] == ["alias/orders"] and listed[keyring.default_key()]["Owned"]


def test_unknown_keys_are_named_as_kms_names_them(keyring):
    with pytest.raises(KeyNotFound) as caught:
        keyring.describe("alias/nope")
    assert (caught.value.kind, caught.value.arn) == ("Alias", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/nope")
    missing = str(uuid.uuid4())
    with pytest.raises(KeyNotFound) as caught:
        keyring.describe(missing)
    assert (caught.value.kind, caught.value.arn) == ("Key", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{missing}")
    arn = keyring.default_key()
    with pytest.raises(KeyNotFound):  # the same key id in another region is another key
        keyring.describe(arn.replace(REGION, "eu-west-1"))


# --- KMS through a test double ------------------------------------------------------------------------


def test_kms_wraps_data_keys_with_generate_data_key_and_decrypt():
    fake = FakeKms()
    arn = fake.add()
    kms = KmsKeys(arn, REGION, client=fake)
    assert kms.default_key() == arn
    data_key, wrapped = kms.generate(arn)
    assert kms.unwrap(arn, wrapped) == data_key
    other = fake.add()
    with pytest.raises(KeyUnavailable, match="IncorrectKeyException"):
        kms.unwrap(other, wrapped)
    assert kms.rotate(arn) == "kms" and kms.rewrap(arn, wrapped) is None
    with pytest.raises(ValueError, match="create customer keys in KMS"):
        kms.create_key("alias/x", "")


def test_kms_key_lookups_map_kms_errors():
    fake = FakeKms()
    default = fake.add()
    disabled = fake.add("alias/off", state="Disabled")
    kms = KmsKeys(default, REGION, client=fake)
    assert kms.managed_key() == default  # no alias/aws/dynamodb in this account: the server's key stands in
    with pytest.raises(KeyNotFound) as caught:
        kms.describe("alias/nope")
    assert caught.value.kind == "Alias"
    with pytest.raises(KeyDisabled) as caught:
        kms.describe("alias/off")
    assert caught.value.arn == disabled
    managed = fake.add("alias/aws/dynamodb")
    assert KmsKeys(default, REGION, client=fake).managed_key() == managed
