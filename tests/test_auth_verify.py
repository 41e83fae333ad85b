"""clerk.verify_token and clerk.authenticate_request over real HTTP against FakeClerk.

The security corpus (issue 13 §6) runs every case through both entry points: each is
refused with the expected reason, raises nothing but TokenVerificationError (and
authenticate_request nothing at all), and never repeats the token in a message.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import pickle
import random
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from multidict import CIMultiDict

from clerk_async import Clerk, ClerkConfigError, ClerkValidationError, _json
from clerk_async.auth import (
    APIKeyAuth,
    M2MAuth,
    OAuthAuth,
    RequestState,
    SessionAuth,
    TokenVerificationError,
)
from clerk_async.testing import FakeClerk, Faults
from tests._recorder import RecordingServer

USER = "user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr"
JWKS_ROUTE = ("GET", "/v1/jwks")
REASONS_SEEN: set[str] = set()  # every reason a test below asserted (see the last test)


def b64(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def now() -> int:
    return int(time.time())


def claims(**changes: Any) -> dict[str, Any]:
    """Session claims valid for minutes either side: no test depends on the wall clock."""
    t = now()
    base = {"sub": USER, "sid": "sess_1", "iat": t, "nbf": t - 5, "exp": t + 300, "v": 2}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


@attrs.define
class FakeClock:
    t: float = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def fake() -> AsyncIterator[FakeClerk]:
    async with FakeClerk(rate_limit=None) as started:
        yield started


@pytest.fixture
async def clerk(fake: FakeClerk) -> AsyncIterator[Clerk]:
    async with fake.client(max_retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def other() -> FakeClerk:
    """Another Clerk instance, never started: only its key signs."""
    return FakeClerk(rate_limit=None)


def jwks_fetches(fake: FakeClerk) -> int:
    return fake.stats.requests[JWKS_ROUTE]


async def refreshed(clerk: Clerk) -> None:
    """Wait for the JWKS refresh in flight, if any (a key past its time starts one)."""
    task = clerk._authenticator.jwks._inflight
    if task is not None:
        await task


async def refused(clerk: Clerk, token: str, reason: str, **options: Any) -> TokenVerificationError:
    with pytest.raises(TokenVerificationError) as caught:
        await clerk.verify_token(token, **options)
    error = caught.value
    assert type(error) is TokenVerificationError
    assert (error.reason, token) == (reason, token)  # the token, to tell cases apart
    assert token not in str(error)
    assert token not in repr(error)
    REASONS_SEEN.add(reason)
    return error


# --- the corpus ------------------------------------------------------------------------

Builder = Callable[[FakeClerk, FakeClerk], str]


def _hs256_with_public_key(fake: FakeClerk, _: FakeClerk) -> str:
    signing_input = (
        f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': fake.instance_id})}.{b64(claims())}"
    )
    mac = hmac.new(fake.jwt_key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def _flip_signature(token: str) -> str:
    head, _, sig = token.rpartition(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[10] ^= 0x01
    return f"{head}.{b64(bytes(raw))}"


def _m2m_claims(**changes: Any) -> dict[str, Any]:
    return claims(sub="mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk", jti="mt_1", sid=None, v=None, **changes)


CORPUS: dict[str, tuple[Builder, dict[str, Any], str]] = {
    "alg none, empty signature": (
        lambda f, o: f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims())}.",
        {},
        "token-invalid",
    ),
    "alg none, with a signature": (
        lambda f, o: f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims())}.{b64(b'x' * 32)}",
        {},
        "token-invalid-algorithm",
    ),
    "HS256 signed with the RSA public key": (_hs256_with_public_key, {}, "token-invalid-algorithm"),
    "RS384": (lambda f, o: f.sign_jwt(claims(), {"alg": "RS384"}), {}, "token-invalid-algorithm"),
    "ES256": (lambda f, o: f.sign_jwt(claims(), {"alg": "ES256"}), {}, "token-invalid-algorithm"),
    "no alg": (lambda f, o: f.sign_jwt(claims(), {"alg": None}), {}, "token-invalid-algorithm"),
    "unknown kid": (
        lambda f, o: f.sign_jwt(claims(), {"kid": "ins_unknown"}),
        {},
        "jwk-kid-mismatch",
    ),
    "no kid": (lambda f, o: f.sign_jwt(claims(), {"kid": None}), {}, "jwk-kid-mismatch"),
    "kid of another instance": (lambda f, o: o.session_token(USER), {}, "jwk-kid-mismatch"),
    "our kid, another instance's key": (
        lambda f, o: o.sign_jwt(claims(), {"kid": f.instance_id}),
        {},
        "token-invalid-signature",
    ),
    "expired": (lambda f, o: f.session_token(USER, expires_in=-10), {}, "token-expired"),
    "expired and badly signed: the signature first": (
        lambda f, o: _flip_signature(f.session_token(USER, expires_in=-3600)),
        {},
        "token-invalid-signature",
    ),
    "nbf in the future beyond the skew": (
        lambda f, o: f.sign_jwt(claims(nbf=now() + 60)),
        {},
        "token-not-active-yet",
    ),
    "iat in the future beyond the skew": (
        lambda f, o: f.sign_jwt(claims(iat=now() + 60)),
        {},
        "token-iat-in-the-future",
    ),
    "azp not allowed": (
        lambda f, o: f.session_token(USER, azp="https://evil.test"),
        {"authorized_parties": ["https://app.test"]},
        "token-invalid-authorized-parties",
    ),
    "azp missing where parties are set": (
        lambda f, o: f.session_token(USER, azp=None),
        {"authorized_parties": ["https://app.test"]},
        "token-invalid-authorized-parties",
    ),
    "wrong audience": (
        lambda f, o: f.sign_jwt(claims(aud="other-api")),
        {"audience": "my-api"},
        "token-verification-failed",
    ),
    "no audience where one is required": (
        lambda f, o: f.sign_jwt(claims()),
        {"audience": "my-api"},
        "token-verification-failed",
    ),
    "no sub": (lambda f, o: f.sign_jwt(claims(sub=None)), {}, "token-verification-failed"),
    "no exp": (lambda f, o: f.sign_jwt(claims(exp=None)), {}, "token-verification-failed"),
    "M2M category, user subject, as a session": (
        lambda f, o: f.sign_jwt(claims(), {"cat": "cl_B7d4PD333AAA"}),
        {},
        "token-type-mismatch",
    ),
    "M2M JWT as a session": (lambda f, o: f.sign_jwt(_m2m_claims()), {}, "token-type-mismatch"),
    "template JWT as a session": (
        lambda f, o: f.sign_jwt(claims(sid=None), {"cat": "cl_B7d4PD222AAA"}),
        {"accepts_token": "any"},  # JS accepts it here (reference §1.3 rule 7); we do not
        "token-type-mismatch",
    ),
    "unknown category as a session": (
        lambda f, o: f.sign_jwt(claims(), {"cat": "cl_future"}),
        {},
        "token-type-mismatch",
    ),
    "OAuth JWT as a session": (
        lambda f, o: f.sign_jwt(claims(client_id="c"), {"typ": "at+jwt"}),
        {},
        "token-type-mismatch",
    ),
    "session JWT as M2M": (
        lambda f, o: f.session_token(USER),
        {"accepts_token": "m2m_token"},
        "token-type-mismatch",
    ),
    "OAuth payload typed JWT, as OAuth": (
        lambda f, o: f.sign_jwt(claims(client_id="c")),
        {"accepts_token": "oauth_token"},
        "token-type-mismatch",
    ),
    "M2M JWT of session category": (
        lambda f, o: f.sign_jwt(_m2m_claims(), {"cat": "cl_B7d4PD111AAA"}),
        {"accepts_token": "m2m_token"},
        "token-invalid",
    ),
    "M2M JWT of template category": (
        lambda f, o: f.sign_jwt(_m2m_claims(), {"cat": "cl_B7d4PD222AAA"}),
        {"accepts_token": "m2m_token"},
        "token-invalid",
    ),
    "M2M JWT of the ignore category": (
        lambda f, o: f.sign_jwt(_m2m_claims(), {"cat": "cl_I7d4PD111III"}),
        {"accepts_token": "m2m_token"},
        "token-invalid",
    ),
    "M2M JWT with alg none": (
        lambda f, o: f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(_m2m_claims())}.{b64(b'x')}",
        {"accepts_token": "m2m_token"},
        "token-invalid-algorithm",
    ),
    "M2M JWT expired": (
        lambda f, o: f.sign_jwt(_m2m_claims(exp=now() - 60), {"cat": "cl_B7d4PD333AAA"}),
        {"accepts_token": "m2m_token"},
        "token-expired",
    ),
    "OAuth JWT with alg none": (
        lambda f, o: f"{b64({'alg': 'none', 'typ': 'at+jwt'})}.{b64(claims())}.{b64(b'x')}",
        {"accepts_token": "oauth_token"},
        "token-invalid-algorithm",
    ),
    "OAuth JWT expired": (
        lambda f, o: f.sign_jwt(claims(exp=now() - 60), {"typ": "at+jwt"}),
        {"accepts_token": "oauth_token"},
        "token-expired",
    ),
    "typ jwt, lower case": (lambda f, o: f.sign_jwt(claims(), {"typ": "jwt"}), {}, "token-invalid"),
    "truncated signature": (lambda f, o: f.session_token(USER)[:-4], {}, "token-invalid-signature"),
    "truncated to two parts": (
        lambda f, o: f.session_token(USER).rpartition(".")[0],
        {},
        "token-invalid",
    ),
    "garbled base64": (
        lambda f, o: f.session_token(USER).replace(".", ".*", 1),
        {},
        "token-invalid",
    ),
    "payload not JSON": (
        lambda f, o: f"{b64({'alg': 'RS256'})}.{b64(b'not json')}.{b64(b'x')}",
        {},
        "token-invalid",
    ),
    "deeply nested JSON": (
        lambda f, o: f"{b64({'alg': 'RS256'})}.{b64(b'[' * 5000 + b']' * 5000)}.{b64(b'x')}",
        {},
        "token-invalid",
    ),
    "a 100 kB token": (
        lambda f, o: f.sign_jwt(claims(pad="x" * 100_000)),
        {},
        "token-invalid",
    ),
    "JS fixture: Bearer test_header_token": (lambda f, o: "test_header_token", {}, "token-invalid"),
    "JS fixture: invalid.jwt.token": (lambda f, o: "invalid.jwt.token", {}, "token-invalid"),
    "opaque M2M token where sessions are expected": (
        lambda f, o: "mt_8XOIucKvqHVr5tYP123456789abcdefghij",
        {},
        "token-type-mismatch",
    ),
}

# Refused before any key is needed: not even a JWKS request.
NO_REQUEST = {
    name
    for name, (_, _, reason) in CORPUS.items()
    if reason in ("token-invalid", "token-invalid-algorithm", "token-type-mismatch")
}


@pytest.mark.parametrize("name", list(CORPUS))
async def test_security_corpus(name: str, fake: FakeClerk, clerk: Clerk, other: FakeClerk) -> None:
    build, options, reason = CORPUS[name]
    token = build(fake, other)
    fake.session_token(USER)  # make the key before counting, so that it is not a variable
    before = len(fake.requests)
    await refused(clerk, token, reason, **options)
    if name in NO_REQUEST:
        assert len(fake.requests) == before  # a malformed token costs no request
    state = await clerk.authenticate_request({"Authorization": f"Bearer {token}"}, **options)
    assert (state.is_authenticated, state.auth, state.reason) == (False, None, reason)
    assert token not in (state.message or "")


# --- opaque tokens ---------------------------------------------------------------------


async def test_opaque_tokens_go_to_their_verify_endpoint_with_the_spec_body(
    fake: FakeClerk, clerk: Clerk
) -> None:
    caller = fake.add_machine("caller")
    receiver = fake.add_machine("receiver")
    caller.scopes[receiver.id] = 0
    m2m = fake.add_m2m_token(caller.id, claims={"team": "billing"})
    key = fake.add_api_key(USER, name="ci-key", scopes=["read:foo"], claims={"foo": "bar"})
    oat = fake.add_oauth_token(USER, scopes=["read", "write"])

    auth = await clerk.verify_token(m2m.token, accepts_token="m2m_token")
    assert auth == M2MAuth(
        machine_id=caller.id, token_id=m2m.id, scopes=[receiver.id], claims={"team": "billing"}
    )
    assert (fake.requests[-1].path, fake.requests[-1].json) == (
        "/v1/m2m_tokens/verify",
        {"token": m2m.token},
    )
    auth = await clerk.verify_token(key.secret, accepts_token=["api_key"])
    assert auth == APIKeyAuth(
        id=key.id, subject=USER, name="ci-key", scopes=["read:foo"], claims={"foo": "bar"}
    )
    assert (fake.requests[-1].path, fake.requests[-1].json) == (
        "/v1/api_keys/verify",
        {"secret": key.secret},
    )
    auth = await clerk.verify_token(oat.token, accepts_token="any")
    assert auth == OAuthAuth(
        user_id=USER,
        client_id="client_2VTWUzvGC5UhdJCNx6xG1D98edc",
        scopes=["read", "write"],
        token_id=oat.id,
    )
    assert (fake.requests[-1].path, fake.requests[-1].json) == (
        "/v1/oauth_applications/access_tokens/verify",
        {"access_token": oat.token},
    )
    assert jwks_fetches(fake) == 0


async def test_revoked_expired_and_unknown_opaque_tokens(fake: FakeClerk, clerk: Clerk) -> None:
    machine = fake.add_machine("caller")
    revoked = fake.add_m2m_token(machine.id)
    fake.m2m_tokens[revoked.id].revoked = True
    expiring = fake.add_m2m_token(machine.id, seconds_until_expiration=60)
    revoked_key = fake.add_api_key(USER)
    fake.api_keys[revoked_key.id].revoked = True
    expiring_key = fake.add_api_key(USER, seconds_until_expiration=60)
    revoked_oat = fake.add_oauth_token(USER)
    revoked_oat.revoked = True  # the fake answers 200 with revoked: true, as the spec allows
    expiring_oat = fake.add_oauth_token(USER, expires_in=60)
    fake.advance_time(120)
    any_type = {"accepts_token": "any"}
    for token in (revoked.token, expiring.token, "mt_" + "0" * 32):
        error = await refused(clerk, token, "token-invalid", **any_type)
        assert (error.token_type, error.message) == ("m2m_token", "Machine token not found.")
    for token in (revoked_key.secret, expiring_key.secret, "ak_" + "0" * 32):
        error = await refused(clerk, token, "token-invalid", **any_type)
        assert error.token_type == "api_key"
    error = await refused(clerk, revoked_oat.token, "token-invalid", **any_type)
    assert error.message == "OAuth token has been revoked."
    error = await refused(clerk, expiring_oat.token, "token-expired", **any_type)  # active: false
    await refused(clerk, "oat_" + "0" * 32, "token-invalid", **any_type)


async def test_a_machine_secret_key_verifies_only_tokens_granted_to_its_machine(
    fake: FakeClerk,
) -> None:
    caller = fake.add_machine("caller")
    receiver = fake.add_machine("receiver")
    stranger = fake.add_machine("stranger")
    caller.scopes[receiver.id] = 0
    granted = fake.add_m2m_token(caller.id)
    other = fake.add_m2m_token(stranger.id)
    async with fake.client(machine_secret_key=receiver.secret_key, max_retries=0) as clerk:
        auth = await clerk.verify_token(granted.token, accepts_token="m2m_token")
        assert isinstance(auth, M2MAuth)
        assert auth.machine_id == caller.id
        await refused(clerk, other.token, "token-invalid", accepts_token="m2m_token")


async def test_clerk_failures_are_not_blamed_on_the_token(fake: FakeClerk, clerk: Clerk) -> None:
    machine = fake.add_machine("caller")
    token = fake.add_m2m_token(machine.id).token
    key = fake.add_api_key(USER).secret
    fake.faults = Faults(error_rate=1.0, error_after_apply_fraction=0.0)
    for value, kind in ((token, "m2m_token"), (key, "api_key"), ("oat_" + "1" * 32, "oauth_token")):
        error = await refused(clerk, value, "unexpected-error", accepts_token="any")
        assert error.token_type == kind
    fake.faults = Faults()
    async with Clerk("sk_test_wrong", base_url=fake.url, max_retries=0) as wrong:
        await refused(wrong, token, "secret-key-invalid", accepts_token="any")
        await refused(wrong, fake.session_token(USER), "secret-key-invalid")


async def test_unreachable_clerk_is_unexpected_error(fake: FakeClerk) -> None:
    url = fake.url
    await fake.close()  # nothing listens on its port any more
    async with Clerk(fake.secret_key, base_url=url, max_retries=0) as clerk:
        await refused(clerk, "mt_" + "0" * 32, "unexpected-error", accepts_token="m2m_token")
        await refused(clerk, fake.session_token(USER), "jwk-remote-failed-to-load")


# --- JWTs that verify --------------------------------------------------------------------


async def test_valid_jwts_of_each_type(fake: FakeClerk, clerk: Clerk) -> None:
    token = fake.session_token(
        USER,
        session_id="sess_2GbDB4enNdCa5vS1zpC3Xzg9tK9",
        org_id="org_1",
        org_slug="acme",
        org_permissions=["org:billing:read", "org:billing:manage"],
        azp="https://app.test",
    )
    auth = await clerk.verify_token(token, authorized_parties=["", "https://app.test"])
    assert isinstance(auth, SessionAuth)
    assert (auth.user_id, auth.session_id, auth.org_id, auth.org_role, auth.org_slug) == (
        USER,
        "sess_2GbDB4enNdCa5vS1zpC3Xzg9tK9",
        "org_1",
        "org:admin",
        "acme",
    )
    assert auth.org_permissions == ["org:billing:read", "org:billing:manage"]
    assert (auth.azp, auth.session_status, auth.claims["iss"]) == (
        "https://app.test",
        "active",
        fake._store.tokens.issuer,
    )

    caller = fake.add_machine("caller")
    receiver = fake.add_machine("receiver")
    caller.scopes[receiver.id] = 0
    m2m = fake.m2m_jwt(caller.id, claims={"team": "billing"})
    auth = await clerk.verify_token(m2m, accepts_token="m2m_token", audience=receiver.id)
    assert isinstance(auth, M2MAuth)
    assert (auth.machine_id, auth.scopes, auth.claims["team"]) == (
        caller.id,
        [receiver.id],
        "billing",
    )
    assert auth.token_id.startswith("mt_")

    for typ in ("at+jwt", "application/at+jwt"):
        oauth = fake.sign_jwt(
            claims(sid=None, v=None, client_id="client_1", scope="read:foo write:bar", jti="oat_1"),
            {"typ": typ},
        )
        auth = await clerk.verify_token(oauth, accepts_token="oauth_token")
        assert auth == OAuthAuth(
            user_id=USER,
            client_id="client_1",
            scopes=["read:foo", "write:bar"],
            token_id="oat_1",
            claims=auth.claims,
        )
    no_cat = fake.sign_jwt(_m2m_claims())  # before the cat rollout (JS T25)
    assert isinstance(await clerk.verify_token(no_cat, accepts_token="m2m_token"), M2MAuth)
    assert jwks_fetches(fake) == 1


async def test_m2m_jwts_minted_by_the_api_verify(fake: FakeClerk, clerk: Clerk) -> None:
    machine = fake.add_machine("caller")
    async with fake.client(machine_secret_key=machine.secret_key) as as_machine:
        minted = await as_machine.m2m.create_token(token_format="jwt")
    assert minted.token is not None
    auth = await clerk.verify_token(minted.token, accepts_token="m2m_token")
    assert isinstance(auth, M2MAuth)
    assert auth.token_id == minted.id
    header = json.loads(base64.urlsafe_b64decode(minted.token.split(".")[0] + "=="))
    assert header == {
        "alg": "RS256",
        "kid": fake.instance_id,
        "typ": "JWT",
        "cat": "cl_B7d4PD333AAA",
    }


def test_fake_tokens_verify_with_an_independent_verifier() -> None:
    jwt = pytest.importorskip("jwt")
    fake = FakeClerk()
    token = fake.session_token(USER)
    payload = jwt.decode(token, fake.jwt_key, algorithms=["RS256"])
    assert payload["sub"] == USER
    jwk = fake._store.tokens.jwks()["keys"][0]
    key = jwt.PyJWK(jwk).key
    assert jwt.decode(token, key, algorithms=["RS256"])["sid"].startswith("sess_")


async def test_clock_skew_is_honoured(fake: FakeClerk, clerk: Clerk) -> None:
    token = fake.session_token(USER, expires_in=-10)
    assert isinstance(await clerk.verify_token(token, clock_skew=30), SessionAuth)
    await refused(clerk, token, "token-expired", clock_skew=0)
    early = fake.sign_jwt(claims(nbf=now() + 20, iat=now() + 20))
    assert isinstance(await clerk.verify_token(early, clock_skew=60), SessionAuth)


# --- keys ----------------------------------------------------------------------------------


async def test_jwt_key_verifies_with_zero_requests(
    fake: FakeClerk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLERK_SECRET_KEY", raising=False)
    caller = fake.add_machine("caller")
    tokens = {
        "session_token": fake.session_token(USER),
        "m2m_token": fake.m2m_jwt(caller.id),
        "oauth_token": fake.sign_jwt(claims(client_id="c"), {"typ": "at+jwt"}),
    }
    before = len(fake.requests)
    async with Clerk(jwt_key=fake.jwt_key, base_url=fake.url) as clerk:
        for kind, token in tokens.items():
            assert (await clerk.verify_token(token, accepts_token=kind)).token_type == kind
        # The kid is not matched with a PEM (JS): only the signature tells instances apart.
        await refused(clerk, FakeClerk().session_token(USER), "token-invalid-signature")
        await refused(clerk, fake.session_token(USER, expires_in=-60), "token-expired")
    assert len(fake.requests) == before == 0
    # From the environment, with the escaped newlines of a .env file.
    monkeypatch.setenv("CLERK_JWT_KEY", fake.jwt_key.replace("\n", "\\n"))
    async with Clerk(base_url=fake.url) as clerk:
        assert isinstance(await clerk.verify_token(tokens["session_token"]), SessionAuth)
    assert len(fake.requests) == 0


def _pem(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        ("", "must be a PEM public key"),
        ("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----", "is not a PEM"),
        ("bm90IGEga2V5", "is not a PEM"),
        (_pem(ec.generate_private_key(ec.SECP256R1())), "must be an RSA public key"),
        (_pem(rsa.generate_private_key(65537, 1024)), "at least 2048 bits"),
    ],
)
def test_a_bad_jwt_key_is_a_config_error(pem: str, message: str) -> None:
    with pytest.raises(ClerkConfigError, match=message) as caught:
        Clerk("sk_test_x", jwt_key=pem)
    assert caught.value.field == "jwt_key"


def test_a_bare_base64_jwt_key_is_accepted() -> None:
    body = "".join(_pem(rsa.generate_private_key(65537, 2048)).splitlines()[1:-1])
    Clerk("sk_test_x", jwt_key=body)


async def test_no_key_at_all_is_jwk_failed_to_resolve(
    fake: FakeClerk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLERK_SECRET_KEY", raising=False)
    monkeypatch.delenv("CLERK_JWT_KEY", raising=False)
    async with Clerk(base_url=fake.url) as clerk:
        await refused(clerk, fake.session_token(USER), "jwk-failed-to-resolve")
        with pytest.raises(ClerkConfigError, match="secret_key"):
            await clerk.verify_token("mt_" + "0" * 32, accepts_token="m2m_token")
    assert len(fake.requests) == 0


async def test_a_jwks_without_usable_keys_fails_to_load(fake: FakeClerk) -> None:
    server = RecordingServer()
    await server.start()
    try:
        kid = fake.instance_id
        bad_keys = [  # each of a shape the spec allows, none usable
            {"kty": "oct", "kid": kid, "alg": "HS256", "use": "sig", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": kid, "alg": "RS512", "use": "sig", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": kid, "alg": "RS256", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": "AQAB", "e": "AQAB"},
        ]  # (the last one: 17 bits)
        server.reply(200, {"keys": bad_keys})
        async with Clerk("sk_test_x", base_url=server.url, max_retries=0) as clerk:
            error = await refused(clerk, fake.session_token(USER), "jwk-remote-failed-to-load")
        assert "did not contain any RS256 signing keys" in error.message
        assert [r.raw_path for r in server.requests] == ["/v1/jwks"]
        assert server.requests[0].headers["Authorization"] == "Bearer sk_test_x"
    finally:
        await server.close()


async def test_each_client_has_its_own_keys(fake: FakeClerk, clerk: Clerk) -> None:
    # JS K8/SDK-148: a kid is an instance id, so a process-wide cache would let instance B's
    # token verify against instance A. Here each client fetches with its own key, and the
    # mismatch message names no cached kid (JS K7).
    await clerk.verify_token(fake.session_token(USER))
    async with FakeClerk(rate_limit=None) as second, second.client(max_retries=0) as theirs:
        error = await refused(theirs, fake.session_token(USER), "jwk-kid-mismatch")
        assert second.instance_id not in error.message
        assert second.stats.requests[JWKS_ROUTE] == 1
    assert jwks_fetches(fake) == 1


async def test_concurrent_misses_share_one_fetch(fake: FakeClerk, clerk: Clerk) -> None:
    tokens = [fake.session_token(f"user_{i}") for i in range(50)]
    results = await asyncio.gather(*(clerk.verify_token(t) for t in tokens))
    assert [r.user_id for r in results] == [f"user_{i}" for i in range(50)]
    assert jwks_fetches(fake) == 1
    for token in tokens:  # cached: no more requests
        await clerk.verify_token(token)
    assert jwks_fetches(fake) == clerk._authenticator.jwks.fetches == 1


async def test_a_random_kid_flood_costs_one_fetch_per_interval(
    fake: FakeClerk, clerk: Clerk
) -> None:
    clock = FakeClock()
    jwks = clerk._authenticator.jwks
    jwks.clock = clock
    rng = random.Random(13)
    valid = fake.session_token(USER)
    await clerk.verify_token(valid)  # t = 1000: the first fetch
    # 2,000 tokens with random kids over 60 seconds, 33 per second, some concurrently.
    for batch in range(200):
        forged = [
            fake.sign_jwt(claims(), {"kid": f"ins_{rng.getrandbits(64):x}"}) for _ in range(10)
        ]
        outcomes = await asyncio.gather(
            *(clerk.verify_token(t) for t in forged), return_exceptions=True
        )
        assert {o.reason for o in outcomes if isinstance(o, TokenVerificationError)} == {
            "jwk-kid-mismatch"
        }
        assert isinstance(await clerk.verify_token(valid), SessionAuth)  # still served
        clock.t = 1000.0 + (batch + 1) * 0.3
    # Verifications ran from t=1000 to t=1059.7: one fetch per 5 s, at 1000, 1005 ... 1055.
    assert jwks_fetches(fake) == jwks.fetches == 12


async def test_forged_signatures_under_a_known_kid_cost_one_fetch_per_interval(
    fake: FakeClerk, clerk: Clerk, other: FakeClerk
) -> None:
    clock = FakeClock()
    jwks = clerk._authenticator.jwks
    jwks.clock = clock
    await clerk.verify_token(fake.session_token(USER))
    forged = other.sign_jwt(claims(), {"kid": fake.instance_id})  # our kid, another key
    for _ in range(400):  # 20 s: each bad signature may ask for a refresh (a rotated key?)
        await refused(clerk, forged, "token-invalid-signature")
        clock.t += 0.05
    assert jwks_fetches(fake) == jwks.fetches == 1 + 3  # t=1000, then 1005, 1010, 1015


async def test_stale_keys_are_refetched_and_kept_when_clerk_fails(
    fake: FakeClerk, clerk: Clerk
) -> None:
    clock = FakeClock()
    jwks = clerk._authenticator.jwks
    jwks.clock = clock
    token = fake.session_token(USER)
    await clerk.verify_token(token)
    clock.t += 299
    await clerk.verify_token(token)
    assert jwks_fetches(fake) == 1
    clock.t += 2  # past the 5 minutes: the next verification refreshes (in the background)
    await clerk.verify_token(token)
    await refreshed(clerk)
    assert jwks_fetches(fake) == 2
    fake.faults = Faults(error_rate=1.0, error_after_apply_fraction=0.0)
    clock.t += 301
    assert isinstance(await clerk.verify_token(token), SessionAuth)  # the old keys still serve
    await refreshed(clerk)
    assert jwks_fetches(fake) == 3
    unknown = fake.sign_jwt(claims(), {"kid": "ins_new"})
    await refused(clerk, unknown, "jwk-remote-failed-to-load")  # the failure, repeated
    assert jwks_fetches(fake) == 3
    fake.faults = Faults()
    clock.t += 5
    await refused(clerk, unknown, "jwk-kid-mismatch")
    assert jwks_fetches(fake) == 4


async def test_expired_keys_serve_while_the_refresh_runs(other: FakeClerk) -> None:
    # Past the cache's 5 minutes the known keys keep verifying while the refresh runs in
    # the background: a Clerk that hangs must not hold every request for the transport's
    # whole deadline (its retries and timeouts) when the keys at hand still work.
    jwks = other._store.tokens.jwks()
    hang = asyncio.Event()
    reached = asyncio.Event()

    async def hanging(request: Any) -> Any:
        from aiohttp import web

        reached.set()
        await hang.wait()
        return web.json_response(jwks)

    server = RecordingServer()
    await server.start()
    try:
        server.reply(200, jwks)
        server.script.append(hanging)
        async with Clerk("sk_test_k", base_url=server.url, rate_limit=None) as clerk:
            clock = FakeClock()
            clerk._authenticator.jwks.clock = clock
            token = other.session_token(USER)
            assert isinstance(await clerk.verify_token(token), SessionAuth)  # the first fetch
            clock.t += 301
            verifying = asyncio.ensure_future(clerk.verify_token(token))
            await reached.wait()  # the refresh is at Clerk, and hangs there
            assert verifying.done()
            assert isinstance(verifying.result(), SessionAuth)
            unknown = other.sign_jwt(claims(), {"kid": "ins_new"})
            waiting = asyncio.ensure_future(clerk.verify_token(unknown))  # needs the answer
            await asyncio.sleep(0)
            assert not waiting.done()
            hang.set()
            with pytest.raises(TokenVerificationError) as caught:
                await waiting
            assert caught.value.reason == "jwk-kid-mismatch"
            assert len(server.requests) == 2
    finally:
        hang.set()
        await server.close()


async def test_a_rotated_key_is_picked_up_with_one_refresh(fake: FakeClerk, clerk: Clerk) -> None:
    clock = FakeClock()
    clerk._authenticator.jwks.clock = clock
    await clerk.verify_token(fake.session_token(USER))
    fake.rotate_jwt_key()  # same kid (the instance id), new key
    rotated = fake.session_token(USER)
    clock.t += 1  # within the refresh interval: no second fetch yet
    await refused(clerk, rotated, "token-invalid-signature")
    assert jwks_fetches(fake) == 1
    clock.t += 5
    assert isinstance(await clerk.verify_token(rotated), SessionAuth)
    assert jwks_fetches(fake) == 2


# --- authenticate_request ------------------------------------------------------------------


async def test_authenticate_request_reads_the_header_then_the_cookie(
    fake: FakeClerk, clerk: Clerk
) -> None:
    good = fake.session_token(USER)
    caller = fake.add_machine("caller")
    m2m = fake.m2m_jwt(caller.id)

    state = await clerk.authenticate_request(CIMultiDict({"authorization": f"Bearer {good}"}))
    assert state.is_authenticated
    assert state.token_type == "session_token"
    assert isinstance(state.auth, SessionAuth)
    assert state.reason is None
    state = await clerk.authenticate_request({"Cookie": f"a=1; __session={good}"})
    assert state.is_authenticated
    # The header wins, even when the cookie would have been good.
    state = await clerk.authenticate_request(
        {"Authorization": "Bearer garbage", "Cookie": f"__session={good}"}
    )
    assert (state.is_authenticated, state.reason) == (False, "token-invalid")
    # Another scheme carries no token: the cookie is read.
    state = await clerk.authenticate_request(
        {"Authorization": "Basic dXNlcjpwYXNzd29yZA==", "Cookie": f"__session={good}"}
    )
    assert state.is_authenticated
    # Nothing at all.
    state = await clerk.authenticate_request({})
    assert state == RequestState(
        is_authenticated=False,
        token_type="session_token",
        reason="session-token-missing",
        message=state.message,
    )
    REASONS_SEEN.add("session-token-missing")
    # An M2M JWT in the cookie is not a session (JS R14).
    state = await clerk.authenticate_request({"Cookie": f"__session={m2m}"})
    assert (state.is_authenticated, state.reason) == (False, "token-type-mismatch")
    # Machine tokens are read from the header only (JS R45).
    state = await clerk.authenticate_request(
        {"Cookie": f"__session={m2m}"}, accepts_token="m2m_token"
    )
    assert (state.reason, state.token_type) == ("No token in header", "m2m_token")
    REASONS_SEEN.add("No token in header")
    state = await clerk.authenticate_request(
        {"Authorization": f"Bearer {m2m}"}, accepts_token=["m2m_token", "api_key"]
    )
    assert state.is_authenticated
    assert isinstance(state.auth, M2MAuth)
    # A mismatch: the accepted type for a single one, none for a list (JS).
    state = await clerk.authenticate_request(
        {"Authorization": f"Bearer {good}"}, accepts_token="m2m_token"
    )
    assert (state.reason, state.token_type) == ("token-type-mismatch", "m2m_token")
    state = await clerk.authenticate_request(
        {"Authorization": f"Bearer {good}"}, accepts_token=["m2m_token", "api_key"]
    )
    assert (state.reason, state.token_type) == ("token-type-mismatch", None)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"accepts_token": "session"}, "accepts_token"),
        ({"accepts_token": []}, "accepts_token"),
        ({"accepts_token": ["m2m_token", 3]}, "accepts_token"),
        ({"clock_skew": -1}, "clock_skew"),
        ({"clock_skew": float("nan")}, "clock_skew"),
        ({"clock_skew": "5"}, "clock_skew"),
        ({"authorized_parties": [1]}, "authorized_parties"),
        ({"audience": 3}, "audience"),
    ],
)
async def test_bad_options_are_refused_before_anything(
    fake: FakeClerk, clerk: Clerk, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(ClerkValidationError) as caught:
        await clerk.verify_token(fake.session_token(USER), **options)
    assert caught.value.field == field
    with pytest.raises(ClerkValidationError):
        await clerk.authenticate_request({}, **options)
    assert len(fake.requests) == 0


async def test_bad_arguments(clerk: Clerk) -> None:
    with pytest.raises(ClerkValidationError) as caught:
        await clerk.verify_token(None)  # type: ignore[arg-type]
    assert caught.value.field == "token"
    with pytest.raises(ClerkValidationError) as caught:
        await clerk.authenticate_request(["Authorization"])  # type: ignore[arg-type]
    assert caught.value.field == "request_or_headers"  # the parameter's name


def test_the_error_pickles_and_keeps_its_fields() -> None:
    error = TokenVerificationError("token-expired", "JWT is expired.", "session_token")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.reason, copy.message, copy.token_type, str(copy)) == (
        "token-expired",
        "JWT is expired.",
        "session_token",
        "JWT is expired. (reason=token-expired)",
    )


def test_without_cryptography_import_works_and_verify_says_what_to_install() -> None:
    script = """
import asyncio, sys
sys.modules["cryptography"] = None  # as if it were not installed
import clerk_async, clerk_async.auth
from clerk_async.testing import FakeClerk
clerk = clerk_async.Clerk("sk_test_x")
try:
    asyncio.run(clerk.verify_token("a.b.c"))
except ImportError as exc:
    print(exc)
try:
    clerk_async.Clerk("sk_test_x", jwt_key="x")
except ImportError as exc:
    print(exc)
fake = FakeClerk()
fake.add_machine("works without cryptography")
try:
    fake.session_token("user_1")
except ImportError as exc:
    print(exc)
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.count("pip install 'clerk-async[auth]'") == 3


def _signed_raw(fake: FakeClerk, payload_json: str) -> str:
    """A session JWT whose payload is ``payload_json`` as written, signed by ``fake``'s key
    (the fake's own encoder refuses integers beyond 64 bits)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    header = {"alg": "RS256", "kid": fake.instance_id, "typ": "JWT"}
    signing_input = f"{b64(header)}.{b64(payload_json.encode())}"
    key = fake._store.tokens.private_key
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("networkless", [True, False])
async def test_a_signed_timestamp_beyond_float_range_is_refused_not_raised(
    fake: FakeClerk, clerk: Clerk, claim: str, networkless: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 10**400 is a JSON integer the stdlib decodes (orjson refuses it: token-invalid), but
    # no float holds it: the claim check must refuse it, and authenticate_request answer,
    # not raise OverflowError. The stdlib codec is the default install's.
    monkeypatch.setattr(_json, "loads", json.loads)
    t = now()
    times = {"exp": t + 300, "nbf": t - 5, "iat": t}
    fields = ", ".join(
        f'"{name}": {"1" + "0" * 400 if name == claim else value}' for name, value in times.items()
    )
    token = _signed_raw(fake, f'{{"sub": "{USER}", "sid": "sess_1", {fields}}}')
    client = fake.client(max_retries=0, jwt_key=fake.jwt_key) if networkless else clerk
    async with contextlib.AsyncExitStack() as stack:
        if networkless:
            await stack.enter_async_context(client)
        await refused(client, token, "token-verification-failed")
        state = await client.authenticate_request({"Authorization": f"Bearer {token}"})
        assert (state.is_authenticated, state.reason) == (False, "token-verification-failed")


def test_every_reason_code_was_exercised() -> None:
    # Runs last in this module (pytest keeps file order): the corpus and the tests above
    # must between them have produced each reason we can return.
    expected = {
        "token-invalid",
        "token-invalid-algorithm",
        "token-invalid-signature",
        "token-verification-failed",
        "token-invalid-authorized-parties",
        "token-expired",
        "token-not-active-yet",
        "token-iat-in-the-future",
        "token-type-mismatch",
        "jwk-kid-mismatch",
        "jwk-failed-to-resolve",
        "jwk-remote-failed-to-load",
        "secret-key-invalid",
        "unexpected-error",
        "session-token-missing",
        "No token in header",
    }
    if len(REASONS_SEEN) < 5:
        pytest.skip("run with the whole module to check the coverage of reasons")
    assert expected == REASONS_SEEN
