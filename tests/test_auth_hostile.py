"""Hostile tokens (issue 23 item 2): a malformed header or claim is a refused token, never
another exception; ``authenticate_request`` never raises; ``require_auth`` never answers 500
for a bad token. Fuzzed with hypothesis over the header and the claims, signed with the
instance's real key so that every check past the signature is reached too.
"""

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import Depends, FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clerk_async import Clerk
from clerk_async.auth import Auth, RequestState, TokenVerificationError
from clerk_async.fastapi import get_clerk, require_auth
from tests.test_fastapi import serve_in_process

USER = "user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr"
FAR = 2**31  # 2038: these tokens outlive the test


def valid_claims(**changes: Any) -> dict[str, Any]:
    return {"sub": USER, "sid": "sess_1", "iat": 1, "nbf": 1, "exp": FAR, **changes}


class Signer:
    """Signs any header and payload with the stdlib's JSON (integers of any size), RS256."""

    def __init__(self) -> None:
        self.private_key = rsa.generate_private_key(65537, 2048)
        self.jwt_key = (
            self.private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def sign_jwt(self, payload: dict[str, Any], header: dict[str, Any] | None = None) -> str:
        full = {"alg": "RS256", "kid": "ins_1", "typ": "JWT", **(header or {})}
        signing_input = f"{_b64(json.dumps(full))}.{_b64(json.dumps(payload))}"
        signature = self.private_key.sign(
            signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        return f"{signing_input}.{_b64(signature)}"


def _b64(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def signer() -> Signer:
    """Its public key is the clients' ``jwt_key``: verified networkless."""
    return Signer()


@pytest.fixture
async def clerk(signer: Signer) -> AsyncIterator[Clerk]:
    async with Clerk(
        "sk_test_x", jwt_key=signer.jwt_key, base_url="http://127.0.0.1:9/v1", max_retries=0
    ) as client:
        yield client


MALFORMED_HEADERS: list[dict[str, Any]] = [
    {"typ": []},
    {"typ": {}},
    {"typ": ["JWT"]},
    {"typ": 1},
    {"alg": []},
    {"alg": {"RS256": 1}},
    {"kid": {}},
    {"kid": []},
    {"kid": 7},
    {"cat": []},
    {"cat": {}},
    {"cty": []},
    {"crit": ["exp"]},
    {"crit": []},
    {"crit": "b64"},
    {"crit": ["b64"], "b64": False},
]


@pytest.mark.parametrize("header", MALFORMED_HEADERS, ids=json.dumps)
async def test_a_malformed_header_field_is_a_refused_token(
    signer: Signer, clerk: Clerk, header: dict[str, Any]
) -> None:
    for claims in (valid_claims(), valid_claims(sub="mch_1"), valid_claims(typ="at+jwt")):
        token = signer.sign_jwt(claims, header)
        with pytest.raises(TokenVerificationError) as caught:
            await clerk.verify_token(token, accepts_token="any")
        name = next(iter(header))
        reason = "token-invalid-algorithm" if name == "alg" else "token-invalid"
        assert caught.value.reason == reason
        assert f"header {name}" in caught.value.message  # names the field
        state = await clerk.authenticate_request(
            {"Authorization": f"Bearer {token}"}, accepts_token="any"
        )
        assert (state.is_authenticated, state.reason) == (False, reason)


async def test_a_token_without_crit_or_odd_fields_still_verifies(
    signer: Signer, clerk: Clerk
) -> None:
    token = signer.sign_jwt(valid_claims(), {"typ": "JWT", "cat": "cl_B7d4PD111AAA", "x": [1]})
    auth = await clerk.verify_token(token)
    assert auth.token_type == "session_token"


async def test_authenticate_request_reads_no_header_of_an_odd_type(
    signer: Signer, clerk: Clerk
) -> None:
    token = signer.sign_jwt(valid_claims())
    for headers in (
        {"Authorization": 12},
        {"Authorization": None, "Cookie": ["__session=x"]},
        {"authorization": ["Bearer", token]},
    ):
        state = await clerk.authenticate_request(headers)  # type: ignore[arg-type]
        assert state.is_authenticated is False
    # A raw header (bytes, as ASGI carries it) is read as text.
    state = await clerk.authenticate_request({"Authorization": f"Bearer {token}".encode()})  # type: ignore[dict-item]
    assert state.is_authenticated is True


async def test_an_opaque_token_without_a_secret_key_is_a_state_not_an_exception(
    signer: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLERK_SECRET_KEY", raising=False)
    async with Clerk(jwt_key=signer.jwt_key, base_url="http://127.0.0.1:9/v1") as clerk:
        state = await clerk.authenticate_request(
            {"Authorization": "Bearer mt_" + "0" * 32}, accepts_token="any"
        )
    assert (state.is_authenticated, state.reason) == (False, "secret-key-missing")


async def test_require_auth_answers_401_never_500_to_malformed_headers(
    signer: Signer, clerk: Clerk
) -> None:
    app = FastAPI()
    app.dependency_overrides[get_clerk] = lambda: clerk

    @app.get("/")
    async def root(auth: Annotated[Auth, Depends(require_auth(accepts_token="any"))]) -> str:
        return auth.token_type

    statuses: dict[int, int] = {}
    async with serve_in_process(app) as url, httpx.AsyncClient(base_url=url) as http:
        for i in range(100):
            header = MALFORMED_HEADERS[i % len(MALFORMED_HEADERS)]
            token = signer.sign_jwt(valid_claims(), header)
            answer = await http.get("/", headers={"Authorization": f"Bearer {token}"})
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
        good = await http.get(
            "/", headers={"Authorization": f"Bearer {signer.sign_jwt(valid_claims())}"}
        )
    assert statuses == {401: 100}
    assert good.status_code == 200


# --- hypothesis: any header, any claims --------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
HEADER_NAMES = st.sampled_from(["alg", "typ", "kid", "cat", "crit", "cty", "jku", "b64", "x5c"])
HEADER_VALUES = JSON | st.sampled_from(
    ["RS256", "JWT", "at+jwt", "application/at+jwt", "cl_B7d4PD111AAA", "cl_B7d4PD333AAA"]
)
CLAIM_NAMES = st.sampled_from(
    ["sub", "exp", "nbf", "iat", "aud", "azp", "v", "o", "fea", "act", "scopes", "scp",
     "scope", "jti", "client_id", "sid", "org_id", "org_permissions", "sts"]
)  # fmt: skip
CLAIM_VALUES = JSON | st.sampled_from(
    [USER, "mch_1", FAR, 1, "o:admin,u:billing", {"id": "org_1", "rol": "admin", "per": "read",
     "fpm": "1"}, 2, ["aud1"], "aud1"]
)  # fmt: skip


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    created = asyncio.new_event_loop()
    yield created
    created.close()


@pytest.fixture(scope="module")
def fuzz_clerk(signer: Signer, loop: asyncio.AbstractEventLoop) -> Iterator[Clerk]:
    client = Clerk("sk_test_x", jwt_key=signer.jwt_key, base_url="http://127.0.0.1:9/v1")
    yield client
    loop.run_until_complete(client.aclose())


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    header=st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=4),
    claims=st.dictionaries(CLAIM_NAMES, CLAIM_VALUES, max_size=8),
    base=st.booleans(),
    options=st.sampled_from(
        [{}, {"audience": "aud1"}, {"authorized_parties": ["https://a.example"]}]
    ),
)
def test_any_header_and_claims_give_an_auth_or_a_refusal(
    signer: Signer,
    fuzz_clerk: Clerk,
    loop: asyncio.AbstractEventLoop,
    header: dict[str, Any],
    claims: dict[str, Any],
    base: bool,
    options: dict[str, Any],
) -> None:
    payload = {**valid_claims(), **claims} if base else claims
    token = signer.sign_jwt(payload, header)

    async def check() -> None:
        outcome: Any
        try:
            outcome = await fuzz_clerk.verify_token(token, accepts_token="any", **options)
        except TokenVerificationError as exc:
            outcome = exc
        if isinstance(outcome, TokenVerificationError):
            assert token not in str(outcome)
        else:
            assert outcome.token_type in ("session_token", "m2m_token", "oauth_token")
        state = await fuzz_clerk.authenticate_request(
            {"Authorization": f"Bearer {token}"}, accepts_token="any", **options
        )
        assert isinstance(state, RequestState)

    loop.run_until_complete(check())
