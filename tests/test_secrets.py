"""Every secret-like field of the spec is kept out of ``repr`` (issue 23, item 4).

``SECRET`` below is the reviewed list of every field of the generated params and models
that carries a credential: passwords and their digests, TOTP secrets and backup codes,
tokens, client secrets, private and signing keys, verification codes, session cookies,
and URLs that carry a ticket. The generator decides secrecy by one rule
(``codegen.generate.is_secret``); this test does not use it. It finds the secret-like
fields by a wide net over the field names (every text field whose name mentions a
secret, a password, a token, a key, a code, a cookie, a URL...), and requires each one to
be either in ``SECRET`` (and hidden from ``repr``) or in ``PUBLIC`` (and shown): a field
the spec adds later fails here until someone decides which it is.
"""

from __future__ import annotations

import importlib
import re
import typing
from typing import Any

import attrs
import pytest

from clerk_async.models import spec as spec_models
from clerk_async.services.spec import OPERATIONS
from clerk_async.webhooks import _events as webhook_events

MARK = "S3CRET-MARK"
# Wide on purpose: a name that could hold a credential. Public ones are listed below.
NET = re.compile(
    r"secret|passw|token|jwt|key|code|digest|cookie|url|private|ticket|saml|oidc|oauth|cred|sig",
    re.IGNORECASE,
)


# The reviewed list: every field that carries a credential. 61 fields in 48 classes.
SECRET: dict[str, set[str]] = {
    "APIKey": {"secret"},
    "APIKeySecret": {"secret"},
    "ActorToken": {"token", "url"},
    "AgentTask": {"url"},
    "AttemptEmailAddressVerificationParams": {"code"},
    "AttemptPhoneNumberVerificationParams": {"code"},
    "Cookies": {"cookies"},
    "CreateAdminPortalLinkTokenResponse": {"token"},
    "CreateEnterpriseConnectionParams": {"oidc"},
    "CreateJWTTemplateParams": {"signing_key"},
    "CreateSessionTokenFromTemplateResponse": {"jwt"},
    "CreateSessionTokenResponse": {"jwt"},
    "CreateUserParams": {"backup_codes", "password", "password_digest", "totp_secret"},
    "Directory": {"api_key"},
    "EnterpriseConnectionTestRunOauth": {"access_token", "id_token"},
    "EnterpriseConnectionTestRunResponse": {"url"},
    "EnterpriseConnectionTestRunSaml": {"saml_response"},
    "Event.OrganizationInvitationAcceptedPayload": {"url"},
    "Event.OrganizationInvitationEventData": {"url"},
    "Event.WebhookWaitlistEntryInvitation": {"url"},
    "Invitation": {"url"},
    "M2MToken": {"token"},
    "MachineCreated": {"secret_key"},
    "MachineSecretKey": {"secret"},
    "OAuthAccessTokenItem": {"id_token", "token", "token_secret"},
    "OAuthApplicationWithSecret": {"client_secret"},
    "OrganizationInvitation": {"url"},
    "OrganizationInvitationWithPublicOrganizationData": {"url"},
    "PhoneNumber": {"backup_codes"},
    "RefreshSessionParams": {"expired_token", "refresh_token"},
    "RevokeInvitationResponse": {"url"},
    "RevokeOAuthApplicationTokenParams": {"token"},
    "SCIMDirectory": {"api_key"},
    "SignInToken": {"token", "url"},
    "SvixURL": {"svix_url"},
    "TestingToken": {"token"},
    "Token": {"jwt"},
    "UpdateEnterpriseConnectionParams": {"oidc"},
    "UpdateJWTTemplateParams": {"signing_key"},
    "UpdateUserParams": {"backup_codes", "password", "password_digest", "totp_secret"},
    "VerifyAPIKeyParams": {"secret"},
    "VerifyClientParams": {"token"},
    "VerifyM2MTokenParams": {"token"},
    "VerifyOAuthAccessTokenParams": {"access_token", "secret"},
    "VerifyPasswordParams": {"password"},
    "VerifyTOTPParams": {"code"},
    "WaitlistEntryInvitation": {"url"},
}

# Caught by the net, reviewed, and not secrets: ids, role keys, metadata, public URLs
# (images, endpoints, redirects the caller chose), enums, idempotency keys.
PUBLIC: dict[str, set[str]] = {
    "APIKeyIdParams": {"api_key_id"},
    "AddDomainParams": {"proxy_url"},
    "AddRolesToRoleSetParams": {
        "creator_role_key",
        "default_role_key",
        "role_keys",
        "role_set_key_or_id",
    },
    "AdjustOrganizationBillingCreditBalanceParams": {"idempotency_key"},
    "AdjustUserBillingCreditBalanceParams": {"idempotency_key"},
    "BillingPaymentAttempt": {"gateway_external_url"},
    "ChangeProductionInstanceDomainParams": {"home_url"},
    "Client": {"sign_in_id", "sign_up_id"},
    "CommerceDiscountRedemptionResponse": {"promo_code"},
    "CommercePayerResponse": {"image_url"},
    "CommercePlan": {"avatar_url"},
    "CommercePlan2": {"avatar_url"},
    "CommerceSubscriptionItem2Payer": {"image_url"},
    "CommerceSubscriptionItem2Plan": {"avatar_url"},
    "CommerceSubscriptionItemPlan": {"avatar_url"},
    "CreateAgentTaskParams": {"redirect_url"},
    "CreateEnterpriseConnectionParams": {"saml"},
    "CreateInvitationParams": {"redirect_url"},
    "CreateJWTTemplateParams": {"signing_algorithm"},
    "CreateM2MTokenParams": {"token_format"},
    "CreateOAuthApplicationParams": {"callback_url"},
    "CreateOrganizationInvitationParams": {"private_metadata", "redirect_url"},
    "CreateOrganizationMembershipParams": {"private_metadata"},
    "CreateOrganizationParams": {"private_metadata", "role_set_key"},
    "CreateOrganizationPermissionParams": {"key"},
    "CreateOrganizationRoleParams": {"key"},
    "CreateRedirectURLParams": {"url"},
    "CreateRoleSetParams": {"creator_role_key", "default_role_key", "key"},
    "CreateSAMLConnectionParams": {"idp_metadata_url", "idp_sso_url"},
    "CreateUserParams": {"password_hasher", "private_metadata"},
    "DeleteOAuthApplicationParams": {"oauth_application_id"},
    "DeleteSAMLConnectionParams": {"saml_connection_id"},
    "Directory": {"endpoint_url"},
    "DirectoryCustomAttributesItem": {"key"},
    "Domain": {"accounts_portal_url", "frontend_api_url", "proxy_url"},
    "EnterpriseConnection": {"logo_public_url"},
    "EnterpriseConnectionCustomAttributesItem": {"key"},
    "EnterpriseConnectionOauthConfig": {
        "auth_url",
        "discovery_url",
        "logo_public_url",
        "provider_key",
        "token_url",
        "user_info_url",
    },
    "EnterpriseConnectionSamlConnection": {
        "acs_url",
        "idp_metadata_url",
        "idp_sso_url",
        "sp_metadata_url",
    },
    "EnterpriseConnectionTestRunLogsItem": {"code"},
    "EnterpriseConnectionTestRunSaml": {"saml_request"},
    "Event.BillingPayerEventPayload": {"image_url"},
    "Event.OrganizationInvitationAcceptedPayload": {"private_metadata"},
    "Event.OrganizationInvitationEventData": {"private_metadata"},
    "Event.PaymentAttemptEventPayloadFailedReason": {"code", "decline_code"},
    "Event.WebhookRole": {"key"},
    "ExternalAccountWithVerification": {"avatar_url", "image_url"},
    "FeatureResponse": {"avatar_url"},
    "FeatureResponse2": {"avatar_url"},
    "GetOAuthApplicationParams": {"oauth_application_id"},
    "GetPublicInterstitialParams": {"proxy_url", "publishable_key", "sign_in_url"},
    "GetRoleSetParams": {"role_set_key_or_id"},
    "GetSAMLConnectionParams": {"saml_connection_id"},
    "InstanceCommunication": {"blocked_country_codes"},
    "JWTTemplate": {"signing_algorithm"},
    "MergeOrganizationMetadataParams": {"private_metadata"},
    "OAuthApplication": {
        "authorize_url",
        "callback_url",
        "client_image_url",
        "discovery_url",
        "token_fetch_url",
        "token_introspection_url",
        "user_info_url",
    },
    "OAuthApplicationWithSecret": {
        "authorize_url",
        "callback_url",
        "client_image_url",
        "discovery_url",
        "token_fetch_url",
        "token_introspection_url",
        "user_info_url",
    },
    "Organization": {"image_url", "private_metadata", "role_set_key"},
    "OrganizationDomainPublicOrganizationData": {"image_url"},
    "OrganizationInvitation": {"private_metadata"},
    "OrganizationInvitationPublicOrganizationData": {"image_url"},
    "OrganizationInvitationPublicUserData": {"image_url"},
    "OrganizationInvitationWithPublicOrganizationData": {"private_metadata"},
    "OrganizationMembership": {"private_metadata"},
    "OrganizationMembershipOrganization": {"image_url", "private_metadata", "role_set_key"},
    "OrganizationMembershipPublicUserData": {"image_url", "profile_image_url"},
    "OrganizationSettings": {"initial_role_set_key"},
    "OrganizationWithLogo": {"image_url", "logo_url", "private_metadata", "role_set_key"},
    "Permission": {"key"},
    "ProxyCheck": {"proxy_url"},
    "RedirectURL": {"url"},
    "ReplaceOrganizationMetadataParams": {"private_metadata"},
    "ReplaceRoleInRoleSetParams": {"role_key", "role_set_key_or_id", "to_role_key"},
    "ReplaceRoleSetParams": {"dest_role_set_key", "reassignment_mappings", "role_set_key_or_id"},
    "ReplaceUserMetadataParams": {"private_metadata"},
    "RevokeAPIKeyParams": {"api_key_id"},
    "RevokeActorTokenParams": {"actor_token_id"},
    "RevokeAdminPortalLinkTokenParams": {"admin_portal_link_token_id"},
    "RevokeM2MTokenParams": {"m2m_token_id"},
    "RevokeOAuthApplicationTokenParams": {"oauth_application_id"},
    "RevokeSignInTokenParams": {"sign_in_token_id"},
    "Role": {"key"},
    "RoleSet": {"key"},
    "RoleSetCreatorRole": {"key"},
    "RoleSetDefaultRole": {"key"},
    "RoleSetItem": {"key"},
    "RotateOAuthApplicationSecretParams": {"oauth_application_id"},
    "SAMLAccount": {"saml_connection"},
    "SAMLConnection": {"acs_url", "idp_metadata_url", "idp_sso_url", "sp_metadata_url"},
    "SCIMDirectory": {"endpoint_url"},
    "SCIMDirectoryCustomAttributesItem": {"key"},
    "SessionTask": {"key"},
    "UpdateAPIKeyParams": {"api_key_id"},
    "UpdateDomainParams": {"proxy_url"},
    "UpdateEnterpriseConnectionParams": {"saml"},
    "UpdateInstanceCommunicationParams": {"blocked_country_codes"},
    "UpdateInstanceParams": {"preferred_sign_in_strategy_when_password_required"},
    "UpdateJWTTemplateParams": {"signing_algorithm"},
    "UpdateOAuthApplicationParams": {"callback_url", "oauth_application_id"},
    "UpdateOrganizationMembershipMetadataParams": {"private_metadata"},
    "UpdateOrganizationParams": {"role_set_key"},
    "UpdateOrganizationPermissionParams": {"key"},
    "UpdateOrganizationRoleParams": {"key"},
    "UpdateProductionInstanceDomainParams": {"home_url"},
    "UpdateRoleSetParams": {"creator_role_key", "default_role_key", "key", "role_set_key_or_id"},
    "UpdateSAMLConnectionParams": {"idp_metadata_url", "idp_sso_url", "saml_connection_id"},
    "UpdateUserMetadataParams": {"private_metadata"},
    "UpdateUserParams": {"password_hasher"},
    "UploadOAuthApplicationLogoParams": {"oauth_application_id"},
    "User": {"image_url", "private_metadata", "profile_image_url"},
    "UserPasskeyDeleteParams": {"passkey_identification_id"},
    "VerifyDomainProxyParams": {"proxy_url"},
    "VerifyTOTPResponse": {"code_type"},
}


def _params_classes() -> dict[str, type]:
    found = {}
    for op in OPERATIONS.values():
        found[op.params] = getattr(importlib.import_module(op.module), op.params)
    return found


def _model_classes() -> dict[str, type]:
    """The API's models and the webhook events' (``Event.`` before their names)."""
    found = {}
    for name in spec_models.__all__:  # every model, from its service's module
        cls = getattr(spec_models, name)
        if isinstance(cls, type) and attrs.has(cls):  # not the oneOf unions
            found[name] = cls
    for name, cls in vars(webhook_events).items():
        if isinstance(cls, type) and attrs.has(cls) and cls.__module__ == webhook_events.__name__:
            found["Event." + name] = cls
    return found


def _holds_text(tp: Any) -> bool:
    """A str (an enum's ``Literal`` too), a list of them, or a dict (a params object that
    may hold one)."""
    text = str(tp)
    return any(word in text for word in ("str", "dict", "Any")) or "Literal['" in text


def _probe(cls: type) -> dict[str, bool]:
    """Field name -> whether a value put there shows in ``repr``; validators bypassed."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in attrs.fields(cls)]
    instance = object.__new__(cls)
    for name in names:
        value: Any = f"{MARK}:{name}:"
        if "dict" in str(hints.get(name)):
            value = {"client_secret": value}
        elif "list" in str(hints.get(name)):
            value = [value]
        object.__setattr__(instance, name, value)
    shown = repr(instance)
    return {name: f"{MARK}:{name}:" in shown for name in names if _holds_text(hints.get(name))}


def _netted() -> dict[str, dict[str, bool]]:
    classes = {**_params_classes(), **_model_classes()}
    out: dict[str, dict[str, bool]] = {}
    for name, cls in sorted(classes.items()):
        shown = {f: s for f, s in _probe(cls).items() if NET.search(f)}
        if shown:
            out[name] = shown
    return out


def test_every_secret_like_field_is_decided() -> None:
    """Each text field the net catches is in SECRET (hidden) or PUBLIC (shown), nothing
    else: the lists are complete and the generated reprs agree with them."""
    netted = _netted()
    hidden = {c: {f for f, shown in v.items() if not shown} for c, v in netted.items()}
    shown = {c: {f for f, s in v.items() if s} for c, v in netted.items()}
    assert {c: f for c, f in hidden.items() if f} == SECRET
    assert {c: f for c, f in shown.items() if f} == PUBLIC


@pytest.mark.parametrize("cls_name", sorted(SECRET))
def test_secret_fields_are_not_in_repr(cls_name: str) -> None:
    classes = {**_params_classes(), **_model_classes()}
    probe = _probe(classes[cls_name])
    assert {f for f in SECRET[cls_name] if probe[f]} == set()


def test_params_built_by_hand_hide_their_secrets() -> None:
    from clerk_async.services.spec.enterprise_connections import (
        CreateEnterpriseConnectionParams,
    )
    from clerk_async.services.spec.sessions import RefreshSessionParams
    from clerk_async.services.spec.users import UpdateUserParams

    made = [
        UpdateUserParams(
            user_id="user_1",
            password=f"{MARK}1",
            password_digest=f"{MARK}2",
            totp_secret=f"{MARK}3",
            backup_codes=[f"{MARK}4"],
            first_name="Ada",
        ),
        RefreshSessionParams(
            session_id="sess_1",
            expired_token=f"{MARK}5",
            refresh_token=f"{MARK}6",
            request_origin="https://app.test",
        ),
        CreateEnterpriseConnectionParams(
            name="Acme",
            domains=["acme.test"],
            provider="oidc_custom",
            oidc={"client_id": "cid", "client_secret": f"{MARK}7"},
        ),
    ]
    for params in made:
        text = repr(params)
        assert MARK not in text, text
    assert "first_name='Ada'" in repr(made[0])  # the rest still shows


async def test_nested_secrets_in_answers_stay_out_of_repr(server: Any, clerk: Any) -> None:
    """Models decoded from a real HTTP answer: secrets one and two levels down."""
    run = {
        "object": "enterprise_connection_test_run",
        "id": "run_1",
        "status": "success",
        "connection_type": "saml",
        "created_at": 1,
        "saml": {"saml_request": "req", "saml_response": f"{MARK}a", "relay_state": "rs"},
        "oauth": {"access_token": f"{MARK}b", "id_token": f"{MARK}c"},
    }
    server.reply(200, {"data": [run], "total_count": 1})
    page = await clerk.enterprise_connections.list_test_runs("entc_1")
    assert MARK not in repr(page)
    phone = {
        "object": "phone_number",
        "id": "idn_1",
        "phone_number": "+15555550100",
        "reserved_for_second_factor": True,
        "default_second_factor": True,
        "reserved": False,
        "linked_to": [],
        "backup_codes": [f"{MARK}d"],
        "created_at": 1,
        "updated_at": 1,
        "verification": None,
    }
    server.reply(200, phone)
    got = await clerk.phone_numbers.get("idn_1")
    assert got.backup_codes == [f"{MARK}d"]  # kept, only not shown
    assert MARK not in repr(got)
    token = {
        "object": "sign_in_token",
        "id": "sit_1",
        "user_id": "user_1",
        "status": "pending",
        "token": f"{MARK}e",
        "url": f"https://accounts.example/sign-in?__clerk_ticket={MARK}f",
        "created_at": 1,
        "updated_at": 1,
    }
    server.reply(200, token)
    made = await clerk.sign_in_tokens.create(user_id="user_1")
    assert MARK not in repr(made)
    server.reply(200, {"svix_url": f"https://app.svix.com/login#key={MARK}g"})
    svix = await clerk.webhooks.create_svix_app()
    assert MARK not in repr(svix)
