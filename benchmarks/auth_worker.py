"""One case of ``benchmarks.auth_instructions``: ``--n`` verifications in one process.

    python benchmarks/auth_worker.py --case clerk-verify_token --fixture f.json --n 200

The fixture (written by the harness) holds a session token, the PEM of its key, a webhook
secret and a 1 kB webhook body. Everything a case needs is set up (and used once) before
the loop, so that two runs with different ``--n`` differ only by the loop's iterations.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

Case = Callable[[], Any]
AsyncCase = Callable[[], Awaitable[Any]]


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def jwt_cases(fixture: dict[str, Any]) -> tuple[dict[str, Case], dict[str, AsyncCase], Any]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    token: str = fixture["token"]
    pem: str = fixture["jwt_key"]
    key: Any = load_pem_public_key(pem.encode())
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()

    def floor() -> Any:
        """base64 + JSON + the RSA check: what any verifier must do."""
        header_b64, payload_b64, signature_b64 = token.split(".")
        json.loads(_b64(header_b64))
        payload = json.loads(_b64(payload_b64))
        key.verify(_b64(signature_b64), f"{header_b64}.{payload_b64}".encode(), pkcs1, sha256)
        return payload

    def pyjwt() -> Any:
        import jwt

        return jwt.decode(token, key, algorithms=["RS256"])

    from clerk_async import Clerk

    clerk = Clerk("sk_test_bench", jwt_key=pem, base_url="http://127.0.0.1:9/v1")
    headers = {"Authorization": f"Bearer {token}", "Host": "app.example", "Accept": "*/*"}

    async def verify_token() -> Any:
        return await clerk.verify_token(token)

    async def authenticate_request() -> Any:
        state = await clerk.authenticate_request(headers)
        assert state.is_authenticated
        return state

    sync = {"floor-jwt": floor, "pyjwt": pyjwt}
    asynchronous = {
        "clerk-verify_token": verify_token,
        "clerk-authenticate_request": authenticate_request,
    }
    return sync, asynchronous, clerk


def webhook_cases(fixture: dict[str, Any]) -> dict[str, Case]:
    from clerk_async.webhooks import check_signature, sign, verify

    secret: str = fixture["webhook_secret"]
    body: bytes = fixture["webhook_body"].encode()
    headers = sign(body, secret=secret, msg_id="msg_2aRtTAbCdEfGhIjKlMnOpQrStUv")
    key = base64.b64decode(secret.removeprefix("whsec_"))

    def floor() -> Any:
        """HMAC-SHA256 over id.timestamp.body, one constant-time compare, the JSON."""
        signed = f"{headers['svix-id']}.{headers['svix-timestamp']}.".encode() + body
        expected = hmac.new(key, signed, hashlib.sha256).digest()
        given = base64.b64decode(headers["svix-signature"].partition(",")[2])
        assert hmac.compare_digest(expected, given)
        return json.loads(body)

    cases: dict[str, Case] = {
        "floor-webhook": floor,
        "clerk-webhook": lambda: verify(body, headers, secret=secret),
        "clerk-webhook-signature": lambda: check_signature(body, headers, secret=secret),
    }
    try:
        from standardwebhooks import Webhook
    except ImportError:
        return cases
    standard = {k.replace("svix-", "webhook-"): v for k, v in headers.items()}
    hook = Webhook(secret)
    cases["standardwebhooks"] = lambda: hook.verify(body, standard)
    return cases


async def run(case: str, fixture: dict[str, Any], n: int) -> None:
    sync: dict[str, Case]
    if case.startswith(("floor-jwt", "pyjwt", "clerk-verify", "clerk-auth")):
        sync, asynchronous, clerk = jwt_cases(fixture)
    else:
        sync, asynchronous, clerk = webhook_cases(fixture), {}, None
    if case in sync:
        call = sync[case]
        call()  # once before: lazy imports and caches are set-up, not per-call cost
        for _ in range(n):
            call()
    else:
        acall = asynchronous[case]
        await acall()
        for _ in range(n):
            await acall()
    if clerk is not None:
        await clerk.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", required=True)
    parser.add_argument("--fixture", required=True, type=Path)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--speedups", action="store_true", help="orjson, as with the extra")
    args = parser.parse_args()
    if not args.speedups:  # the default install's JSON, as the floors use
        os.environ["CLERK_ASYNC_PURE_JSON"] = "1"
    fixture = json.loads(args.fixture.read_text())
    start = time.perf_counter()
    asyncio.run(run(args.case, fixture, args.n))
    print(json.dumps({"case": args.case, "n": args.n, "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
