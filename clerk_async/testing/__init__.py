"""FakeClerk: an in-process emulator of Clerk's Backend API.

It serves, over real HTTP on loopback, all 249 operations of
``spec/clerk-bapi-2026-05-12.yml``. Users (with their email addresses and phone numbers),
organizations, memberships, organization and instance invitations, organization domains,
sessions and their tokens, JWT templates, allow- and blocklists, sign-in tokens, redirect
URLs and waitlist entries (``_state/``), and the Machines, M2M token, API key, JWKS and OAuth
access token verify endpoints (``_store.py``) answer from an in-memory store that behaves
like Clerk; every other operation checks its request as the spec says (below) and answers
a fixed example that fits the spec and the client's models (``_spec.py``, generated with
the client's declarations by ``make generate``). Seed and inspect with ``add_user``,
``add_organization``, ``add_session`` and ``users``, ``organizations``, ``sessions``:

    from clerk_async.testing import FakeClerk, Faults

    async with FakeClerk(rate_limit=None) as fake:
        machine = fake.add_machine("billing-worker")
        async with fake.client() as clerk:  # a clerk_async.Clerk for fake.url
            await clerk.machines.update(machine.id, name="ledger")
        assert fake.machines[machine.id].name == "ledger"
        assert fake.requests[-1].json == {"name": "ledger"}

``with FakeClerk() as fake:`` (not ``async with``) serves it from a thread and event loop
of its own, for sync code and other loops (FastAPI's ``TestClient``), and ``with
fake.setenv():`` points ``Clerk()`` and apps at it through ``CLERK_SECRET_KEY`` and
``CLERK_API_URL``. Under pytest, the ``fake_clerk`` (in the test's loop) and
``fake_clerk_sync`` (in its own thread) fixtures yield a started one with the rate limit
off, and ``python -m clerk_async.testing --port 8787`` runs one on its own.

How it answers (where the spec leaves a choice, the choice is written here):

- Auth: ``Authorization: Bearer <secret_key>``; machine secret keys (``ak_…``) are accepted on
  the M2M token endpoints only, and ``POST /m2m_tokens`` takes nothing else (the instance key
  gets a 401 ``authentication_invalid`` there). A rotated key stays valid for its
  ``previous_token_ttl``.
- Errors are ``ClerkErrors`` bodies with a ``clerk_trace_id``. Invalid input: 422 where the
  operation declares a 422 (machine endpoints...), else 400 (M2M tokens, API keys...),
  with codes ``form_param_missing``, ``form_param_unknown`` (where additionalProperties is
  false), ``form_param_type_invalid`` (``"60"`` or ``true`` for an integer),
  ``form_param_format_invalid`` (patterns), ``form_param_value_invalid`` (ranges, enums),
  ``form_param_min_length_exceeded``/``form_param_max_length_exceeded``,
  ``form_param_array_size_exceeded``, each with ``meta.param_name``; a body that is not a
  JSON object (or array, or multipart, as the operation declares), or missing where the
  spec requires one: 400 ``request_body_invalid``. The checks are the top-level fields'.
  An unknown ``Clerk-API-Version``: 400 ``api_version_invalid``.
- Verifying an unknown, revoked or expired M2M token or API key: 404 ``resource_not_found``.
  A machine key lists only its own tokens (else 403), revokes only its own and verifies only
  tokens scoped to it (else 404). ``revoked``/``expired`` on ``GET /m2m_tokens`` say whether
  such tokens are included.
- Tokens are issued as Clerk issues them (``_tokens.py``): RS256 under an RSA-2048 instance
  key made on first use, served at ``GET /jwks`` (``kid`` = the instance id) and as PEM by
  ``fake.jwt_key``. ``token_format: "jwt"`` returns such a JWT with the M2M ``cat`` header;
  like Clerk, the fake does not store it, so list, revoke and verify do not know it.
  ``fake.session_token(...)`` mints session tokens; ``fake.add_oauth_token(...)`` opaque OAuth
  access tokens for ``POST /oauth_applications/access_tokens/verify``, which answers
  ``{"active": false}`` once one expired (the spec's second form) and a 404 for unknown ones.
- Rate limit: a sliding log over arrival times, one per instance (machine keys count
  towards it); a 429 carries ``Retry-After`` (whole seconds until a slot frees, at least 1)
  and ``meta.ResetsIn`` (the same). Requests refused with 401 are not counted.
- Faults (``Faults``) are drawn per request from their own seeded generator. Those
  that strike before the change play a proxy in front of Clerk: the request is not
  authenticated, rate-limited or applied. A 5xx or reset *after* the change went through
  all of that, and the change stands.
"""

from clerk_async.testing._app import API_VERSIONS, FakeClerk
from clerk_async.testing._control import Faults, RecordedRequest, Stats
from clerk_async.testing._state.organizations import MembershipRecord, OrganizationRecord
from clerk_async.testing._state.sessions import SessionRecord
from clerk_async.testing._state.users import UserRecord
from clerk_async.testing._store import APIKeyRecord, FakeError, M2MTokenRecord, MachineRecord
from clerk_async.testing._tokens import OAuthTokenRecord

__all__ = [
    "API_VERSIONS",
    "APIKeyRecord",
    "FakeClerk",
    "FakeError",
    "Faults",
    "M2MTokenRecord",
    "MachineRecord",
    "MembershipRecord",
    "OAuthTokenRecord",
    "OrganizationRecord",
    "RecordedRequest",
    "SessionRecord",
    "Stats",
    "UserRecord",
]
