"""The events of the IAM store (topic ``dynamoray.iam``; folded by ``dynamoray.core.principals``).

Users and roles, their access keys, and the inline, managed and resource policies: the account's
identity state, not a table's.  They live apart from the table events of ``events.py`` because
only the IAM store writes and folds them; ``events.py`` re-exports every name here and registers
them in ``EVENT_TYPES`` (their schema ids stay in its ``SCHEMA_IDS``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PrincipalCreated:
    kind: str  # user | role
    name: str
    principal_id: str
    arn: str
    created_at: int
    tags: dict[str, str]
    session_context: dict[str, str]


@dataclass(frozen=True, slots=True)
class PrincipalDeleted:
    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class AccessKeyCreated:
    access_key_id: str
    secret_access_key: str
    kind: str
    name: str
    created_at: int


@dataclass(frozen=True, slots=True)
class AccessKeyDeleted:
    access_key_id: str


@dataclass(frozen=True, slots=True)
class InlinePolicyChanged:
    kind: str
    name: str
    policy_name: str
    document: str | None = None  # None: deleted


@dataclass(frozen=True, slots=True)
class ManagedPolicyChanged:
    policy_arn: str
    policy_name: str
    created_at: int
    document: str | None = None  # None: deleted


@dataclass(frozen=True, slots=True)
class PolicyAttachmentChanged:
    kind: str
    name: str
    policy_arn: str
    attached: bool


@dataclass(frozen=True, slots=True)
class ResourcePolicyChanged:
    resource_arn: str
    revision_id: str
    document: str | None = None  # None: deleted


IAM_EVENTS = (
    PrincipalCreated, PrincipalDeleted, AccessKeyCreated, AccessKeyDeleted, InlinePolicyChanged,
    ManagedPolicyChanged, PolicyAttachmentChanged, ResourcePolicyChanged,
)
