"""Authorization: the step between request validation and the operation's handler.

``Gateway.handle`` calls the :class:`Authorizer` once per request, before any work is done:

- The root credentials may do anything, and only they may call the admin API (``admin.py``).
- Any other caller is an IAM user or role of the IAM store.  Each :class:`~.access.Access` the
  request needs (``access.accesses``) is decided by ``core.iam.authorize`` over the caller's
  identity-based policies and the resource's resource-based policy (the table's, also for its
  indexes; the stream's for a stream).  The first one not allowed raises DynamoDB's
  AccessDeniedException, naming the action, the resource and whether an explicit deny decided.
- The request context holds the global keys (``aws:username``, ``aws:userid``,
  ``aws:PrincipalArn``, ``aws:PrincipalType``, ``aws:PrincipalAccount``, ``aws:PrincipalTag/*``,
  ``aws:SourceIp`` from the connection, ``aws:CurrentTime``, ``aws:EpochTime``,
  ``aws:SecureTransport`` (true on a TLS listener), ``aws:SourceVpce`` and ``aws:VpcSourceIp`` (on a
  listener with an endpoint id), ``aws:RequestedRegion``), the principal's extra
  session keys, and DynamoDB's keys.  ``dynamodb:LeadingKeys`` and ``dynamodb:Attributes`` cost a
  key-schema lookup and an expression parse, so they are computed only when a policy in play
  tests them.

It also owns the IAM store's lifecycle (opened when the HTTP app starts) and keeps resource
policies from outliving their table: a CreateTable for a name that has no table drops any policy
left behind by a deleted table of that name.
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from ..core import errors, iam, internal_tables, principals
from ..core.errors import DynamoError
from ..events.log import system_clock
from . import access
from .admin import ADMIN_SERVICE, is_root
from .regions import REPLICATION_SERVICE
from .iam_store import IamStore

LEADING_KEYS, ATTRIBUTES = "dynamodb:leadingkeys", "dynamodb:attributes"
FULL_TABLE_SCAN = "dynamodb:fulltablescan"  # PartiQL: a SELECT that scans rather than queries


def _needed(policies: Sequence[iam.Policy]) -> frozenset[str]:
    return frozenset().union(*(p.condition_keys() for p in policies)) if policies else frozenset()


@functools.lru_cache(maxsize=4)
def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def base_context(record: principals.Principal, account: str, region: str, remote: str | None,
                 now_ms: int, secure: bool = False, endpoint_id: str | None = None) -> dict[str, Any]:
    """The global condition keys of a request by ``record`` (lower-cased keys), which came from
    ``remote`` over TLS when ``secure``, through the listener with endpoint id ``endpoint_id``."""
    role = record.kind == principals.ROLE
    context: dict[str, Any] = {
        "aws:userid": f"{record.principal_id}:{record.name}" if role else record.principal_id,
        "aws:principalarn": record.arn,
        "aws:principalaccount": account,
        "aws:principaltype": "AssumedRole" if role else "User",
        "aws:currenttime": _iso(now_ms // 1000),
        "aws:epochtime": str(now_ms // 1000),
        "aws:securetransport": "true" if secure else "false",
        "aws:requestedregion": region,
    }
    if not role:
        context["aws:username"] = record.name
    if remote:
        context["aws:sourceip"] = remote
    if endpoint_id:  # our analogue of a VPC endpoint: a listener with an endpoint id
        context["aws:sourcevpce"] = endpoint_id
        if remote:
            context["aws:vpcsourceip"] = remote
    for key, value in record.tags.items():
        context[f"aws:principaltag/{key.lower()}"] = value
    for key, value in record.session_context.items():
        context.setdefault(key.lower(), value)
    return context


def identifiers(record: principals.Principal, caller_arn: str) -> tuple[str, ...]:
    """Who the caller is, for resource-based policies' Principal: its own ARN, and its role's."""
    return (caller_arn, record.arn) if caller_arn != record.arn else (caller_arn,)


class Authorizer:
    def __init__(self, store: IamStore, clock: Callable[[], int] = system_clock,
                 stream_arn_of: Callable[[str], str] | None = None) -> None:
        self.store = store
        self._clock = clock
        self._stream_arn_of = stream_arn_of or _stream_arn

    # --- the HTTP app's lifecycle ---------------------------------------------------------------

    async def on_startup(self, app: Any) -> None:
        await self.store.open()

    async def on_cleanup(self, app: Any) -> None:
        await self.store.close()

    # --- the request hook ------------------------------------------------------------------------

    async def __call__(self, ctx: Any, service: str, name: str, body: dict, remote: str | None, *,
                       secure: bool = False, endpoint_id: str | None = None) -> None:
        principal = ctx.principal
        if service == ADMIN_SERVICE or service == REPLICATION_SERVICE:
            return  # the admin and replication handlers admit the root credentials only (admin.store_of)
        if name == "CreateTable" and self.store.has_resource_policies():
            await self._drop_stale_policies(ctx, body.get("TableName"))
        if is_root(principal):
            return
        record = self.store.principal_of(principal.access_key)
        if record is None:  # the key was revoked after the signature was checked
            raise errors.unrecognized_client()
        identity = self.store.identity_policies(principal.access_key)
        base = base_context(record, self.store.account_id, ctx.region, remote, self._clock(), secure, endpoint_id)
        ids = identifiers(record, principal.arn)
        for check in access.accesses(service, name, body, ctx.region, ctx.account_id, self._stream_arn_of):
            if internal_tables.is_internal(internal_tables.table_of_arn(check.resource)):  # root only
                raise errors.internal_table(principal.arn, check.action, check.resource)
            resource = self._resource_policies(check.resource)
            context = {**base, **check.context}
            needed = _needed(identity) | _needed(resource)
            if check.table and (LEADING_KEYS in needed or ATTRIBUTES in needed or FULL_TABLE_SCAN in needed):
                await self._item_keys(ctx, check, needed, context)
            outcome = iam.authorize(identity, resource, iam.Request(check.action, check.resource, context, ids))
            if outcome.decision is not iam.Decision.ALLOW:
                raise errors.not_authorized(principal.arn, check.action, check.resource, outcome.denied_by)

    def _resource_policies(self, resource: str) -> tuple[iam.Policy, ...]:
        if not self.store.has_resource_policies() or resource == "*":
            return ()
        owner = resource.split("/index/", 1)[0] if "/index/" in resource else resource
        policy = self.store.resource_policy(owner)
        return (policy,) if policy is not None else ()

    async def _item_keys(self, ctx: Any, check: access.Access, needed: frozenset[str], context: dict) -> None:
        try:
            schema = await ctx.engine.key_schema(check.table)
        except DynamoError as error:
            if error.error_type != "ResourceNotFoundException":
                raise
            return  # no such table: nothing to name; the handler answers ResourceNotFound if allowed
        if LEADING_KEYS in needed:
            found = access.leading_keys(check, schema)
            if found is not None:
                context[LEADING_KEYS] = found
        if ATTRIBUTES in needed:
            found = access.attributes(check, schema)
            if found is not None:
                context[ATTRIBUTES] = found
        if FULL_TABLE_SCAN in needed:
            scans = access.full_table_scan(check, schema)
            if scans is not None:
                context[FULL_TABLE_SCAN] = scans

    async def _drop_stale_policies(self, ctx: Any, table: Any) -> None:
        """Before a table is created, forget policies left by an earlier table of that name."""
        if not isinstance(table, str):
            return
        try:
            await ctx.engine.key_schema(access.table_name(table))
            return  # the table exists: CreateTable will fail, its policy stays
        except DynamoError as error:
            if error.error_type != "ResourceNotFoundException":
                raise
        arn = access.table_arn(ctx.region, ctx.account_id, table)
        await self.store.execute(lambda s: principals.drop_resource_policies(s, arn))


def _stream_arn(iterator: str) -> str:
    from . import streams as shared

    return shared.ITERATORS.decode(iterator).arn
