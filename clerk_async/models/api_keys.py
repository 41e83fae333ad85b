"""API keys: the key object and the params of its eight operations.

Field names are the wire's snake_case keys; limits and patterns are the spec's.
Timestamps are epoch milliseconds (the spec types them ``number``).
"""

from __future__ import annotations

from typing import Any

import attrs

from clerk_async import _validate as v
from clerk_async._convert import UNSET, Unset, WholeNumber, path_field
from clerk_async.models.common import DeletedObject, Params

__all__ = [
    "API_KEY_ID_PATTERN",
    "MAX_API_KEY_LIST_LIMIT",
    "APIKey",
    "APIKeyDeleted",
    "APIKeyIdParams",
    "APIKeySecret",
    "CreateAPIKeyParams",
    "ListAPIKeysParams",
    "RevokeAPIKeyParams",
    "UpdateAPIKeyParams",
    "VerifyAPIKeyParams",
]

# The spec's patterns, with \w spelled out: JavaScript's \w is ASCII, Python's is not.
API_KEY_ID_PATTERN = r"(ak|api_key)_[0-9A-Fa-f]{32}"
SUBJECT_PATTERN = r"(user|org|mch|scim)_[0-9A-Za-z_]{27}"
USER_ID_PATTERN = r"user_[0-9A-Za-z_]{27}"
MAX_API_KEY_LIST_LIMIT = 100

_api_key_id = v.identifier(API_KEY_ID_PATTERN, example="ak_3beecc9c60adb5f9b850e91a8ee1e992")
_subject = v.identifier(SUBJECT_PATTERN, example="user_2xhFjEI5X2qWRvtV13BzSj8H6Dk")
_description = v.optional(v.nullable(v.string(max_length=255)))
_claims = v.optional(v.json_value())
_scopes = v.optional(v.string_list(v.string()))
_seconds = v.optional(v.nullable(v.positive_number()))


# --- responses ---------------------------------------------------------------------------


@attrs.define(kw_only=True)
class APIKey:
    """An API key. ``secret`` is only present in the answer to ``create``."""

    id: str
    type: str
    subject: str  # the user, organization or machine the key acts for
    name: str
    revoked: bool
    expired: bool
    created_at: WholeNumber
    updated_at: WholeNumber
    scopes: list[str] = attrs.Factory(list)
    # Nullable in the spec (all but description also required); a missing key reads as null.
    description: str | None = None
    claims: Any = None
    revocation_reason: str | None = None
    expiration: WholeNumber | None = None
    created_by: str | None = None
    last_used_at: WholeNumber | None = None
    secret: str | None = attrs.field(default=None, repr=False)
    object: str = "api_key"


@attrs.define(kw_only=True)
class APIKeyDeleted(DeletedObject):
    object: str = "api_key"


@attrs.define(kw_only=True)
class APIKeySecret:
    """The answer to ``get_secret``."""

    secret: str = attrs.field(repr=False)


# --- params ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ListAPIKeysParams(Params):
    """``GET /api_keys`` query. ``None`` for the nullable ``offset`` leaves it out."""

    subject: str = attrs.field(validator=_subject)
    type: str | Unset = attrs.field(default=UNSET, validator=v.optional(v.string(min_length=3)))
    include_invalid: bool | Unset = attrs.field(default=UNSET, validator=v.optional(v.boolean()))
    limit: int | Unset = attrs.field(
        default=UNSET, validator=v.optional(v.integer(minimum=1, maximum=MAX_API_KEY_LIST_LIMIT))
    )
    offset: int | Unset | None = attrs.field(
        default=UNSET, converter=v.null_as_unset, validator=v.optional(v.integer(minimum=0))
    )
    query: str | Unset = attrs.field(default=UNSET, validator=v.optional(v.string()))


@attrs.frozen(kw_only=True)
class CreateAPIKeyParams(Params):
    """``POST /api_keys``: ``name`` and ``subject`` are required."""

    name: str = attrs.field(
        # At least 3 characters, no leading or trailing whitespace.
        validator=v.string(min_length=3, pattern=r"(\S(.*\S)?)?")
    )
    subject: str = attrs.field(validator=_subject)
    type: str | Unset = attrs.field(
        default=UNSET, validator=v.optional(v.string(min_length=3, max_length=25))
    )
    description: str | Unset | None = attrs.field(default=UNSET, validator=_description)
    claims: Any = attrs.field(default=UNSET, validator=_claims)
    scopes: list[str] | Unset = attrs.field(default=UNSET, validator=_scopes)
    created_by: str | Unset | None = attrs.field(
        default=UNSET,
        validator=v.optional(
            v.nullable(v.identifier(USER_ID_PATTERN, example="user_2xhFjEI5X2qWRvtV13BzSj8H6Dk"))
        ),
    )
    seconds_until_expiration: float | Unset | None = attrs.field(default=UNSET, validator=_seconds)


@attrs.frozen(kw_only=True)
class APIKeyIdParams(Params):
    """Params of the operations that take only the key id (get, delete, get_secret)."""

    api_key_id: str = path_field(validator=_api_key_id)


@attrs.frozen(kw_only=True)
class UpdateAPIKeyParams(Params):
    """``PATCH /api_keys/{apiKeyID}``: only the fields given are changed."""

    api_key_id: str = path_field(validator=_api_key_id)
    claims: Any = attrs.field(default=UNSET, validator=_claims)
    scopes: list[str] | Unset = attrs.field(default=UNSET, validator=_scopes)
    description: str | Unset | None = attrs.field(default=UNSET, validator=_description)
    subject: str | Unset = attrs.field(default=UNSET, validator=v.optional(_subject))
    seconds_until_expiration: float | Unset | None = attrs.field(default=UNSET, validator=_seconds)


@attrs.frozen(kw_only=True)
class RevokeAPIKeyParams(Params):
    api_key_id: str = path_field(validator=_api_key_id)
    revocation_reason: str | Unset | None = attrs.field(
        default=UNSET, validator=v.optional(v.nullable(v.string()))
    )


@attrs.frozen(kw_only=True)
class VerifyAPIKeyParams(Params):
    secret: str = attrs.field(validator=v.string(min_length=1), repr=False)
