"""What the sync and async clients share: settings, signing, retry state, request helpers."""

from __future__ import annotations

from typing import Any

from . import payloads
from .models import KeySchema, model_key_schema
from .retry import Backoff, RetryConfig, RetryState
from .transport import Signer, Wire, default_endpoint


class ClientBase:
    """Settings of a client.

    ``endpoint``: the gateway's URL (default ``$DYNAMORAY_ENDPOINT`` or http://127.0.0.1:8000).
    ``region``, ``access_key``/``secret_key``/``session_token``, ``profile``: as botocore resolves them
    when not given (``AWS_*`` variables, shared config and credential files, ...).
    ``retry``: standard-mode retries (:class:`RetryConfig`); ``batch_backoff``: how unprocessed
    batch requests are re-sent (:class:`Backoff`).  The clients add ``max_connections``,
    ``timeout`` (seconds), ``verify`` (for https: True, False, or a CA bundle's path, as boto3)
    and ``transport`` (anything with the transport's ``send``/``close``)."""

    def __init__(self, endpoint: str | None = None, *, region: str | None = None,
                 access_key: str | None = None, secret_key: str | None = None,
                 session_token: str | None = None, profile: str | None = None,
                 retry: RetryConfig | None = None, batch_backoff: Backoff | None = None) -> None:
        self.endpoint = endpoint or default_endpoint()
        self._wire = Wire(Signer(self.endpoint, region, access_key, secret_key, session_token, profile))
        self.region = self._wire.signer.region
        self.retry = retry or RetryConfig()
        self.batch_backoff = batch_backoff or Backoff()

    def _retry_state(self) -> RetryState:
        return RetryState(self.retry)

    @staticmethod
    def _create_payload(name: str, hash_key: tuple[str, str] | None, range_key: tuple[str, str] | None,
                        model: type[Any] | None, billing_mode: str, read_capacity: int | None,
                        write_capacity: int | None, stream: str | None, tags: dict[str, str] | None,
                        extra: dict[str, Any]) -> tuple[dict[str, Any], KeySchema]:
        keys = payloads.key_schema_of(hash_key, range_key, model_key_schema(model) if model else None)
        payload = payloads.create_table(name, keys, billing_mode=billing_mode, read_capacity=read_capacity,
                                        write_capacity=write_capacity, stream=stream, tags=tags, extra=extra)
        return payload, keys

    @staticmethod
    def _backup_payload(table: str, name: str) -> dict[str, Any]:
        return {"TableName": table, "BackupName": name}

    @staticmethod
    def _pitr_payload(table: str, enabled: bool, days: int | None) -> dict[str, Any]:
        spec: dict[str, Any] = {"PointInTimeRecoveryEnabled": enabled}
        if days is not None:
            spec["RecoveryPeriodInDays"] = days
        return {"TableName": table, "PointInTimeRecoverySpecification": spec}
