"""A test double of boto3's KMS client, for the KMS key provider (``events/kms.py``).

KMS itself is not what the tests test, and no real KMS is reachable from them: this double
implements the calls the provider makes (DescribeKey, GenerateDataKey, Decrypt) with KMS's error
shapes, and really encrypts, so a wrong key or context is a real failure.
"""

import os
import uuid

from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dynamoray.events.kms import CONTEXT

REGION, ACCOUNT = "us-east-1", "000000000000"


class FakeKms:
    """KMS's DescribeKey, GenerateDataKey, Decrypt and Encrypt over in-memory keys."""

    def __init__(self):
        self.keys, self.aliases, self.calls = {}, {}, []
        self.failures = {}  # call name ("DescribeKey"...) -> the exception it raises instead

    def fail(self, call, code=None, message="refused", error=None):
        """Make ``call`` raise KMS's error ``code`` (or ``error``), until ``fail(call)`` clears it."""
        if code is None and error is None:
            self.failures.pop(call, None)
        else:
            self.failures[call] = error or ClientError({"Error": {"Code": code, "Message": message}}, call)

    def _check(self, call):
        self.calls.append(call)
        if call in self.failures:
            raise self.failures[call]

    def add(self, alias=None, state="Enabled", spec="SYMMETRIC_DEFAULT", usage="ENCRYPT_DECRYPT"):
        key_id = str(uuid.uuid4())
        self.keys[key_id] = {"material": os.urandom(32), "state": state, "spec": spec, "usage": usage,
                             "arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"}
        if alias:
            self.aliases[alias] = key_id
        return self.keys[key_id]["arn"]

    def _key(self, key_id):
        key_id = key_id.rpartition(":")[2] if key_id.startswith("arn:") else key_id
        key_id = self.aliases.get(key_id, key_id.rpartition("/")[2] if key_id.startswith("key/") else key_id)
        if key_id not in self.keys:
            raise ClientError({"Error": {"Code": "NotFoundException", "Message": "not found"}}, "DescribeKey")
        return key_id, self.keys[key_id]

    def describe_key(self, KeyId):
        self._check("DescribeKey")
        key_id, key = self._key(KeyId)
        return {"KeyMetadata": {"KeyId": key_id, "Arn": key["arn"], "KeyState": key["state"],
                                "Enabled": key["state"] == "Enabled", "KeySpec": key["spec"],
                                "KeyUsage": key["usage"]}}

    def generate_data_key(self, KeyId, KeySpec, EncryptionContext):
        self._check("GenerateDataKey")
        assert KeySpec == "AES_256" and EncryptionContext == CONTEXT
        plaintext = os.urandom(32)
        return {"Plaintext": plaintext, "CiphertextBlob": self._encrypt(KeyId, plaintext)}

    def _encrypt(self, key_id, plaintext):
        key_id, key = self._key(key_id)
        nonce = os.urandom(12)
        return key_id.encode() + nonce + AESGCM(key["material"]).encrypt(nonce, plaintext, b"service=dynamoray")

    def decrypt(self, CiphertextBlob, KeyId, EncryptionContext):
        self._check("Decrypt")
        key_id, key = self._key(KeyId)
        if not CiphertextBlob.startswith(key_id.encode()) or EncryptionContext != CONTEXT:
            raise ClientError({"Error": {"Code": "IncorrectKeyException", "Message": "wrong key"}}, "Decrypt")
        blob = CiphertextBlob[len(key_id):]
        return {"Plaintext": AESGCM(key["material"]).decrypt(blob[:12], blob[12:], b"service=dynamoray")}
