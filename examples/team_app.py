"""A FastAPI service on Clerk's users and organizations, on one shared Clerk client.

    GET  /me                        the signed-in user and their plan
    PUT  /me/plan?plan=pro          set the plan in the user's public metadata
    GET  /team                      the members of the user's active organization
    POST /team/invitations          {"email_address": ...}: invite (organization admins only)
    POST /team/plans                [{"user_id": ..., "plan": ...}, ...]: set many members'
                                    plans at once with clerk.batch (organization admins only)

Every route needs a session token (``Authorization: Bearer ...``, or the ``__session``
cookie). Run it against Clerk (``CLERK_SECRET_KEY`` and, optionally, ``CLERK_API_URL`` and
``CLERK_JWT_KEY`` from the env)::

    python examples/team_app.py --port 8000

or against an embedded FakeClerk seeded with two users in one organization, with nothing to
set up; it prints a session token for each user, to try the routes with curl::

    python examples/team_app.py --fake
"""

import argparse
from typing import Annotated, Any

import uvicorn
from fastapi import Body, Depends, FastAPI, HTTPException

from clerk_async.auth import SessionAuth
from clerk_async.fastapi import ClerkDep, clerk_lifespan, install_exception_handlers, require_auth

app = FastAPI(title="team", lifespan=clerk_lifespan())
install_exception_handlers(app)  # Clerk's errors as HTTP answers (a 404 stays a 404)

SignedIn = Annotated[SessionAuth, Depends(require_auth())]
# The admin role in the active organization (auth.has(role="org:admin")), else 403.
OrgAdmin = Annotated[SessionAuth, Depends(require_auth(role="org:admin"))]


def active_org(auth: SessionAuth) -> str:
    """The organization the session has active; 403 without one."""
    if auth.org_id is None:
        raise HTTPException(403, "no active organization")
    return auth.org_id


@app.get("/me")
async def me(auth: SignedIn, clerk: ClerkDep) -> dict[str, Any]:
    user = await clerk.users.get(auth.user_id)
    return {"id": user.id, "first_name": user.first_name, "plan": user.public_metadata.get("plan")}


@app.put("/me/plan")
async def set_my_plan(plan: str, auth: SignedIn, clerk: ClerkDep) -> dict[str, Any]:
    user = await clerk.users.update_metadata(auth.user_id, public_metadata={"plan": plan})
    return {"plan": user.public_metadata.get("plan")}


@app.get("/team")
async def team(auth: SignedIn, clerk: ClerkDep) -> list[dict[str, Any]]:
    members = []
    async for m in clerk.organization_memberships.list(active_org(auth), order_by="created_at"):
        user = m.public_user_data
        members.append({"user_id": user and user.user_id, "role": m.role})
    return members


@app.post("/team/invitations", status_code=201)
async def invite(
    email_address: Annotated[str, Body(embed=True)], auth: OrgAdmin, clerk: ClerkDep
) -> dict[str, Any]:
    invitation = await clerk.organization_invitations.create(
        active_org(auth),
        email_address=email_address,
        role="org:member",
        inviter_user_id=auth.user_id,
    )
    return {"id": invitation.id, "status": invitation.status}


@app.post("/team/plans")
async def set_plans(
    plans: Annotated[list[dict[str, str]], Body()], auth: OrgAdmin, clerk: ClerkDep
) -> dict[str, Any]:
    """One metadata merge per item, 16 at a time; each failure reported, none stops the rest."""
    updates = ((p.get("user_id"), {"public_metadata": {"plan": p.get("plan")}}) for p in plans)
    failures = []
    async for result in clerk.batch(clerk.users.update_metadata, updates, concurrency=16):
        if not result.ok:
            failures.append({"index": result.index, "error": str(result.error)})
    return {"total": len(plans), "failed": len(failures), "failures": failures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--fake", action="store_true", help="serve against a seeded FakeClerk")
    args = parser.parse_args()
    if not args.fake:
        uvicorn.run(app, host="127.0.0.1", port=args.port)
        return
    from clerk_async.testing import FakeClerk

    with FakeClerk(rate_limit=None) as fake, fake.setenv():
        ada = fake.add_user("ada@example.com", first_name="Ada")
        grace = fake.add_user("grace@example.com", first_name="Grace")
        acme = fake.add_organization("Acme", members={ada.id: "org:admin", grace.id: "org:member"})
        for user in (ada, grace):
            token = fake.session_token(user.id, org_id=acme.id, expires_in=3600)
            print(
                f"{user.first_name} ({user.id}): curl -H 'Authorization: Bearer {token}' "
                f"localhost:{args.port}/team",
                flush=True,
            )
        uvicorn.run(app, host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
