"""Security: authentication, authorization (IAM decisions, resource-based policies), and the
admin API's IAM errors with IAM's own wire names and wording."""

from __future__ import annotations

from .base import DynamoError, validation


def unrecognized_client() -> DynamoError:
    return DynamoError("UnrecognizedClientException", "The security token included in the request is invalid.")


def missing_authentication_token() -> DynamoError:
    return DynamoError("MissingAuthenticationTokenException", "Request is missing Authentication Token")


def invalid_signature(message: str) -> DynamoError:
    return DynamoError("InvalidSignatureException", message)


def access_denied(message: str) -> DynamoError:
    return DynamoError("AccessDeniedException", message)


def internal_table(principal_arn: str, action: str, resource: str) -> DynamoError:
    """A call naming one of the server's own tables (core/internal_tables.py) by anyone but root."""
    return access_denied(f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource} "
                         "because it is an internal table of the server")


def not_authorized(principal_arn: str, action: str, resource: str, denied_by: str | None) -> DynamoError:
    """DynamoDB's AccessDeniedException for an IAM decision (``denied_by``: an explicit deny's source)."""
    head = f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource}"
    if denied_by is not None:
        article = "an" if denied_by == "identity" else "a"
        return access_denied(f"{head} with an explicit deny in {article} {denied_by}-based policy")
    return access_denied(f"{head} because no identity-based policy allows the {action} action")


def policy_not_found(arn: str, revision: str | None = None) -> DynamoError:
    if revision is None:
        message = f"Resource-based policy not found for the provided ResourceArn: {arn}"
    else:
        message = (f"Resource-based policy with the expected revision id {revision} not found for the "
                   f"provided ResourceArn: {arn}")
    return DynamoError("PolicyNotFoundException", message)


def invalid_resource_policy(detail: str) -> DynamoError:
    return validation(f"Invalid resource-based policy document: {detail}")


# IAM's own errors (the admin API, ``DynamoRayAdmin_20261126``), with IAM's wire names and wording.


def no_such_entity(message: str) -> DynamoError:
    return DynamoError("NoSuchEntity", message, status=404)


def entity_already_exists(message: str) -> DynamoError:
    return DynamoError("EntityAlreadyExists", message, status=409)


def malformed_policy_document(message: str) -> DynamoError:
    return DynamoError("MalformedPolicyDocument", message)


def delete_conflict(message: str) -> DynamoError:
    return DynamoError("DeleteConflict", message, status=409)


def iam_limit_exceeded(message: str) -> DynamoError:
    return DynamoError("LimitExceeded", message, status=409)


def iam_validation(message: str) -> DynamoError:
    return DynamoError("ValidationError", message)
