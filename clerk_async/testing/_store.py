"""The state of one fake Clerk instance, in memory: machines, M2M tokens and API keys.

Each operation mirrors an endpoint and raises ``FakeError`` where Clerk answers an
error. Types, lengths and ranges were checked by the HTTP layer before (``_schema.py``);
these methods check only what needs the state (unknown ids, duplicates, ownership).
Timestamps are epoch milliseconds, as on the wire.
"""

from __future__ import annotations

import random
import string
import time
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from clerk_async._convert import UNSET, Unset

__all__ = [
    "APIKeyRecord",
    "FakeError",
    "M2MTokenRecord",
    "MachineRecord",
    "Store",
    "error_detail",
]


def max_scopes() -> int:
    """Scopes per machine: the spec's maxItems of CreateMachine's scoped_machines."""
    from clerk_async.testing._spec import OPERATIONS  # generated; it imports this module

    limit = OPERATIONS["CreateMachine"].field("scoped_machines").max_items
    assert limit is not None
    return limit


_ALPHANUMERIC = string.ascii_letters + string.digits


def error_detail(code: str, message: str, long_message: str, **meta: Any) -> dict[str, Any]:
    """One item of a ``ClerkErrors`` body."""
    return {"message": message, "long_message": long_message, "code": code, "meta": meta}


class FakeError(Exception):
    """An error answer, in Clerk's shape; the ``add_*`` helpers raise it too."""

    def __init__(
        self,
        status: int,
        errors: list[dict[str, Any]],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, errors)
        self.status = status
        self.errors = errors
        self.headers = headers

    @classmethod
    def one(cls, status: int, code: str, message: str, long_message: str, **meta: Any) -> FakeError:
        return cls(status, [error_detail(code, message, long_message, **meta)])

    @property
    def code(self) -> str:
        return str(self.errors[0]["code"])

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.errors[0]['long_message']}"


def _not_found(kind: str, resource_id: str) -> FakeError:
    return FakeError.one(
        404, "resource_not_found", "not found", f"No {kind} was found with id {resource_id}"
    )


@attrs.define(eq=False)
class MachineRecord:
    """A machine. ``scopes`` maps each machine it may access to when that scope was made."""

    id: str
    name: str
    instance_id: str
    secret_key: str = attrs.field(repr=False)
    default_token_ttl: int
    created_at: int
    updated_at: int
    scopes: dict[str, int] = attrs.field(factory=dict)


@attrs.define(eq=False)
class M2MTokenRecord:
    """An opaque M2M token (JWT-format tokens are never stored, as at Clerk)."""

    id: str
    token: str = attrs.field(repr=False)
    subject: str
    scopes: list[str]
    claims: Any
    expiration: int | None
    created_at: int
    updated_at: int
    revoked: bool = False
    revocation_reason: str | None = None
    last_used_at: int | None = None

    def expired(self, now: int) -> bool:
        return self.expiration is not None and now >= self.expiration


@attrs.define(eq=False)
class APIKeyRecord:
    """An API key; ``secret`` is what its holder presents to ``POST /api_keys/verify``."""

    id: str
    secret: str = attrs.field(repr=False)
    type: str
    subject: str
    name: str
    description: str | None
    claims: Any
    scopes: list[str]
    created_by: str | None
    expiration: int | None
    created_at: int
    updated_at: int
    revoked: bool = False
    revocation_reason: str | None = None
    last_used_at: int | None = None

    def expired(self, now: int) -> bool:
        return self.expiration is not None and now >= self.expiration


# The last millisecond of the year 9999: no expiration is later (the spec sets no maximum;
# without one, 1e308 seconds overflowed into a 500, 1e300 into an integer JSON cannot carry).
MAX_EXPIRATION_MS = 253_402_300_799_999


def _expiration(now: int, seconds: float | None) -> int | None:
    if seconds is None:
        return None
    if seconds * 1000 > MAX_EXPIRATION_MS - now:
        raise FakeError.one(
            400,
            "form_param_value_invalid",
            "is invalid",
            "seconds_until_expiration puts the expiration after the year 9999",
            param_name="seconds_until_expiration",
        )
    return now + int(seconds * 1000)


class Store:
    """Everything one instance holds. ``seed`` makes its ids and secrets reproducible."""

    def __init__(self, *, seed: int | None = None) -> None:
        from clerk_async.testing._tokens import Tokens

        self._rng = random.Random(seed)
        self.instance_id = "ins_" + self._word()
        # Keys, JWTs and OAuth tokens, with their own draws: issuing a token leaves the ids
        # of a seeded store as they were.
        tokens_rng = random.Random(None if seed is None else f"tokens-{seed}")
        self.tokens = Tokens(self.instance_id, self.now, tokens_rng)
        self.machines: dict[str, MachineRecord] = {}
        self.m2m_tokens: dict[str, M2MTokenRecord] = {}
        self.api_keys: dict[str, APIKeyRecord] = {}
        self.time_offset_ms = 0
        # Three namespaces share the ``ak_`` + 32 hex shape (machine secret keys, API key
        # ids and API key secrets), and two the ``mt_`` one: each gets its own index.
        self._machine_by_key: dict[str, str] = {}
        self._retired_keys: dict[str, tuple[str, int]] = {}  # key -> (machine id, valid until)
        self._token_by_value: dict[str, M2MTokenRecord] = {}
        self._tokens_by_subject: dict[str, list[M2MTokenRecord]] = {}
        self._api_key_by_secret: dict[str, APIKeyRecord] = {}
        # Users, organizations, sessions...: their own draws too, so that seeding them
        # leaves machine ids as they were.
        from clerk_async.testing._state import State

        state_rng = random.Random(None if seed is None else f"state-{seed}")
        self.state = State(self.instance_id, self.now, self.tokens, state_rng)

    # -- ids and time ------------------------------------------------------------------

    def _word(self) -> str:
        return "".join(self._rng.choices(_ALPHANUMERIC, k=27))

    def _hex(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"

    def now(self) -> int:
        return time.time_ns() // 1_000_000 + self.time_offset_ms

    @staticmethod
    def _bump(updated_at: int, now: int) -> int:
        # Strictly later, so that a change is visible even within one millisecond.
        return now if now > updated_at else updated_at + 1

    # -- machines ----------------------------------------------------------------------

    def machine_json(self, m: MachineRecord, *, nested: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "object": "machine",
            "id": m.id,
            "name": m.name,
            "instance_id": m.instance_id,
            "created_at": m.created_at,
            "updated_at": m.updated_at,
            "default_token_ttl": m.default_token_ttl,
        }
        if not nested:
            machines = self.machines
            body["scoped_machines"] = [
                self.machine_json(machines[other], nested=True) for other in m.scopes
            ]
        return body

    def get_machine(self, machine_id: str) -> MachineRecord:
        m = self.machines.get(machine_id)
        if m is None:
            raise _not_found("machine", machine_id)
        return m

    def machine_for_key(self, key: str) -> MachineRecord | None:
        """The machine a secret key authenticates, including rotated keys still in grace."""
        machine_id = self._machine_by_key.get(key)
        if machine_id is None:
            retired = self._retired_keys.get(key)
            if retired is None or self.now() >= retired[1]:
                return None
            machine_id = retired[0]
        return self.machines.get(machine_id)

    def list_machines(
        self, limit: int = 10, offset: int = 0, query: str = "", order_by: str = "-created_at"
    ) -> tuple[list[MachineRecord], int]:
        # Dict order is creation order, so created_at needs no sort; ties keep that order.
        found: list[MachineRecord] = list(self.machines.values())
        if query:
            needle = query.casefold()
            found = [m for m in found if m.id == query or needle in m.name.casefold()]
        descending = order_by.startswith("-")
        if order_by.lstrip("+-") == "name":
            found.sort(key=lambda m: m.name, reverse=descending)
        elif descending:
            found.reverse()
        return found[offset : offset + limit], len(found)

    def create_machine(
        self,
        name: str,
        scoped_machines: Iterable[str] = (),
        default_token_ttl: int = 3600,
        machine_id: str | None = None,
    ) -> MachineRecord:
        if machine_id is not None and machine_id in self.machines:
            raise FakeError.one(409, "duplicate_record", "duplicate", f"{machine_id} exists")
        now = self.now()
        scopes = dict.fromkeys(scoped_machines, now)
        for other in scopes:
            self.get_machine(other)
        m = MachineRecord(
            id=machine_id or "mch_" + self._word(),
            name=name,
            instance_id=self.instance_id,
            secret_key="ak_" + self._hex(),
            default_token_ttl=default_token_ttl,
            created_at=now,
            updated_at=now,
            scopes=scopes,
        )
        self.machines[m.id] = m
        self._machine_by_key[m.secret_key] = m.id
        return m

    def update_machine(
        self,
        machine_id: str,
        name: str | Unset = UNSET,
        default_token_ttl: int | Unset = UNSET,
    ) -> MachineRecord:
        m = self.get_machine(machine_id)
        if name is not UNSET:
            m.name = name
        if default_token_ttl is not UNSET:
            m.default_token_ttl = default_token_ttl
        m.updated_at = self._bump(m.updated_at, self.now())
        return m

    def delete_machine(self, machine_id: str) -> None:
        m = self.machines.pop(machine_id, None)
        if m is None:
            raise _not_found("machine", machine_id)
        self._machine_by_key.pop(m.secret_key, None)
        self._retired_keys = {k: v for k, v in self._retired_keys.items() if v[0] != machine_id}
        for other in self.machines.values():
            other.scopes.pop(machine_id, None)

    def rotate_secret_key(self, machine_id: str, previous_token_ttl: int) -> str:
        m = self.get_machine(machine_id)
        now = self.now()
        del self._machine_by_key[m.secret_key]
        if previous_token_ttl > 0:
            self._retired_keys[m.secret_key] = (m.id, now + previous_token_ttl * 1000)
        m.secret_key = "ak_" + self._hex()
        m.updated_at = self._bump(m.updated_at, now)
        self._machine_by_key[m.secret_key] = m.id
        return m.secret_key

    def create_scope(self, machine_id: str, to_machine_id: str) -> int:
        m = self.get_machine(machine_id)
        self.get_machine(to_machine_id)
        if to_machine_id in m.scopes:
            raise FakeError.one(
                409,
                "duplicate_record",
                "duplicate machine scope",
                f"Machine {machine_id} already has access to machine {to_machine_id}",
            )
        limit = max_scopes()
        if len(m.scopes) >= limit:
            raise FakeError.one(
                422,
                "form_param_value_invalid",
                "is invalid",
                f"A machine can have at most {limit} scopes",
                param_name="to_machine_id",
            )
        now = self.now()
        m.scopes[to_machine_id] = now
        m.updated_at = self._bump(m.updated_at, now)
        return now

    def delete_scope(self, machine_id: str, other_machine_id: str) -> None:
        m = self.get_machine(machine_id)
        if m.scopes.pop(other_machine_id, None) is None:
            raise FakeError.one(
                404,
                "resource_not_found",
                "not found",
                f"Machine {machine_id} has no scope to machine {other_machine_id}",
            )
        m.updated_at = self._bump(m.updated_at, self.now())

    # -- M2M tokens --------------------------------------------------------------------

    def token_json(
        self, t: M2MTokenRecord, now: int, *, with_token: bool = False
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "object": "machine_to_machine_token",
            "id": t.id,
            "subject": t.subject,
            "claims": t.claims,
            "scopes": t.scopes,
            "revoked": t.revoked,
            "revocation_reason": t.revocation_reason,
            "expired": t.expired(now),
            "expiration": t.expiration,
            "last_used_at": t.last_used_at,
            "created_at": t.created_at,
            "updated_at": t.updated_at,
        }
        if with_token:
            body["token"] = t.token
        return body

    def create_m2m_token(
        self,
        machine: MachineRecord,
        token_format: str = "opaque",
        seconds_until_expiration: float | None = None,
        claims: Any = None,
        min_remaining_ttl_seconds: int | Unset = UNSET,
    ) -> M2MTokenRecord:
        now = self.now()
        # null means the machine's default, as the JS SDK sends null unless told otherwise.
        lifetime = seconds_until_expiration or machine.default_token_ttl
        scopes = list(machine.scopes)
        if token_format == "opaque" and min_remaining_ttl_seconds is not UNSET:
            if min_remaining_ttl_seconds >= lifetime:
                raise FakeError.one(
                    400,
                    "form_param_value_invalid",
                    "is invalid",
                    "min_remaining_ttl_seconds must be less than the token's lifetime "
                    f"({lifetime} seconds)",
                    param_name="min_remaining_ttl_seconds",
                )
            reuse_until = now + min_remaining_ttl_seconds * 1000
            for t in reversed(self._tokens_by_subject.get(machine.id, ())):
                if (
                    not t.revoked
                    and t.expiration is not None
                    and t.expiration >= reuse_until
                    and t.claims == claims
                    and t.scopes == scopes
                ):
                    return t
        t = M2MTokenRecord(
            id="mt_" + self._hex(),
            token="mt_" + self._hex(),
            subject=machine.id,
            scopes=scopes,
            claims=claims,
            expiration=_expiration(now, lifetime),
            created_at=now,
            updated_at=now,
        )
        if token_format == "jwt":
            t.token = self.tokens.m2m_jwt(
                t.id, t.subject, t.scopes, t.claims, t.created_at, t.expiration or now
            )
        else:
            self.m2m_tokens[t.id] = t
            self._token_by_value[t.token] = t
            self._tokens_by_subject.setdefault(t.subject, []).append(t)
        return t

    def list_m2m_tokens(
        self,
        subject: str,
        as_machine: MachineRecord | None,
        revoked: bool = False,
        expired: bool = False,
        limit: int = 10,
        offset: int = 0,
    ) -> tuple[list[M2MTokenRecord], int]:
        """Newest first; ``revoked``/``expired`` say whether such tokens are included."""
        if as_machine is not None and as_machine.id != subject:
            raise FakeError.one(
                403,
                "authorization_invalid",
                "Unauthorized request",
                "A machine secret key can only list the tokens of its own machine",
            )
        self.get_machine(subject)
        now = self.now()
        found = [
            t
            for t in reversed(self._tokens_by_subject.get(subject, ()))
            if (revoked or not t.revoked) and (expired or not t.expired(now))
        ]
        return found[offset : offset + limit], len(found)

    def revoke_m2m_token(
        self,
        m2m_token_id: str,
        as_machine: MachineRecord | None,
        revocation_reason: str | None = None,
    ) -> M2MTokenRecord:
        t = self.m2m_tokens.get(m2m_token_id)
        if t is None or (as_machine is not None and t.subject != as_machine.id):
            raise _not_found("M2M token", m2m_token_id)
        if not t.revoked:
            t.revoked = True
            t.revocation_reason = revocation_reason
            t.updated_at = self._bump(t.updated_at, self.now())
        return t

    def verify_m2m_token(self, token: str, as_machine: MachineRecord | None) -> M2MTokenRecord:
        t = self._token_by_value.get(token)
        now = self.now()
        if t is None or (as_machine is not None and as_machine.id not in t.scopes):
            raise FakeError.one(404, "resource_not_found", "not found", "M2M token not found")
        _check_usable("M2M token", t.revoked, t.expired(now))
        t.last_used_at = now
        return t

    # -- API keys ----------------------------------------------------------------------

    @staticmethod
    def api_key_json(k: APIKeyRecord, now: int, *, with_secret: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "object": "api_key",
            "id": k.id,
            "type": k.type,
            "subject": k.subject,
            "name": k.name,
            "description": k.description,
            "claims": k.claims,
            "scopes": k.scopes,
            "revoked": k.revoked,
            "revocation_reason": k.revocation_reason,
            "expired": k.expired(now),
            "expiration": k.expiration,
            "created_by": k.created_by,
            "last_used_at": k.last_used_at,
            "created_at": k.created_at,
            "updated_at": k.updated_at,
        }
        if with_secret:
            body["secret"] = k.secret
        return body

    def get_api_key(self, api_key_id: str) -> APIKeyRecord:
        k = self.api_keys.get(api_key_id)
        if k is None:
            raise _not_found("API key", api_key_id)
        return k

    def create_api_key(
        self,
        name: str,
        subject: str,
        type: str = "api_key",
        description: str | None = None,
        claims: Any = None,
        scopes: Iterable[str] = (),
        created_by: str | None = None,
        seconds_until_expiration: float | None = None,
    ) -> APIKeyRecord:
        now = self.now()
        k = APIKeyRecord(
            id="ak_" + self._hex(),
            secret="ak_" + self._hex(),
            type=type,
            subject=subject,
            name=name,
            description=description,
            claims=claims,
            scopes=list(scopes),
            created_by=created_by,
            expiration=_expiration(now, seconds_until_expiration),
            created_at=now,
            updated_at=now,
        )
        self.api_keys[k.id] = k
        self._api_key_by_secret[k.secret] = k
        return k

    def list_api_keys(
        self,
        subject: str,
        type: str = "api_key",
        include_invalid: str = "false",
        limit: int = 10,
        offset: int = 0,
        query: str = "",
    ) -> tuple[list[APIKeyRecord], int]:
        """Newest first; ``query`` matches the id exactly or the name in part."""
        now = self.now()
        needle = query.casefold()
        found = [
            k
            for k in reversed(self.api_keys.values())
            if k.subject == subject
            and k.type == type
            and (include_invalid == "true" or not (k.revoked or k.expired(now)))
            and (not query or k.id == query or needle in k.name.casefold())
        ]
        return found[offset : offset + limit], len(found)

    def update_api_key(
        self,
        api_key_id: str,
        claims: Any = UNSET,
        scopes: list[str] | Unset = UNSET,
        description: str | Unset | None = UNSET,
        subject: str | Unset = UNSET,
        seconds_until_expiration: float | Unset | None = UNSET,
    ) -> APIKeyRecord:
        k = self.get_api_key(api_key_id)
        now = self.now()
        expiration = k.expiration  # first: a refused one leaves the key as it was
        if seconds_until_expiration is not UNSET:
            expiration = _expiration(now, seconds_until_expiration)
        if claims is not UNSET:
            k.claims = claims
        if scopes is not UNSET:
            k.scopes = scopes
        if description is not UNSET:
            k.description = description
        if subject is not UNSET:
            k.subject = subject
        k.expiration = expiration
        k.updated_at = self._bump(k.updated_at, now)
        return k

    def delete_api_key(self, api_key_id: str) -> str:
        k = self.get_api_key(api_key_id)
        del self.api_keys[k.id]
        del self._api_key_by_secret[k.secret]
        return k.id

    def revoke_api_key(self, api_key_id: str, revocation_reason: str | None = None) -> APIKeyRecord:
        k = self.get_api_key(api_key_id)
        if not k.revoked:
            k.revoked = True
            k.revocation_reason = revocation_reason
            k.updated_at = self._bump(k.updated_at, self.now())
        return k

    def verify_api_key(self, secret: str) -> APIKeyRecord:
        k = self._api_key_by_secret.get(secret)
        if k is None:
            raise FakeError.one(404, "resource_not_found", "not found", "API key not found")
        now = self.now()
        _check_usable("API key", k.revoked, k.expired(now))
        k.last_used_at = now
        return k


def _check_usable(kind: str, revoked: bool, expired: bool) -> None:
    # The spec declares only 400 and 404 for verify; Clerk's SDKs read a 404 as "invalid
    # token", so a revoked or expired one is a 404 too, told apart by its message.
    if revoked:
        raise FakeError.one(404, "resource_not_found", "not found", f"{kind} has been revoked")
    if expired:
        raise FakeError.one(404, "resource_not_found", "not found", f"{kind} has expired")
