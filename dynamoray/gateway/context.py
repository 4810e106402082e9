"""What an operation handler gets besides the request body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .auth import Principal


@dataclass(frozen=True, slots=True)
class RequestContext:
    engine: Any  # the storage engine (actors/engine.py protocol)
    principal: Principal
    region: str
    account_id: str
    request_id: str
    iam: Any = None  # the Authorizer (its IAM store), when IAM is on (gateway/authorize.py)
    keys: Any = None  # the KeyManager (actors/keys.py), when data is encrypted at rest
    hooks: Any = None  # the HookService (actors/hooks.py): stored-procedure hooks, admin API
    telemetry: Any = None  # the Telemetry (telemetry.py): audit, usage, auto scaling admin API
    replication: Any = None  # the ReplicationService (replication.py): global tables, when configured

    def table_arn(self, table: str) -> str:
        return f"arn:aws:dynamodb:{self.region}:{self.account_id}:table/{table}"
