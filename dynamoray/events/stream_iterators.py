"""Shard iterators (see ``events/streams.py``): an opaque token (stream ARN, shard, next offset,
issue time, replay or not) signed with HMAC-SHA256 under a per-server secret; it expires 15 minutes
after it was issued."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

import orjson

from ..core import errors

ITERATOR_MAX_AGE_MS = 15 * 60 * 1000


@dataclass(frozen=True, slots=True)
class ShardIterator:
    arn: str
    shard_id: str
    position: int  # the next log offset to read
    issued_ms: int
    replay: bool = False  # a REPLAY_* iterator: no 24-hour trim


REPLAY_PREFIX = "REPLAY_"  # REPLAY_TRIM_HORIZON, REPLAY_AT_TIMESTAMP, REPLAY_AT/AFTER_SEQUENCE_NUMBER


def check_iterator_age(iterator: ShardIterator, now_ms: int) -> None:
    if now_ms - iterator.issued_ms > ITERATOR_MAX_AGE_MS:
        raise errors.iterator_expired(iterator.issued_ms, now_ms, ITERATOR_MAX_AGE_MS)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class IteratorCodec:
    """Shard iterators as opaque tokens: ``base64(json body).base64(hmac)``, signed with a secret."""

    _VERSION = 1

    def __init__(self, secret: bytes) -> None:
        self._secret = bytes(secret)

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._secret, body, hashlib.sha256).digest()[:20]

    def encode(self, iterator: ShardIterator) -> str:
        fields = [self._VERSION, iterator.arn, iterator.shard_id, iterator.position, iterator.issued_ms]
        body = orjson.dumps(fields + [1] if iterator.replay else fields)  # (a replay: one more field)
        return f"{_b64(body)}.{_b64(self._mac(body))}"

    def decode(self, token: str) -> ShardIterator:
        """The iterator a token carries; ValidationException if it is malformed or not ours."""
        try:
            body_text, _, mac_text = token.rpartition(".")
            body, mac = _unb64(body_text), _unb64(mac_text)
            if not body or not hmac.compare_digest(mac, self._mac(body)):
                raise ValueError("bad signature")
            fields = orjson.loads(body)
            version, arn, shard_id, position, issued = fields[:5]
            replay = fields[5:] == [1]
        except (ValueError, TypeError, KeyError, binascii.Error, orjson.JSONDecodeError):
            raise errors.invalid_shard_iterator() from None
        if version != self._VERSION or not all(isinstance(v, int) for v in (position, issued)):
            raise errors.invalid_shard_iterator()
        return ShardIterator(arn, shard_id, position, issued, replay)
