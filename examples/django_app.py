"""A single-file Django project with ``clerk_async.django`` and ``clerk_async.drf``.

    GET /me            any signed-in user (``request.auth``, from the middleware)
    GET /profile       the signed-in user's profile, from Clerk's API (``clerk_async.sync.Clerk``)
    GET /invoices      members with org:invoices:read (an async view)
    GET /internal      other services' M2M tokens, scoped to this service's machine
    GET /api/reports   Django REST framework: organization admins only

Configured from the environment (``CLERK_SECRET_KEY``; ``CLERK_JWT_KEY`` to verify
sessions networkless; ``SERVICE_MACHINE_ID`` for /internal)::

    python examples/django_app.py runserver
"""

import os
import sys
from typing import Any

import django
from django.conf import settings

SERVICE = os.environ.get("SERVICE_MACHINE_ID", "mch_this_service")
SETTINGS: dict[str, Any] = {
    "ROOT_URLCONF": __name__,
    "ALLOWED_HOSTS": ["localhost", "127.0.0.1", "testserver"],
    "SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "example-only"),
    "INSTALLED_APPS": ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
    "MIDDLEWARE": ["clerk_async.django.ClerkMiddleware"],
    # Clerk(...)'s options and the site's verification options; unset ones from the env.
    "CLERK": {"authorized_parties": os.environ.get("AUTHORIZED_PARTIES", "").split() or None},
    "REST_FRAMEWORK": {
        "DEFAULT_AUTHENTICATION_CLASSES": ["clerk_async.drf.ClerkAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        "UNAUTHENTICATED_USER": None,
    },
}
if __name__ == "__main__":
    settings.configure(**SETTINGS)
    django.setup()

from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from clerk_async.django import authenticator, require_auth  # noqa: E402
from clerk_async.drf import clerk_permission  # noqa: E402


def me(request: HttpRequest) -> JsonResponse:
    auth = request.auth  # type: ignore[attr-defined]  # set by ClerkMiddleware; None if signed out
    if auth is None:
        return JsonResponse({"signed_in": False})
    return JsonResponse({"signed_in": True, "user_id": auth.user_id})


@require_auth()
def profile(request: HttpRequest) -> JsonResponse:
    # The site's clerk_async.sync.Clerk (settings.CLERK; one loop thread per process, also
    # the one verification uses) calls Clerk's API from this sync view.
    clerk = authenticator().sync_client
    user = clerk.users.get(request.auth.user_id)  # type: ignore[attr-defined]
    return JsonResponse({"first_name": user.first_name, "emails": len(user.email_addresses)})


@require_auth(permission="org:invoices:read")
async def invoices(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"org_id": request.auth.org_id, "invoices": []})  # type: ignore[attr-defined]


@require_auth("m2m_token", scopes=SERVICE)
def internal(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"called_by": request.auth.machine_id})  # type: ignore[attr-defined]


class Reports(APIView):
    permission_classes = (clerk_permission(role="org:admin"),)

    def get(self, request: Request) -> Response:
        return Response({"user_id": request.user.id, "reports": []})


urlpatterns = [
    path("me", me),
    path("profile", profile),
    path("invoices", invoices),
    path("internal", internal),
    path("api/reports", Reports.as_view()),
]

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
