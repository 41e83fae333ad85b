"""Django REST framework: an authentication class, and permissions over ``has()``.

Install with ``pip install 'clerk-async[django]' djangorestframework``.:

    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["clerk_async.drf.ClerkAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    }

    class Invoices(APIView):
        permission_classes = [IsAuthenticated, clerk_permission(permission="org:invoices:read")]

        def get(self, request):
            return Response({"user_id": request.auth.user_id})

``ClerkAuthentication`` verifies the token with the site's configuration
(``settings.CLERK``, see ``clerk_async.django``): ``request.auth`` is the auth object,
``request.user`` a ``ClerkUser`` (not a database user). A request without a token
is left to the other authentication classes and the permissions (DRF's way: anonymous);
an invalid or refused token is a 401 with ``WWW-Authenticate: Bearer
error="invalid_token"`` and ``{"detail": "Unauthorized"}``, nothing about the token.
``clerk_permission`` answers 403 for a failed ``scopes``/``has()`` check.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

try:
    from rest_framework.authentication import BaseAuthentication
    from rest_framework.exceptions import APIException, AuthenticationFailed
    from rest_framework.permissions import BasePermission
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        "clerk_async.drf needs Django REST framework: pip install djangorestframework"
    ) from exc

from clerk_async.auth._guard import SERVER_FAULTS, UNAUTHORIZED_CHALLENGE, requirement
from clerk_async.auth._types import AcceptsToken, Auth, Reverification
from clerk_async.django import _current

__all__ = ["ClerkAuthentication", "ClerkUser", "clerk_permission"]

# No token at all: not a failure, the request is anonymous (other classes may know it).
_NO_TOKEN = frozenset({"session-token-missing", "No token in header"})


@attrs.frozen
class ClerkUser:
    """``request.user`` of a request Clerk authenticated: who it is, not a database row.

    ``id`` is the user id of a session or OAuth token, the machine id of an M2M token, the
    subject of an API key.
    """

    auth: Auth
    is_authenticated = True
    is_anonymous = False

    @property
    def id(self) -> str:
        auth = self.auth
        if auth.token_type == "m2m_token":
            return auth.machine_id
        if auth.token_type == "api_key":
            return auth.subject
        return auth.user_id

    pk = id

    def __str__(self) -> str:
        return self.id


class ClerkAuthentication(BaseAuthentication):  # type: ignore[misc]
    """Authenticate with Clerk's tokens; the site's ``accepts_token`` unless set here.

    Subclass to accept other tokens for some views:
    ``class MachineAuthentication(ClerkAuthentication): accepts_token = "m2m_token"``.
    """

    accepts_token: AcceptsToken | None = None

    def authenticate(self, request: Any) -> tuple[ClerkUser, Auth] | None:
        site = _current()
        required = (
            site.requirement
            if self.accepts_token is None
            else site.route(type(self), {"accepts_token": self.accepts_token})
        )
        state = site.authenticator.authenticate(request._request, required)
        auth = state.auth
        if auth is None:
            reason = state.reason or ""
            status = SERVER_FAULTS.get(reason)
            if status is not None:
                unavailable = APIException("Authentication is unavailable")
                unavailable.status_code = status
                raise unavailable
            if reason in _NO_TOKEN:
                return None
            raise AuthenticationFailed("Unauthorized")
        return ClerkUser(auth), auth

    def authenticate_header(self, request: Any) -> str:
        return UNAUTHORIZED_CHALLENGE


def clerk_permission(
    scopes: str | Iterable[str] | None = None,
    *,
    role: str | None = None,
    permission: str | None = None,
    feature: str | None = None,
    plan: str | None = None,
    reverification: Reverification | None = None,
) -> type[BasePermission]:
    """A permission class: the request's Clerk auth has the ``scopes`` and passes ``has()``.

    A request not authenticated by ``ClerkAuthentication`` is refused (401 through
    DRF's ``NotAuthenticated`` when an authentication class offers a challenge).
    """
    required = requirement(
        "any",
        scopes,
        role=role,
        permission=permission,
        feature=feature,
        plan=plan,
        reverification=reverification,
    )

    class ClerkPermission(BasePermission):  # type: ignore[misc]
        message = "Forbidden"

        def has_permission(self, request: Any, view: Any) -> bool:
            auth = request.auth
            if not isinstance(getattr(request, "user", None), ClerkUser):
                return False
            return required.allows(auth)

    return ClerkPermission
