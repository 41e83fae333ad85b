"""Instance-wide lists: invitations, allow- and blocklist identifiers, sign-in tokens,
redirect URLs and waitlist entries.

Choices where the spec and Clerk's docs are silent:

- An identifier's type is read from its shape: ``@`` makes an email address, ``0x`` a
  web3 wallet, anything else a phone number. The same identifier twice on one list: 422
  ``duplicate_record``.
- An invitation to an address a user already holds is a 422 ``form_identifier_exists``
  unless ``ignore_existing``; a second pending one to the same address is a 422
  ``duplicate_record`` unless ``ignore_existing``. Revoking a non-pending invitation: 400
  ``invitation_not_pending``. They expire after ``expires_in_days`` (default 30).
- Creating a waitlist entry for an address already on the list answers that entry (the
  spec's description). Inviting an entry creates an instance invitation and marks it
  ``invited``; rejecting marks it ``rejected``.
- Sign-in tokens last ``expires_in_seconds`` (default 30 days) and are ``pending`` until
  revoked; the user (and ``org_id``'s membership) must exist.
- A redirect URL twice: 422 ``duplicate_record``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from clerk_async.testing._state._base import (
    Record,
    bulk,
    handler,
    identifier_exists,
    invalid,
    listed,
    not_found,
    ordered,
    page,
    word,
)
from clerk_async.testing._state.users import check_email
from clerk_async.testing._store import FakeError

if TYPE_CHECKING:
    from clerk_async.testing._state import State

__all__ = ["Instance"]


class InvitationRecord(Record):
    """An invitation to sign up (``inv_…``)."""


class IdentifierRecord(Record):
    """An allow- or blocklist identifier."""


class SignInTokenRecord(Record):
    """A sign-in token; ``token`` is its secret (only in the create answer)."""

    _token: str


def _duplicate(what: str) -> FakeError:
    return FakeError.one(422, "duplicate_record", "duplicate", f"{what} already exists")


def _identifier_type(identifier: str) -> str:
    if "@" in identifier:
        return "email_address"
    if identifier.lower().startswith("0x"):
        return "web3_wallet"
    return "phone_number"


class Instance:
    def __init__(self, state: State) -> None:
        self.state = state
        self.invitations: dict[str, InvitationRecord] = {}
        self.allowlist: dict[str, IdentifierRecord] = {}
        self.blocklist: dict[str, IdentifierRecord] = {}
        self.sign_in_tokens: dict[str, SignInTokenRecord] = {}
        self.redirect_urls: dict[str, Record] = {}
        self.waitlist: dict[str, Record] = {}

    def _status(self, invitation: InvitationRecord) -> str:
        expires = invitation.expires_at
        if invitation.status == "pending" and expires is not None and expires <= self.state.now():
            return "expired"
        return str(invitation.status)

    def invite(self, p: dict[str, Any]) -> InvitationRecord:
        address = p["email_address"]
        check_email(address)
        ignore = bool(p.get("ignore_existing"))
        if not ignore:
            if self.state.users.by_email(address) is not None:
                raise identifier_exists("email_address")
            folded = address.casefold()
            for other in self.invitations.values():
                if other.email_address.casefold() == folded and self._status(other) == "pending":
                    raise _duplicate(f"A pending invitation for {address}")
        now = self.state.now()
        days = p.get("expires_in_days") or 30
        invitation = InvitationRecord(
            object="invitation",
            id=self.state.new_id("inv"),
            email_address=address,
            public_metadata=dict(p.get("public_metadata") or {}),
            revoked=False,
            status="pending",
            url=f"https://accounts.example.com/sign-up?__clerk_ticket={word(self.state.rng)}",
            expires_at=now + days * 86_400_000,
            created_at=now,
            updated_at=now,
        )
        self.invitations[invitation.id] = invitation
        return invitation

    def add_identifier(
        self, records: dict[str, IdentifierRecord], kind: str, identifier: str
    ) -> Any:
        if any(r.identifier == identifier for r in records.values()):
            raise _duplicate(f"{identifier} on the {kind}")
        now = self.state.now()
        prefix = "alid" if kind == "allowlist" else "blid"
        record = IdentifierRecord(
            object=f"{kind}_identifier",
            id=self.state.new_id(prefix),
            identifier=identifier,
            identifier_type=_identifier_type(identifier),
            instance_id=self.state.instance_id,
            created_at=now,
            updated_at=now,
        )
        records[record.id] = record
        return record

    def waitlist_entry(self, address: str) -> Record:
        check_email(address)
        folded = address.casefold()
        for entry in self.waitlist.values():
            if entry.email_address.casefold() == folded:
                return entry
        now = self.state.now()
        entry = Record(
            object="waitlist_entry",
            id=self.state.new_id("wle"),
            email_address=address,
            status="pending",
            is_locked=False,
            created_at=now,
            updated_at=now,
        )  # no invitation field until invited (the spec's null fits none of its allOf)
        self.waitlist[entry.id] = entry
        return entry


def _get(records: dict[str, Any], kind: str, key: str) -> Any:
    found = records.get(key)
    if found is None:
        raise not_found(kind, key)
    return found


@handler("CreateInvitation")
def _invite(st: State, p: dict[str, Any]) -> Any:
    return st.instance.invite(p).json()


@handler("CreateBulkInvitations")
def _invite_many(st: State, p: dict[str, Any]) -> Any:
    """All or none: an item Clerk refuses undoes the ones made before it."""
    made: list[InvitationRecord] = []
    try:
        for item in bulk(p, "CreateInvitation", 10):
            made.append(st.instance.invite(item))
    except FakeError:
        for invitation in made:
            del st.instance.invitations[invitation.id]
        raise
    return [i.json() for i in made]


@handler("ListInvitations")
def _list_invitations(st: State, p: dict[str, Any]) -> Any:
    inst = st.instance
    found: Iterable[InvitationRecord] = inst.invitations.values()
    for invitation in found:
        invitation.status = inst._status(invitation)
    if p.get("status"):
        found = [i for i in found if i.status == p["status"]]
    query = p.get("query")
    if query:
        folded = query.casefold()
        found = [i for i in found if i.id == query or folded in i.email_address.casefold()]
    keys: dict[str, Callable[[InvitationRecord], Any]] = {
        "email_address": lambda i: i.email_address,
        "expires_at": lambda i: i.expires_at,
    }
    return [i.json() for i in page(ordered(found, p.get("order_by") or "-created_at", keys), p)]


@handler("RevokeInvitation")
def _revoke_invitation(st: State, p: dict[str, Any]) -> Any:
    invitation = _get(st.instance.invitations, "invitation", p["invitation_id"])
    if st.instance._status(invitation) != "pending":
        raise FakeError.one(
            400,
            "invitation_not_pending",
            "not pending",
            f"The invitation is {invitation.status}: only pending invitations can be revoked",
        )
    invitation.status, invitation.revoked = "revoked", True
    st.users.touch(invitation)
    return invitation.json()


@handler("ListAllowlistIdentifiers")
def _list_allowlist(st: State, p: dict[str, Any]) -> Any:
    found = ordered(st.instance.allowlist.values(), "-created_at", {})
    return [r.json() for r in page(found, p)]


@handler("CreateAllowlistIdentifier")
def _allow(st: State, p: dict[str, Any]) -> Any:
    return st.instance.add_identifier(st.instance.allowlist, "allowlist", p["identifier"]).json()


@handler("DeleteAllowlistIdentifier")
def _unallow(st: State, p: dict[str, Any]) -> Any:
    record = _get(st.instance.allowlist, "allowlist identifier", p["identifier_id"])
    del st.instance.allowlist[record.id]
    return {"object": "allowlist_identifier", "id": record.id, "deleted": True}


@handler("ListBlocklistIdentifiers")
def _list_blocklist(st: State, p: dict[str, Any]) -> Any:
    return listed(ordered(st.instance.blocklist.values(), "-created_at", {}), {"limit": 500, **p})


@handler("CreateBlocklistIdentifier")
def _block(st: State, p: dict[str, Any]) -> Any:
    return st.instance.add_identifier(st.instance.blocklist, "blocklist", p["identifier"]).json()


@handler("DeleteBlocklistIdentifier")
def _unblock(st: State, p: dict[str, Any]) -> Any:
    record = _get(st.instance.blocklist, "blocklist identifier", p["identifier_id"])
    del st.instance.blocklist[record.id]
    return {"object": "blocklist_identifier", "id": record.id, "deleted": True}


@handler("CreateSignInToken")
def _create_sign_in_token(st: State, p: dict[str, Any]) -> Any:
    user = st.users.get(p["user_id"])
    if p.get("org_id") is not None:
        org = st.orgs.get(p["org_id"])
        if user.id not in st.orgs.by_org[org.id]:
            raise invalid("org_id", f"{user.id} is not a member of {org.id}")
    now = st.now()
    token = word(st.rng) + word(st.rng)
    record = SignInTokenRecord(
        object="sign_in_token",
        id=st.new_id("sit"),
        status="pending",
        user_id=user.id,
        url=f"https://accounts.example.com/v1/tickets/accept?ticket={token}",
        created_at=now,
        updated_at=now,
    )
    record._token = token
    st.instance.sign_in_tokens[record.id] = record
    return {**record.json(), "token": token}


@handler("RevokeSignInToken")
def _revoke_sign_in_token(st: State, p: dict[str, Any]) -> Any:
    record = _get(st.instance.sign_in_tokens, "sign-in token", p["sign_in_token_id"])
    if record.status != "pending":
        raise FakeError.one(
            400, "sign_in_token_not_pending", "not pending", f"The token is {record.status}"
        )
    record.status = "revoked"
    st.users.touch(record)
    return record.json()


@handler("ListRedirectURLs")
def _list_redirect_urls(st: State, p: dict[str, Any]) -> Any:
    found = ordered(st.instance.redirect_urls.values(), "+created_at", {})
    return [r.json() for r in page(found, p)]


@handler("CreateRedirectURL")
def _create_redirect_url(st: State, p: dict[str, Any]) -> Any:
    urls = st.instance.redirect_urls
    if any(r.url == p["url"] for r in urls.values()):
        raise _duplicate(f"The redirect URL {p['url']}")
    now = st.now()
    record = Record(
        object="redirect_url", id=st.new_id("ru"), url=p["url"], created_at=now, updated_at=now
    )
    urls[record.id] = record
    return record.json()


@handler("GetRedirectURL")
def _get_redirect_url(st: State, p: dict[str, Any]) -> Any:
    return _get(st.instance.redirect_urls, "redirect URL", p["id"]).json()


@handler("DeleteRedirectURL")
def _delete_redirect_url(st: State, p: dict[str, Any]) -> Any:
    record = _get(st.instance.redirect_urls, "redirect URL", p["id"])
    del st.instance.redirect_urls[record.id]
    return {"object": "redirect_url", "id": record.id, "deleted": True}


@handler("ListWaitlistEntries")
def _list_waitlist(st: State, p: dict[str, Any]) -> Any:
    found: Iterable[Record] = st.instance.waitlist.values()
    if p.get("status"):
        found = [e for e in found if e.status == p["status"]]
    query = p.get("query")
    if query:
        folded = query.casefold()
        found = [e for e in found if e.id == query or folded in e.email_address.casefold()]
    keys: dict[str, Callable[[Record], Any]] = {
        "email_address": lambda e: e.email_address,
        "invited_at": lambda e: e.invitation["created_at"] if "invitation" in vars(e) else None,
    }
    return listed(ordered(found, p.get("order_by") or "-created_at", keys), p)


@handler("CreateWaitlistEntry")
def _create_waitlist_entry(st: State, p: dict[str, Any]) -> Any:
    return st.instance.waitlist_entry(p["email_address"]).json()


@handler("CreateBulkWaitlistEntries")
def _create_waitlist_entries(st: State, p: dict[str, Any]) -> Any:
    items = bulk(p, "CreateWaitlistEntry", 50)
    for item in items:  # every address first: a refused one leaves the list as it was
        check_email(item["email_address"])
    return [st.instance.waitlist_entry(item["email_address"]).json() for item in items]


@handler("DeleteWaitlistEntry")
def _delete_waitlist_entry(st: State, p: dict[str, Any]) -> Any:
    entry = _get(st.instance.waitlist, "waitlist entry", p["waitlist_entry_id"])
    del st.instance.waitlist[entry.id]
    return {"object": "waitlist_entry", "id": entry.id, "deleted": True}


@handler("InviteWaitlistEntry")
def _invite_waitlist_entry(st: State, p: dict[str, Any]) -> Any:
    entry = _get(st.instance.waitlist, "waitlist entry", p["waitlist_entry_id"])
    invitation = st.instance.invite(
        {"email_address": entry.email_address, "ignore_existing": p.get("ignore_existing")}
    )
    entry.status, entry.invitation = "invited", invitation.json()
    st.users.touch(entry)
    return entry.json()


@handler("RejectWaitlistEntry")
def _reject_waitlist_entry(st: State, p: dict[str, Any]) -> Any:
    entry = _get(st.instance.waitlist, "waitlist entry", p["waitlist_entry_id"])
    entry.status = "rejected"
    st.users.touch(entry)
    return entry.json()
