"""The encrypting event log (events/encryption.py): a faithful EventLog whose records are sealed."""

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dynamoray.core import encryption as enc
from dynamoray.events.encryption import (
    KEYS_TOPIC,
    DecryptionError,
    EncryptedFiles,
    EncryptedLog,
    FileCipher,
    Sealer,
)
from dynamoray.events.memory import MemoryLog

from .contract import EventLogContract


class StaticKeys:
    """One data key for every topic (what the KeyManager does per master key, minus the topics)."""

    def __init__(self, data_key: bytes | None = None, accept_plaintext: bool = False) -> None:
        self.data_key = data_key or os.urandom(32)
        self.accept_plaintext = accept_plaintext
        self.key_id = os.urandom(8)
        self.prepared: list[str] = []
        self.salt = os.urandom(12)

    def prepare(self, topic: str) -> None:
        self.prepared.append(topic)

    def sealer(self, topic: str) -> Sealer:
        return Sealer(self.key_id, self.salt, AESGCM(enc.derive_record_key(self.data_key, self.salt)))

    def opener(self, key_id: bytes, salt: bytes) -> AESGCM:
        if key_id != self.key_id:
            raise DecryptionError("unknown data key")
        return AESGCM(enc.derive_record_key(self.data_key, salt))

    # files
    def new_file_key(self, table_id):
        return "arn:aws:kms:us-east-1:0:key/k", self.data_key, b"wrapped-" + (table_id or "none").encode()

    def file_key(self, master_key, wrapped):
        return self.data_key

    def rewrapped(self, master_key, wrapped):
        return None if wrapped.startswith(b"new") else (master_key, b"new" + wrapped)


class TestEncryptedLog(EventLogContract):
    """The whole EventLog contract holds through the encryption."""

    @pytest.fixture
    def log(self, clock):
        log = EncryptedLog(MemoryLog(clock=clock), StaticKeys())
        yield log
        log.close()


def _log(**keys):
    inner = MemoryLog()
    inner.create_topic("dynamoray.table.t1", 2)
    return inner, EncryptedLog(inner, StaticKeys(**keys))


def test_the_backend_only_ever_holds_sealed_records():
    inner, log = _log()
    with log.open_writer("dynamoray.table.t1", 1) as writer:
        writer.append([b"the secret value " * 3, b"another"])
    stored = inner.read("dynamoray.table.t1", 1, 0)
    assert all(enc.is_sealed_record(r.value) and b"secret" not in r.value for r in stored)
    assert [r.value for r in log.read("dynamoray.table.t1", 1, 0)] == [b"the secret value " * 3, b"another"]
    assert log.keys.prepared == ["dynamoray.table.t1"]  # the keys were asked once, before the first append


def test_every_record_of_a_batch_gets_its_own_nonce():
    inner, log = _log()
    with log.open_writer("dynamoray.table.t1", 0) as writer:
        writer.append([b"same"] * 5)
    stored = [r.value for r in inner.read("dynamoray.table.t1", 0, 0)]
    nonces = {v[enc.RECORD_HEADER:enc.RECORD_HEADER + enc.NONCE_SIZE] for v in stored}
    assert len(nonces) == 5 and len(set(stored)) == 5
    assert [r.value for r in log.read("dynamoray.table.t1", 0, 0)] == [b"same"] * 5


def test_a_record_copied_to_another_partition_does_not_decrypt():
    inner, log = _log()
    with log.open_writer("dynamoray.table.t1", 0) as writer:
        writer.append([b"moved"])
    raw = inner.read("dynamoray.table.t1", 0, 0)[0].value
    with inner.open_writer("dynamoray.table.t1", 1) as writer:
        writer.append([raw])
    with pytest.raises(DecryptionError, match="record 0 of dynamoray.table.t1/1"):
        log.read("dynamoray.table.t1", 1, 0)


def test_plaintext_records_are_refused_unless_the_data_predates_encryption():
    inner, log = _log()
    with inner.open_writer("dynamoray.table.t1", 0) as writer:
        writer.append([b"\x00written before encryption"])
    with pytest.raises(DecryptionError, match="is not encrypted"):
        log.read("dynamoray.table.t1", 0, 0)
    legacy = EncryptedLog(inner, StaticKeys(accept_plaintext=True))
    assert legacy.read("dynamoray.table.t1", 0, 0)[0].value == b"\x00written before encryption"


def test_a_record_under_a_key_we_do_not_have_fails_loudly():
    inner, log = _log()
    with log.open_writer("dynamoray.table.t1", 0) as writer:
        writer.append([b"x"])
    stranger = EncryptedLog(inner, StaticKeys())
    with pytest.raises(DecryptionError):
        stranger.read("dynamoray.table.t1", 0, 0)
    with pytest.raises(DecryptionError):
        stranger.tail("dynamoray.table.t1", 0, 0, 0.01)


def test_the_keys_topic_is_stored_as_it_is():
    inner, log = _log()
    log.create_topic(KEYS_TOPIC, 1)
    with log.open_writer(KEYS_TOPIC, 0) as writer:
        writer.append([b"wrapped keys only"])
    assert inner.read(KEYS_TOPIC, 0, 0)[0].value == b"wrapped keys only"
    assert log.keys.prepared == []


def test_submit_seals_too_and_reports_offsets():
    inner, log = _log()
    done = []
    writer = log.open_writer("dynamoray.table.t1", 0)
    writer.submit([b"a", b"b"], lambda offsets, error: done.append((offsets, error)))
    writer.close()
    import time

    deadline = time.monotonic() + 10
    while not done and time.monotonic() < deadline:
        time.sleep(0.01)
    assert done == [([0, 1], None)]
    assert writer.topic == "dynamoray.table.t1" and writer.partition == 0
    assert all(enc.is_sealed_record(r.value) for r in inner.read("dynamoray.table.t1", 0, 0))


def test_append_now_seals_too():
    inner, log = _log()
    with log.open_writer("dynamoray.table.t1", 1) as writer:
        assert writer.append_now([b"the secret value", b"more"]) == [0, 1]
    stored = inner.read("dynamoray.table.t1", 1, 0)
    assert all(enc.is_sealed_record(r.value) and b"secret" not in r.value for r in stored)
    assert [r.value for r in log.read("dynamoray.table.t1", 1, 0)] == [b"the secret value", b"more"]


# --- files -------------------------------------------------------------------------------------------


class Files:
    def __init__(self):
        self.stored = {}

    def write(self, name, chunks):
        self.stored[name] = b"".join(chunks)
        return name

    def read(self, name):
        return self.stored[name]

    def delete(self, name):
        self.stored.pop(name, None)


def test_backup_files_are_sealed_under_their_tables_key_and_open_only_in_place():
    keys, inner = StaticKeys(), Files()
    files = EncryptedFiles(inner, FileCipher(keys))
    header = b'{"magic": "dynamoray-snapshot", "table_id": "tid-7"}\n'
    files.write("b1.snap", iter([header, b"secret item line\n"]))
    stored = inner.stored["b1.snap"]
    frames = stored[enc.parse_file_header(stored).size:]
    assert enc.is_sealed_file(stored) and b"secret" not in stored and b"tid-7" not in frames
    assert enc.parse_file_header(stored).wrapped == b"wrapped-tid-7"  # the table's key was asked for
    assert files.read("b1.snap") == header + b"secret item line\n"
    inner.stored["b2.snap"] = stored  # renamed on disk: it no longer opens
    with pytest.raises(DecryptionError, match="backup:b2.snap"):
        files.read("b2.snap")


def test_plaintext_files_are_refused_unless_the_data_predates_encryption():
    cipher = FileCipher(StaticKeys())
    with pytest.raises(DecryptionError, match="is not encrypted"):
        cipher.open(b'{"magic": "dynamoray-snapshot"}', "snapshot:t/0/1")
    assert FileCipher(StaticKeys(accept_plaintext=True)).open(b"old", "snapshot:t/0/1") == b"old"


def test_rewrap_replaces_the_wrapped_key_once():
    cipher = FileCipher(StaticKeys())
    data = b"".join(cipher.seal([b"x" * 10], "snapshot:t/0/1", "t"))
    again = cipher.rewrap(data)
    assert enc.parse_file_header(again).wrapped == b"newwrapped-t"
    assert cipher.open(again, "snapshot:t/0/1") == b"x" * 10
    assert cipher.rewrap(again) is None
    assert cipher.rewrap(b"plain") is None
