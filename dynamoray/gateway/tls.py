"""TLS for the gateway's listener (``dynamoray serve --tls-cert FILE --tls-key FILE``).

The server context is the stdlib's, with TLS 1.2 as the floor; the certificate file may hold the
chain after the server's certificate.  A request that came over TLS has ``aws:SecureTransport``
true in IAM conditions, so a policy can refuse plain HTTP (``"Bool": {"aws:SecureTransport": "false"}``
in a Deny statement).
"""

from __future__ import annotations

import ssl


class TlsError(Exception):
    """The certificate or key cannot be used."""


def server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as error:
        raise TlsError(f"cannot use the certificate {cert_file} with the key {key_file}: {error}") from None
    return context
