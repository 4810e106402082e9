"""The KeyManager (actors/keys.py) and the start-up checks (actors/key_setup.py), on in-memory logs.

Two KeyManagers over one log stand for two processes of one server (the gateway and a host)."""

import pickle

import pytest

from dynamoray.actors import records
from dynamoray.actors.key_setup import EncryptionOptions, EncryptionSetupError, check, setup
from dynamoray.actors.keys import EncryptionConfig, KeyManager, forget, keys_for
from dynamoray.core import catalog, encryption as enc, sse
from dynamoray.events.encryption import KEYS_TOPIC, DecryptionError, EncryptedLog
from dynamoray.events.keyring import KEYRING_FILE, LocalKeyring
from dynamoray.events.kms import KmsKeys
from dynamoray.events.memory import MemoryLog
from tests.kms_double import FakeKms

TABLE_TOPIC = "dynamoray.table.tid-1"


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def keyring(tmp_path):
    return LocalKeyring.create(tmp_path / "keyring.json")


def _manager(keyring, log, clock=None):
    config = EncryptionConfig(keyring=str(keyring.path))
    return KeyManager(config, LocalKeyring(keyring.path), log, clock=clock or Clock())


def _table(description_sse=None):
    description = {"TableId": "tid-1", "TableName": "orders", "KeySchema": [], "AttributeDefinitions": []}
    return sse.with_key(description, description_sse)


def _record_catalog(log, event):
    try:
        log.create_topic("dynamoray.catalog", 1)
    except Exception:  # noqa: BLE001 - exists
        pass
    with log.open_writer("dynamoray.catalog", 0) as writer:
        writer.append([records.encode_catalog(event)])


def _write(log, topic, *values):
    try:
        log.create_topic(topic, 1)
    except Exception:  # noqa: BLE001 - exists
        pass
    with log.open_writer(topic, 0) as writer:
        writer.append(list(values))


def _key_ids(inner, topic):
    return [enc.record_key_ref(r.value)[0].hex() for r in inner.read(topic, 0, 0, 1000)]


def test_two_processes_read_each_others_records(keyring):
    inner = MemoryLog()
    gateway, host = _manager(keyring, inner), _manager(keyring, inner)
    _write(EncryptedLog(inner, host), TABLE_TOPIC, b"from the host")
    assert EncryptedLog(inner, gateway).read(TABLE_TOPIC, 0, 0)[0].value == b"from the host"
    salts = {enc.record_key_ref(r.value)[1] for r in inner.read(TABLE_TOPIC, 0, 0)}
    _write(EncryptedLog(inner, gateway), TABLE_TOPIC, b"from the gateway")
    assert len({enc.record_key_ref(r.value)[1] for r in inner.read(TABLE_TOPIC, 0, 0)} | salts) == 2  # one salt each
    assert len(gateway.data_keys().keys) == 1  # one data key of the server's own key, shared


def test_a_table_with_a_customer_key_is_sealed_under_it_and_follows_updates(keyring):
    inner, clock = MemoryLog(), Clock()
    keys = _manager(keyring, inner, clock)
    log = EncryptedLog(inner, keys)
    customer = keyring.create_key("alias/orders", "")
    _record_catalog(log, catalog.table_created(_table(customer)))
    _write(log, TABLE_TOPIC, b"under the customer key")
    _write(log, "dynamoray.iam", b"under the server key")
    state = keys.data_keys()
    [table_key] = _key_ids(inner, TABLE_TOPIC)
    assert state.keys[table_key].master_key == customer
    assert state.keys[_key_ids(inner, "dynamoray.iam")[0]].master_key == keys.default_key()
    # UpdateTable back to the owned key: new records take it within a refresh
    _record_catalog(log, catalog.table_updated(_table(None)))
    clock.now += 2
    _write(log, TABLE_TOPIC, b"under the server key again")
    assert [state.keys[k].master_key for k in _key_ids(inner, TABLE_TOPIC)] == [customer, keys.default_key()]
    assert [r.value for r in log.read(TABLE_TOPIC, 0, 0)] == [b"under the customer key", b"under the server key again"]


def test_a_rotation_reaches_other_processes_and_old_records_stay_readable(keyring):
    inner, clock = MemoryLog(), Clock()
    gateway, host = _manager(keyring, inner, clock), _manager(LocalKeyring(keyring.path), inner, clock)
    _record_catalog(EncryptedLog(inner, gateway), catalog.table_created(_table()))
    inner.create_topic(TABLE_TOPIC, 1)
    writer = EncryptedLog(inner, host).open_writer(TABLE_TOPIC, 0)  # a partition open on its host
    writer.append([b"before"])
    rotated = gateway.rotate()
    assert rotated["Version"] == "2" and rotated["KeyArn"] == gateway.default_key()
    writer.append([b"not yet refreshed"])
    clock.now += 2  # a refresh later
    writer.append([b"after"])
    writer.close()
    ids = _key_ids(inner, TABLE_TOPIC)
    assert ids[0] == ids[1] != ids[2] == rotated["DataKeyId"]
    fresh = _manager(LocalKeyring(keyring.path), inner)  # a restarted process reads all of it
    assert [r.value for r in EncryptedLog(inner, fresh).read(TABLE_TOPIC, 0, 0)] == [
        b"before", b"not yet refreshed", b"after"]
    assert fresh.check() == 2


def test_another_keyring_cannot_read_the_data(keyring, tmp_path):
    inner = MemoryLog()
    _write(EncryptedLog(inner, _manager(keyring, inner)), TABLE_TOPIC, b"x")
    stranger = _manager(LocalKeyring.create(tmp_path / "other.json"), inner)
    with pytest.raises(DecryptionError, match="cannot be unwrapped"):
        stranger.check()
    with pytest.raises(DecryptionError):
        EncryptedLog(inner, stranger).read(TABLE_TOPIC, 0, 0)


def test_a_key_manager_travels_as_the_one_of_its_configuration(keyring):
    config = EncryptionConfig(keyring=str(keyring.path))
    try:
        keys = keys_for(config, MemoryLog())
        assert keys_for(config) is keys
        assert pickle.loads(pickle.dumps(keys)) is keys  # in another process: that process's own
        assert b"material" not in pickle.dumps(keys.file_cipher())
    finally:
        forget(config)


def test_kms_as_the_provider():
    fake = FakeKms()
    default = fake.add()
    inner = MemoryLog()
    config = EncryptionConfig(kms_key_id=default)
    keys = KeyManager(config, KmsKeys(default, "us-east-1", client=fake), inner)
    _write(EncryptedLog(inner, keys), TABLE_TOPIC, b"sealed with a KMS data key")
    [key] = keys.data_keys().keys.values()
    assert key.master_key == default and fake.calls.count("GenerateDataKey") == 1
    other = KeyManager(config, KmsKeys(default, "us-east-1", client=fake), inner)
    assert EncryptedLog(inner, other).read(TABLE_TOPIC, 0, 0)[0].value == b"sealed with a KMS data key"


# --- start-up ------------------------------------------------------------------------------------------


def test_a_fresh_data_directory_gets_a_keyring(tmp_path):
    config = setup(EncryptionOptions(), tmp_path, MemoryLog(), "here")
    assert config.keyring == str((tmp_path / KEYRING_FILE).resolve())
    assert LocalKeyring(config.keyring).accept_plaintext is False


def test_data_written_before_encryption_is_read_as_it_is(tmp_path):
    inner = MemoryLog()
    _write(inner, "dynamoray.catalog", b"\x00old plaintext record")
    config = setup(EncryptionOptions(), tmp_path, inner, "here")
    keys = KeyManager(config, config.provider(), inner)
    assert keys.accept_plaintext
    log = EncryptedLog(inner, keys)
    assert log.read("dynamoray.catalog", 0, 0)[0].value == b"\x00old plaintext record"


def test_kms_refuses_data_written_before_encryption(tmp_path):
    inner = MemoryLog()
    _write(inner, "dynamoray.iam", b"\x00old plaintext record")
    with pytest.raises(EncryptionSetupError, match="was written without encryption"):
        setup(EncryptionOptions(kms_key_id="alias/k"), tmp_path, inner, "here")
    config = setup(EncryptionOptions(kms_key_id="alias/k"), tmp_path, MemoryLog(), "here")
    assert config.kms_key_id == "alias/k" and not (tmp_path / KEYRING_FILE).exists()


def test_encrypted_data_without_its_keyring_or_with_another_refuses_to_start(tmp_path):
    inner = MemoryLog()
    config = setup(EncryptionOptions(), tmp_path, inner, "the data dir")
    check(KeyManager(config, config.provider(), inner), "the data dir")  # makes the first data key
    assert inner.end_offset(KEYS_TOPIC, 0) == 1
    with pytest.raises(EncryptionSetupError, match="the data dir is encrypted: start the server without --no-encryption"):
        setup(EncryptionOptions(enabled=False), tmp_path, inner, "the data dir")
    (tmp_path / KEYRING_FILE).rename(tmp_path / "elsewhere.json")
    with pytest.raises(EncryptionSetupError, match="but its keyring .* is missing"):
        setup(EncryptionOptions(), tmp_path, inner, "the data dir")
    other = setup(EncryptionOptions(keyring=str(tmp_path / "new.json")), tmp_path, MemoryLog(), "x")
    with pytest.raises(EncryptionSetupError, match="cannot be decrypted with keyring:.*new.json"):
        check(KeyManager(other, other.provider(), inner), "the data dir")
    moved = EncryptionOptions(keyring=str(tmp_path / "elsewhere.json"))
    config = setup(moved, tmp_path, inner, "the data dir")
    check(KeyManager(config, config.provider(), inner), "the data dir")  # the right keyring, named
