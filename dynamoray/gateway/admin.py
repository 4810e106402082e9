"""The admin API: users, roles, access keys and policies (``X-Amz-Target: DynamoRayAdmin_20261126.<Op>``).

JSON 1.0 like DynamoDB, SigV4-signed, and callable by the root credentials only.  The operations
and their shapes follow IAM's API (``CreateUser {UserName}``, ``PutUserPolicy {UserName,
PolicyName, PolicyDocument}``, ...), with the role twins (``CreateRole``, ``PutRolePolicy``, ...).
A role is a named principal: it holds policies and, here (there is no STS), access keys of its
own, whose requests are made as ``arn:aws:sts::<account>:assumed-role/<role>/<role>``.

Extra to IAM: ``CreateUser``/``CreateRole`` take ``SessionContext``, request-context keys the
principal's requests carry (``{"www.amazon.com:user_id": "..."}`` for the web-identity examples of
DynamoDB's documentation).  ``DeleteUser``/``DeleteRole`` also revoke the keys and drop the
policies (IAM would answer DeleteConflict).  ``GetPolicy`` returns the document too.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..core import errors, principals
from .iam_store import IamStore, new_secret, random_id, user_arn
from .operations import operation

ADMIN_PREFIX = "DynamoRayAdmin_20261126"
ADMIN_SERVICE = "dynamorayadmin"
_KINDS = {"user": "User", "role": "Role"}
_ID_PREFIX = {"user": "AIDA", "role": "AROA"}


def is_root(principal: Any) -> bool:
    return principal.arn.endswith(":root")


def store_of(ctx: Any) -> IamStore:
    """The IAM store, for the root caller only."""
    if not is_root(ctx.principal):
        raise errors.access_denied(
            f"User: {ctx.principal.arn} is not authorized to perform this operation: "
            "only the root credentials may call the dynamoray admin API"
        )
    guard = getattr(ctx, "iam", None)
    if guard is None:
        raise errors.validation("IAM is not enabled on this server")
    return guard.store


def _date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _required(body: dict, member: str) -> str:
    value = body.get(member)
    path = member[0].lower() + member[1:]
    if value is None:
        raise errors.iam_validation(f"1 validation error detected: Value null at '{path}' "
                                    "failed to satisfy constraint: Member must not be null")
    if not isinstance(value, str):
        raise errors.iam_validation(f"1 validation error detected: Value at '{path}' failed to satisfy "
                                    "constraint: Member must be a string")
    return value


def _described(record: principals.Principal) -> dict:
    label = _KINDS[record.kind]
    out = {f"{label}Name": record.name, f"{label}Id": record.principal_id, "Arn": record.arn, "Path": "/",
           "CreateDate": _date(record.created_at)}
    if record.tags:
        out["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(record.tags.items())]
    if record.session_context:
        out["SessionContext"] = dict(record.session_context)
    return out


def _string_map(value: Any, member: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, list):  # IAM's Tags: [{"Key": k, "Value": v}]
        value = {t.get("Key"): t.get("Value") for t in value if isinstance(t, dict)}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise errors.iam_validation(f"{member} must map strings to strings")
    return value


def _principal_ops(kind: str) -> None:
    """Register the operations on one kind of principal (User or Role)."""
    label = _KINDS[kind]
    name_key = f"{label}Name"

    @operation(f"Create{label}", service=ADMIN_SERVICE)
    async def create(ctx, body: dict) -> dict:
        store = store_of(ctx)
        name = _required(body, name_key)
        tags, extra = _string_map(body.get("Tags"), "Tags"), _string_map(body.get("SessionContext"), "SessionContext")
        arn = user_arn(store.account_id, kind, name)
        await store.execute(lambda s: principals.create_principal(
            s, kind, name, random_id(_ID_PREFIX[kind], 17), arn, store.clock(), tags, extra))
        return {label: _described(store.state.principal(kind, name))}

    @operation(f"Get{label}", service=ADMIN_SERVICE)
    async def get(ctx, body: dict) -> dict:
        return {label: _described(store_of(ctx).state.principal(kind, _required(body, name_key)))}

    @operation(f"List{label}s", service=ADMIN_SERVICE)
    async def list_all(ctx, body: dict) -> dict:
        found = [p for (k, _), p in sorted(store_of(ctx).state.principals.items()) if k == kind]
        return {f"{label}s": [_described(p) for p in found], "IsTruncated": False}

    @operation(f"Delete{label}", service=ADMIN_SERVICE)
    async def delete(ctx, body: dict) -> dict:
        name = _required(body, name_key)
        await store_of(ctx).execute(lambda s: principals.delete_principal(s, kind, name))
        return {}

    _policy_ops(kind, label, name_key)


def _policy_ops(kind: str, label: str, name_key: str) -> None:
    @operation(f"Put{label}Policy", service=ADMIN_SERVICE)
    async def put_policy(ctx, body: dict) -> dict:
        name, policy, document = (_required(body, m) for m in (name_key, "PolicyName", "PolicyDocument"))
        await store_of(ctx).execute(lambda s: principals.put_inline_policy(s, kind, name, policy, document))
        return {}

    @operation(f"Get{label}Policy", service=ADMIN_SERVICE)
    async def get_policy(ctx, body: dict) -> dict:
        name, policy = _required(body, name_key), _required(body, "PolicyName")
        document = principals.inline_policy(store_of(ctx).state, kind, name, policy)
        return {name_key: name, "PolicyName": policy, "PolicyDocument": document}

    @operation(f"Delete{label}Policy", service=ADMIN_SERVICE)
    async def delete_policy(ctx, body: dict) -> dict:
        name, policy = _required(body, name_key), _required(body, "PolicyName")
        await store_of(ctx).execute(lambda s: principals.delete_inline_policy(s, kind, name, policy))
        return {}

    @operation(f"List{label}Policies", service=ADMIN_SERVICE)
    async def list_policies(ctx, body: dict) -> dict:
        state = store_of(ctx).state
        name = _required(body, name_key)
        state.principal(kind, name)
        return {"PolicyNames": sorted(state.inline.get((kind, name), {})), "IsTruncated": False}

    for verb, attached in (("Attach", True), ("Detach", False)):
        _attach_op(kind, label, name_key, verb, attached)

    @operation(f"ListAttached{label}Policies", service=ADMIN_SERVICE)
    async def list_attached(ctx, body: dict) -> dict:
        state = store_of(ctx).state
        name = _required(body, name_key)
        state.principal(kind, name)
        arns = state.attached.get((kind, name), ())
        return {"AttachedPolicies": [{"PolicyName": state.managed[a].name, "PolicyArn": a}
                                     for a in arns if a in state.managed], "IsTruncated": False}


def _attach_op(kind: str, label: str, name_key: str, verb: str, attached: bool) -> None:
    @operation(f"{verb}{label}Policy", service=ADMIN_SERVICE)
    async def attach(ctx, body: dict) -> dict:
        name, arn = _required(body, name_key), _required(body, "PolicyArn")
        await store_of(ctx).execute(lambda s: principals.attach_policy(s, kind, name, arn, attached))
        return {}


for _kind in _KINDS:
    _principal_ops(_kind)


def _key_owner(body: dict) -> tuple[str, str]:
    if body.get("RoleName") is not None:
        return "role", _required(body, "RoleName")
    return "user", _required(body, "UserName")


def _key_metadata(key: principals.AccessKey) -> dict:
    return {f"{_KINDS[key.kind]}Name": key.name, "AccessKeyId": key.access_key_id, "Status": "Active",
            "CreateDate": _date(key.created_at)}


@operation("CreateAccessKey", service=ADMIN_SERVICE)
async def create_access_key(ctx, body: dict) -> dict:
    """The secret is in this response only: it is never shown again."""
    store = store_of(ctx)
    kind, name = _key_owner(body)
    key_id, secret = random_id("AKIA"), new_secret()
    await store.execute(lambda s: principals.create_access_key(s, kind, name, key_id, secret, store.clock()))
    return {"AccessKey": {**_key_metadata(store.state.keys[key_id]), "SecretAccessKey": secret}}


@operation("ListAccessKeys", service=ADMIN_SERVICE)
async def list_access_keys(ctx, body: dict) -> dict:
    state = store_of(ctx).state
    kind, name = _key_owner(body)
    state.principal(kind, name)
    keys = sorted(state.keys_of(kind, name), key=lambda k: (k.created_at, k.access_key_id))
    return {"AccessKeyMetadata": [_key_metadata(k) for k in keys], "IsTruncated": False}


@operation("DeleteAccessKey", service=ADMIN_SERVICE)
async def delete_access_key(ctx, body: dict) -> dict:
    key_id = _required(body, "AccessKeyId")
    await store_of(ctx).execute(lambda s: principals.delete_access_key(s, key_id))
    return {}


def _managed(policy: principals.ManagedPolicy, state: principals.IamState, document: bool = False) -> dict:
    count = sum(policy.arn in arns for arns in state.attached.values())
    out = {"PolicyName": policy.name, "Arn": policy.arn, "Path": "/", "CreateDate": _date(policy.created_at),
           "AttachmentCount": count, "DefaultVersionId": "v1", "IsAttachable": True}
    if document:
        out["PolicyDocument"] = policy.document
    return out


@operation("CreatePolicy", service=ADMIN_SERVICE)
async def create_policy(ctx, body: dict) -> dict:
    store = store_of(ctx)
    name, document = _required(body, "PolicyName"), _required(body, "PolicyDocument")
    arn = f"arn:aws:iam::{store.account_id}:policy/{name}"
    await store.execute(lambda s: principals.create_managed_policy(s, name, arn, document, store.clock()))
    return {"Policy": _managed(store.state.managed[arn], store.state)}


@operation("GetPolicy", service=ADMIN_SERVICE)
async def get_policy(ctx, body: dict) -> dict:
    state = store_of(ctx).state
    return {"Policy": _managed(principals.managed_policy(state, _required(body, "PolicyArn")), state, True)}


@operation("ListPolicies", service=ADMIN_SERVICE)
async def list_policies(ctx, body: dict) -> dict:
    state = store_of(ctx).state
    return {"Policies": [_managed(p, state) for _, p in sorted(state.managed.items())], "IsTruncated": False}


@operation("DeletePolicy", service=ADMIN_SERVICE)
async def delete_policy(ctx, body: dict) -> dict:
    arn = _required(body, "PolicyArn")
    await store_of(ctx).execute(lambda s: principals.delete_managed_policy(s, arn))
    return {}


from . import admin_hooks  # noqa: E402,F401 - registers the hook operations (DeployHook, ...)
from . import admin_capacity  # noqa: E402,F401 - usage, audit and auto-scaling operations (GetUsage, ...)
from . import admin_backups  # noqa: E402,F401 - the restore operations (ListRestores, DescribeRestore)
from . import admin_forks  # noqa: E402,F401 - table forks (ForkTable, DescribeTableOffsets), an extension
from . import admin_partitions  # noqa: E402,F401 - partition maps (DescribePartitions, SplitPartition, MovePartition)
from . import knobs as _knobs  # noqa: E402,F401 - the test knobs (SetTestKnobs, SetClock, ...), an extension
