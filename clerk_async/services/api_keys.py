"""``clerk.api_keys``: the API keys endpoints of Clerk's Backend API.

The spec names the path parameter ``apiKeyID``; here it is ``api_key_id``, like every
other argument named after the wire's snake_case.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from clerk_async._convert import UNSET, Unset, build_params
from clerk_async.models.api_keys import (
    MAX_API_KEY_LIST_LIMIT,
    APIKey,
    APIKeyDeleted,
    APIKeyIdParams,
    APIKeySecret,
    CreateAPIKeyParams,
    ListAPIKeysParams,
    RevokeAPIKeyParams,
    UpdateAPIKeyParams,
    VerifyAPIKeyParams,
)
from clerk_async.pagination import AsyncPager, Page, paginate

if TYPE_CHECKING:
    import sys

    from clerk_async._transport import CallOptions, Transport

    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack

__all__ = ["APIKeys"]


class APIKeys:
    """Create, read, update, revoke, verify and delete API keys."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def create(
        self,
        params: CreateAPIKeyParams | Mapping[str, Any] | Unset = UNSET,
        /,
        *,
        name: str | Unset = UNSET,
        subject: str | Unset = UNSET,
        type: str | Unset = UNSET,
        description: str | Unset | None = UNSET,
        claims: Any = UNSET,
        scopes: list[str] | Unset = UNSET,
        created_by: str | Unset | None = UNSET,
        seconds_until_expiration: float | Unset | None = UNSET,
        **options: Unpack[CallOptions],
    ) -> APIKey:
        """``POST /api_keys``. The answer is the only place ``secret`` comes with the key.

        Not retried once it may have reached Clerk: a retry could create a second key.
        """
        built = build_params(
            CreateAPIKeyParams,
            params,
            {
                "name": name,
                "subject": subject,
                "type": type,
                "description": description,
                "claims": claims,
                "scopes": scopes,
                "created_by": created_by,
                "seconds_until_expiration": seconds_until_expiration,
            },
        )
        return await self._transport.request("POST", "/api_keys", APIKey, built, options=options)

    async def get(
        self,
        api_key_id: str | APIKeyIdParams | Mapping[str, Any],
        **options: Unpack[CallOptions],
    ) -> APIKey:
        """``GET /api_keys/{apiKeyID}``."""
        params = build_params(APIKeyIdParams, api_key_id, {}, id_field="api_key_id")
        return await self._transport.request(
            "GET", "/api_keys/{api_key_id}", APIKey, params, options=options
        )

    async def update(
        self,
        api_key_id: str | UpdateAPIKeyParams | Mapping[str, Any],
        *,
        claims: Any = UNSET,
        scopes: list[str] | Unset = UNSET,
        description: str | Unset | None = UNSET,
        subject: str | Unset = UNSET,
        seconds_until_expiration: float | Unset | None = UNSET,
        **options: Unpack[CallOptions],
    ) -> APIKey:
        """``PATCH /api_keys/{apiKeyID}``: change only the fields given."""
        params = build_params(
            UpdateAPIKeyParams,
            api_key_id,
            {
                "claims": claims,
                "scopes": scopes,
                "description": description,
                "subject": subject,
                "seconds_until_expiration": seconds_until_expiration,
            },
            id_field="api_key_id",
        )
        return await self._transport.request(
            "PATCH", "/api_keys/{api_key_id}", APIKey, params, options=options
        )

    async def delete(
        self,
        api_key_id: str | APIKeyIdParams | Mapping[str, Any],
        **options: Unpack[CallOptions],
    ) -> APIKeyDeleted:
        """``DELETE /api_keys/{apiKeyID}``."""
        params = build_params(APIKeyIdParams, api_key_id, {}, id_field="api_key_id")
        return await self._transport.request(
            "DELETE", "/api_keys/{api_key_id}", APIKeyDeleted, params, options=options
        )

    async def get_secret(
        self,
        api_key_id: str | APIKeyIdParams | Mapping[str, Any],
        **options: Unpack[CallOptions],
    ) -> APIKeySecret:
        """``GET /api_keys/{apiKeyID}/secret``."""
        params = build_params(APIKeyIdParams, api_key_id, {}, id_field="api_key_id")
        return await self._transport.request(
            "GET", "/api_keys/{api_key_id}/secret", APIKeySecret, params, options=options
        )

    async def revoke(
        self,
        api_key_id: str | RevokeAPIKeyParams | Mapping[str, Any],
        *,
        revocation_reason: str | Unset | None = UNSET,
        **options: Unpack[CallOptions],
    ) -> APIKey:
        """``POST /api_keys/{apiKeyID}/revoke``.

        Retried like a read: revoking a revoked key changes nothing more.
        """
        params = build_params(
            RevokeAPIKeyParams,
            api_key_id,
            {"revocation_reason": revocation_reason},
            id_field="api_key_id",
        )
        return await self._transport.request(
            "POST",
            "/api_keys/{api_key_id}/revoke",
            APIKey,
            params,
            idempotent=True,
            options=options,
        )

    async def verify(
        self,
        secret: str | VerifyAPIKeyParams | Mapping[str, Any] | Unset = UNSET,
        **options: Unpack[CallOptions],
    ) -> APIKey:
        """``POST /api_keys/verify``: the key's record, if ``secret`` is a valid key.

        Retried like a read: verifying changes nothing.
        """
        params = build_params(VerifyAPIKeyParams, secret, {}, id_field="secret")
        return await self._transport.request(
            "POST", "/api_keys/verify", APIKey, params, idempotent=True, options=options
        )

    # Defined last: a method named ``list`` shadows the builtin in annotations below it.
    def list(
        self,
        subject: str | ListAPIKeysParams | Mapping[str, Any] | Unset = UNSET,
        *,
        type: str | Unset = UNSET,
        include_invalid: bool | Unset = UNSET,
        limit: int | Unset = UNSET,
        offset: int | Unset | None = UNSET,
        query: str | Unset = UNSET,
        **options: Unpack[CallOptions],
    ) -> AsyncPager[APIKey]:
        """``GET /api_keys?subject=...``: the keys of a user, organization or machine.

        ``await`` it for one page, or ``async for`` over every key (pages of up to 100).
        """
        params = build_params(
            ListAPIKeysParams,
            subject,
            {
                "type": type,
                "include_invalid": include_invalid,
                "limit": limit,
                "offset": offset,
                "query": query,
            },
            id_field="subject",
        )
        return paginate(
            self._transport,
            "/api_keys",
            Page[APIKey],
            params,
            max_limit=MAX_API_KEY_LIST_LIMIT,
            options=options,
        )
