"""The picklable description of a server's encryption: which key provider, which plain log.

Separate from :mod:`keys` (which re-exports :class:`EncryptionConfig`) because it is plain data:
it travels to every actor and names the KeyManager of each process (``token``), while the
KeyManager itself holds the key material and never leaves its process.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..events.keyring import KeyProvider, LocalKeyring
from ..events.log import EventLog


@dataclass(frozen=True)
class EncryptionConfig:
    """How a server's data is encrypted; picklable (it travels to every actor)."""

    keyring: str = ""  # the local keyring file (the default provider)
    kms_key_id: str = ""  # AWS KMS instead: the server's own key (id, ARN or alias)
    kms_region: str = ""
    kms_endpoint: str = ""
    region: str = "us-east-1"  # for key ARNs
    account: str = "000000000000"
    log_factory: Any = None  # the plain log of the keys and catalog topics (see ``bound``)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)  # names the KeyManager of each process

    def provider(self) -> KeyProvider:
        if self.kms_key_id:
            from ..events.kms import KmsKeys

            return KmsKeys(self.kms_key_id, self.kms_region or self.region, self.kms_endpoint or None)
        return LocalKeyring(self.keyring, self.region, self.account)

    def bound(self, log_factory: Callable[[], EventLog]) -> EncryptionConfig:
        """This configuration with the (picklable) factory of the plain log."""
        return dataclasses.replace(self, log_factory=log_factory)

    def describe(self) -> str:
        return f"kms:{self.kms_key_id}" if self.kms_key_id else f"keyring:{self.keyring}"
