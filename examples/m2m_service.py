"""An internal API that only other machines may call, with Clerk M2M tokens.

    GET /reports/{report_id}    {"report_id": ..., "called_by": "mch_..."}
    GET /health                 no token needed

Every caller is a Clerk machine that was granted access to this service's machine
(``CLERK_MACHINE_ID``, the scope check): its M2M token is refused with 403 otherwise, and
any other token (none, invalid, expired, a user's session token, an API key) with 401.
JWT-format M2M tokens are verified networkless (the instance's JWKS, fetched once and
cached, or ``CLERK_JWT_KEY``); opaque ``mt_`` ones with one call to Clerk each.

Run it (``CLERK_SECRET_KEY``, ``CLERK_MACHINE_ID``, optionally ``CLERK_API_URL``)::

    uvicorn m2m_service:app --app-dir examples --port 8001

A caller mints a token with its own machine secret key and sends it as a bearer token::

    async with Clerk(machine_secret_key=os.environ["CLERK_MACHINE_SECRET_KEY"]) as clerk:
        token = (await clerk.m2m.create_token(token_format="jwt")).token
    httpx.get("http://localhost:8001/reports/r1", headers={"Authorization": f"Bearer {token}"})
"""

import os
from typing import Annotated, Any

from fastapi import Depends, FastAPI

from clerk_async.auth import M2MAuth
from clerk_async.fastapi import clerk_lifespan, install_exception_handlers, require_auth


def create_app(machine_id: str, **clerk_options: Any) -> FastAPI:
    """The service for the machine ``machine_id``; ``clerk_options`` go to ``Clerk(...)``."""
    app = FastAPI(lifespan=clerk_lifespan(**clerk_options))
    install_exception_handlers(app)
    # Only tokens of machines that may call this one: their scopes name this machine.
    Caller = Annotated[M2MAuth, Depends(require_auth("m2m_token", scopes=machine_id))]

    @app.get("/reports/{report_id}")
    async def report(report_id: str, caller: Caller) -> dict[str, str]:
        return {"report_id": report_id, "called_by": caller.machine_id}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def __getattr__(name: str) -> FastAPI:
    """``m2m_service:app`` for uvicorn, configured from the environment when asked for."""
    if name != "app":
        raise AttributeError(name)
    machine_id = os.environ.get("CLERK_MACHINE_ID")
    if not machine_id:
        raise RuntimeError("set CLERK_MACHINE_ID to this service's machine id (mch_...)")
    return create_app(machine_id)
