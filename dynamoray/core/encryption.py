"""Encryption at rest, the pure part: envelope formats, key derivation and the data-key fold.

Key hierarchy (envelope encryption, every cipher AES-256-GCM):

- A **master key** is what DynamoDB's SSESpecification calls the KMS key: the server's own key (the
  "AWS owned key"), the AWS managed key ``alias/aws/dynamodb``, or a customer key.  Its material
  stays with a key provider (the local keyring file or AWS KMS) and only ever wraps data keys.
- A **data key** is 32 random bytes wrapped by a master key.  Log records are sealed under data keys
  named by an 8-byte id; the wrapped forms live in the ``dynamoray.keys`` topic
  (:class:`~dynamoray.schemas.events.DataKeyCreated`), folded here by :func:`evolve`.
- Each writing process derives its own **record key** from a data key and a random 12-byte salt
  (HKDF-SHA256), so random 96-bit nonces never meet across processes; a writer takes a new salt
  after :data:`RECORDS_PER_SALT` records.

A sealed log record (:func:`seal_record`), 49 bytes longer than its plaintext::

    0xE5 | data key id (8) | salt (12) | nonce (12) | ciphertext + tag (16)

with the first 21 bytes and the record's place (topic, partition) as associated data, so a record
can be neither altered nor moved to another topic.

A sealed file (snapshots, backups) carries its own wrapped data key, so it is self-contained::

    FILE_MAGIC (8) | u16 n + master key ARN | u16 n + wrapped data key | nonce prefix (8) | frames

Each frame is ``u32 n | ciphertext + tag`` of at most :data:`FRAME` plaintext bytes, its nonce the
prefix and the frame index, its associated data the magic, the prefix, the file's context (what
and where it is), the index and a last-frame flag, so frames can be neither reordered, dropped nor
truncated.  The master key and the wrapped key are not in the associated data: re-wrapping the data
key under a new master key version (:func:`rewrap_file`) rewrites the header only.

Nothing here draws random bytes or touches a file: nonces, salts and keys come in as arguments.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..schemas.events import DataKeyCreated

RECORD_MAGIC = 0xE5
KEY_ID_SIZE, SALT_SIZE, NONCE_SIZE, TAG_SIZE, DATA_KEY_SIZE = 8, 12, 12, 16, 32
RECORD_HEADER = 1 + KEY_ID_SIZE + SALT_SIZE  # the associated part of a record's header
RECORD_OVERHEAD = RECORD_HEADER + NONCE_SIZE + TAG_SIZE
RECORDS_PER_SALT = 1 << 28  # records one record key seals before its writer draws a new salt
_RECORD_INFO = b"dynamoray record key v1"

FILE_MAGIC = b"\xe5DRYENC\x01"
FRAME = 1 << 20
PREFIX_SIZE = 8
_U16, _U32 = struct.Struct(">H"), struct.Struct(">I")


class EncryptionError(Exception):
    """Bytes that do not decrypt: tampered, truncated, or sealed under a key we do not hold."""


# --- keys ----------------------------------------------------------------------------------------


def derive_record_key(data_key: bytes, salt: bytes) -> bytes:
    """The record key of a data key and a writer's salt (HKDF-SHA256, 32 bytes)."""
    return HKDF(hashes.SHA256(), DATA_KEY_SIZE, salt, _RECORD_INFO).derive(data_key)


def key_id_text(key_id: bytes) -> str:
    return key_id.hex()


@dataclass(frozen=True, slots=True)
class DataKey:
    key_id: str  # 16 hex digits
    master_key: str  # the master key's ARN
    wrapped: bytes
    created: int  # ms


@dataclass(frozen=True)
class DataKeys:
    """The ``dynamoray.keys`` topic folded: every data key, and each master key's newest one."""

    keys: dict[str, DataKey] = field(default_factory=dict)
    active: dict[str, str] = field(default_factory=dict)  # master key ARN -> data key id
    offset: int = 0  # the next record of the topic to fold


def evolve(state: DataKeys, event: object, offset: int) -> DataKeys:
    """Fold one record of the keys topic (a DataKeyCreated; anything else only moves the offset)."""
    if not isinstance(event, DataKeyCreated):
        return DataKeys(state.keys, state.active, offset + 1)
    key = DataKey(event.key_id, event.master_key, bytes(event.wrapped), event.created)
    return DataKeys({**state.keys, key.key_id: key}, {**state.active, key.master_key: key.key_id}, offset + 1)


# --- log records -------------------------------------------------------------------------------


def record_context(topic: str, partition: int) -> bytes:
    return topic.encode() + b"\x00" + _U32.pack(partition)


def is_sealed_record(value: bytes) -> bool:
    return len(value) >= RECORD_OVERHEAD and value[0] == RECORD_MAGIC


def seal_record(aead: AESGCM, key_id: bytes, salt: bytes, nonce: bytes, plaintext: bytes, context: bytes) -> bytes:
    """A record sealed under the record key ``aead`` (of data key ``key_id`` and ``salt``)."""
    header = bytes((RECORD_MAGIC,)) + key_id + salt
    return header + nonce + aead.encrypt(nonce, plaintext, header + context)


def record_key_ref(value: bytes) -> tuple[bytes, bytes]:
    """(data key id, salt) of a sealed record."""
    if not is_sealed_record(value):
        raise EncryptionError("not an encrypted record")
    return value[1:1 + KEY_ID_SIZE], value[1 + KEY_ID_SIZE:RECORD_HEADER]


def open_record(aead: AESGCM, value: bytes, context: bytes) -> bytes:
    """The plaintext of a sealed record (EncryptionError if it was altered or moved)."""
    header = value[:RECORD_HEADER]
    nonce = value[RECORD_HEADER:RECORD_HEADER + NONCE_SIZE]
    try:
        return aead.decrypt(nonce, value[RECORD_HEADER + NONCE_SIZE:], header + context)
    except InvalidTag:
        raise EncryptionError("the record does not decrypt: altered, moved, or under another key") from None


# --- files --------------------------------------------------------------------------------------


def is_sealed_file(data: bytes) -> bool:
    return data[:len(FILE_MAGIC)] == FILE_MAGIC


def file_header(master_key: str, wrapped: bytes, prefix: bytes) -> bytes:
    arn = master_key.encode()
    return FILE_MAGIC + _U16.pack(len(arn)) + arn + _U16.pack(len(wrapped)) + wrapped + prefix


@dataclass(frozen=True, slots=True)
class FileHeader:
    master_key: str
    wrapped: bytes
    prefix: bytes
    size: int  # where the frames start


def parse_file_header(data: bytes) -> FileHeader:
    if not is_sealed_file(data):
        raise EncryptionError("not an encrypted file")
    try:
        at = len(FILE_MAGIC)
        (n,) = _U16.unpack_from(data, at)
        master = data[at + 2:at + 2 + n].decode()
        at += 2 + n
        (n,) = _U16.unpack_from(data, at)
        wrapped = data[at + 2:at + 2 + n]
        at += 2 + n
        prefix = data[at:at + PREFIX_SIZE]
    except (struct.error, UnicodeDecodeError):
        raise EncryptionError("truncated encrypted file header") from None
    if len(prefix) != PREFIX_SIZE or len(wrapped) != n:
        raise EncryptionError("truncated encrypted file header")
    return FileHeader(master, wrapped, prefix, at + PREFIX_SIZE)


def _frame_aad(prefix: bytes, context: bytes, index: int, last: bool) -> bytes:
    return FILE_MAGIC + prefix + _U32.pack(len(context)) + context + _U32.pack(index) + (b"\x01" if last else b"\x00")


def _frame(aead: AESGCM, prefix: bytes, context: bytes, index: int, plaintext: bytes, last: bool) -> bytes:
    sealed = aead.encrypt(prefix + _U32.pack(index), plaintext, _frame_aad(prefix, context, index, last))
    return _U32.pack(len(sealed)) + sealed


def seal_frames(data_key: bytes, prefix: bytes, context: bytes, chunks: Iterable[bytes],
                frame: int = FRAME) -> Iterator[bytes]:
    """The frames of ``chunks``, ``frame`` plaintext bytes each (streamed: little more than a
    frame of plaintext is held at once)."""
    aead = AESGCM(data_key)
    pending = bytearray()
    index = 0
    for chunk in chunks:
        pending += chunk
        while len(pending) > frame:  # more may follow: this frame is not the last
            yield _frame(aead, prefix, context, index, bytes(pending[:frame]), False)
            del pending[:frame]
            index += 1
    yield _frame(aead, prefix, context, index, bytes(pending), True)


def open_frames(data_key: bytes, header: FileHeader, data: bytes, context: bytes) -> bytes:
    """The plaintext of a sealed file's frames (EncryptionError if altered, truncated or moved)."""
    aead = AESGCM(data_key)
    out, at, index, last = [], header.size, 0, False
    while not last:
        if at + 4 > len(data):
            raise EncryptionError("the encrypted file is truncated")
        (n,) = _U32.unpack_from(data, at)
        sealed = data[at + 4:at + 4 + n]
        at += 4 + n
        last = at >= len(data)
        try:
            out.append(aead.decrypt(header.prefix + _U32.pack(index), sealed,
                                    _frame_aad(header.prefix, context, index, last)))
        except InvalidTag:
            raise EncryptionError("the encrypted file does not decrypt: altered, truncated, moved or "
                                  "under another key") from None
        index += 1
    return b"".join(out)


def rewrap_file(data: bytes, master_key: str, wrapped: bytes) -> bytes:
    """The same sealed file with its data key wrapped anew (the frames are untouched)."""
    header = parse_file_header(data)
    return file_header(master_key, wrapped, header.prefix) + data[header.size:]
