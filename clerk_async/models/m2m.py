"""M2M tokens: the token object and the params of its four operations.

Field names are the wire's snake_case keys; limits and patterns are the spec's.
Timestamps are epoch milliseconds (the spec types them ``number``).
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from clerk_async import _validate as v
from clerk_async._convert import UNSET, Unset, WholeNumber, path_field
from clerk_async.errors import ClerkValidationError
from clerk_async.models.common import Params

__all__ = [
    "M2M_TOKEN_ID_PATTERN",
    "MAX_M2M_LIST_LIMIT",
    "CreateM2MTokenParams",
    "ListM2MTokensParams",
    "M2MToken",
    "M2MTokenList",
    "RevokeM2MTokenParams",
    "VerifyM2MTokenParams",
]

# The spec's patterns, with \w spelled out: JavaScript's \w is ASCII, Python's is not.
M2M_TOKEN_ID_PATTERN = r"mt_[0-9A-Fa-f]{32}"
MACHINE_SUBJECT_PATTERN = r"mch_[0-9A-Za-z_]{27}"
MAX_M2M_LIST_LIMIT = 100
TOKEN_FORMATS = ("opaque", "jwt")

_nullable_reason = v.optional(v.nullable(v.string()))


# --- responses ---------------------------------------------------------------------------


@attrs.define(kw_only=True)
class M2MToken:
    """A machine-to-machine token. ``token`` is only present in the answer to ``create_token``."""

    id: str
    subject: str  # the machine the token belongs to
    revoked: bool
    expired: bool
    created_at: WholeNumber
    updated_at: WholeNumber
    # Required but nullable in the spec; a missing key is read as null.
    revocation_reason: str | None = None
    expiration: WholeNumber | None = None
    last_used_at: WholeNumber | None = None
    claims: Any = None
    scopes: list[str] = attrs.Factory(list)
    token: str | None = attrs.field(default=None, repr=False)
    object: str = "machine_to_machine_token"


@attrs.define(kw_only=True)
class M2MTokenList:
    """The wire shape of ``GET /m2m_tokens``; the pager reads it as a ``Page``."""

    m2m_tokens: list[M2MToken]
    total_count: WholeNumber

    @property
    def data(self) -> list[M2MToken]:
        return self.m2m_tokens


# --- params ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CreateM2MTokenParams(Params):
    """``POST /m2m_tokens``. Every field is optional; ``{}`` mints an opaque token."""

    token_format: Literal["opaque", "jwt"] | Unset = attrs.field(
        default=UNSET, validator=v.optional(v.one_of(TOKEN_FORMATS))
    )
    seconds_until_expiration: float | Unset | None = attrs.field(
        default=UNSET, validator=v.optional(v.nullable(v.positive_number()))
    )
    claims: Any = attrs.field(default=UNSET, validator=v.optional(v.json_value()))
    min_remaining_ttl_seconds: int | Unset = attrs.field(
        default=UNSET, validator=v.optional(v.integer(minimum=0))
    )

    def __attrs_post_init__(self) -> None:
        # The spec: it must be strictly less than the token's lifetime, else a 400.
        ttl = self.seconds_until_expiration
        floor = self.min_remaining_ttl_seconds
        if isinstance(ttl, (int, float)) and floor is not UNSET and floor >= ttl:
            raise ClerkValidationError(
                "min_remaining_ttl_seconds",
                f"must be less than seconds_until_expiration ({ttl:g}), got {floor}",
            )


@attrs.frozen(kw_only=True)
class ListM2MTokensParams(Params):
    """``GET /m2m_tokens`` query. ``None`` for a nullable parameter leaves it out."""

    subject: str = attrs.field(
        validator=v.identifier(MACHINE_SUBJECT_PATTERN, example="mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk")
    )
    revoked: bool | Unset | None = attrs.field(
        default=UNSET, converter=v.null_as_unset, validator=v.optional(v.boolean())
    )
    expired: bool | Unset | None = attrs.field(
        default=UNSET, converter=v.null_as_unset, validator=v.optional(v.boolean())
    )
    limit: int | Unset = attrs.field(
        default=UNSET, validator=v.optional(v.integer(minimum=1, maximum=MAX_M2M_LIST_LIMIT))
    )
    offset: int | Unset | None = attrs.field(
        default=UNSET, converter=v.null_as_unset, validator=v.optional(v.integer(minimum=0))
    )


@attrs.frozen(kw_only=True)
class RevokeM2MTokenParams(Params):
    m2m_token_id: str = path_field(
        validator=v.identifier(M2M_TOKEN_ID_PATTERN, example="mt_f7f0ba8c3b4843ce7d85fcdd5e71853e")
    )
    revocation_reason: str | Unset | None = attrs.field(default=UNSET, validator=_nullable_reason)


@attrs.frozen(kw_only=True)
class VerifyM2MTokenParams(Params):
    token: str = attrs.field(validator=v.string(min_length=1), repr=False)
