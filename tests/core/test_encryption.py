"""The pure part of encryption at rest: sealed records, sealed files, the data-key fold."""

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamoray.core import encryption as enc
from dynamoray.schemas.events import DataKeyCreated, TableDeleted

DATA_KEY = bytes(range(32))
KEY_ID, SALT, NONCE = b"\x01" * 8, b"\x02" * 12, b"\x03" * 12
CONTEXT = enc.record_context("dynamoray.table.t1", 0)


def _aead(salt: bytes = SALT) -> AESGCM:
    return AESGCM(enc.derive_record_key(DATA_KEY, salt))


@given(st.binary(max_size=2000))
def test_a_sealed_record_opens_to_its_plaintext_and_hides_it(plaintext):
    sealed = enc.seal_record(_aead(), KEY_ID, SALT, NONCE, plaintext, CONTEXT)
    assert len(sealed) == len(plaintext) + enc.RECORD_OVERHEAD
    assert enc.is_sealed_record(sealed)
    assert enc.record_key_ref(sealed) == (KEY_ID, SALT)
    assert enc.open_record(_aead(), sealed, CONTEXT) == plaintext
    if len(plaintext) >= 8:
        assert plaintext not in sealed


@settings(max_examples=200)
@given(st.binary(min_size=1, max_size=200), st.data())
def test_any_altered_byte_of_a_record_is_detected(plaintext, data):
    sealed = bytearray(enc.seal_record(_aead(), KEY_ID, SALT, NONCE, plaintext, CONTEXT))
    at = data.draw(st.integers(enc.RECORD_HEADER, len(sealed) - 1))  # the key ref is checked by the key lookup
    sealed[at] ^= data.draw(st.integers(1, 255))
    with pytest.raises(enc.EncryptionError):
        enc.open_record(_aead(), bytes(sealed), CONTEXT)


def test_a_record_moved_to_another_topic_or_partition_or_salt_does_not_open():
    sealed = enc.seal_record(_aead(), KEY_ID, SALT, NONCE, b"item", CONTEXT)
    with pytest.raises(enc.EncryptionError, match="altered, moved"):
        enc.open_record(_aead(), sealed, enc.record_context("dynamoray.table.t2", 0))
    with pytest.raises(enc.EncryptionError):
        enc.open_record(_aead(), sealed, enc.record_context("dynamoray.table.t1", 1))
    with pytest.raises(enc.EncryptionError):
        enc.open_record(_aead(b"\x09" * 12), sealed, CONTEXT)


def test_record_keys_differ_per_salt_and_per_data_key():
    one = enc.derive_record_key(DATA_KEY, SALT)
    assert len(one) == 32
    assert one != enc.derive_record_key(DATA_KEY, b"\x00" * 12)
    assert one != enc.derive_record_key(bytes(32), SALT)
    assert one == enc.derive_record_key(DATA_KEY, SALT)


def test_plaintext_codec_records_are_never_taken_for_sealed_ones():
    assert not enc.is_sealed_record(b"\x00" + b"x" * 100)  # the codec's plain magic
    assert not enc.is_sealed_record(b"\x01" + b"x" * 100)  # the codec's own encrypted magic
    with pytest.raises(enc.EncryptionError):
        enc.record_key_ref(b"\x00abc")


# --- files ----------------------------------------------------------------------------------------


def _seal_file(chunks, frame=enc.FRAME, context=b"snapshot:t/0/5", master="arn:aws:kms:us-east-1:0:key/k",
               wrapped=b"w" * 60):
    prefix = b"\x07" * enc.PREFIX_SIZE
    return enc.file_header(master, wrapped, prefix) + b"".join(enc.seal_frames(DATA_KEY, prefix, context, chunks, frame))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.binary(max_size=3000), max_size=6), st.integers(64, 5000))
def test_files_open_to_their_content_whatever_the_chunking(chunks, frame):
    data = _seal_file(chunks, frame)  # small frames: many of them
    header = enc.parse_file_header(data)
    assert header.master_key == "arn:aws:kms:us-east-1:0:key/k" and header.wrapped == b"w" * 60
    assert enc.open_frames(DATA_KEY, header, data, b"snapshot:t/0/5") == b"".join(chunks)


def _frames_of(chunks, frame=100):
    return _seal_file(chunks, frame)


def test_a_truncated_reordered_or_moved_file_does_not_open():
    data = _frames_of([os.urandom(450)])  # five frames of 100 bytes
    header = enc.parse_file_header(data)
    frames, at = [], header.size
    while at < len(data):
        n = int.from_bytes(data[at:at + 4], "big")
        frames.append(data[at:at + 4 + n])
        at += 4 + n
    assert len(frames) == 5
    head = data[:header.size]
    for broken in (head + b"".join(frames[:-1]),  # the last frame dropped
                   head + b"".join(frames[:2] + frames[3:]),  # one in the middle dropped
                   head + b"".join([frames[1], frames[0], *frames[2:]])):  # two swapped
        with pytest.raises(enc.EncryptionError):
            enc.open_frames(DATA_KEY, enc.parse_file_header(broken), broken, b"snapshot:t/0/5")
    with pytest.raises(enc.EncryptionError):
        enc.open_frames(DATA_KEY, header, data, b"snapshot:t/0/6")  # another snapshot's place
    with pytest.raises(enc.EncryptionError):
        enc.open_frames(bytes(32), header, data, b"snapshot:t/0/5")  # another data key
    with pytest.raises(enc.EncryptionError, match="truncated"):
        enc.parse_file_header(data[:12])


def test_rewrapping_a_file_changes_only_its_header():
    data = _frames_of([b"a" * 1000])
    again = enc.rewrap_file(data, "arn:aws:kms:us-east-1:0:key/k", b"v" * 70)
    header = enc.parse_file_header(again)
    assert header.wrapped == b"v" * 70
    assert again[header.size:] == data[enc.parse_file_header(data).size:]
    assert enc.open_frames(DATA_KEY, header, again, b"snapshot:t/0/5") == b"a" * 1000


def test_an_empty_file_is_one_last_frame():
    data = _seal_file([])
    assert enc.open_frames(DATA_KEY, enc.parse_file_header(data), data, b"snapshot:t/0/5") == b""
    assert not enc.is_sealed_file(b"{\"magic\": \"dynamoray-snapshot\"}")


# --- the keys topic fold -----------------------------------------------------------------------------


def test_the_newest_data_key_of_each_master_key_is_the_active_one():
    state = enc.DataKeys()
    state = enc.evolve(state, DataKeyCreated("aa" * 8, "arn:m1", b"w1", 1), 0)
    state = enc.evolve(state, DataKeyCreated("bb" * 8, "arn:m2", b"w2", 2), 1)
    before = state
    state = enc.evolve(state, DataKeyCreated("cc" * 8, "arn:m1", b"w3", 3), 2)
    state = enc.evolve(state, TableDeleted("t", "n"), 3)  # not a key: only the position moves
    assert state.active == {"arn:m1": "cc" * 8, "arn:m2": "bb" * 8}
    assert set(state.keys) == {"aa" * 8, "bb" * 8, "cc" * 8}
    assert state.keys["aa" * 8].wrapped == b"w1"
    assert state.offset == 4
    assert before.active["arn:m1"] == "aa" * 8  # the fold never mutates
