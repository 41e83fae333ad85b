"""FakeClerk's tokens, issued as Clerk issues them: RS256 JWTs under the instance's RSA key.

The key (RSA-2048) is made on first use, so a fake that issues no token costs no key
generation; its public half is served at ``GET /jwks`` with ``kid`` = the instance id,
and as PEM by ``Tokens.public_key_pem`` (what ``Clerk(jwt_key=...)`` takes).
Also here: the opaque OAuth access tokens behind ``POST
/oauth_applications/access_tokens/verify``. Needs ``cryptography`` (``clerk-async[auth]``).
"""

from __future__ import annotations

import base64
import random
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from clerk_async._json import dumps
from clerk_async.testing._store import FakeError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = ["CATEGORY_M2M", "CATEGORY_SESSION", "OAuthTokenRecord", "Tokens"]

CATEGORY_SESSION = "cl_B7d4PD111AAA"
CATEGORY_M2M = "cl_B7d4PD333AAA"
# Claims Clerk sets itself; `claims=` may not override them (BAPI: reserved claim names).
_RESERVED = frozenset({"iss", "sub", "exp", "nbf", "iat", "jti", "azp", "sid", "v"})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@attrs.define(eq=False)
class OAuthTokenRecord:
    """An opaque OAuth access token (``oat_…``) a user granted to an OAuth application."""

    id: str
    token: str = attrs.field(repr=False)
    client_id: str
    subject: str
    scopes: list[str]
    expiration: int | None
    created_at: int
    revoked: bool = False
    revocation_reason: str | None = None


def _encode_permissions(permissions: Iterable[str]) -> tuple[str, str, str]:
    """``org:<feature>:<permission>`` names as session token v2 ``fea``, ``per``, ``fpm``."""
    features: dict[str, set[str]] = {}
    names: list[str] = []
    for full in permissions:
        org, feature, permission = full.split(":", 2)
        if org != "org" or not feature or not permission:
            raise ValueError(f"permissions look like org:<feature>:<permission>, got {full!r}")
        features.setdefault(feature, set()).add(permission)
        if permission not in names:
            names.append(permission)
    fpm = [sum(1 << names.index(p) for p in granted) for granted in features.values()]
    return (
        ",".join(f"o:{f}" for f in features),
        ",".join(names),
        ",".join(str(mask) for mask in fpm),
    )


class Tokens:
    """One instance's signing key and token issuing; ``now_ms`` is the fake's clock."""

    def __init__(self, instance_id: str, now_ms: Callable[[], int], rng: random.Random) -> None:
        self.instance_id = instance_id
        self._now_ms = now_ms
        self._rng = rng
        self._key: RSAPrivateKey | None = None
        self._key_lock = threading.Lock()
        self.oauth_tokens: dict[str, OAuthTokenRecord] = {}
        self._oauth_by_value: dict[str, OAuthTokenRecord] = {}
        # Clerk's Frontend API URL, the `iss` of its session tokens.
        self.issuer = f"https://{instance_id[4:16].lower()}.clerk.accounts.dev"

    @property
    def private_key(self) -> RSAPrivateKey:
        key = self._key
        if key is None:
            # A threaded fake mints in the caller's thread and serves /jwks in its own:
            # the key is made once, under the lock, or tokens would be signed by a lost key.
            with self._key_lock:
                key = self._key
                if key is None:
                    try:
                        from cryptography.hazmat.primitives.asymmetric import rsa
                    except ImportError as exc:
                        raise ImportError(
                            "FakeClerk's tokens need the 'auth' extra: "
                            "pip install 'clerk-async[auth]'"
                        ) from exc
                    key = self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return key

    def rotate_key(self) -> None:
        self._key = None  # the next token or JWKS makes a new one

    @property
    def public_key_pem(self) -> str:
        key = self.private_key  # first: it says what to install if cryptography is missing
        from cryptography.hazmat.primitives import serialization

        return (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def jwks(self) -> dict[str, Any]:
        numbers = self.private_key.public_key().public_numbers()
        key = {
            "use": "sig",
            "kty": "RSA",
            "kid": self.instance_id,
            "alg": "RS256",
            "n": _int_b64(numbers.n),
            "e": _int_b64(numbers.e),
        }
        return {"keys": [key]}

    def sign(self, payload: Mapping[str, Any], header: Mapping[str, Any] | None = None) -> str:
        """An RS256 JWT of ``payload``; ``header`` adds to (or overrides) alg, kid and typ."""
        key = self.private_key  # first: it says what to install if cryptography is missing
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        full_header = {"alg": "RS256", "kid": self.instance_id, "typ": "JWT", **(header or {})}
        signing_input = b64url(dumps(full_header)) + "." + b64url(dumps(dict(payload)))
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(signature)

    def _hex(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"

    def session_token(
        self,
        user_id: str,
        *,
        session_id: str | None = None,
        org_id: str | None = None,
        org_role: str = "admin",
        org_slug: str | None = None,
        org_permissions: Iterable[str] = (),
        azp: str | None = "http://localhost:3000",
        expires_in: float = 60.0,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A session token (version 2 claims) as Clerk's Frontend API mints them."""
        now = self._now_ms() // 1000
        payload: dict[str, Any] = {
            **(claims or {}),
            "iss": self.issuer,
            "sub": user_id,
            "sid": session_id or "sess_" + self._hex()[:27],
            "iat": now,
            "nbf": now - 5,  # Clerk: nbf = now - the allowed clock skew
            "exp": now + int(expires_in),
            "jti": self._hex()[:20],
            "v": 2,
            "sts": "active",
            "fva": [0, -1],
        }
        if azp is not None:
            payload["azp"] = azp
        if org_id is not None:
            org: dict[str, Any] = {"id": org_id, "rol": org_role.removeprefix("org:")}
            if org_slug is not None:
                org["slg"] = org_slug
            permissions = list(org_permissions)
            if permissions:
                payload["fea"], org["per"], org["fpm"] = _encode_permissions(permissions)
            payload["o"] = org
        return self.sign(payload, {"cat": CATEGORY_SESSION})

    def m2m_jwt(
        self,
        token_id: str,
        machine_id: str,
        scopes: list[str],
        claims: Any,
        iat_ms: int,
        exp_ms: int,
    ) -> str:
        """A JWT-format M2M token: RS256, ``cat`` M2M, never stored (as at Clerk)."""
        extra = claims if isinstance(claims, dict) else {}
        payload = {
            **{k: v for k, v in extra.items() if k not in _RESERVED},
            "iss": self.issuer,
            "sub": machine_id,
            "jti": token_id,
            "aud": scopes,
            "scopes": " ".join(scopes),
            "iat": iat_ms // 1000,
            "nbf": iat_ms // 1000 - 5,
            "exp": exp_ms // 1000,
        }
        return self.sign(payload, {"cat": CATEGORY_M2M})

    # -- opaque OAuth access tokens ----------------------------------------------------

    def add_oauth_token(
        self,
        user_id: str,
        client_id: str,
        scopes: Iterable[str] = (),
        expires_in: float | None = 86400.0,
    ) -> OAuthTokenRecord:
        now = self._now_ms()
        record = OAuthTokenRecord(
            id="oat_" + self._hex(),
            token="oat_" + self._hex(),
            client_id=client_id,
            subject=user_id,
            scopes=list(scopes),
            expiration=None if expires_in is None else now + int(expires_in * 1000),
            created_at=now,
        )
        self.oauth_tokens[record.id] = record
        self._oauth_by_value[record.token] = record
        return record

    def verify_oauth_token(self, access_token: str | None = None, secret: str | None = None) -> Any:
        """The spec's answers: the record, ``{"active": false}`` once expired, else a 404."""
        record = self._oauth_by_value.get(access_token or secret or "")
        if record is None:
            raise FakeError.one(404, "resource_not_found", "not found", "OAuth token not found")
        now = self._now_ms()
        expired = record.expiration is not None and now >= record.expiration
        if expired:
            return {"active": False}
        return {
            "object": "clerk_idp_oauth_access_token",
            "id": record.id,
            "client_id": record.client_id,
            "subject": record.subject,
            "scopes": record.scopes,
            "revoked": record.revoked,
            "revocation_reason": record.revocation_reason,
            "expired": False,
            "expiration": record.expiration,
            "created_at": record.created_at,
            "updated_at": record.created_at,
        }
