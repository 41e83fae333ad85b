"""What verifying a token gives: the auth objects, the request state and the error."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias

import attrs

from clerk_async.auth._authorization import Reverification, check_authorization
from clerk_async.errors import ClerkError

if TYPE_CHECKING:
    # A default (PEP 696), so that a bare ``RequestState`` means ``RequestState[Auth]``.
    from typing_extensions import TypeVar
else:
    from typing import TypeVar

__all__ = [
    "TOKEN_TYPES",
    "APIKeyAuth",
    "AcceptsToken",
    "Auth",
    "M2MAuth",
    "OAuthAuth",
    "RequestState",
    "Reverification",
    "SessionAuth",
    "TokenType",
    "TokenVerificationError",
]

TokenType = Literal["session_token", "m2m_token", "api_key", "oauth_token"]
TOKEN_TYPES: tuple[TokenType, ...] = ("session_token", "m2m_token", "api_key", "oauth_token")
AcceptsToken: TypeAlias = TokenType | Literal["any"] | Iterable[TokenType]
"""``accepts_token``: one token type, several, or ``"any"``."""
# Two token types in either order: the overloads of verify_token and co. give their union.
AcceptsSessionOrM2M: TypeAlias = (
    tuple[Literal["session_token"], Literal["m2m_token"]]
    | tuple[Literal["m2m_token"], Literal["session_token"]]
)
AcceptsSessionOrAPIKey: TypeAlias = (
    tuple[Literal["session_token"], Literal["api_key"]]
    | tuple[Literal["api_key"], Literal["session_token"]]
)
AcceptsSessionOrOAuth: TypeAlias = (
    tuple[Literal["session_token"], Literal["oauth_token"]]
    | tuple[Literal["oauth_token"], Literal["session_token"]]
)
AcceptsM2MOrAPIKey: TypeAlias = (
    tuple[Literal["m2m_token"], Literal["api_key"]]
    | tuple[Literal["api_key"], Literal["m2m_token"]]
)
AcceptsM2MOrOAuth: TypeAlias = (
    tuple[Literal["m2m_token"], Literal["oauth_token"]]
    | tuple[Literal["oauth_token"], Literal["m2m_token"]]
)
AcceptsAPIKeyOrOAuth: TypeAlias = (
    tuple[Literal["api_key"], Literal["oauth_token"]]
    | tuple[Literal["oauth_token"], Literal["api_key"]]
)


class TokenVerificationError(ClerkError):
    """A token was refused. ``reason`` is one of the JS SDK's reason codes.

    ``message`` says why in words; neither ever contains the token. ``token_type`` is what
    the token was taken for (None when it could not be told).
    """

    def __init__(self, reason: str, message: str, token_type: TokenType | None = None) -> None:
        super().__init__(f"{message} (reason={reason})")
        self.reason = reason
        self.message = message
        self.token_type = token_type

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reason, self.message, self.token_type))


@attrs.frozen(kw_only=True)
class SessionAuth:
    """A signed-in user's session token. ``claims`` is the whole verified payload."""

    user_id: str
    session_id: str | None
    org_id: str | None = None
    org_role: str | None = None
    org_slug: str | None = None
    org_permissions: list[str] = attrs.Factory(list)
    azp: str | None = None
    session_status: str | None = None  # "active" or "pending" (v2 tokens), else None
    actor: dict[str, Any] | None = None  # set when an admin impersonates the user
    claims: dict[str, Any] = attrs.field(factory=dict, repr=False)
    token_type: Literal["session_token"] = "session_token"

    def has(
        self,
        *,
        role: str | None = None,
        permission: str | None = None,
        feature: str | None = None,
        plan: str | None = None,
        reverification: Reverification | None = None,
    ) -> bool:
        """Whether this session is allowed: Clerk's ``has()`` (JS ``auth.has({...})``).

        True when every check asked passes (and at least one was asked):

        - ``role``: the active organization's role (``"org:admin"``; ``"admin"`` alike).
        - ``permission``: an organization permission (``"org:invoices:read"``), from the
          token's ``org_permissions`` (``o.per``/``o.fpm`` of v2 tokens).
        - ``feature`` / ``plan``: an entitlement of the ``fea`` / ``pla`` claims;
          ``"o:name"`` (``org:``, ``organization:``) asks the organization's,
          ``"u:name"`` (``user:``) the user's, a bare ``"name"`` either.
        - ``reverification``: the factors were verified recently: ``"strict_mfa"``,
          ``"strict"``, ``"moderate"``, ``"lax"``, or ``{"level": "second_factor",
          "after_minutes": 30}`` (from the ``fva`` claim).

        A pending session (``session_status == "pending"``) has nothing, as Clerk treats
        it as signed out. Missing or malformed claims fail closed.
        """
        if self.session_status == "pending":
            return False
        return check_authorization(
            user_id=self.user_id,
            org_id=self.org_id,
            org_role=self.org_role,
            org_permissions=self.org_permissions,
            claims=self.claims,
            role=role,
            permission=permission,
            feature=feature,
            plan=plan,
            reverification=reverification,
        )


class _MachineAuth:
    """Machine tokens carry no organization role, permission or entitlement."""

    __slots__ = ()

    def has(
        self,
        *,
        role: str | None = None,
        permission: str | None = None,
        feature: str | None = None,
        plan: str | None = None,
        reverification: Reverification | None = None,
    ) -> bool:
        """Always False, as JS ``has()`` on a machine's auth object: check ``scopes``."""
        return False


@attrs.frozen(kw_only=True)
class M2MAuth(_MachineAuth):
    """A machine's M2M token (JWT or opaque). ``scopes`` are the machines it may call.

    ``claims`` are the token's custom claims (for a JWT: the payload without ``iss``,
    ``sub``, ``exp``, ``nbf``, ``iat`` and ``jti``, as the JS SDK keeps them).
    """

    machine_id: str
    token_id: str
    scopes: list[str] = attrs.Factory(list)
    claims: dict[str, Any] = attrs.field(factory=dict, repr=False)
    token_type: Literal["m2m_token"] = "m2m_token"


@attrs.frozen(kw_only=True)
class APIKeyAuth(_MachineAuth):
    """An API key, as ``POST /api_keys/verify`` describes it."""

    id: str
    subject: str  # user_..., org_... or mch_...
    name: str
    scopes: list[str] = attrs.Factory(list)
    claims: dict[str, Any] = attrs.field(factory=dict, repr=False)
    token_type: Literal["api_key"] = "api_key"


@attrs.frozen(kw_only=True)
class OAuthAuth(_MachineAuth):
    """An OAuth access token a user granted to an OAuth application (``client_id``)."""

    user_id: str
    client_id: str
    scopes: list[str] = attrs.Factory(list)
    token_id: str = ""
    claims: dict[str, Any] = attrs.field(factory=dict, repr=False)  # a JWT's payload
    token_type: Literal["oauth_token"] = "oauth_token"


Auth = SessionAuth | M2MAuth | APIKeyAuth | OAuthAuth
if TYPE_CHECKING:
    A = TypeVar("A", bound=Auth, covariant=True, default=Auth)
else:  # typing's TypeVar takes no default before Python 3.13
    A = TypeVar("A", bound=Auth, covariant=True)


@attrs.frozen(kw_only=True)
class RequestState(Generic[A]):
    """What ``Clerk.authenticate_request`` found in a request's headers.

    Authenticated: ``auth`` is set and ``reason`` is None. Otherwise ``auth`` is None and
    ``reason`` says why (a ``TokenVerificationError`` reason, ``token-type-mismatch``,
    ``session-token-missing`` or ``"No token in header"``); ``message`` adds words.
    Type checkers see ``auth`` as the types ``accepts_token`` allows
    (``RequestState[SessionAuth]`` by default).
    """

    is_authenticated: bool
    auth: A | None = None
    token_type: TokenType | None = None
    reason: str | None = None
    message: str | None = None

    def has(
        self,
        *,
        role: str | None = None,
        permission: str | None = None,
        feature: str | None = None,
        plan: str | None = None,
        reverification: Reverification | None = None,
    ) -> bool:
        """``auth.has(...)`` of an authenticated request; False when it is not."""
        auth = self.auth
        if auth is None:
            return False
        return auth.has(
            role=role,
            permission=permission,
            feature=feature,
            plan=plan,
            reverification=reverification,
        )
