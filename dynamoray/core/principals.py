"""The IAM store, pure: principals, access keys and policies as a fold of the IAM events.

Users and roles are *principals* (``kind`` "user" | "role"); each may hold access keys, inline
policies (by name) and attached managed policies (by ARN).  Tables and streams may hold one
resource-based policy each.  Commands check the request against the state and return the events
that record it (or raise the IAM/DynamoDB error); :func:`evolve` folds an event into a *new* state.
Ids, secrets and times come in as arguments: nothing here is random or reads the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Mapping

from ..schemas.events import (
    AccessKeyCreated, AccessKeyDeleted, InlinePolicyChanged, ManagedPolicyChanged, PolicyAttachmentChanged,
    PrincipalCreated, PrincipalDeleted, ResourcePolicyChanged,
)
from . import errors, iam

USER, ROLE = "user", "role"
KINDS = (USER, ROLE)
MAX_ACCESS_KEYS = 2  # IAM's AccessKeysPerUser quota
MAX_POLICY_CHARS = {"inline": 10240, "managed": 6144, "resource": 20480}
NO_POLICY = "NO_POLICY"  # ExpectedRevisionId meaning "only if there is no policy yet"
_NAME = re.compile(r"[\w+=,.@-]+")
_NAME_MAX = {USER: 64, ROLE: 64, "policy": 128}
Key = tuple[str, str]  # (kind, name)
_EMPTY: Mapping = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Principal:
    kind: str
    name: str
    principal_id: str
    arn: str
    created_at: int
    tags: Mapping[str, str] = field(default_factory=dict)
    session_context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str
    kind: str
    name: str
    created_at: int


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    arn: str
    name: str
    document: str
    created_at: int


@dataclass(frozen=True, slots=True)
class ResourcePolicy:
    resource_arn: str
    document: str
    revision_id: str


@dataclass(frozen=True, slots=True)
class IamState:
    principals: Mapping[Key, Principal] = field(default_factory=dict)
    keys: Mapping[str, AccessKey] = field(default_factory=dict)
    inline: Mapping[Key, Mapping[str, str]] = field(default_factory=dict)  # principal -> name -> document
    managed: Mapping[str, ManagedPolicy] = field(default_factory=dict)
    attached: Mapping[Key, tuple[str, ...]] = field(default_factory=dict)  # principal -> policy ARNs
    resource_policies: Mapping[str, ResourcePolicy] = field(default_factory=dict)

    def principal(self, kind: str, name: str) -> Principal:
        found = self.principals.get((kind, name))
        if found is None:
            raise errors.no_such_entity(f"The {kind} with name {name} cannot be found.")
        return found

    def keys_of(self, kind: str, name: str) -> list[AccessKey]:
        return [k for k in self.keys.values() if (k.kind, k.name) == (kind, name)]

    def documents_of(self, kind: str, name: str) -> list[str]:
        """Every identity-based policy document of a principal: inline ones, then attached ones."""
        docs = list(self.inline.get((kind, name), {}).values())
        docs += [self.managed[arn].document for arn in self.attached.get((kind, name), ()) if arn in self.managed]
        return docs


# --- the fold ------------------------------------------------------------------------------------


def _with(mapping: Mapping, key: Any, value: Any = None, remove: bool = False) -> Mapping:
    out = dict(mapping)
    if remove:
        out.pop(key, None)
    else:
        out[key] = value
    return MappingProxyType(out)


def evolve(state: IamState, event: Any) -> IamState:
    """The state after ``event`` (a new state; ``state`` is not changed)."""
    if isinstance(event, PrincipalCreated):
        made = Principal(event.kind, event.name, event.principal_id, event.arn, event.created_at,
                         MappingProxyType(dict(event.tags)), MappingProxyType(dict(event.session_context)))
        return replace(state, principals=_with(state.principals, (event.kind, event.name), made))
    if isinstance(event, PrincipalDeleted):
        key = (event.kind, event.name)
        return replace(
            state, principals=_with(state.principals, key, remove=True),
            keys=MappingProxyType({i: k for i, k in state.keys.items() if (k.kind, k.name) != key}),
            inline=_with(state.inline, key, remove=True), attached=_with(state.attached, key, remove=True),
        )
    if isinstance(event, AccessKeyCreated):
        made = AccessKey(event.access_key_id, event.secret_access_key, event.kind, event.name, event.created_at)
        return replace(state, keys=_with(state.keys, event.access_key_id, made))
    if isinstance(event, AccessKeyDeleted):
        return replace(state, keys=_with(state.keys, event.access_key_id, remove=True))
    return _evolve_policies(state, event)


def _evolve_policies(state: IamState, event: Any) -> IamState:
    if isinstance(event, InlinePolicyChanged):
        key = (event.kind, event.name)
        docs = _with(state.inline.get(key, _EMPTY), event.policy_name, event.document, event.document is None)
        return replace(state, inline=_with(state.inline, key, docs))
    if isinstance(event, ManagedPolicyChanged):
        if event.document is None:
            return replace(state, managed=_with(state.managed, event.policy_arn, remove=True))
        made = ManagedPolicy(event.policy_arn, event.policy_name, event.document, event.created_at)
        return replace(state, managed=_with(state.managed, event.policy_arn, made))
    if isinstance(event, PolicyAttachmentChanged):
        key = (event.kind, event.name)
        arns = tuple(a for a in state.attached.get(key, ()) if a != event.policy_arn)
        if event.attached:
            arns += (event.policy_arn,)
        return replace(state, attached=_with(state.attached, key, arns))
    if isinstance(event, ResourcePolicyChanged):
        arn = event.resource_arn
        if event.document is None:
            return replace(state, resource_policies=_with(state.resource_policies, arn, remove=True))
        made = ResourcePolicy(arn, event.document, event.revision_id)
        return replace(state, resource_policies=_with(state.resource_policies, arn, made))
    raise ValueError(f"not an IAM event: {type(event).__name__}")


# --- validation ----------------------------------------------------------------------------------


def check_name(value: Any, member: str, limit: int) -> str:
    if not isinstance(value, str) or not value:
        raise errors.iam_validation(f"1 validation error detected: Value null at '{member}' failed to satisfy "
                                    "constraint: Member must not be null")
    if len(value) > limit or not _NAME.fullmatch(value):
        raise errors.iam_validation(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length at most {limit}"
        )
    return value


def check_document(document: Any, scope: str) -> iam.Policy:
    """Parse a policy document for ``scope`` ("inline" | "managed" | "resource")."""
    if not isinstance(document, str) or not document.strip():
        raise errors.malformed_policy_document("Syntax errors in policy.")
    if len(document) > MAX_POLICY_CHARS[scope]:
        raise errors.iam_limit_exceeded(f"Cannot exceed quota for PolicySize: {MAX_POLICY_CHARS[scope]}")
    try:
        return iam.parse_policy(document, resource_policy=scope == "resource")
    except iam.PolicyError as error:
        if scope == "resource":
            raise errors.invalid_resource_policy(str(error)) from None
        raise errors.malformed_policy_document(str(error)) from None


# --- commands ------------------------------------------------------------------------------------


def create_principal(state: IamState, kind: str, name: str, principal_id: str, arn: str, now: int,
                     tags: Mapping[str, str] | None = None,
                     session_context: Mapping[str, str] | None = None) -> list:
    check_name(name, f"{kind}Name", _NAME_MAX[kind])
    if (kind, name) in state.principals:
        raise errors.entity_already_exists(f"{kind.capitalize()} with name {name} already exists.")
    return [PrincipalCreated(kind, name, principal_id, arn, now, dict(tags or {}), dict(session_context or {}))]


def delete_principal(state: IamState, kind: str, name: str) -> list:
    """Deleting a principal also revokes its keys and drops its policies (recorded one by one)."""
    state.principal(kind, name)
    out: list = [AccessKeyDeleted(k.access_key_id) for k in state.keys_of(kind, name)]
    out += [InlinePolicyChanged(kind, name, p, None) for p in state.inline.get((kind, name), {})]
    out += [PolicyAttachmentChanged(kind, name, a, False) for a in state.attached.get((kind, name), ())]
    return out + [PrincipalDeleted(kind, name)]


def create_access_key(state: IamState, kind: str, name: str, access_key_id: str, secret: str, now: int) -> list:
    state.principal(kind, name)
    if len(state.keys_of(kind, name)) >= MAX_ACCESS_KEYS:
        raise errors.iam_limit_exceeded(f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS}")
    return [AccessKeyCreated(access_key_id, secret, kind, name, now)]


def delete_access_key(state: IamState, access_key_id: str) -> list:
    if access_key_id not in state.keys:
        raise errors.no_such_entity(f"The Access Key with id {access_key_id} cannot be found.")
    return [AccessKeyDeleted(access_key_id)]


def put_inline_policy(state: IamState, kind: str, name: str, policy_name: str, document: str) -> list:
    state.principal(kind, name)
    check_name(policy_name, "policyName", _NAME_MAX["policy"])
    check_document(document, "inline")
    return [InlinePolicyChanged(kind, name, policy_name, document)]


def inline_policy(state: IamState, kind: str, name: str, policy_name: str) -> str:
    state.principal(kind, name)
    document = state.inline.get((kind, name), {}).get(policy_name)
    if document is None:
        raise errors.no_such_entity(f"The {kind} policy with name {policy_name} cannot be found.")
    return document


def delete_inline_policy(state: IamState, kind: str, name: str, policy_name: str) -> list:
    inline_policy(state, kind, name, policy_name)
    return [InlinePolicyChanged(kind, name, policy_name, None)]


def create_managed_policy(state: IamState, policy_name: str, arn: str, document: str, now: int) -> list:
    check_name(policy_name, "policyName", _NAME_MAX["policy"])
    if arn in state.managed:
        raise errors.entity_already_exists(
            f"A policy called {policy_name} already exists. Duplicate names are not allowed.")
    check_document(document, "managed")
    return [ManagedPolicyChanged(arn, policy_name, now, document)]


def managed_policy(state: IamState, arn: str) -> ManagedPolicy:
    found = state.managed.get(arn)
    if found is None:
        raise errors.no_such_entity(f"Policy {arn} does not exist or is not attachable.")
    return found


def delete_managed_policy(state: IamState, arn: str) -> list:
    found = managed_policy(state, arn)
    if any(arn in arns for arns in state.attached.values()):
        raise errors.delete_conflict("Cannot delete a policy attached to entities.")
    return [ManagedPolicyChanged(arn, found.name, found.created_at, None)]


def attach_policy(state: IamState, kind: str, name: str, arn: str, attached: bool) -> list:
    state.principal(kind, name)
    managed_policy(state, arn)
    if not attached and arn not in state.attached.get((kind, name), ()):
        raise errors.no_such_entity(f"Policy {arn} was not found.")
    return [PolicyAttachmentChanged(kind, name, arn, attached)]


def _check_revision(state: IamState, arn: str, expected: str | None) -> ResourcePolicy | None:
    current = state.resource_policies.get(arn)
    if expected is None:
        return current
    if expected == NO_POLICY:
        if current is not None:
            raise errors.policy_not_found(arn, expected)
        return None
    if current is None or current.revision_id != expected:
        raise errors.policy_not_found(arn, expected)
    return current


def put_resource_policy(state: IamState, arn: str, document: str, revision_id: str,
                        expected: str | None = None) -> list:
    check_document(document, "resource")
    _check_revision(state, arn, expected)
    return [ResourcePolicyChanged(arn, revision_id, document)]


def delete_resource_policy(state: IamState, arn: str, expected: str | None = None) -> list:
    current = _check_revision(state, arn, expected)
    if current is None:
        raise errors.policy_not_found(arn)
    return [ResourcePolicyChanged(arn, current.revision_id, None)]


def drop_resource_policies(state: IamState, table_arn: str) -> list:
    """Forget the policies of a table that no longer exists (and of its streams and indexes)."""
    stale = [a for a in state.resource_policies if a == table_arn or a.startswith(table_arn + "/")]
    return [ResourcePolicyChanged(a, state.resource_policies[a].revision_id, None) for a in stale]
