"""Encryption at rest at start-up: which keys, and whether they fit the data already there.

``dynamoray serve`` calls :func:`setup` before any engine opens, on the plain log of its data
directory (or Kafka cluster), then :func:`check` on the KeyManager it gets:

- a fresh data directory gets a new keyring file (``<data-dir>/keyring.json``, mode 0600) unless
  ``--keyring FILE`` names one elsewhere or ``--kms-key-id`` puts the keys in AWS KMS;
- data written before encryption existed (records but no data keys) is read as it is and new
  records are sealed: the keyring made for it says ``accept_plaintext``.  A directory that started
  encrypted never reads a plaintext record (that would be tampering);
- encrypted data with its keyring missing, or with keys that do not unwrap its data keys (another
  keyring, another KMS key), stops the server with a clear message: it never serves empty tables;
- ``--no-encryption`` (benchmarks) is refused on encrypted data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import logs
from ..events.encryption import KEYS_TOPIC, DecryptionError
from ..events.keyring import KEYRING_FILE, KeyNotFound, KeyUnavailable, LocalKeyring
from ..events.log import EventLog, UnknownTopicError
from .keys import EncryptionConfig, KeyManager

log = logs.get("keys")

# the topics a data directory has records in once it was used (tables have their own)
_DATA_TOPICS = ("dynamoray.catalog", "dynamoray.iam", "dynamoray.backups", "dynamoray.transactions")


class EncryptionSetupError(Exception):
    """The keys and the data do not fit: the server must not start."""


@dataclass(frozen=True)
class EncryptionOptions:
    enabled: bool = True  # False: --no-encryption
    keyring: str = ""  # "" : <data-dir>/keyring.json
    kms_key_id: str = ""
    kms_region: str = ""
    kms_endpoint: str = ""


def _has_records(log_: EventLog, topic: str) -> bool:
    try:
        return log_.end_offset(topic, 0) > log_.start_offset(topic, 0)
    except UnknownTopicError:
        return False


def setup(options: EncryptionOptions, data_dir: Path, plain_log: EventLog, where: str, *,
          region: str = "us-east-1", account: str = "000000000000") -> EncryptionConfig | None:
    """The encryption configuration of this start (None with ``--no-encryption``), made to fit
    the data in ``plain_log`` (``where`` names it in messages)."""
    encrypted = _has_records(plain_log, KEYS_TOPIC)
    if not options.enabled:
        if encrypted:
            raise EncryptionSetupError(f"the data at {where} is encrypted: start the server without --no-encryption")
        log.warning("encryption_disabled", where=where)
        return None
    if options.kms_key_id:
        if not encrypted and any(_has_records(plain_log, topic) for topic in _DATA_TOPICS):
            raise EncryptionSetupError(
                f"the data at {where} was written without encryption: start it once with the local keyring "
                "(which reads such data and encrypts what is new); KMS only serves encrypted data")
        return EncryptionConfig(kms_key_id=options.kms_key_id, kms_region=options.kms_region or region,
                                kms_endpoint=options.kms_endpoint, region=region, account=account)
    path = Path(options.keyring) if options.keyring else Path(data_dir) / KEYRING_FILE
    if not path.exists():
        if encrypted:
            raise EncryptionSetupError(
                f"the data at {where} is encrypted, but its keyring {path} is missing: put the keyring "
                "file back (or name it with --keyring); without it the data cannot be read")
        legacy = any(_has_records(plain_log, topic) for topic in _DATA_TOPICS)
        LocalKeyring.create(path, region, account, accept_plaintext=legacy)
        if legacy:
            log.warning("plaintext_data_found", where=where, keyring=str(path),
                        detail="records written before encryption are read as they are; new ones are encrypted")
        log.info("keyring_created", keyring=str(path))
    return EncryptionConfig(keyring=str(path.resolve()), region=region, account=account)


def check(keys: KeyManager, where: str) -> None:
    """Unwrap every data key of the data (and make the server's first one): raises
    :class:`EncryptionSetupError` when the keys are not the ones the data was written with."""
    try:
        count = keys.check()
        keys.ensure_data_key()
    except (DecryptionError, KeyUnavailable, KeyNotFound) as error:
        raise EncryptionSetupError(
            f"the data at {where} cannot be decrypted with {keys.config.describe()} ({error}): it was "
            "written under other keys (a different keyring file or KMS key?)") from None
    log.info("encryption_ready", keys=keys.config.describe(), data_keys=count)
