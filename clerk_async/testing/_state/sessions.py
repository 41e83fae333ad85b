"""Sessions, the session tokens they mint, and JWT templates.

Clerk's semantics, and the choices made where the spec and Clerk's docs are silent:

- ``POST /sessions`` makes an ``active`` session on a new client (``client_…``) that
  expires in 7 days and is abandoned after 30, as Clerk's defaults; its
  ``active_organization_id`` must be an organization the user is a member of (else 422
  ``form_param_value_invalid``). It sets the user's ``last_sign_in_at`` and
  ``last_active_at``. ``GET /sessions`` filters by ``client_id``, ``user_id`` and ``status``
  (the user's sessions come from an index) and pages newest first.
- ``POST /sessions/{id}/tokens`` answers a session token as Clerk's Frontend API mints them
  (``clerk_async.testing._tokens``): version 2 claims, ``sid``, ``sub``, and ``o`` for the
  session's active organization (``id``, ``rol``, ``slg``; ``per``/``fpm`` list the role's
  custom permissions: like Clerk, system ``org:sys_*`` permissions are not in tokens).
  Lifetime: ``expires_in_seconds`` or 60 s. A session that is not active: 404 (the status
  the spec declares), as Clerk answers for a session it cannot mint for.
- ``tokens/{template}`` renders the template's claims: a string that is exactly one
  shortcode (``"{{user.id}}"``, ``"{{org.slug}}"``, ``"{{user.public_metadata.plan}}"``)
  becomes the value with its JSON type, shortcodes inside longer strings become text,
  unknown ones null; then Clerk's own claims (``iss``, ``sub``, ``sid``, ``iat``, ``nbf``,
  ``exp``, ``jti``, ``azp``) win. Signed by the instance key unless the template has a
  custom key, which the fake does not support (422 on create).
- ``refresh``: ``expired_token`` must be a session token this instance signed for this
  active session (expired or not); the fake has no refresh-token cookies, so any non-empty
  ``refresh_token`` passes; anything else is the spec's 401. ``format: "cookie"`` answers
  the ``cookies`` form.
- ``GET /clients`` and ``/clients/{id}`` show the clients of those sessions (newest
  first), one session each; ``POST /clients/verify`` keeps its example answer.
- Revoking ends a session (``revoked``); deleting its user makes it ``removed``; banning
  the user revokes it.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from clerk_async.testing._state._base import (
    Record,
    handler,
    identifier_exists,
    invalid,
    not_found,
    ordered,
    page,
)
from clerk_async.testing._store import FakeError

if TYPE_CHECKING:
    from clerk_async.testing._state import State

__all__ = ["JWTTemplateRecord", "SessionRecord", "Sessions"]

SESSION_LIFETIME_MS = 7 * 86_400_000
ABANDON_AFTER_MS = 30 * 86_400_000
DEFAULT_AZP = "http://localhost:3000"
_SHORTCODE = re.compile(r"\{\{\s*([a-z_]+(?:\.[A-Za-z0-9_]+)*)\s*\}\}")


class SessionRecord(Record):
    """A session (``fake.sessions[sid]``)."""


class JWTTemplateRecord(Record):
    """A JWT template (``jtmp_…``)."""


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class Sessions:
    def __init__(self, state: State) -> None:
        self.state = state
        self.records: dict[str, SessionRecord] = {}
        self._by_user: dict[str, dict[str, SessionRecord]] = {}
        self._by_client: dict[str, list[SessionRecord]] = {}
        self.templates: dict[str, JWTTemplateRecord] = {}

    def get(self, session_id: str) -> SessionRecord:
        found = self.records.get(session_id)
        if found is None:
            raise not_found("session", session_id)
        return found

    def create(self, user_id: str, org_id: str | None = None) -> SessionRecord:
        user = self.state.users.get(user_id)
        if org_id is not None:
            org = self.state.orgs.get(org_id)
            if user.id not in self.state.orgs.by_org[org.id]:
                raise invalid("active_organization_id", f"{user.id} is not a member of {org.id}")
            org_id = org.id
        now = self.state.now()
        session = SessionRecord(
            object="session",
            id=self.state.new_id("sess"),
            user_id=user.id,
            client_id=self.state.new_id("client"),
            actor=None,
            status="active",
            last_active_organization_id=org_id,
            last_active_at=now,
            expire_at=now + SESSION_LIFETIME_MS,
            abandon_at=now + ABANDON_AFTER_MS,
            updated_at=now,
            created_at=now,
        )
        self.records[session.id] = session
        self._by_user.setdefault(user.id, {})[session.id] = session
        self._by_client[session.client_id] = [session]
        user.last_sign_in_at = user.last_active_at = now
        return session

    def end(self, session: SessionRecord, status: str) -> SessionRecord:
        if session.status == "active":
            session.status = status
            self.state.users.touch(session)
        return session

    def end_all(self, user_id: str, status: str) -> None:
        for session in self._by_user.get(user_id, {}).values():
            self.end(session, status)

    def leave_org(self, user_id: str, org_id: str) -> None:
        """A member who left an organization has it active in none of their sessions."""
        for session in self._by_user.get(user_id, {}).values():
            if session.last_active_organization_id == org_id:
                session.last_active_organization_id = None

    def forget_org(self, org_id: str) -> None:
        for session in self.records.values():
            if session.last_active_organization_id == org_id:
                session.last_active_organization_id = None

    def search(self, p: dict[str, Any]) -> list[SessionRecord]:
        found: Iterable[SessionRecord]
        if p.get("user_id"):
            found = self._by_user.get(p["user_id"], {}).values()
        else:
            found = self.records.values()
        if p.get("client_id"):
            found = [s for s in found if s.client_id == p["client_id"]]
        if p.get("status"):
            found = [s for s in found if s.status == p["status"]]
        return page(ordered(found, "-created_at", {}), p)

    def client(self, client_id: str) -> dict[str, Any]:
        """A client (a browser or device) as its sessions show it: here each session made
        through the Backend API is on a client of its own."""
        sessions = self._by_client.get(client_id)
        if sessions is None:
            raise not_found("client", client_id)
        latest = max(sessions, key=lambda s: s.last_active_at)
        return {
            "object": "client",
            "id": client_id,
            "session_ids": [s.id for s in sessions],
            "sessions": [s.json() for s in sessions],
            "sign_in_id": None,
            "sign_up_id": None,
            "last_active_session_id": latest.id if latest.status == "active" else None,
            "last_authentication_strategy": None,
            "updated_at": max(s.updated_at for s in sessions),
            "created_at": min(s.created_at for s in sessions),
        }

    # -- tokens ------------------------------------------------------------------------

    def _active(self, session_id: str) -> SessionRecord:
        session = self.get(session_id)
        if session.status != "active" or session.expire_at <= self.state.now():
            raise FakeError.one(
                404,
                "resource_not_found",
                "not found",
                f"Session {session.id} is {session.status}: it cannot mint tokens",
            )
        return session

    def org_claims(self, user_id: str, org_id: str | None) -> dict[str, Any]:
        """``session_token``'s organization arguments for a member (empty if none)."""
        if org_id is None:
            return {}
        orgs = self.state.orgs
        org = orgs.records.get(org_id) or orgs.by_slug.get(org_id)
        if org is None:
            return {"org_id": org_id}
        m = orgs.by_org[org.id].get(user_id)
        claims: dict[str, Any] = {"org_id": org.id, "org_slug": org.slug}
        if m is not None:
            claims["org_role"] = m.role
            claims["org_permissions"] = [p for p in m.permissions if not p.startswith("org:sys_")]
        return claims

    def token(self, session_id: str, expires_in: int | None) -> str:
        session = self._active(session_id)
        self._seen(session)
        return self.state.tokens.session_token(
            session.user_id,
            session_id=session.id,
            azp=DEFAULT_AZP,
            expires_in=60.0 if expires_in is None else float(expires_in),
            **self.org_claims(session.user_id, session.last_active_organization_id),
        )

    def _seen(self, session: SessionRecord) -> None:
        """A token minted is session activity: ``last_active_at`` moves, as at Clerk."""
        now = self.state.now()
        session.last_active_at = now
        user = self.state.users.records.get(session.user_id)
        if user is not None:
            user.last_active_at = now

    def template_token(self, session_id: str, name: str, expires_in: int | None) -> str:
        session = self._active(session_id)
        self._seen(session)
        template = next((t for t in self.templates.values() if t.name == name), None)
        if template is None:
            raise not_found("JWT template", name)
        now = self.state.now() // 1000
        lifetime = template.lifetime if expires_in is None else expires_in
        rendered = self._render(template.claims, session)
        tokens = self.state.tokens
        payload = {
            **(rendered if isinstance(rendered, dict) else {}),
            "iss": tokens.issuer,
            "sub": session.user_id,
            "sid": session.id,
            "azp": DEFAULT_AZP,
            "iat": now,
            "nbf": now - template.allowed_clock_skew,
            "exp": now + lifetime,
            "jti": self.state.new_id("jti")[4:24],
        }
        return tokens.sign(payload)

    def _context(self, session: SessionRecord) -> dict[str, Any]:
        users = self.state.users
        user = users.records[session.user_id]
        email = users.email_addresses.get(user.primary_email_address_id or "")
        phone = users.phone_numbers.get(user.primary_phone_number_id or "")
        full = " ".join(n for n in (user.first_name, user.last_name) if n) or None
        context: dict[str, Any] = {
            "user": {
                **user.json(),
                "full_name": full,
                "primary_email_address": None if email is None else email.email_address,
                "primary_phone_number": None if phone is None else phone.phone_number,
                "email_verified": email is not None and email.verification["status"] == "verified",
                "phone_number_verified": phone is not None
                and phone.verification["status"] == "verified",
            },
            "session": {"actor": session.actor, "id": session.id},
        }
        org_id = session.last_active_organization_id
        if org_id is not None:
            org = self.state.orgs.records[org_id]
            m = self.state.orgs.by_org[org_id].get(user.id)
            context["org"] = {
                **org.json(),
                "role": None if m is None else m.role,
                "membership_permissions": [] if m is None else m.permissions,
            }
        return context

    def _render(self, value: Any, session: SessionRecord) -> Any:
        context = self._context(session)

        def lookup(path: str) -> Any:
            found: Any = context
            for part in path.split("."):
                if not isinstance(found, dict):
                    return None
                found = found.get(part)
            return found

        def render(v: Any) -> Any:
            if isinstance(v, dict):
                return {k: render(x) for k, x in v.items()}
            if isinstance(v, list):
                return [render(x) for x in v]
            if isinstance(v, str):
                whole = _SHORTCODE.fullmatch(v.strip())
                if whole:
                    return lookup(whole.group(1))
                return _SHORTCODE.sub(lambda m: _text(lookup(m.group(1))), v)
            return v

        return render(value)

    def refresh(self, session_id: str, p: dict[str, Any]) -> Any:
        """A 401 for anything wrong (the spec: it sends SDKs to the handshake flow)."""
        session = self.records.get(session_id)
        claims = self._own_token(p["expired_token"])
        if (
            session is None
            or session.status != "active"
            or session.expire_at <= self.state.now()
            or not p["refresh_token"]
            or claims is None
            or claims.get("sid") != session.id
        ):
            raise FakeError.one(
                401,
                "authentication_invalid",
                "Invalid authentication",
                "The session cannot be refreshed with this token: use the handshake flow.",
            )
        jwt = self.token(session.id, None)
        if p.get("format") == "cookie":
            return {"object": "cookies", "cookies": [f"__session={jwt}; Path=/; SameSite=Lax"]}
        return {"object": "token", "jwt": jwt}

    def _own_token(self, token: str) -> dict[str, Any] | None:
        """The claims of a JWT this instance signed, or None."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            signature = _b64decode(parts[2])
            self.state.tokens.private_key.public_key().verify(
                signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
            claims = json.loads(_b64decode(parts[1]))
        except (InvalidSignature, ValueError):
            return None
        return claims if isinstance(claims, dict) else None

    # -- JWT templates -------------------------------------------------------------------

    def save_template(self, p: dict[str, Any], template_id: str | None = None) -> JWTTemplateRecord:
        name = p["name"]
        if any(t.name == name and t.id != template_id for t in self.templates.values()):
            raise identifier_exists("name")
        if p.get("custom_signing_key"):
            raise invalid(
                "custom_signing_key", "FakeClerk signs templates with the instance key only"
            )
        now = self.state.now()
        fields = {
            "name": name,
            "claims": p["claims"],
            "lifetime": p.get("lifetime") or 60,
            "allowed_clock_skew": p.get("allowed_clock_skew") or 5,
            "custom_signing_key": False,
            "signing_algorithm": "RS256",
        }
        if template_id is not None:
            template = self.get_template(template_id)
            template.__dict__.update(fields)
            self.state.users.touch(template)
            return template
        template = JWTTemplateRecord(
            object="jwt_template",
            id=self.state.new_id("jtmp"),
            **fields,
            created_at=now,
            updated_at=now,
        )
        self.templates[template.id] = template
        return template

    def get_template(self, template_id: str) -> JWTTemplateRecord:
        found = self.templates.get(template_id)
        if found is None:
            raise not_found("JWT template", template_id)
        return found


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


# -- handlers --------------------------------------------------------------------------------


@handler("createSession")
def _create(st: State, p: dict[str, Any]) -> Any:
    return st.sessions.create(p["user_id"], p.get("active_organization_id")).json()


@handler("GetClient")
def _get_client(st: State, p: dict[str, Any]) -> Any:
    return st.sessions.client(p["client_id"])


@handler("GetClientList")
def _list_clients(st: State, p: dict[str, Any]) -> Any:
    return [st.sessions.client(c) for c in page(reversed(st.sessions._by_client), p)]


@handler("GetSession")
def _get(st: State, p: dict[str, Any]) -> Any:
    return st.sessions.get(p["session_id"]).json()


@handler("GetSessionList")
def _list(st: State, p: dict[str, Any]) -> Any:
    return [s.json() for s in st.sessions.search(p)]


@handler("RevokeSession")
def _revoke(st: State, p: dict[str, Any]) -> Any:
    return st.sessions.end(st.sessions.get(p["session_id"]), "revoked").json()


@handler("RefreshSession")
def _refresh(st: State, p: dict[str, Any]) -> Any:
    return st.sessions.refresh(p.pop("session_id"), p)


@handler("CreateSessionToken")
def _token(st: State, p: dict[str, Any]) -> Any:
    jwt = st.sessions.token(p["session_id"], p.get("expires_in_seconds"))
    return {"object": "token", "jwt": jwt}


@handler("CreateSessionTokenFromTemplate")
def _template_token(st: State, p: dict[str, Any]) -> Any:
    jwt = st.sessions.template_token(
        p["session_id"], p["template_name"], p.get("expires_in_seconds")
    )
    return {"object": "token", "jwt": jwt}


@handler("CreateJWTTemplate")
def _create_template(st: State, p: dict[str, Any]) -> Any:
    return st.sessions.save_template(p).json()


@handler("UpdateJWTTemplate")
def _update_template(st: State, p: dict[str, Any]) -> Any:
    return st.sessions.save_template(p, p.pop("template_id")).json()


@handler("GetJWTTemplate")
def _get_template(st: State, p: dict[str, Any]) -> Any:
    return st.sessions.get_template(p["template_id"]).json()


@handler("ListJWTTemplates")
def _list_templates(st: State, p: dict[str, Any]) -> Any:
    return [t.json() for t in page(ordered(st.sessions.templates.values(), "+created_at", {}), p)]


@handler("DeleteJWTTemplate")
def _delete_template(st: State, p: dict[str, Any]) -> Any:
    template = st.sessions.get_template(p["template_id"])
    del st.sessions.templates[template.id]
    return {"object": "jwt_template", "id": template.id, "deleted": True}
