"""FakeClerk: the HTTP face of the fake, an aiohttp application over ``Store``."""

from __future__ import annotations

import asyncio
import email.policy
import json
import math
import os
import random
import re
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any, Literal

import attrs
from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError
from multidict import CIMultiDict, CIMultiDictProxy

from clerk_async._json import CODEC, dumps, loads
from clerk_async._ratelimit import RateLimit, default_rate_limit
from clerk_async.testing._control import (
    NO_FAULT,
    FaultPlan,
    Faults,
    RecordedRequest,
    SlidingWindow,
    Stats,
    draw,
)
from clerk_async.testing._schema import Schema, SpecOperation
from clerk_async.testing._server import LoopbackServer
from clerk_async.testing._spec import OPERATIONS as SPEC
from clerk_async.testing._state import HANDLERS as STATE_HANDLERS
from clerk_async.testing._state import ITEMS
from clerk_async.testing._state import Handler as StateHandler
from clerk_async.testing._state.organizations import OrganizationRecord
from clerk_async.testing._state.sessions import SessionRecord
from clerk_async.testing._state.users import UserRecord
from clerk_async.testing._store import (
    APIKeyRecord,
    FakeError,
    M2MTokenRecord,
    MachineRecord,
    Store,
    error_detail,
)
from clerk_async.testing._tokens import OAuthTokenRecord

if TYPE_CHECKING:
    from clerk_async.client import Clerk

__all__ = ["API_VERSIONS", "FakeClerk"]

# DOCS versioning.mdx: the versions Clerk accepts in Clerk-API-Version.
API_VERSIONS = frozenset({"2021-02-05", "2024-10-01", "2025-04-10", "2025-11-10", "2026-05-12"})

Auth = Literal["instance", "machine", "either"]
Op = Callable[[Store, MachineRecord | None, dict[str, Any]], Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_NO_BODY = object()
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_MALFORMED = object()
_HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


@attrs.frozen
class Route:
    """One operation of the spec: how it authenticates, what it accepts, what it does."""

    spec: SpecOperation  # generated from the spec: method, path, checks, statuses
    op: Op | None  # None: answer the spec's example (the operations without state here)
    auth: Auth = "instance"
    # M2M tokens and API keys sit behind Clerk's "bapi-proxy", which also serves them
    # without the /v1 prefix (the JS SDK calls them so).
    unversioned: bool = False

    @property
    def method(self) -> str:
        return self.spec.method

    @property
    def path(self) -> str:
        return self.spec.path

    @property
    def query(self) -> Schema | None:
        return self.spec.query

    @property
    def body(self) -> Schema | None:
        return self.spec.body


def _route(operation: str, op: Op, **kwargs: Any) -> Route:
    return Route(SPEC[operation], op, **kwargs)


def _proxied(operation: str, op: Op, **kwargs: Any) -> Route:
    return Route(SPEC[operation], op, unversioned=True, **kwargs)


# -- operations: (store, calling machine, checked params) -> JSON payload -------------------


def _list_machines(s: Store, _: MachineRecord | None, p: dict[str, Any]) -> Any:
    found, total = s.list_machines(**p)
    return {"data": [s.machine_json(m) for m in found], "total_count": total}


def _create_machine(s: Store, _: MachineRecord | None, p: dict[str, Any]) -> Any:
    m = s.create_machine(**p)
    return {**s.machine_json(m), "secret_key": m.secret_key}


def _get_machine(s: Store, _: MachineRecord | None, p: dict[str, Any]) -> Any:
    return s.machine_json(s.get_machine(**p))


def _update_machine(s: Store, _: MachineRecord | None, p: dict[str, Any]) -> Any:
    return s.machine_json(s.update_machine(**p))


def _delete_machine(s: Store, _: MachineRecord | None, p: dict[str, Any]) -> Any:
    s.delete_machine(**p)
    return {"object": "machine", "id": p["machine_id"], "deleted": True}


def _get_secret_key(s: Store, _: MachineRecord | None, p: dict[str, Any]) -> Any:
    return {"object": "machine_secret_key", "secret": s.get_machine(**p).secret_key}


def _rotate_secret_key(s: Store, _: MachineRecord | None, p: dict[str, Any]) -> Any:
    return {"object": "machine_secret_key", "secret": s.rotate_secret_key(**p)}


def _create_scope(s: Store, _: MachineRecord | None, p: dict[str, Any]) -> Any:
    created_at = s.create_scope(**p)
    return {
        "object": "machine_scope",
        "from_machine_id": p["machine_id"],
        "to_machine_id": p["to_machine_id"],
        "created_at": created_at,
    }


def _delete_scope(s: Store, _: MachineRecord | None, p: dict[str, Any]) -> Any:
    s.delete_scope(**p)
    return {
        "object": "machine_scope",
        "from_machine_id": p["machine_id"],
        "to_machine_id": p["other_machine_id"],
        "deleted": True,
    }


def _create_m2m_token(s: Store, m: MachineRecord | None, p: dict[str, Any]) -> Any:
    assert m is not None  # the route admits machine secret keys only
    return s.token_json(s.create_m2m_token(m, **p), s.now(), with_token=True)


def _whole_pages(p: dict[str, Any]) -> dict[str, Any]:
    """``limit`` and ``offset`` floored: the spec types those of the M2M token and API key
    lists as "number", so 2.5 is valid there, but a page holds whole items."""
    return {k: math.floor(v) if k in ("limit", "offset") else v for k, v in p.items()}


def _list_m2m_tokens(s: Store, m: MachineRecord | None, p: dict[str, Any]) -> Any:
    found, total = s.list_m2m_tokens(as_machine=m, **_whole_pages(p))
    now = s.now()
    return {"m2m_tokens": [s.token_json(t, now) for t in found], "total_count": total}


def _revoke_m2m_token(s: Store, m: MachineRecord | None, p: dict[str, Any]) -> Any:
    return s.token_json(s.revoke_m2m_token(as_machine=m, **p), s.now())


def _verify_m2m_token(s: Store, m: MachineRecord | None, p: dict[str, Any]) -> Any:
    return s.token_json(s.verify_m2m_token(as_machine=m, **p), s.now())


def _create_api_key(s: Store, _: MachineRecord | None, p: dict[str, Any]) -> Any:
    return s.api_key_json(s.create_api_key(**p), s.now(), with_secret=True)


def _list_api_keys(s: Store, _: MachineRecord | None, p: dict[str, Any]) -> Any:
    found, total = s.list_api_keys(**_whole_pages(p))
    now = s.now()
    return {"data": [s.api_key_json(k, now) for k in found], "total_count": total}


def _get_api_key(s: Store, _: MachineRecord | None, p: dict[str, Any]) -> Any:
    return s.api_key_json(s.get_api_key(p["apiKeyID"]), s.now())


def _update_api_key(s: Store, _: MachineRecord | None, p: dict[str, Any]) -> Any:
    return s.api_key_json(s.update_api_key(p.pop("apiKeyID"), **p), s.now())


def _delete_api_key(s: Store, _: MachineRecord | None, p: dict[str, Any]) -> Any:
    return {"id": s.delete_api_key(p["apiKeyID"]), "object": "api_key", "deleted": True}


def _get_api_key_secret(s: Store, _: MachineRecord | None, p: dict[str, Any]) -> Any:
    return {"secret": s.get_api_key(p["apiKeyID"]).secret}


def _revoke_api_key(s: Store, _: MachineRecord | None, p: dict[str, Any]) -> Any:
    return s.api_key_json(s.revoke_api_key(p.pop("apiKeyID"), **p), s.now())


def _verify_api_key(s: Store, _: MachineRecord | None, p: dict[str, Any]) -> Any:
    return s.api_key_json(s.verify_api_key(**p), s.now())


def _get_jwks(s: Store, _: MachineRecord | None, p: dict[str, Any]) -> Any:
    return s.tokens.jwks()


def _verify_oauth_token(s: Store, _: MachineRecord | None, p: dict[str, Any]) -> Any:
    return s.tokens.verify_oauth_token(**p)


def _from_state(handler: StateHandler) -> Op:
    """A handler of ``_state`` (users, organizations, sessions...) as a route's op."""
    return lambda s, _, p: s.state.answer(handler, p)


STATEFUL: tuple[Route, ...] = (
    _route("GetJWKS", _get_jwks),
    _proxied("verifyOAuthAccessToken", _verify_oauth_token),
    _route("ListMachines", _list_machines),
    _route("CreateMachine", _create_machine),
    _route("GetMachine", _get_machine),
    _route("UpdateMachine", _update_machine),
    _route("DeleteMachine", _delete_machine),
    _route("GetMachineSecretKey", _get_secret_key),
    _route("RotateMachineSecretKey", _rotate_secret_key),
    _route("CreateMachineScope", _create_scope),
    _route("DeleteMachineScope", _delete_scope),
    _proxied("createM2MToken", _create_m2m_token, auth="machine"),
    _proxied("getM2MTokens", _list_m2m_tokens, auth="either"),
    _proxied("revokeM2MToken", _revoke_m2m_token, auth="either"),
    _proxied("verifyM2MToken", _verify_m2m_token, auth="either"),
    _proxied("createApiKey", _create_api_key),
    _proxied("getApiKeys", _list_api_keys),
    _proxied("verifyApiKey", _verify_api_key),
    _proxied("getApiKey", _get_api_key),
    _proxied("updateApiKey", _update_api_key),
    _proxied("deleteApiKey", _delete_api_key),
    _proxied("getApiKeySecret", _get_api_key_secret),
    _proxied("revokeApiKey", _revoke_api_key),
    *(_route(operation, _from_state(fn)) for operation, fn in STATE_HANDLERS.items()),
)
_HAS_STATE = {(r.method, r.path) for r in STATEFUL}
# Every operation of the spec: the stateful ones above, the others answer the spec's
# example after checking the request as the spec says. Static segments are registered
# before placeholders (aiohttp matches in order): /users/count before /users/{user_id}.
ROUTES: tuple[Route, ...] = tuple(
    sorted(
        [
            *STATEFUL,
            *(Route(o, None) for o in SPEC.values() if (o.method, o.path) not in _HAS_STATE),
        ],
        key=lambda r: [segment.startswith("{") for segment in r.path.split("/")],
    )
)


def _checked(operation: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` checked as the operation's request body would be."""
    spec = SPEC[operation]
    assert spec.body is not None
    return spec.body.check(body, spec.invalid_status)


def _json_response(status: int, payload: Any) -> web.Response:
    return web.Response(body=dumps(payload), status=status, content_type="application/json")


def _error_response(error: FakeError) -> web.Response:
    body = {"errors": error.errors, "clerk_trace_id": os.urandom(16).hex()}
    return web.Response(
        body=dumps(body),
        status=error.status,
        content_type="application/json",
        headers=error.headers,
    )


def _unauthenticated(long_message: str) -> FakeError:
    return FakeError.one(401, "authentication_invalid", "Invalid authentication", long_message)


def _body_invalid(long_message: str) -> FakeError:
    return FakeError.one(400, "request_body_invalid", "Request body invalid", long_message)


async def _read_body(request: web.Request) -> Any:
    """The parsed JSON body, ``_NO_BODY`` or ``_MALFORMED``."""
    try:
        raw = await request.read()
    except RequestPayloadError:  # not what its Content-Encoding says (not gzip...)
        return _MALFORMED
    if not raw.strip(b" \t\r\n"):  # JSON's whitespace only: a \x0b is no body, nor JSON
        return _NO_BODY
    try:
        return _strict_loads(raw)
    except (ValueError, RecursionError):  # RecursionError: the stdlib on "[[[[..."
        return _MALFORMED


def _form_parts(raw: bytes, content_type: str) -> dict[str, str]:
    """A multipart/form-data body's parts by name: a file's value is its file name, a
    field's its text. A body that is not multipart is a 400."""
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw
    )
    if not message.is_multipart():
        if raw.strip() == f"--{message.get_boundary()}--".encode():  # no parts at all
            return {}
        raise _body_invalid("The request body is not valid multipart/form-data.")
    parts: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            content = part.get_content() if part.get_filename() is None else None
            parts[name] = part.get_filename() or (content if isinstance(content, str) else "")
    return parts


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _strict_loads(raw: bytes) -> Any:
    if CODEC == "json":  # the stdlib takes NaN and Infinity, which JSON has not
        value = json.loads(raw, parse_constant=_not_json)
        # ... and lone surrogates ("\ud800"), which no UTF-8 answer can carry back: Go's
        # decoder (Clerk's) makes each U+FFFD, and so does this.
        return _no_lone_surrogates(value) if b"\\u" in raw else value
    return loads(raw)  # orjson refuses lone surrogates itself


def _no_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_no_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_no_lone_surrogates(k): _no_lone_surrogates(v) for k, v in value.items()}
    return value


def _drop_connection(request: web.Request) -> web.Response:
    # Aborting the transport sends nothing more: the client sees the server disconnect.
    # aiohttp then fails quietly to write the response returned here.
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response(status=500)


class FakeClerk(LoopbackServer):
    """Clerk's Backend API, every operation of the spec, served on loopback.

    ``async with FakeClerk() as fake:`` listens on ``host``:``port`` (0: a free port), in
    the running event loop, and serves ``fake.url`` (``http://127.0.0.1:PORT/v1``) to
    requests that carry ``Authorization: Bearer <fake.secret_key>`` or, on the M2M token
    endpoints, a machine's secret key. ``with FakeClerk() as fake:`` serves it from a thread
    and event loop of its own, for sync code and other loops (FastAPI's ``TestClient``);
    ``fake.env`` and ``with fake.setenv():`` point ``Clerk()`` (and apps) at it through
    ``CLERK_API_URL`` and ``CLERK_SECRET_KEY``. See the package docstring for the behaviour
    in full.

    - ``secret_key``: the instance secret key (default: a fresh ``sk_test_…``).
    - ``rate_limit``: a ``RateLimit``, ``None`` for none, or ``"auto"``:
      Clerk's documented limit for the key (1000 per 10 s for ``sk_live_``, else 100).
    - ``faults``: a ``Faults``; ``seed``: makes ids and secrets reproducible.
    - ``max_recorded_requests``: the length of ``requests`` (0 records nothing).
    """

    def __init__(
        self,
        secret_key: str | None = None,
        *,
        rate_limit: RateLimit | Literal["auto"] | None = "auto",
        faults: Faults | None = None,
        seed: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        max_recorded_requests: int = 1000,
    ) -> None:
        self.secret_key = secret_key or "sk_test_" + secrets.token_hex(16)
        self.host = host
        self.port = port
        self.stats = Stats()
        self.requests: deque[RecordedRequest] = deque(maxlen=max_recorded_requests)
        self._seed = seed
        self._store = Store(seed=seed)
        self._window: SlidingWindow | None = None
        self.rate_limit = (
            default_rate_limit(self.secret_key) if rate_limit == "auto" else rate_limit
        )
        self._fault_rng = random.Random()
        self.faults = faults or Faults()
        self.app = self._make_app()

    # -- configuration, changeable at any time --------------------------------------------

    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        """Set new faults; their draws start over from their seed."""
        self._faults = faults
        self._fault_rng.seed(faults.seed)

    @property
    def rate_limit(self) -> RateLimit | None:
        return None if self._window is None else self._window.limit

    @rate_limit.setter
    def rate_limit(self, limit: RateLimit | None) -> None:
        """Set a new limit (None: no limit) with an empty window."""
        self._window = None if limit is None else SlidingWindow(limit)

    # -- state ---------------------------------------------------------------------------

    @property
    def machines(self) -> dict[str, MachineRecord]:
        """Machines by id, in creation order. Records are live: edits show in answers."""
        return self._store.machines

    @property
    def m2m_tokens(self) -> dict[str, M2MTokenRecord]:
        """Opaque M2M tokens by id (``record.token`` is the token's value)."""
        return self._store.m2m_tokens

    @property
    def api_keys(self) -> dict[str, APIKeyRecord]:
        """API keys by id (``record.secret`` is what ``/api_keys/verify`` takes)."""
        return self._store.api_keys

    @property
    def instance_id(self) -> str:
        return self._store.instance_id

    def add_machine(
        self,
        name: str,
        *,
        default_token_ttl: int = 3600,
        scoped_machines: Iterable[str] = (),
        machine_id: str | None = None,
    ) -> MachineRecord:
        """Create a machine as ``POST /machines`` would; raises ``FakeError`` if invalid.

        ``machine_id`` seeds a machine under an id of your choosing (Clerk makes its own).
        """
        params = _checked(
            "CreateMachine",
            {
                "name": name,
                "default_token_ttl": default_token_ttl,
                "scoped_machines": list(scoped_machines),
            },
        )
        return self._store.create_machine(**params, machine_id=machine_id)

    def add_m2m_token(
        self,
        machine_id: str,
        *,
        seconds_until_expiration: float | None = None,
        claims: Any = None,
    ) -> M2MTokenRecord:
        """Create an opaque token for a machine, as its secret key could; ``.token`` is it."""
        params = _checked(
            "createM2MToken",
            {"seconds_until_expiration": seconds_until_expiration, "claims": claims},
        )
        return self._store.create_m2m_token(self._store.get_machine(machine_id), **params)

    def add_api_key(self, subject: str, name: str = "api-key", **fields: Any) -> APIKeyRecord:
        """Create an API key as ``POST /api_keys`` would (``fields``: its other body fields)."""
        params = _checked("createApiKey", {"subject": subject, "name": name, **fields})
        return self._store.create_api_key(**params)

    # -- users, organizations and sessions (clerk_async.testing._state) -------------------

    @property
    def users(self) -> dict[str, UserRecord]:
        """Users by id, in creation order; attributes are the wire's fields
        (``fake.users[uid].first_name``). Records are live: edits show in answers, but
        change identifiers (emails, phones, username, external_id) through the API, which
        keeps the lookup indexes. Seeding (``add_*``) is safe from any thread; read these
        maps between requests (a threaded fake may be changing them while one is served)."""
        return self._store.state.users.records

    @property
    def organizations(self) -> dict[str, OrganizationRecord]:
        """Organizations by id (``.memberships``: their memberships by user id)."""
        return self._store.state.orgs.records

    @property
    def sessions(self) -> dict[str, SessionRecord]:
        """Sessions by id, as ``POST /sessions`` and ``session_token`` made them."""
        return self._store.state.sessions.records

    def add_user(
        self,
        email_address: str | Iterable[str] | None = None,
        *,
        first_name: str | None = None,
        **fields: Any,
    ) -> UserRecord:
        """Create a user as ``POST /users`` would (``fields``: its other body fields, e.g.
        ``username=``, ``password=``, ``public_metadata=``); raises ``FakeError`` if
        invalid or an identifier is taken. ``email_address``: one address or several."""
        body = dict(fields)
        if email_address is not None:
            body["email_address"] = (
                [email_address] if isinstance(email_address, str) else list(email_address)
            )
        if first_name is not None:
            body["first_name"] = first_name
        params = _checked("CreateUser", body)
        state = self._store.state
        with state.lock:
            return state.users.create(params)

    def add_organization(
        self, name: str, *, members: Mapping[str, str] | None = None, **fields: Any
    ) -> OrganizationRecord:
        """Create an organization as ``POST /organizations`` would, with ``members``
        (``{user_id: "org:admin" | "org:member" | ...}``; a role the instance does not have
        yet is created, without permissions). ``fields``: the other body fields (``slug=``...)."""
        params = _checked("CreateOrganization", {"name": name, **fields})
        state = self._store.state
        with state.lock:
            for user_id in members or {}:
                state.users.get(user_id)  # all members exist, or nothing is made
            org = state.orgs.create(params)
            for user_id, role in (members or {}).items():
                state.roles.ensure(role)
                if user_id not in state.orgs.by_org[org.id]:
                    state.orgs.add_member(org.id, {"user_id": user_id, "role": role})
            return org

    def add_session(self, user_id: str, *, org_id: str | None = None) -> SessionRecord:
        """An active session of a user, as ``POST /sessions`` makes it (``org_id``: its
        active organization, of which the user must be a member)."""
        state = self._store.state
        with state.lock:
            return state.sessions.create(user_id, org_id)

    # -- tokens, issued as Clerk issues them (clerk_async.testing._tokens) ----------------

    @property
    def jwt_key(self) -> str:
        """The instance's public key as PEM: what ``Clerk(jwt_key=...)`` takes."""
        return self._store.tokens.public_key_pem

    def session_token(
        self,
        user_id: str = "user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr",
        *,
        session_id: str | None = None,
        org_id: str | None = None,
        org_role: str | None = None,
        org_slug: str | None = None,
        org_permissions: Iterable[str] | None = None,
        azp: str | None = "http://localhost:3000",
        expires_in: float = 60.0,
        claims: dict[str, Any] | None = None,
    ) -> str:
        """A session token for ``user_id``, signed RS256 by this instance's key.

        Version 2 claims, ``cat`` session, ``kid`` the instance id, times on the fake's
        clock (a negative ``expires_in`` makes it expired); ``org_permissions`` are
        ``org:<feature>:<permission>`` names, encoded as Clerk does.

        For a user of the fake's state (``add_user``), the token is that of a new active
        session (in ``sessions``, unless ``session_id`` names one, whose active
        organization is then the default ``org_id``), and ``org_id`` (an id or a slug) of an
        organization they are a member of fills ``o`` as Clerk does: their role, the slug
        and the role's custom permissions, unless given here. For any other ``user_id`` the
        claims are what the arguments say (role ``admin``).
        """
        state = self._store.state
        org: dict[str, Any] = {}
        with state.lock:
            if user_id in state.users.records:
                known = state.sessions.records.get(session_id or "")
                if known is not None and org_id is None:
                    org_id = known.last_active_organization_id
                org = state.sessions.org_claims(user_id, org_id)
                if session_id is None:
                    member = "org_role" in org
                    session = state.sessions.create(user_id, org["org_id"] if member else None)
                    session_id = session.id
        return self._store.tokens.session_token(
            user_id,
            session_id=session_id,
            org_id=org.get("org_id", org_id),
            org_role=org_role or org.get("org_role") or "admin",
            org_slug=org_slug or org.get("org_slug"),
            org_permissions=(
                org.get("org_permissions", ()) if org_permissions is None else org_permissions
            ),
            azp=azp,
            expires_in=expires_in,
            claims=claims,
        )

    def sign_jwt(self, payload: dict[str, Any], header: dict[str, Any] | None = None) -> str:
        """Any payload as an RS256 JWT under this instance's key; ``header`` adds to or
        overrides ``alg``, ``kid`` and ``typ`` (for tests of odd and hostile tokens)."""
        return self._store.tokens.sign(payload, header)

    def rotate_jwt_key(self) -> None:
        """Replace the instance's signing key (same ``kid``, as Clerk's is the instance id)."""
        self._store.tokens.rotate_key()

    def m2m_jwt(
        self,
        machine_id: str,
        *,
        expires_in: float | None = None,
        claims: Any = None,
    ) -> str:
        """A JWT-format M2M token of a machine, as ``POST /m2m_tokens`` with
        ``token_format: "jwt"`` mints it (lifetime: the machine's default)."""
        machine = self._store.get_machine(machine_id)
        record = self._store.create_m2m_token(
            machine, token_format="jwt", seconds_until_expiration=expires_in, claims=claims
        )
        return record.token

    def add_oauth_token(
        self,
        user_id: str,
        *,
        client_id: str = "client_2VTWUzvGC5UhdJCNx6xG1D98edc",
        scopes: Iterable[str] = (),
        expires_in: float | None = 86400.0,
    ) -> OAuthTokenRecord:
        """An opaque OAuth access token (``.token``) for ``POST
        /oauth_applications/access_tokens/verify``."""
        return self._store.tokens.add_oauth_token(user_id, client_id, scopes, expires_in)

    @property
    def oauth_tokens(self) -> dict[str, OAuthTokenRecord]:
        """Opaque OAuth access tokens by id; set ``revoked`` on one to revoke it."""
        return self._store.tokens.oauth_tokens

    def advance_time(self, seconds: float) -> None:
        """Move the fake's clock on, to expire tokens and keys without sleeping.

        The rate-limit window keeps real time.
        """
        self._store.time_offset_ms += int(seconds * 1000)

    def reset(self) -> None:
        """Forget all state, requests and stats; restart the fault draws and the window."""
        self._store = Store(seed=self._seed)
        self.requests.clear()
        self.stats.clear()
        self.rate_limit = self.rate_limit  # the setters start afresh
        self.faults = self.faults

    # -- serving: start/close, async with and with, url and env are LoopbackServer's --

    def client(self, **kwargs: Any) -> Clerk:
        """A ``clerk_async.Clerk`` for this fake, with its secret key and, unless
        ``kwargs`` say otherwise, its rate limit (so the client paces as the fake limits)."""
        from clerk_async.client import Clerk

        kwargs.setdefault("rate_limit", self.rate_limit)
        return Clerk(secret_key=self.secret_key, base_url=self.url, **kwargs)

    # -- the request path ----------------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application()
        for route in ROUTES:
            prefixes = ("/v1", "") if route.unversioned else ("/v1",)
            for prefix in prefixes:
                template = prefix + route.path
                app.router.add_route(route.method, template, self._endpoint(route, template))
        app.router.add_route("*", "/{tail:.*}", self._unknown_route)
        return app

    def _endpoint(self, route: Route, template: str) -> Handler:
        key = (route.method, template)

        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._serve(route, key, request)

        return handle

    async def _unknown_route(self, request: web.Request) -> web.StreamResponse:
        self.stats.requests[request.method, "*"] += 1
        self._record(request, await _read_body(request))
        self.stats.statuses[404] += 1
        return _error_response(
            FakeError.one(404, "resource_not_found", "not found", f"No route {request.path}")
        )

    async def _serve(
        self, route: Route, key: tuple[str, str], request: web.Request
    ) -> web.StreamResponse:
        stats = self.stats
        stats.requests[key] += 1
        body = await _read_body(request)
        self._record(request, body)

        plan = draw(self._faults, self._fault_rng) if self._faults.active else NO_FAULT
        kind = plan.kind
        if kind is not None:
            stats.faults[kind] += 1
            if kind == "reset_before":
                return _drop_connection(request)
            if kind == "non_json":
                stats.statuses[502] += 1
                return web.Response(body=_HTML_502, status=502, content_type="text/html")
            if kind == "error_before":
                return self._internal_error(plan)

        try:
            machine = self._authenticate(request, route)
            self._admit()
            form = request.content_type == "multipart/form-data"
            if form:
                body = _form_parts(await request.read(), request.headers["Content-Type"])
            params = self._params(route.spec, request, body, form)
            response = self._answer(route, machine, params)
        except FakeError as error:
            response = _error_response(error)

        if plan.delay:
            stats.faults["delay"] += 1
            await asyncio.sleep(plan.delay)
        if kind == "reset_after":
            return _drop_connection(request)
        if kind == "error_after":
            return self._internal_error(plan)
        stats.statuses[response.status] += 1
        return response

    def _record(self, request: web.Request, body: Any) -> None:
        if not self.requests.maxlen:
            return
        headers = CIMultiDict(request.headers)
        headers.popall("Authorization", None)
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.raw_path.partition("?")[0],
                query=dict(request.query),
                json=None if body is _NO_BODY or body is _MALFORMED else body,
                headers=CIMultiDictProxy(headers),
            )
        )

    def _internal_error(self, plan: FaultPlan) -> web.Response:
        self.stats.statuses[plan.status] += 1
        return _error_response(
            FakeError.one(
                plan.status,
                "internal_clerk_error",
                "Oops, an unexpected error occurred",
                "There was an internal error on our servers. We've been notified and are "
                "working on fixing it.",
            )
        )

    def _authenticate(self, request: web.Request, route: Route) -> MachineRecord | None:
        """The calling machine (None for the instance key), or a 400 or 401 error."""
        headers = request.headers
        version = headers.get("Clerk-API-Version")
        if version is not None and version not in API_VERSIONS:
            raise FakeError.one(
                400,
                "api_version_invalid",
                "Invalid Clerk API version",
                f"Invalid Clerk API version: {version!r} is not a known version",
            )
        scheme, _, key = headers.get("Authorization", "").partition(" ")
        if route.spec.public:  # the spec's security is []: no key needed, none checked
            return None
        if scheme.lower() != "bearer" or not key:
            raise _unauthenticated("Send your secret key as `Authorization: Bearer <key>`.")
        if key == self.secret_key:
            if route.auth == "machine":
                raise _unauthenticated(
                    "M2M tokens must be created with a machine secret key (ak_...), "
                    "not the instance secret key."
                )
            return None
        machine = self._store.machine_for_key(key)
        if machine is None:
            raise _unauthenticated("The secret key is invalid.")
        if route.auth == "instance":
            raise _unauthenticated(
                "A machine secret key can only be used with the M2M token endpoints."
            )
        return machine

    def _admit(self) -> None:
        window = self._window
        if window is None:
            return
        wait = window.admit()
        if wait:
            self.stats.rate_limited += 1
            seconds = max(1, math.ceil(wait))
            raise FakeError(
                429,
                [
                    error_detail(
                        "too_many_requests",
                        "Too many requests",
                        "Too many requests, retry later",
                        ResetsIn=seconds,
                    )
                ],
                headers={"Retry-After": str(seconds)},
            )

    def _answer(
        self, route: Route, machine: MachineRecord | None, params: dict[str, Any]
    ) -> web.Response:
        spec = route.spec
        if route.op is not None:
            return _json_response(spec.status, route.op(self._store, machine, params))
        answer = spec.answer_for(params)
        if answer is None:  # the operation answers no body
            return web.Response(status=spec.status)
        return web.Response(body=answer, status=spec.status, content_type="application/json")

    @staticmethod
    def _params(spec: SpecOperation, request: web.Request, body: Any, form: bool) -> dict[str, Any]:
        status = spec.invalid_status
        params: dict[str, Any] = dict(request.match_info)
        if spec.path_params is not None:
            spec.path_params.check(params, status)
        if spec.query is not None:
            params.update(spec.query.check(request.query, status))
        kind = spec.body_kind
        if kind == "form":  # multipart: its parts, by name (a file's value: its filename)
            if not form and (spec.body_required or body is not _NO_BODY):
                raise _body_invalid("The request body must be multipart/form-data.")
            if form and spec.body is not None:
                params.update(spec.body.check(body, status))
        elif kind is not None:
            if body is _NO_BODY:
                if spec.body_required:
                    raise _body_invalid("The request body is required.")
                body = {} if kind == "object" else []
            if body is _MALFORMED:
                raise _body_invalid("The request body is not valid JSON.")
            if not isinstance(body, dict if kind == "object" else list):
                raise _body_invalid(f"The request body must be a JSON {kind}.")
            if spec.body is not None and isinstance(body, dict):
                params.update(spec.body.check(body, status))
            elif kind == "array":
                params[ITEMS] = body  # a bulk create's items: _state checks each one
        return params
