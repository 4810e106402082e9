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

    def table_arn(self, table: str) -> str:
        return f"arn:aws:dynamodb:{self.region}:{self.account_id}:table/{table}"
