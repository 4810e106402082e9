"""``dynamoray serve``'s security settings: encryption at rest, TLS and the listener's endpoint id.

:class:`SecurityOptions` gathers the command-line options; :func:`prepare_encryption` runs before
any engine opens: it decides the keys for the data directory (or Kafka cluster) and checks they
decrypt what is there (``actors/key_setup.py``), so a wrong or missing key stops the server with
a clear message instead of serving empty tables.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..actors.key_setup import EncryptionOptions, EncryptionSetupError, check, setup
from .tls import TlsError, server_context

__all__ = ["EncryptionSetupError", "SecurityOptions", "TlsError", "prepare_encryption"]


@dataclass(frozen=True)
class SecurityOptions:
    encryption: EncryptionOptions = field(default_factory=EncryptionOptions)
    tls_cert: str = ""
    tls_key: str = ""
    endpoint_id: str = ""  # aws:SourceVpce of every request to this listener

    def ssl_context(self) -> Any:
        """The listener's TLS context, or None for plain HTTP."""
        if not self.tls_cert and not self.tls_key:
            return None
        if not (self.tls_cert and self.tls_key):
            raise TlsError("TLS needs both --tls-cert and --tls-key")
        return server_context(self.tls_cert, self.tls_key)


async def prepare_encryption(stack: AsyncExitStack, options: EncryptionOptions, data_dir: Path, kafka: Any,
                             region: str) -> tuple[Any, Any]:
    """(EncryptionConfig, this process's KeyManager), or (None, None) without encryption."""
    from ..actors.keys import forget, keys_for

    if kafka is not None:
        from ..events.kafka import KafkaLog

        plain, where = KafkaLog(kafka), f"kafka:{kafka.properties.get('bootstrap.servers', '?')}"
    else:
        from ..events.embedded import EmbeddedLog

        plain, where = EmbeddedLog(data_dir / "log"), str(data_dir)
    try:
        config = await asyncio.to_thread(setup, options, data_dir, plain, where, region=region)
    except BaseException:
        plain.close()
        raise
    if config is None:
        plain.close()
        return None, None
    keys = keys_for(config, plain, owns_log=True)
    stack.callback(forget, config)
    await asyncio.to_thread(check, keys, where)
    return config, keys
