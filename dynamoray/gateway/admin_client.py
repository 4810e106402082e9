"""A small client of the admin API (``gateway/admin.py``): SigV4-signed JSON over HTTP.

    client = AdminClient("http://127.0.0.1:8000", access_key, secret_key)
    client.call("CreateUser", UserName="alice")

Errors come back as :class:`AdminError` with the wire error name (``NoSuchEntity``, ...).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .admin import ADMIN_PREFIX

CONTENT_TYPE = "application/x-amz-json-1.0"


class AdminError(Exception):
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class AdminClient:
    def __init__(self, endpoint: str, access_key: str, secret_key: str, region: str = "us-east-1",
                 timeout: float = 30.0, ssl_context: Any = None) -> None:
        self.endpoint = endpoint.rstrip("/") + "/"
        self.ssl_context = ssl_context  # verifies an HTTPS endpoint (None: the system's trust store)
        self._credentials = Credentials(access_key, secret_key)
        self.region = region
        self.timeout = timeout

    def call(self, operation: str, **params: Any) -> dict:
        body = json.dumps(params).encode()
        request = AWSRequest(method="POST", url=self.endpoint, data=body, headers={
            "Content-Type": CONTENT_TYPE, "X-Amz-Target": f"{ADMIN_PREFIX}.{operation}",
        })
        SigV4Auth(self._credentials, "dynamodb", self.region).add_auth(request)
        prepared = urllib.request.Request(self.endpoint, data=body, method="POST", headers=dict(request.headers))
        try:
            with urllib.request.urlopen(prepared, timeout=self.timeout, context=self.ssl_context) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            payload = _json(error.read())
            code = str(payload.get("__type", "UnknownError")).rsplit("#", 1)[-1]
            raise AdminError(code, str(payload.get("message", payload.get("Message", ""))), error.code) from None


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
