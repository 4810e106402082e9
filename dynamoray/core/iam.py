"""IAM policies, pure: parse and validate the JSON grammar, and decide a request.

A policy document is ``{"Version", "Id"?, "Statement": statement | [statements]}``; a statement has
``Sid``?, ``Effect`` (Allow | Deny), ``Action`` or ``NotAction``, ``Resource`` or ``NotResource``,
``Condition``?, and, in resource-based policies only, ``Principal`` or ``NotPrincipal``.  Action
names match case-insensitively with ``*``/``?`` wildcards; resources are ARNs matched segment by
segment (``iam_conditions``).  Policy variables are substituted in Resource and Condition values
when the policy's Version is 2012-10-17 (older versions take them literally, as AWS does).

Evaluation is AWS's: within a set of policies an applicable Deny statement wins (DENY), else an
applicable Allow (ALLOW), else NO_MATCH.  :func:`authorize` combines the caller's identity-based
policies with the resource's resource-based policies for a caller of the same account: an explicit
deny in either denies, an allow in either allows, and otherwise the request is implicitly denied.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from .iam_conditions import FOR_ALL, FOR_ANY, NULL, OPERATORS, Clause, Context, arn_match, clause_holds, glob_regex

VERSIONS = ("2012-10-17", "2008-10-17")
VARIABLES_VERSION = "2012-10-17"
_STATEMENT_KEYS = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal", "Condition"}
)
_ACTION = re.compile(r"[A-Za-z0-9*?-]+:[A-Za-z0-9*?]+")
_ACCOUNT = re.compile(r"\d{12}")
_PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")


class Decision(enum.Enum):
    ALLOW = "ALLOW"
    DENY = "DENY"
    NO_MATCH = "NO_MATCH"


class PolicyError(ValueError):
    """The document is not a valid policy; ``str(error)`` says why (IAM's wording where known)."""


@dataclass(frozen=True, slots=True)
class Statement:
    effect: str  # "Allow" | "Deny"
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    sid: str | None = None
    not_action: bool = False
    not_resource: bool = False
    conditions: tuple[Clause, ...] = ()
    principals: tuple[str, ...] | None = None  # resource-based policies only; "*" or ARNs
    not_principal: bool = False
    _action_regex: Any = field(default=None, compare=False, repr=False)  # all of ``actions`` in one regex


@dataclass(frozen=True, slots=True)
class Policy:
    statements: tuple[Statement, ...]
    version: str | None = None
    id: str | None = None
    _keys: frozenset | None = field(default=None, compare=False, repr=False)

    @property
    def variables(self) -> bool:
        return self.version == VARIABLES_VERSION

    def condition_keys(self) -> frozenset[str]:
        """Every condition key (lower-cased) the policy's conditions test (computed once)."""
        if self._keys is None:
            object.__setattr__(self, "_keys", frozenset(c.key for s in self.statements for c in s.conditions))
        return self._keys


@dataclass(frozen=True, slots=True)
class Request:
    """One action on one resource, with the request context (lower-cased keys, see iam_conditions).

    ``principals`` identifies the caller for resource-based policies' ``Principal``: its own ARN
    and, for a role session, the role's ARN (``arn:aws:iam::<account>:root`` for the account)."""

    action: str
    resource: str
    context: Context
    principals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    decision: Decision
    denied_by: str | None = None  # "identity" | "resource" for an explicit deny


# --- parsing -------------------------------------------------------------------------------------


def parse_policy(document: str | Mapping[str, Any], *, resource_policy: bool = False) -> Policy:
    """Parse and validate a policy document (JSON text or an already-decoded object)."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            raise PolicyError("Syntax errors in policy.") from None
    if not isinstance(document, dict):
        raise PolicyError("Syntax errors in policy.")
    unknown = set(document) - {"Version", "Id", "Statement"}
    if unknown:
        raise PolicyError(f"Syntax errors in policy. Unknown field {sorted(unknown)[0]}")
    version = document.get("Version")
    if version is not None and version not in VERSIONS:
        raise PolicyError("The policy failed legacy parsing")
    raw = document.get("Statement")
    raw_statements = [raw] if isinstance(raw, dict) else raw
    if not isinstance(raw_statements, list) or not raw_statements:
        raise PolicyError("Syntax errors in policy. Statement must be an object or a non-empty list")
    statements = tuple(_statement(s, resource_policy) for s in raw_statements)
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        raise PolicyError("Statement IDs (SID) in a single policy must be unique.")
    policy_id = document.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise PolicyError("Syntax errors in policy. Id must be a string")
    return Policy(statements, version, policy_id)


def _strings(value: Any, what: str) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise PolicyError(f"Syntax errors in policy. {what} must be a string or a non-empty list of strings")
    return tuple(values)


def _one_of(raw: dict, name: str, what: str) -> tuple[tuple[str, ...], bool] | None:
    present = [k for k in (name, f"Not{name}") if k in raw]
    if len(present) == 2:
        raise PolicyError(f"Syntax errors in policy. A statement cannot have both {name} and Not{name}")
    if not present:
        return None
    return _strings(raw[present[0]], present[0]), present[0].startswith("Not")


def _statement(raw: Any, resource_policy: bool) -> Statement:
    if not isinstance(raw, dict):
        raise PolicyError("Syntax errors in policy. A statement must be an object")
    unknown = set(raw) - _STATEMENT_KEYS
    if unknown:
        raise PolicyError(f"Syntax errors in policy. Unknown field {sorted(unknown)[0]}")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"Invalid effect: {effect}")
    sid = raw.get("Sid")
    if sid is not None and (not isinstance(sid, str) or not re.fullmatch(r"[A-Za-z0-9 ]*", sid)):
        raise PolicyError("Statement IDs (SID) must be alpha-numeric.")
    actions = _one_of(raw, "Action", "Action")
    if actions is None:
        raise PolicyError("Policy statement must contain actions.")
    for action in actions[0]:
        if action != "*" and not _ACTION.fullmatch(action):
            raise PolicyError(f"Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc. ({action})")
    resources = _one_of(raw, "Resource", "Resource")
    if resources is None:
        raise PolicyError("Policy statement must contain resources.")
    for resource in resources[0]:
        if resource != "*" and not (resource.startswith("arn:") and resource.count(":") >= 5):
            raise PolicyError(f'Resource {resource} must be in ARN format or "*".')
    principals, not_principal = _principals(raw, resource_policy)
    return Statement(
        effect=effect, actions=actions[0], not_action=actions[1], resources=resources[0],
        not_resource=resources[1], sid=sid, conditions=_conditions(raw.get("Condition")),
        principals=principals, not_principal=not_principal,
        _action_regex=_actions_regex(actions[0]),
    )


def _principals(raw: dict, resource_policy: bool) -> tuple[tuple[str, ...] | None, bool]:
    present = [k for k in ("Principal", "NotPrincipal") if k in raw]
    if not resource_policy:
        if present:
            raise PolicyError("Policy document should not specify a principal.")
        return None, False
    if len(present) != 1:
        raise PolicyError("Policy statement must contain exactly one of Principal or NotPrincipal.")
    value = raw[present[0]]
    if value == "*":
        return ("*",), present[0] == "NotPrincipal"
    if not isinstance(value, dict) or not value or set(value) - set(_PRINCIPAL_TYPES):
        raise PolicyError("Invalid principal in policy")
    out = []
    for kind, ids in value.items():
        for ident in _strings(ids, "Principal"):
            out.append(_principal_id(kind, ident))
    return tuple(out), present[0] == "NotPrincipal"


def _principal_id(kind: str, ident: str) -> str:
    if kind != "AWS":
        return f"{kind}:{ident}"  # never matches a caller of this server
    if ident == "*":
        return "*"
    if _ACCOUNT.fullmatch(ident):
        return f"arn:aws:iam::{ident}:root"
    if not ident.startswith("arn:") or "*" in ident or "?" in ident:
        raise PolicyError(f'Invalid principal in policy: "AWS":"{ident}"')
    return ident


def _split_operator(name: str) -> tuple[str | None, str, bool]:
    qualifier = None
    for prefix in (FOR_ALL, FOR_ANY):
        if name.startswith(prefix + ":"):
            qualifier, name = prefix, name[len(prefix) + 1:]
    if_exists = name.endswith("IfExists") and name != "IfExists"
    base = name[: -len("IfExists")] if if_exists else name
    if base not in OPERATORS and base != NULL or (base == NULL and (if_exists or qualifier)):
        raise PolicyError(f"Invalid Condition type : {name}")
    return qualifier, base, if_exists


def _condition_values(value: Any, operator: str, key: str) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    out = []
    for item in values:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (str, int, float)):
            out.append(str(item))
        else:
            raise PolicyError(f"Syntax errors in policy. Invalid value for {operator} {key}")
    if not out:
        raise PolicyError(f"Syntax errors in policy. Empty value list for {operator} {key}")
    return tuple(out)


def _conditions(raw: Any) -> tuple[Clause, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise PolicyError("Syntax errors in policy. Condition must be an object")
    clauses = []
    for name, block in raw.items():
        qualifier, operator, if_exists = _split_operator(name)
        if not isinstance(block, dict) or not block:
            raise PolicyError(f"Syntax errors in policy. Condition {name} must map keys to values")
        for key, value in block.items():
            if not isinstance(key, str) or not key:
                raise PolicyError("Syntax errors in policy. Condition keys must be strings")
            clauses.append(Clause(operator, key.lower(), _condition_values(value, name, key), qualifier, if_exists))
    return tuple(clauses)


# --- evaluation ----------------------------------------------------------------------------------


def _actions_regex(actions: Sequence[str]) -> re.Pattern:
    return re.compile("|".join(f"(?:{glob_regex(a, None, ignore_case=True).pattern})" for a in actions), re.S | re.I)


def _principal_matches(statement: Statement, principals: Sequence[str]) -> bool:
    hit = "*" in statement.principals or any(p in statement.principals for p in principals)
    return hit != statement.not_principal


def statement_applies(statement: Statement, request: Request, variables: bool = True) -> bool:
    """Does the statement cover this request (action, resource, principal and conditions)?

    Written as plain loops: it runs for every statement of every policy on every request."""
    regex = statement._action_regex or _actions_regex(statement.actions)
    if (regex.fullmatch(request.action) is None) != statement.not_action:
        return False
    ctx = request.context if variables else None
    hit = False
    for pattern in statement.resources:
        if arn_match(pattern, request.resource, ctx):
            hit = True
            break
    if hit == statement.not_resource:
        return False
    if statement.principals is not None and not _principal_matches(statement, request.principals):
        return False
    for clause in statement.conditions:
        if not clause_holds(clause, request.context, variables):
            return False
    return True


def evaluate(policies: Iterable[Policy], request: Request) -> Decision:
    """Explicit deny wins, then allow, else no match (the caller decides what no match means)."""
    allowed = False
    for policy in policies:
        variables = policy.variables
        for statement in policy.statements:
            if statement.effect == "Allow" and allowed:
                continue
            if statement_applies(statement, request, variables):
                if statement.effect == "Deny":
                    return Decision.DENY
                allowed = True
    return Decision.ALLOW if allowed else Decision.NO_MATCH


def authorize(identity: Iterable[Policy], resource: Iterable[Policy], request: Request) -> Outcome:
    """The decision for a caller of the resource's own account (AWS's same-account logic)."""
    mine = evaluate(identity, request)
    if mine is Decision.DENY:
        return Outcome(Decision.DENY, "identity")
    theirs = evaluate(resource, request)
    if theirs is Decision.DENY:
        return Outcome(Decision.DENY, "resource")
    if Decision.ALLOW in (mine, theirs):
        return Outcome(Decision.ALLOW)
    return Outcome(Decision.NO_MATCH)
