"""Django's settings for the whole test session: configured once, by whichever test needs them.

Django reads its settings once per process; tests/test_integration_django.py (its URLs)
and the request-object tests share these.
"""

from __future__ import annotations

import django
from django.conf import settings


def configure() -> None:
    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        SECRET_KEY="tests-only",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF="tests.test_integration_django",
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
        MIDDLEWARE=["clerk_async.django.ClerkMiddleware"],
        DATABASES={},
        CLERK={},
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": ["clerk_async.drf.ClerkAuthentication"],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
            "UNAUTHENTICATED_USER": None,
        },
    )
    django.setup()
