"""Instructions per token and per webhook, counted by valgrind: auth's cost against its floors.

    .venv/bin/python -m benchmarks.auth_instructions [--n1 50 --n2 250] [--jobs 2]

As ``benchmarks.instructions``: each case runs ``auth_worker.py`` under
``valgrind --tool=callgrind`` twice, with ``--n`` N1 and N2, and reports
(Ir(N2) - Ir(N1)) / (N2 - N1), the instructions of one call with start-up, imports and
set-up cancelled out. Needs valgrind; a few minutes on two cores. clerk_async runs with
the default install's JSON (``CLERK_ASYNC_PURE_JSON=1``: the stdlib's, as the floors use);
``--speedups`` gives it orjson.

- ``clerk-verify_token``: ``await clerk.verify_token(token)`` on ``Clerk(jwt_key=PEM)``, a
  FakeClerk session token (v2 claims, an organization): networkless, the auth object built.
- ``clerk-authenticate_request``: ``await clerk.authenticate_request(headers)`` with the token
  in ``Authorization: Bearer`` (a dict of three headers).
- ``floor-jwt``: split, base64 of the three parts, ``json.loads`` of header and payload, and
  ``cryptography``'s RSA-PKCS1v15-SHA256 check with the key parsed once: what any verifier
  must do (the issue's floor). ``pyjwt``: ``jwt.decode(token, key, algorithms=["RS256"])``.
- ``clerk-webhook``: ``clerk_async.webhooks.verify(body, headers, secret=...)`` of a 1 kB
  ``user.created`` delivery, typed into ``UserCreatedEvent``; ``clerk-webhook-signature`` the
  signature and timestamp checks alone (``check_signature``).
- ``floor-webhook``: HMAC-SHA256 over ``id.timestamp.body``, one base64 decode and a
  constant-time compare, ``json.loads`` of the body. ``standardwebhooks``:
  ``Webhook(secret).verify(body, headers)`` of the ``standardwebhooks`` package (installed
  on demand, like ``bench_update`` installs the official SDK; ``--no-install`` skips it).
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("auth_worker.py")
CASES = (
    "floor-jwt",
    "clerk-verify_token",
    "clerk-authenticate_request",
    "pyjwt",
    "floor-webhook",
    "clerk-webhook",
    "clerk-webhook-signature",
    "standardwebhooks",
)
_COLLECTED = re.compile(rb"Collected : (\d+)")
USER = "user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr"


def webhook_body() -> bytes:
    """A ``user.created`` delivery of about 1 kB, shaped as Clerk sends it."""
    user = {
        "id": USER,
        "object": "user",
        "username": "ada",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "image_url": "https://img.clerk.com/eyJ0eXBlIjoiZGVmYXVsdCIsImlpZCI6Imluc18yIn0",
        "has_image": False,
        "primary_email_address_id": "idn_2aRtTAbCdEfGhIjKlMnOpQrStUv",
        "primary_phone_number_id": None,
        "primary_web3_wallet_id": None,
        "password_enabled": True,
        "two_factor_enabled": False,
        "totp_enabled": False,
        "backup_code_enabled": False,
        "email_addresses": [
            {
                "id": "idn_2aRtTAbCdEfGhIjKlMnOpQrStUv",
                "object": "email_address",
                "email_address": "ada@example.com",
                "reserved": False,
                "verification": {"status": "verified", "strategy": "email_code", "attempts": 1},
                "linked_to": [],
                "created_at": 1716883200000,
                "updated_at": 1716883200000,
            }
        ],
        "phone_numbers": [],
        "web3_wallets": [],
        "passkeys": [],
        "external_accounts": [],
        "saml_accounts": [],
        "enterprise_accounts": [],
        "delete_self_enabled": True,
        "create_organization_enabled": True,
        "public_metadata": {"plan": "pro"},
        "private_metadata": {},
        "unsafe_metadata": {},
        "external_id": None,
        "last_sign_in_at": None,
        "banned": False,
        "locked": False,
        "created_at": 1716883200000,
        "updated_at": 1716883200000,
    }
    event = {
        "type": "user.created",
        "object": "event",
        "timestamp": 1716883200,
        "instance_id": "ins_2aRtTAbCdEfGhIjKlMnOpQrStUv",
        "data": user,
        "event_attributes": {
            "http_request": {"client_ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (X11)"}
        },
    }
    return json.dumps(event).encode()


def fixture() -> dict[str, Any]:
    from clerk_async.testing import FakeClerk

    fake = FakeClerk(rate_limit=None)  # never started: only its key signs
    token = fake.session_token(USER, org_id="org_2aRtTAbCdEfGhIjKlMnOpQrStUv", expires_in=86400)
    return {
        "token": token,
        "jwt_key": fake.jwt_key,
        "webhook_secret": "whsec_" + base64.b64encode(b"bench_signing_secret_32_chars_lg").decode(),
        "webhook_body": webhook_body().decode(),
    }


def ensure_standardwebhooks(install: bool) -> bool:
    if importlib.util.find_spec("standardwebhooks") is not None:
        return True
    if not install:
        return False
    print("installing standardwebhooks into this environment (benchmarks only)...", flush=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "standardwebhooks"], check=False
    )
    importlib.invalidate_caches()
    return done.returncode == 0 and importlib.util.find_spec("standardwebhooks") is not None


def instructions(case: str, fixture_path: Path, n: int, speedups: bool = False) -> int:
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, str(WORKER), "--case", case, "--fixture", str(fixture_path), "--n", str(n),
        *(["--speedups"] if speedups else []),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, check=True)
    found = _COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from valgrind: {done.stderr[-500:]!r}")
    return int(found.group(1))


def per_call(case: str, fixture_path: Path, n1: int, n2: int, speedups: bool) -> float:
    more = instructions(case, fixture_path, n2, speedups)
    return (more - instructions(case, fixture_path, n1, speedups)) / (n2 - n1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n1", type=int, default=100)
    parser.add_argument("--n2", type=int, default=500)
    parser.add_argument(
        "--speedups", action="store_true", help="clerk_async with orjson (the speedups extra)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="valgrind runs at once")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--no-install", action="store_true")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    cases = list(args.cases)
    if "standardwebhooks" in cases and not ensure_standardwebhooks(not args.no_install):
        cases.remove("standardwebhooks")

    with tempfile.TemporaryDirectory() as tmp:
        fixture_path = Path(tmp) / "fixture.json"
        fixture_path.write_text(json.dumps(fixture()))
        with ThreadPoolExecutor(args.jobs) as pool:
            futures = {
                case: pool.submit(per_call, case, fixture_path, args.n1, args.n2, args.speedups)
                for case in cases
            }
            counts = {case: future.result() for case, future in futures.items()}

    floors = {"jwt": counts.get("floor-jwt"), "webhook": counts.get("floor-webhook")}
    print("| case | instructions/call | x floor |")
    print("|---|---:|---:|")
    for case in cases:
        floor = floors["webhook" if "webhook" in case else "jwt"]
        ratio = f"{counts[case] / floor:.3f}" if floor else "-"
        print(f"| {case} | {counts[case]:,.0f} | {ratio} |")
    if "clerk-verify_token" in counts and "clerk-authenticate_request" in counts:
        extra = counts["clerk-authenticate_request"] - counts["clerk-verify_token"]
        print(f"authenticate_request adds {extra:,.0f} instructions to verify_token")
    if "clerk-webhook" in counts and "standardwebhooks" in counts:
        ratio = counts["clerk-webhook"] / counts["standardwebhooks"]
        print(f"clerk-webhook / standardwebhooks = {ratio:.3f} (goal: <= 1)")


if __name__ == "__main__":
    main()
