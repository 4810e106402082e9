"""SigV4 signing for the load generator, with botocore's own signer.

Each request gets its own ``X-Amz-Date`` and signature from :class:`botocore.auth.SigV4Auth`.  What
does not change between requests is computed once: the header set (with ``Host`` given, so botocore
does not re-parse the URL twice per request) and the derived signing key, which depends only on the
secret, the day, the region and the service.
"""

from __future__ import annotations

import hmac
from hashlib import sha256

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CONTENT_TYPE = "application/x-amz-json-1.0"
TARGET_PREFIX = "DynamoDB_20120810."


class _KeyCachingSigV4Auth(SigV4Auth):
    """botocore's SigV4Auth, deriving the signing key once per day instead of once per request."""

    _day: str | None = None
    _key: bytes = b""

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:  # botocore hook
        day = request.context["timestamp"][0:8]
        if day != self._day:
            key = self._sign(f"AWS4{self.credentials.secret_key}".encode(), day)
            for part in (self._region_name, self._service_name, "aws4_request"):
                key = self._sign(key, part)
            self._day, self._key = day, key
        return hmac.new(self._key, string_to_sign.encode("utf-8"), sha256).hexdigest()


class Signer:
    """Signs DynamoDB JSON-protocol POSTs to one endpoint."""

    def __init__(self, host: str, port: int, access_key: str, secret_key: str, region: str) -> None:
        self._auth = _KeyCachingSigV4Auth(Credentials(access_key, secret_key), "dynamodb", region)
        self._url = f"http://{host}:{port}/"
        self._base = {"Host": f"{host}:{port}", "Content-Type": CONTENT_TYPE}

    def headers(self, operation: str, body: bytes) -> dict[str, str]:
        """The headers of one signed request: Host, Content-Type, X-Amz-Target/-Date, Authorization."""
        headers = dict(self._base)
        headers["X-Amz-Target"] = TARGET_PREFIX + operation
        request = AWSRequest(method="POST", url=self._url, data=body, headers=headers)
        self._auth.add_auth(request)
        return dict(request.headers.items())
