"""AWS KMS as the key provider (``dynamoray serve --kms-key-id ...``): master keys never leave KMS.

Data keys come from ``GenerateDataKey`` (AES_256) under the master key and are unwrapped with
``Decrypt``; both carry the encryption context ``{"service": "dynamoray"}``.  The server's own key
(what a table without SSE uses) is the configured ``--kms-key-id``; ``alias/aws/dynamodb`` is used
when it exists in the account, else the configured key stands in for it.  Rotation of the key
material is KMS's business (enable automatic rotation on the key): ``dynamoray keys rotate`` then
only starts new data keys.  Customer keys are made in KMS, not here.

The client is boto3's (``pip install boto3``), made with the usual credential chain; tests give a
test double of it (``client=``), since KMS itself is not what they test.

Every failure of a KMS call is one of the key provider's exceptions (``events/keyring.py``), never
a botocore error: ``NotFoundException`` is :class:`KeyNotFound`, a disabled key
:class:`KeyDisabled`, and anything else (access denied, a key pending deletion or otherwise not
usable, an asymmetric or signing key, throttling, KMS unreachable) a :class:`KmsRefused` naming
KMS's error code; the gateway turns them into DynamoDB's 400s (``gateway/sse.py``).
"""

from __future__ import annotations

from typing import Any

from .keyring import MANAGED_ALIAS, KeyDisabled, KeyNotFound, KeyUnavailable

CONTEXT = {"service": "dynamoray"}


UNREACHABLE = "KMSUnreachable"  # no answer from KMS (connection refused, timeout...): not a KMS code
_STATES = {"PendingDeletion": "pending deletion", "PendingReplicaDeletion": "pending deletion",
           "PendingImport": "pending import", "Unavailable": "unavailable", "Creating": "being created",
           "Updating": "being updated"}


def _code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return (response.get("Error") or {}).get("Code", "")


class KmsRefused(KeyUnavailable):
    """KMS refused a call or could not be reached: ``code`` is KMS's error code (or
    :data:`UNREACHABLE`), ``detail`` its message."""

    def __init__(self, code: str, detail: str, key_id: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.key_id = key_id


def refused(error: Exception, key_id: str) -> KeyUnavailable:
    """The provider's exception for a failed KMS call (botocore's ClientError or a transport error)."""
    code = _code(error)
    if code == "NotFoundException":
        return KeyNotFound("Alias" if "alias/" in key_id else "Key", key_id)
    if code == "DisabledException":
        return KeyDisabled(key_id)
    if not code:  # botocore's EndpointConnectionError, ReadTimeoutError...: no KMS answer
        return KmsRefused(UNREACHABLE, f"KMS could not be reached: {error}", key_id)
    message = (getattr(error, "response", None) or {}).get("Error", {}).get("Message") or str(error)
    return KmsRefused(code, message, key_id)


def check_usable(metadata: dict) -> None:
    """A key DynamoDB can encrypt a table with: enabled, symmetric, for encryption."""
    arn, state = metadata["Arn"], metadata.get("KeyState", "Enabled")
    if state == "Disabled" or metadata.get("Enabled") is False and state == "Enabled":
        raise KeyDisabled(arn)
    if state != "Enabled":
        raise KmsRefused("KMSInvalidStateException", f"{arn} is {_STATES.get(state, state)}.", arn)
    spec = metadata.get("KeySpec") or metadata.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    usage = metadata.get("KeyUsage", "ENCRYPT_DECRYPT")
    if spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT":
        raise KmsRefused("InvalidKeyUsageException", f"{arn} is a {spec} key for {usage}: DynamoDB needs a "
                         "symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT).", arn)


class KmsKeys:
    """A :class:`~dynamoray.events.keyring.KeyProvider` over a KMS client."""

    accept_plaintext = False

    def __init__(self, key_id: str, region: str, endpoint_url: str | None = None, client: Any = None, *,
                 accept_plaintext: bool = False) -> None:
        self.portable = client is None  # another process makes the same client from the configuration
        if client is None:
            import boto3

            client = boto3.client("kms", region_name=region, endpoint_url=endpoint_url or None)
        self._client = client
        self.key_id = key_id
        self.region = region
        self.accept_plaintext = accept_plaintext
        self._default: str | None = None
        self._managed: str | None = None

    def default_key(self) -> str:
        if self._default is None:
            self._default = self.describe(self.key_id)
        return self._default

    def managed_key(self) -> str:
        if self._managed is None:
            try:
                self._managed = self.describe(MANAGED_ALIAS)
            except KeyNotFound:
                self._managed = self.default_key()
        return self._managed

    def describe(self, key_id: str) -> str:
        try:
            metadata = self._client.describe_key(KeyId=key_id)["KeyMetadata"]
        except Exception as error:  # noqa: BLE001 - botocore's errors, mapped by code
            raise refused(error, key_id) from None
        check_usable(metadata)
        return metadata["Arn"]

    def generate(self, arn: str) -> tuple[bytes, bytes]:
        try:
            found = self._client.generate_data_key(KeyId=arn, KeySpec="AES_256", EncryptionContext=CONTEXT)
        except Exception as error:  # noqa: BLE001 - botocore's errors, mapped by code
            raise refused(error, arn) from None
        return found["Plaintext"], found["CiphertextBlob"]

    def unwrap(self, arn: str, wrapped: bytes) -> bytes:
        try:
            return self._client.decrypt(CiphertextBlob=wrapped, KeyId=arn, EncryptionContext=CONTEXT)["Plaintext"]
        except Exception as error:  # noqa: BLE001 - any KMS refusal makes the data unreadable
            found = refused(error, arn)
            raise (found if isinstance(found, KmsRefused) else
                   KmsRefused(_code(error), f"KMS did not decrypt a data key of {arn}: {found}", arn)) from None

    def rotate(self, arn: str) -> str:
        return "kms"  # KMS rotates the key material itself; callers start a new data key

    def rewrap(self, arn: str, wrapped: bytes) -> bytes | None:
        return None  # KMS keeps every version of its key material: nothing to re-wrap

    def create_key(self, alias: str | None, description: str) -> str:
        raise ValueError("with KMS, create customer keys in KMS (aws kms create-key) and name them in SSESpecification")

    def list_keys(self) -> list[dict]:
        arn = self.default_key()
        return [{"KeyId": arn.rpartition("/")[2], "KeyArn": arn, "Aliases": [], "Description": "the configured KMS key",
                 "Owned": True, "CreationDate": None, "Versions": None}]

    def __repr__(self) -> str:
        return f"KmsKeys({self.key_id!r}, region={self.region!r})"
