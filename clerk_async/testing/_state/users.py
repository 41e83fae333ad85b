"""Users, and their email addresses and phone numbers as resources of their own.

Clerk's semantics, and the choices made where the spec and Clerk's docs are silent:

- Identifiers are unique across the instance: an email address (compared without case),
  a phone number, a username (without case) or an external_id another user holds is a 422
  ``form_identifier_exists`` naming the field. Email addresses and phone numbers created
  through ``POST /users`` are verified (``verification_admin``) unless the matching
  ``*_identification_status`` item says ``reserved`` (then ``reserved: true``, no
  verification). The first of each kind is the primary one.
- A user needs no identifier here (Clerk's depends on the instance's settings, which the
  fake does not have): ``users.create(first_name="Ada")`` works.
- ``password``: at least 8 characters unless ``skip_password_checks`` (422
  ``form_password_length_too_short``); only a salted hash is kept, for
  ``verify_password`` (wrong password: 422 ``incorrect_password``; a user without a
  password, or with a ``password_digest`` only, which the fake cannot check: 422
  ``password_not_set`` / ``incorrect_password``). ``password_enabled`` says whether one is set.
- Banning a user revokes their active sessions (as Clerk signs banned users out); locking
  sets ``lockout_expires_in_seconds`` to null (an admin lock has no end) and
  ``verification_attempts_remaining`` to 0; unlocking gives back the default of 100.
- Deleting a user deletes their email addresses, phone numbers and memberships, and ends
  (``removed``) their sessions. Deleting a primary email address or phone number makes the
  next one of the user primary (or none).
- ``GET /users`` filters: values of one parameter are alternatives, parameters combine with
  AND. The exact ones (``email_address``, ``phone_number``, ``username``, ``external_id``,
  ``user_id``, ``organization_id``) are answered from indexes; the partial-match ones
  (``query``, ``*_query``) and the time ranges look at the users the exact ones left (all
  of them when none is given). No user has a web3 wallet or an external account here, so
  ``web3_wallet`` and ``provider`` match nobody. ``starting_after`` is the cursor the spec
  describes (created_at orderings only, no offset, else 422).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from clerk_async.testing._state._base import (
    Record,
    deep_merge,
    handler,
    identifier_exists,
    invalid,
    not_found,
    ordered,
    page,
    parse_time,
    signed_ids,
)
from clerk_async.testing._store import FakeError

if TYPE_CHECKING:
    from clerk_async.testing._state import State

__all__ = ["EmailAddressRecord", "PhoneNumberRecord", "UserRecord", "Users", "check_email"]

DEFAULT_IMAGE = "https://img.clerk.com/eyJ0eXBlIjoiZGVmYXVsdCJ9"
DEFAULT_GRAVATAR = "https://www.gravatar.com/avatar?d=mp"
VERIFICATION_ATTEMPTS = 100


class UserRecord(Record):
    """A user (``fake.users[uid]``); ``email_addresses``/``phone_numbers`` hold the live
    ``EmailAddressRecord`` and ``PhoneNumberRecord`` of the user."""

    _password_hash: bytes | None = None

    def __repr__(self) -> str:
        return f"UserRecord(id={self.id!r}, username={self.username!r})"


class EmailAddressRecord(Record):
    """An email address (``object: email_address``, id ``idn_…``) of ``_user_id``."""

    _user_id: str


class PhoneNumberRecord(Record):
    """A phone number (``object: phone_number``, id ``idn_…``) of ``_user_id``."""

    _user_id: str


def _verification(verified: bool, strategy: str) -> dict[str, Any]:
    """Verified by the admin (the Backend API), or not yet, awaiting a code by ``strategy``
    (the spec's ``verification`` is nullable, but null fits none of its ``oneOf``)."""
    if not verified:
        return {
            "object": "verification_otp",
            "status": "unverified",
            "strategy": strategy,
            "attempts": None,
            "expire_at": None,
        }
    return {
        "object": "verification_admin",
        "status": "verified",
        "strategy": "admin",
        "attempts": None,
        "expire_at": None,
    }


def check_email(address: str, param: str = "email_address") -> None:
    local, at, domain = address.rpartition("@")
    if not (at and local and "." in domain.strip(".") and " " not in address):
        raise FakeError.one(
            422,
            "form_param_format_invalid",
            "is invalid",
            f"{param} must be a valid email address.",
            param_name=param,
        )


def _hash(password: str, salt: bytes) -> bytes:
    return salt + hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1)


def _one(params: dict[str, Any], key: str) -> list[str]:
    value = params.get(key)
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class Users:
    """The users of one instance and the indexes that answer lookups without a scan."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.records: dict[str, UserRecord] = {}
        self.email_addresses: dict[str, EmailAddressRecord] = {}
        self.phone_numbers: dict[str, PhoneNumberRecord] = {}
        self._by_email: dict[str, EmailAddressRecord] = {}  # casefolded address
        self._by_phone: dict[str, PhoneNumberRecord] = {}
        self._by_username: dict[str, UserRecord] = {}  # casefolded
        self._by_external_id: dict[str, UserRecord] = {}

    # -- records -----------------------------------------------------------------------

    def get(self, user_id: str) -> UserRecord:
        user = self.records.get(user_id)
        if user is None:
            raise not_found("user", user_id)
        return user

    def touch(self, record: Record) -> None:
        now = self.state.now()
        record.updated_at = now if now > record.updated_at else record.updated_at + 1

    def create(self, p: dict[str, Any]) -> UserRecord:
        emails = _one(p, "email_address")
        phones = _one(p, "phone_number")
        email_status = _one(p, "email_address_identification_status")
        phone_status = _one(p, "phone_number_identification_status")
        if email_status and len(email_status) != len(emails):
            raise invalid(
                "email_address_identification_status",
                "email_address_identification_status needs one item per email address",
            )
        if phone_status and len(phone_status) != len(phones):
            raise invalid(
                "phone_number_identification_status",
                "phone_number_identification_status needs one item per phone number",
            )
        # Every check before any change: a refused user leaves nothing behind.
        seen: set[str] = set()
        for address in emails:
            check_email(address)
            key = address.casefold()
            if key in self._by_email or key in seen:
                raise identifier_exists("email_address")
            seen.add(key)
        seen.clear()
        for number in phones:
            if number in self._by_phone or number in seen:
                raise identifier_exists("phone_number")
            seen.add(number)
        username = p.get("username")
        if username is not None and username.casefold() in self._by_username:
            raise identifier_exists("username")
        external_id = p.get("external_id")
        if external_id is not None and external_id in self._by_external_id:
            raise identifier_exists("external_id")
        password = p.get("password")
        if password is not None and not p.get("skip_password_checks"):
            _check_password(password)
        now = self.state.now()
        created_at = parse_time("created_at", p["created_at"]) if p.get("created_at") else now
        legal = p.get("legal_accepted_at")
        has_totp = bool(p.get("totp_secret"))
        has_codes = bool(p.get("backup_codes"))
        user = UserRecord(
            id=self.state.new_id("user"),
            object="user",
            external_id=external_id,
            primary_email_address_id=None,
            primary_phone_number_id=None,
            primary_web3_wallet_id=None,
            username=username,
            first_name=p.get("first_name"),
            last_name=p.get("last_name"),
            locale=p.get("locale"),
            profile_image_url=DEFAULT_GRAVATAR,
            image_url=DEFAULT_IMAGE,
            has_image=False,
            public_metadata=dict(p.get("public_metadata") or {}),
            private_metadata=dict(p.get("private_metadata") or {}),
            unsafe_metadata=dict(p.get("unsafe_metadata") or {}),
            email_addresses=[],
            phone_numbers=[],
            web3_wallets=[],
            passkeys=[],
            password_enabled=password is not None or p.get("password_digest") is not None,
            two_factor_enabled=has_totp or has_codes,
            totp_enabled=has_totp,
            backup_code_enabled=has_codes,
            mfa_enabled_at=now if has_totp or has_codes else None,
            mfa_disabled_at=None,
            password_last_updated_at=now if password is not None else None,
            external_accounts=[],
            saml_accounts=[],
            enterprise_accounts=[],
            last_sign_in_at=None,
            banned=bool(p.get("banned")),
            locked=bool(p.get("locked")),
            lockout_expires_in_seconds=None,
            verification_attempts_remaining=0 if p.get("locked") else VERIFICATION_ATTEMPTS,
            updated_at=now,
            created_at=created_at,
            delete_self_enabled=p.get("delete_self_enabled", True) is not False,
            create_organization_enabled=p.get("create_organization_enabled", True) is not False,
            create_organizations_limit=p.get("create_organizations_limit"),
            last_active_at=None,
            legal_accepted_at=parse_time("legal_accepted_at", legal) if legal else None,
            bypass_client_trust=bool(p.get("bypass_client_trust")),
        )
        if password is not None:
            user._password_hash = _hash(password, os.urandom(8))
        self.records[user.id] = user
        if username is not None:
            self._by_username[username.casefold()] = user
        if external_id is not None:
            self._by_external_id[external_id] = user
        for i, address in enumerate(emails):
            reserved = bool(email_status) and email_status[i] == "reserved"
            self._add_email(user, address, verified=not reserved, primary=i == 0, reserved=reserved)
        for i, number in enumerate(phones):
            reserved = bool(phone_status) and phone_status[i] == "reserved"
            self._add_phone(user, number, verified=not reserved, primary=i == 0, reserved=reserved)
        user.updated_at = now
        return user

    def update(self, user_id: str, p: dict[str, Any]) -> UserRecord:
        user = self.get(user_id)
        username = p.get("username", user.username)
        if (
            username is not None
            and username.casefold() != (user.username or "").casefold()
            and username.casefold() in self._by_username
        ):
            raise identifier_exists("username")
        external_id = p.get("external_id", user.external_id)
        if (
            external_id is not None
            and external_id != user.external_id
            and external_id in self._by_external_id
        ):
            raise identifier_exists("external_id")
        for field, records in (
            ("primary_email_address_id", self.email_addresses),
            ("primary_phone_number_id", self.phone_numbers),
        ):
            wanted = p.get(field)
            if wanted is not None:
                found = records.get(wanted)
                if found is None or found._user_id != user.id:
                    raise invalid(field, f"{field} must be one of the user's own")
        if p.get("primary_web3_wallet_id") is not None:
            raise invalid("primary_web3_wallet_id", "the user has no such web3 wallet")
        password = p.get("password")
        if password is not None and not p.get("skip_password_checks"):
            _check_password(password)
        created_at = parse_time("created_at", p["created_at"]) if p.get("created_at") else None
        legal = p.get("legal_accepted_at")
        legal_at = parse_time("legal_accepted_at", legal) if legal else None
        # Checked: now change.
        if "username" in p:
            if user.username is not None:
                self._by_username.pop(user.username.casefold(), None)
            user.username = username
            if username is not None:
                self._by_username[username.casefold()] = user
        if "external_id" in p:
            if user.external_id is not None:
                self._by_external_id.pop(user.external_id, None)
            user.external_id = external_id
            if external_id is not None:
                self._by_external_id[external_id] = user
        for field in (
            "first_name",
            "last_name",
            "locale",
            "primary_email_address_id",
            "primary_phone_number_id",
            "delete_self_enabled",
            "create_organization_enabled",
            "create_organizations_limit",
            "bypass_client_trust",
        ):
            if field in p and (p[field] is not None or field in ("first_name", "last_name")):
                setattr(user, field, p[field])
        now = self.state.now()
        if password is not None:
            user._password_hash = _hash(password, os.urandom(8))
            user.password_enabled = True
            user.password_last_updated_at = now
            if p.get("sign_out_of_other_sessions"):
                self.state.sessions.end_all(user.id, "revoked")
        elif p.get("password_digest"):
            user._password_hash = None
            user.password_enabled = True
            user.password_last_updated_at = now
        if p.get("totp_secret"):
            user.totp_enabled = user.two_factor_enabled = True
            user.mfa_enabled_at = user.mfa_enabled_at or now
        if p.get("backup_codes"):
            user.backup_code_enabled = user.two_factor_enabled = True
            user.mfa_enabled_at = user.mfa_enabled_at or now
        if created_at is not None:
            user.created_at = created_at
        if legal_at is not None:
            user.legal_accepted_at = legal_at
        self.touch(user)
        return user

    def delete(self, user_id: str) -> dict[str, Any]:
        user = self.get(user_id)
        for email in list(user.email_addresses):
            self._drop_email(email)
        for phone in list(user.phone_numbers):
            self._drop_phone(phone)
        if user.username is not None:
            self._by_username.pop(user.username.casefold(), None)
        if user.external_id is not None:
            self._by_external_id.pop(user.external_id, None)
        self.state.orgs.forget_user(user.id)
        self.state.sessions.end_all(user.id, "removed")
        del self.records[user.id]
        return {"object": "user", "id": user.id, "deleted": True}

    def set_metadata(self, user_id: str, p: dict[str, Any], *, merge: bool) -> UserRecord:
        user = self.get(user_id)
        for field in ("public_metadata", "private_metadata", "unsafe_metadata"):
            if field in p:
                changes = p[field] or {}
                value = deep_merge(getattr(user, field), changes) if merge else dict(changes)
                setattr(user, field, value)
        self.touch(user)
        return user

    def set_banned(self, user_id: str, banned: bool) -> UserRecord:
        user = self.get(user_id)
        user.banned = banned
        if banned:
            self.state.sessions.end_all(user.id, "revoked")
        self.touch(user)
        return user

    def set_locked(self, user_id: str, locked: bool) -> UserRecord:
        user = self.get(user_id)
        user.locked = locked
        user.lockout_expires_in_seconds = None
        user.verification_attempts_remaining = 0 if locked else VERIFICATION_ATTEMPTS
        self.touch(user)
        return user

    def verify_password(self, user_id: str, password: str) -> dict[str, Any]:
        user = self.get(user_id)
        if not user.password_enabled:
            raise FakeError.one(
                422, "password_not_set", "password not set", "The user has no password set."
            )
        stored = user._password_hash
        if stored is None or not hmac.compare_digest(stored, _hash(password, stored[:8])):
            raise FakeError.one(
                422,
                "incorrect_password",
                "Password is incorrect. Try again, or use another method.",
                "Password is incorrect. Try again, or use another method.",
                param_name="password",
            )
        return {"verified": True}

    def set_image(self, user_id: str, has_image: bool) -> UserRecord:
        user = self.get(user_id)
        user.has_image = has_image
        user.image_url = (
            f"https://img.clerk.com/{self.state.new_id('img')}" if has_image else DEFAULT_IMAGE
        )
        user.profile_image_url = user.image_url if has_image else DEFAULT_GRAVATAR
        self.touch(user)
        return user

    # -- email addresses and phone numbers ---------------------------------------------

    def _add_email(
        self, user: UserRecord, address: str, *, verified: bool, primary: bool, reserved: bool
    ) -> EmailAddressRecord:
        now = self.state.now()
        email = EmailAddressRecord(
            id=self.state.new_id("idn"),
            object="email_address",
            email_address=address,
            reserved=reserved,
            verification=_verification(verified, "email_code"),
            linked_to=[],
            created_at=now,
            updated_at=now,
        )
        email._user_id = user.id
        self.email_addresses[email.id] = email
        self._by_email[address.casefold()] = email
        user.email_addresses.append(email)
        if primary or user.primary_email_address_id is None:
            user.primary_email_address_id = email.id
        return email

    def _add_phone(
        self, user: UserRecord, number: str, *, verified: bool, primary: bool, reserved: bool
    ) -> PhoneNumberRecord:
        now = self.state.now()
        phone = PhoneNumberRecord(
            id=self.state.new_id("idn"),
            object="phone_number",
            phone_number=number,
            reserved_for_second_factor=False,
            default_second_factor=False,
            reserved=reserved,
            verification=_verification(verified, "phone_code"),
            linked_to=[],
            backup_codes=None,
            created_at=now,
            updated_at=now,
        )
        phone._user_id = user.id
        self.phone_numbers[phone.id] = phone
        self._by_phone[number] = phone
        user.phone_numbers.append(phone)
        if primary or user.primary_phone_number_id is None:
            user.primary_phone_number_id = phone.id
        return phone

    def _drop_email(self, email: EmailAddressRecord) -> None:
        user = self.records[email._user_id]
        del self.email_addresses[email.id]
        self._by_email.pop(email.email_address.casefold(), None)
        user.email_addresses.remove(email)
        if user.primary_email_address_id == email.id:
            user.primary_email_address_id = (
                user.email_addresses[0].id if user.email_addresses else None
            )

    def _drop_phone(self, phone: PhoneNumberRecord) -> None:
        user = self.records[phone._user_id]
        del self.phone_numbers[phone.id]
        self._by_phone.pop(phone.phone_number, None)
        user.phone_numbers.remove(phone)
        if user.primary_phone_number_id == phone.id:
            user.primary_phone_number_id = user.phone_numbers[0].id if user.phone_numbers else None

    def get_email(self, email_id: str) -> EmailAddressRecord:
        email = self.email_addresses.get(email_id)
        if email is None:
            raise not_found("email address", email_id)
        return email

    def get_phone(self, phone_id: str) -> PhoneNumberRecord:
        phone = self.phone_numbers.get(phone_id)
        if phone is None:
            raise not_found("phone number", phone_id)
        return phone

    def create_email(self, p: dict[str, Any]) -> EmailAddressRecord:
        user = self.get(p["user_id"])
        address = p["email_address"]
        check_email(address)
        if address.casefold() in self._by_email:
            raise identifier_exists("email_address")
        email = self._add_email(
            user,
            address,
            verified=bool(p.get("verified")),
            primary=bool(p.get("primary")),
            reserved=False,
        )
        self.touch(user)
        return email

    def create_phone(self, p: dict[str, Any]) -> PhoneNumberRecord:
        user = self.get(p["user_id"])
        number = p["phone_number"]
        if number in self._by_phone:
            raise identifier_exists("phone_number")
        phone = self._add_phone(
            user,
            number,
            verified=bool(p.get("verified")),
            primary=bool(p.get("primary")),
            reserved=False,
        )
        if p.get("reserved_for_second_factor"):
            phone.reserved_for_second_factor = True
        self.touch(user)
        return phone

    def update_identification(self, record: Record, p: dict[str, Any], primary_field: str) -> Any:
        user = self.records[record._user_id]
        if p.get("verified") is not None:
            strategy = "email_code" if record.object == "email_address" else "phone_code"
            record.verification = _verification(p["verified"], strategy)
        if p.get("primary"):
            setattr(user, primary_field, record.id)
        if p.get("reserved_for_second_factor") is not None:
            record.reserved_for_second_factor = p["reserved_for_second_factor"]
        self.touch(record)
        self.touch(user)
        return record

    def replace_email(self, user_id: str, p: dict[str, Any]) -> EmailAddressRecord:
        """``PUT /users/{id}/email_address``: the new address becomes the only one."""
        user = self.get(user_id)
        address = p["email_address"]
        check_email(address)
        existing = self._by_email.get(address.casefold())
        if existing is not None and existing._user_id != user.id:
            raise identifier_exists("email_address")
        for email in list(user.email_addresses):
            self._drop_email(email)
        reserved = p.get("identification_status") == "reserved"
        email = self._add_email(
            user, address, verified=not reserved, primary=True, reserved=reserved
        )
        self.touch(user)
        return email

    def replace_phone(self, user_id: str, p: dict[str, Any]) -> PhoneNumberRecord:
        user = self.get(user_id)
        number = p["phone_number"]
        existing = self._by_phone.get(number)
        if existing is not None and existing._user_id != user.id:
            raise identifier_exists("phone_number")
        for phone in list(user.phone_numbers):
            self._drop_phone(phone)
        reserved = p.get("identification_status") == "reserved"
        phone = self._add_phone(
            user, number, verified=not reserved, primary=True, reserved=reserved
        )
        self.touch(user)
        return phone

    # -- lookups ---------------------------------------------------------------------------

    def by_email(self, address: str) -> UserRecord | None:
        email = self._by_email.get(address.casefold())
        return None if email is None else self.records[email._user_id]

    def primary_email(self, user: UserRecord) -> str | None:
        email = self.email_addresses.get(user.primary_email_address_id or "")
        return None if email is None else email.email_address

    def primary_phone(self, user: UserRecord) -> str | None:
        phone = self.phone_numbers.get(user.primary_phone_number_id or "")
        return None if phone is None else phone.phone_number

    def candidates(self, p: dict[str, Any]) -> Iterable[UserRecord] | None:
        """The users the exact filters allow, from the indexes (None: no exact filter)."""
        found: set[str] | None = None

        def narrow(ids: Iterable[str]) -> None:
            nonlocal found
            ids = set(ids)
            found = ids if found is None else found & ids

        if "email_address" in p:
            narrow(
                self._by_email[a.casefold()]._user_id
                for a in p["email_address"]
                if a.casefold() in self._by_email
            )
        if "phone_number" in p:
            narrow(self._by_phone[n]._user_id for n in p["phone_number"] if n in self._by_phone)
        if "username" in p:
            narrow(
                self._by_username[u.casefold()].id
                for u in p["username"]
                if u.casefold() in self._by_username
            )
        if p.get("web3_wallet") or p.get("provider") or p.get("provider_user_id"):
            narrow(())  # no user has a web3 wallet or an external account here
        lookups: tuple[tuple[str, Callable[[str], UserRecord | None]], ...] = (
            ("external_id", self._by_external_id.get),
            ("user_id", self.records.get),
        )
        for key, lookup in lookups:
            if key in p:
                include, exclude = signed_ids(p[key])
                if include:
                    narrow(u.id for v in include if (u := lookup(v)) is not None)
                if exclude:
                    excluded = {u.id for v in exclude if (u := lookup(v)) is not None}
                    if found is None:
                        found = set(self.records) - excluded
                    else:
                        found -= excluded
        if "organization_id" in p:
            include, exclude = signed_ids(p["organization_id"])
            members = self.state.orgs.member_ids
            if include:
                narrow(itertools.chain.from_iterable(members(o) for o in include))
            if exclude:
                excluded = set(itertools.chain.from_iterable(members(o) for o in exclude))
                found = (set(self.records) if found is None else found) - excluded
        if found is None:
            return None
        records = self.records
        return [records[i] for i in found if i in records]

    def matches(self, p: dict[str, Any]) -> Callable[[UserRecord], bool] | None:
        """The test of the partial-match and range filters (None: there are none)."""
        tests: list[Callable[[UserRecord], bool]] = []

        def contains(needle: str, values: Callable[[UserRecord], Iterable[str | None]]) -> None:
            folded = needle.casefold()
            tests.append(lambda u: any(v is not None and folded in v.casefold() for v in values(u)))

        if p.get("query"):
            tests.append(_query_test(p["query"]))
        if p.get("email_address_query"):
            contains(
                p["email_address_query"], lambda u: (e.email_address for e in u.email_addresses)
            )
        if p.get("phone_number_query"):
            contains(p["phone_number_query"], lambda u: (n.phone_number for n in u.phone_numbers))
        if p.get("username_query"):
            contains(p["username_query"], lambda u: [u.username])
        if p.get("name_query"):
            contains(
                p["name_query"],
                lambda u: [u.first_name, u.last_name, f"{u.first_name or ''} {u.last_name or ''}"],
            )
        if "banned" in p:
            banned = p["banned"]
            tests.append(lambda u: u.banned is banned)
        for param, field, before in (
            ("last_active_at_before", "last_active_at", True),
            ("last_active_at_after", "last_active_at", False),
            ("last_active_at_since", "last_active_at", False),
            ("created_at_before", "created_at", True),
            ("created_at_after", "created_at", False),
            ("last_sign_in_at_before", "last_sign_in_at", True),
            ("last_sign_in_at_after", "last_sign_in_at", False),
        ):
            if p.get(param) is not None:
                tests.append(_time_test(field, p[param], before))
        if not tests:
            return None
        return lambda u: all(test(u) for test in tests)

    def find(self, p: dict[str, Any]) -> Iterable[UserRecord] | None:
        """The users the filters keep; None means all of them (the cheap, unfiltered case)."""
        found = self.candidates(p)
        test = self.matches(p)
        if test is not None:
            found = [u for u in (self.records.values() if found is None else found) if test(u)]
        return found

    def order_keys(self) -> dict[str, Callable[[UserRecord], Any]]:
        return {
            "updated_at": lambda u: u.updated_at,
            "email_address": self.primary_email,
            "web3wallet": lambda u: None,
            "first_name": lambda u: u.first_name,
            "last_name": lambda u: u.last_name,
            "phone_number": self.primary_phone,
            "username": lambda u: u.username,
            "last_active_at": lambda u: u.last_active_at,
            "last_sign_in_at": lambda u: u.last_sign_in_at,
        }

    def search(self, p: dict[str, Any]) -> list[UserRecord]:
        order_by = p.get("order_by") or "-created_at"
        after = p.get("starting_after")
        if after is not None:
            if order_by.lstrip("+-") != "created_at":
                raise invalid("starting_after", "starting_after needs order_by created_at")
            if p.get("offset"):
                raise invalid("starting_after", "starting_after cannot be combined with offset")
            self.get(after)
        found = self.find(p)
        descending = order_by.startswith("-")
        if found is None and order_by.lstrip("+-") == "created_at":
            # The unfiltered newest-first page: no sort, no copy of all users.
            records = self.records
            ids = reversed(records) if descending else iter(records)
            it: Iterator[UserRecord] = (records[i] for i in ids)
        else:
            everyone = self.records.values() if found is None else found
            it = iter(ordered(everyone, order_by, self.order_keys()))
        if after is not None:
            cursor = self.records[after]._seq
            it = (u for u in it if (u._seq < cursor if descending else u._seq > cursor))
        return page(it, p)

    def count(self, p: dict[str, Any]) -> int:
        found = self.find(p)
        return len(self.records) if found is None else len(list(found))


def _query_test(query: str) -> Callable[[UserRecord], bool]:
    """``query``: a partial match, without case, on the id, names, username, email addresses
    and phone numbers. The one filter that reads every user: written as a plain loop that
    stops at the first match (a scan of 10,000 users is a request's whole cost)."""
    needle = query.casefold()

    def test(user: UserRecord) -> bool:
        fields = user.__dict__
        for name in ("id", "username", "first_name", "last_name"):
            value = fields[name]
            if value is not None and needle in value.casefold():
                return True
        for email in fields["email_addresses"]:
            if needle in email.email_address.casefold():
                return True
        return any(needle in phone.phone_number.casefold() for phone in fields["phone_numbers"])

    return test


def _time_test(field: str, moment: int, before: bool) -> Callable[[UserRecord], bool]:
    def test(user: UserRecord) -> bool:
        value = getattr(user, field)
        return value is not None and (value < moment if before else value > moment)

    return test


def _check_password(password: str) -> None:
    if len(password) < 8:
        raise FakeError.one(
            422,
            "form_password_length_too_short",
            "Passwords must be 8 characters or more.",
            "Passwords must be 8 characters or more.",
            param_name="password",
        )


# -- handlers: (state, checked params) -> the JSON answer ------------------------------------


@handler("CreateUser")
def _create(st: State, p: dict[str, Any]) -> Any:
    return st.users.create(p).json()


@handler("GetUser")
def _get(st: State, p: dict[str, Any]) -> Any:
    return st.users.get(p["user_id"]).json()


@handler("GetUserList")
def _list(st: State, p: dict[str, Any]) -> Any:
    return [u.json() for u in st.users.search(p)]


@handler("GetUsersCount")
def _count(st: State, p: dict[str, Any]) -> Any:
    return {"object": "total_count", "total_count": st.users.count(p)}


@handler("UpdateUser")
def _update(st: State, p: dict[str, Any]) -> Any:
    return st.users.update(p.pop("user_id"), p).json()


@handler("DeleteUser")
def _delete(st: State, p: dict[str, Any]) -> Any:
    return st.users.delete(p["user_id"])


@handler("UpdateUserMetadata")
def _merge_metadata(st: State, p: dict[str, Any]) -> Any:
    return st.users.set_metadata(p.pop("user_id"), p, merge=True).json()


@handler("ReplaceUserMetadata")
def _replace_metadata(st: State, p: dict[str, Any]) -> Any:
    return st.users.set_metadata(p.pop("user_id"), p, merge=False).json()


@handler("BanUser")
def _ban(st: State, p: dict[str, Any]) -> Any:
    return st.users.set_banned(p["user_id"], True).json()


@handler("UnbanUser")
def _unban(st: State, p: dict[str, Any]) -> Any:
    return st.users.set_banned(p["user_id"], False).json()


def _bulk(st: State, user_ids: list[str], banned: bool) -> Any:
    for user_id in user_ids:  # all known, or nothing changes (a 400: the spec has no 404)
        if user_id not in st.users.records:
            raise invalid("user_ids", f"No user was found with id {user_id}", status=400)
    return [st.users.set_banned(user_id, banned).json() for user_id in dict.fromkeys(user_ids)]


@handler("UsersBan")
def _ban_many(st: State, p: dict[str, Any]) -> Any:
    return _bulk(st, p["user_ids"], True)


@handler("UsersUnban")
def _unban_many(st: State, p: dict[str, Any]) -> Any:
    return _bulk(st, p["user_ids"], False)


@handler("LockUser")
def _lock(st: State, p: dict[str, Any]) -> Any:
    return st.users.set_locked(p["user_id"], True).json()


@handler("UnlockUser")
def _unlock(st: State, p: dict[str, Any]) -> Any:
    return st.users.set_locked(p["user_id"], False).json()


@handler("VerifyPassword")
def _verify_password(st: State, p: dict[str, Any]) -> Any:
    return st.users.verify_password(p["user_id"], p["password"])


@handler("RemoveUserPassword")
def _remove_password(st: State, p: dict[str, Any]) -> Any:
    user = st.users.get(p["user_id"])
    user._password_hash = None
    user.password_enabled = False
    st.users.touch(user)
    return user.json()


@handler("SetUserProfileImage")
def _set_image(st: State, p: dict[str, Any]) -> Any:
    return st.users.set_image(p["user_id"], True).json()


@handler("DeleteUserProfileImage")
def _delete_image(st: State, p: dict[str, Any]) -> Any:
    return st.users.set_image(p["user_id"], False).json()


def _second_factors(st: State, user_id: str, *, totp: bool, codes: bool) -> Any:
    """Turn off TOTP and/or backup codes; MFA is off once neither is left."""
    user = st.users.get(user_id)
    if totp:
        user.totp_enabled = False
    if codes:
        user.backup_code_enabled = False
    if user.two_factor_enabled and not (user.totp_enabled or user.backup_code_enabled):
        user.two_factor_enabled = False
        user.mfa_disabled_at = st.now()
    st.users.touch(user)
    return {"user_id": user.id}


@handler("DisableMFA")
def _disable_mfa(st: State, p: dict[str, Any]) -> Any:
    return _second_factors(st, p["user_id"], totp=True, codes=True)


@handler("DeleteTOTP")
def _delete_totp(st: State, p: dict[str, Any]) -> Any:
    return _second_factors(st, p["user_id"], totp=True, codes=False)


@handler("DeleteBackupCode")
def _delete_backup_codes(st: State, p: dict[str, Any]) -> Any:
    return _second_factors(st, p["user_id"], totp=False, codes=True)


@handler("SetUserPasswordCompromised")
def _set_compromised(st: State, p: dict[str, Any]) -> Any:
    """The user must reset their password at next sign-in; the User object has no field
    for it, so only the sessions change (``revoke_all_sessions``)."""
    user = st.users.get(p["user_id"])
    if not user.password_enabled:
        raise invalid("user_id", "The user has no password to mark as compromised")
    user._password_compromised = True
    if p.get("revoke_all_sessions"):
        st.sessions.end_all(user.id, "revoked")
    st.users.touch(user)
    return user.json()


@handler("UnsetUserPasswordCompromised")
def _unset_compromised(st: State, p: dict[str, Any]) -> Any:
    user = st.users.get(p["user_id"])
    user._password_compromised = False
    st.users.touch(user)
    return user.json()


@handler("CreateEmailAddress")
def _create_email(st: State, p: dict[str, Any]) -> Any:
    return st.users.create_email(p).json()


@handler("GetEmailAddress")
def _get_email(st: State, p: dict[str, Any]) -> Any:
    return st.users.get_email(p["email_address_id"]).json()


@handler("UpdateEmailAddress")
def _update_email(st: State, p: dict[str, Any]) -> Any:
    email = st.users.get_email(p.pop("email_address_id"))
    return st.users.update_identification(email, p, "primary_email_address_id").json()


@handler("DeleteEmailAddress")
def _delete_email(st: State, p: dict[str, Any]) -> Any:
    email = st.users.get_email(p["email_address_id"])
    st.users._drop_email(email)
    return {"object": "email_address", "id": email.id, "deleted": True}


@handler("ReplaceUserEmailAddress")
def _replace_email(st: State, p: dict[str, Any]) -> Any:
    return st.users.replace_email(p.pop("user_id"), p).json()


@handler("CreatePhoneNumber")
def _create_phone(st: State, p: dict[str, Any]) -> Any:
    return st.users.create_phone(p).json()


@handler("GetPhoneNumber")
def _get_phone(st: State, p: dict[str, Any]) -> Any:
    return st.users.get_phone(p["phone_number_id"]).json()


@handler("UpdatePhoneNumber")
def _update_phone(st: State, p: dict[str, Any]) -> Any:
    phone = st.users.get_phone(p.pop("phone_number_id"))
    return st.users.update_identification(phone, p, "primary_phone_number_id").json()


@handler("DeletePhoneNumber")
def _delete_phone(st: State, p: dict[str, Any]) -> Any:
    phone = st.users.get_phone(p["phone_number_id"])
    st.users._drop_phone(phone)
    return {"object": "phone_number", "id": phone.id, "deleted": True}


@handler("ReplaceUserPhoneNumber")
def _replace_phone(st: State, p: dict[str, Any]) -> Any:
    return st.users.replace_phone(p.pop("user_id"), p).json()
