"""Authenticating requests: session tokens, M2M tokens, API keys and OAuth tokens.

Verify with a client: ``await clerk.verify_token(token, accepts_token=...)`` or
``await clerk.authenticate_request(request.headers, accepts_token=...)``. JWTs are
verified networkless with ``Clerk(jwt_key=PEM)`` (or ``CLERK_JWT_KEY``), else with the
instance's JWKS; opaque ``mt_``/``ak_``/``oat_`` tokens by their Backend API endpoint.
Needs the ``auth`` extra (``pip install 'clerk-async[auth]'``) for the cryptography.
"""

from clerk_async.auth._types import (
    TOKEN_TYPES,
    APIKeyAuth,
    Auth,
    M2MAuth,
    OAuthAuth,
    RequestState,
    Reverification,
    SessionAuth,
    TokenType,
    TokenVerificationError,
)

__all__ = [
    "TOKEN_TYPES",
    "APIKeyAuth",
    "Auth",
    "M2MAuth",
    "OAuthAuth",
    "RequestState",
    "Reverification",
    "SessionAuth",
    "TokenType",
    "TokenVerificationError",
]
