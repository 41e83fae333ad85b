"""``clerk.m2m``: the M2M token endpoints of Clerk's Backend API.

Creating a token must be authenticated with a machine secret key (``ak_...``); listing,
revoking and verifying accept it too, or else the instance secret key. The machine key
comes from the call's ``machine_secret_key=`` or else ``Clerk(machine_secret_key=...)``.

A client given a machine key uses it for all four, on purpose: verifying with it accepts
only tokens granted to that machine, while the instance key would accept any valid token
of the instance. A service that needs the instance key's wider view of other machines'
tokens uses a client without ``machine_secret_key``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from clerk_async._convert import UNSET, Unset, build_params
from clerk_async.errors import ClerkConfigError
from clerk_async.m2m_source import DEFAULT_MIN_REMAINING, M2MTokenSource
from clerk_async.models.m2m import (
    MAX_M2M_LIST_LIMIT,
    CreateM2MTokenParams,
    ListM2MTokensParams,
    M2MToken,
    M2MTokenList,
    RevokeM2MTokenParams,
    VerifyM2MTokenParams,
)
from clerk_async.pagination import AsyncPager, paginate

if TYPE_CHECKING:
    import sys

    from clerk_async._transport import CallOptions, Transport

    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack

__all__ = ["M2M"]


class M2M:
    """Create, list, revoke and verify machine-to-machine tokens."""

    def __init__(self, transport: Transport, *, machine_secret_key: str | None = None) -> None:
        self._transport = transport
        self._machine_secret_key = machine_secret_key

    def __repr__(self) -> str:
        return f"<M2M machine_secret_key={'set' if self._machine_secret_key else 'unset'}>"

    def _auth(self, options: CallOptions, *, required: bool = False) -> CallOptions:
        """The call's options with the machine secret key to use, if there is one."""
        if options.get("machine_secret_key"):
            return options
        if self._machine_secret_key:
            return {**options, "machine_secret_key": self._machine_secret_key}
        if required:
            raise ClerkConfigError(
                "machine_secret_key",
                "creating an M2M token needs a machine secret key (ak_...): pass "
                "machine_secret_key= to the call or Clerk(machine_secret_key=...)",
            )
        return options

    def token_source(
        self,
        *,
        machine_secret_key: str | None = None,
        token_format: Literal["jwt", "opaque"] = "jwt",
        seconds_until_expiration: float | None = None,
        claims: Any = None,
        min_remaining: float = DEFAULT_MIN_REMAINING,
        clock: Callable[[], float] = time.time,
    ) -> M2MTokenSource:
        """A source of this machine's tokens that mints only when the held one has less
        than ``min_remaining`` seconds left: ``await source.token()``.

        ``token_format`` defaults to ``"jwt"``: Clerk charges a JWT only when created, as
        the receiver verifies it without a call. Hand-written (not generated); see
        :mod:`clerk_async.m2m_source`.
        """
        return M2MTokenSource(
            self,
            machine_secret_key=machine_secret_key,
            token_format=token_format,
            seconds_until_expiration=seconds_until_expiration,
            claims=claims,
            min_remaining=min_remaining,
            clock=clock,
        )

    async def create_token(
        self,
        params: CreateM2MTokenParams | Mapping[str, Any] | Unset = UNSET,
        /,
        *,
        token_format: Literal["opaque", "jwt"] | Unset = UNSET,
        seconds_until_expiration: float | Unset | None = UNSET,
        claims: Any = UNSET,
        min_remaining_ttl_seconds: int | Unset = UNSET,
        **options: Unpack[CallOptions],
    ) -> M2MToken:
        """``POST /m2m_tokens``, as the machine whose secret key authenticates the call.

        The answer is the only place the token itself (``.token``) is shown. Not retried
        once it may have reached Clerk: a retry could mint a second token.
        """
        built = build_params(
            CreateM2MTokenParams,
            params,
            {
                "token_format": token_format,
                "seconds_until_expiration": seconds_until_expiration,
                "claims": claims,
                "min_remaining_ttl_seconds": min_remaining_ttl_seconds,
            },
        )
        return await self._transport.request(
            "POST", "/m2m_tokens", M2MToken, built, options=self._auth(options, required=True)
        )

    def list_tokens(
        self,
        subject: str | ListM2MTokensParams | Mapping[str, Any] | Unset = UNSET,
        *,
        revoked: bool | Unset | None = UNSET,
        expired: bool | Unset | None = UNSET,
        limit: int | Unset = UNSET,
        offset: int | Unset | None = UNSET,
        **options: Unpack[CallOptions],
    ) -> AsyncPager[M2MToken]:
        """``GET /m2m_tokens?subject=mch_...``: the machine's opaque tokens (JWTs are not stored).

        ``await`` it for one page, or ``async for`` over every token (pages of up to 100).
        """
        params = build_params(
            ListM2MTokensParams,
            subject,
            {"revoked": revoked, "expired": expired, "limit": limit, "offset": offset},
            id_field="subject",
        )
        return paginate(
            self._transport,
            "/m2m_tokens",
            M2MTokenList,
            params,
            max_limit=MAX_M2M_LIST_LIMIT,
            options=self._auth(options),
        )

    async def revoke_token(
        self,
        m2m_token_id: str | RevokeM2MTokenParams | Mapping[str, Any],
        *,
        revocation_reason: str | Unset | None = UNSET,
        **options: Unpack[CallOptions],
    ) -> M2MToken:
        """``POST /m2m_tokens/{m2m_token_id}/revoke`` (opaque tokens only).

        Retried like a read: revoking a revoked token changes nothing more.
        """
        params = build_params(
            RevokeM2MTokenParams,
            m2m_token_id,
            {"revocation_reason": revocation_reason},
            id_field="m2m_token_id",
        )
        return await self._transport.request(
            "POST",
            "/m2m_tokens/{m2m_token_id}/revoke",
            M2MToken,
            params,
            idempotent=True,
            options=self._auth(options),
        )

    async def verify_token(
        self,
        token: str | VerifyM2MTokenParams | Mapping[str, Any] | Unset = UNSET,
        **options: Unpack[CallOptions],
    ) -> M2MToken:
        """``POST /m2m_tokens/verify``: the token's record, if it is valid for the caller.

        Retried like a read: verifying changes nothing.
        """
        params = build_params(VerifyM2MTokenParams, token, {}, id_field="token")
        return await self._transport.request(
            "POST",
            "/m2m_tokens/verify",
            M2MToken,
            params,
            idempotent=True,
            options=self._auth(options),
        )
